'use strict'
// orakel sample adapter built with @chainlink/external-adapter-framework.
//
// One endpoint, `price`: reads one source of the orakel price-source simulator
// (`GET {SIM_URL}/sources/{source}/price?pair={pair}`) and answers in the framework's
// external-adapter format: {"data": {"result": <price>}, "result": <price>, "statusCode": 200, ...}.
//
// Settings come from environment variables, as with every framework adapter:
//   SIM_URL   base URL of the simulator, e.g. http://127.0.0.1:7001 (required)
//   EA_PORT   port to listen on (framework default 8080; 0 picks a free port)
// Run: `SIM_URL=http://127.0.0.1:7001 EA_PORT=8081 node src/index.js`

const { expose } = require('@chainlink/external-adapter-framework')
const { Adapter, AdapterEndpoint } = require('@chainlink/external-adapter-framework/adapter')
const { AdapterConfig } = require('@chainlink/external-adapter-framework/config')
const { HttpTransport } = require('@chainlink/external-adapter-framework/transports')
const { InputParameters } = require('@chainlink/external-adapter-framework/validation')

const config = new AdapterConfig(
  {
    SIM_URL: {
      description: 'Base URL of the orakel price-source simulator',
      type: 'string',
      required: true,
    },
  },
  {
    // The simulator serves loopback traffic only and has no rate limits worth modelling;
    // metrics would need a second port, which tests do not want.
    envDefaultOverrides: { METRICS_ENABLED: false },
  },
)

const inputParameters = new InputParameters(
  {
    pair: {
      aliases: ['market'],
      description: 'Asset pair as the simulator names it, e.g. ETH-USD',
      type: 'string',
      required: true,
    },
    source: {
      description: 'Index of the simulated source to read (0-based)',
      type: 'number',
      default: 0,
    },
  },
  [{ pair: 'ETH-USD', source: 0 }],
)

// Builds one simulator request per requested (pair, source).
function prepareRequests(params, settings) {
  return params.map((param) => ({
    params: [param],
    request: {
      baseURL: settings.SIM_URL,
      url: `/sources/${encodeURIComponent(String(param.source))}/price`,
      params: { pair: param.pair },
    },
  }))
}

// Turns the simulator's `{"pair","source","price","tick"}` into a result, or an error entry
// when the body does not carry a usable price (the simulator's garbage fault).
function parseResponse(params, res) {
  const body = res.data
  return params.map((param) => {
    const price = body && typeof body === 'object' ? body.price : undefined
    if (typeof price !== 'number' || !Number.isFinite(price)) {
      return {
        params: param,
        response: {
          statusCode: 502,
          errorMessage: `simulator source ${param.source} for ${param.pair} answered no price`,
        },
      }
    }
    return {
      params: param,
      response: {
        result: price,
        data: { result: price, pair: param.pair, source: param.source, tick: body.tick },
      },
    }
  })
}

const price = new AdapterEndpoint({
  name: 'price',
  aliases: ['crypto'],
  transport: new HttpTransport({ prepareRequests, parseResponse }),
  inputParameters,
})

const adapter = new Adapter({
  name: 'ORAKEL_SIM',
  defaultEndpoint: 'price',
  endpoints: [price],
  config,
})

module.exports = { adapter, prepareRequests, parseResponse }

if (require.main === module) {
  expose(adapter).catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
