// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleFixture} from "../utils/OracleFixture.sol";
import {Vm} from "../utils/Vm.sol";

/// Gas figures read by scripts/contracts-gas.sh.
///
/// Method: each figure is `vm.lastCallGas().gasTotalUsed` of ONE external call made from the test,
/// i.e. the execution gas of that call frame (without the 21,000 base cost and calldata cost of a
/// transaction). The request for the fulfilment figure is made in `setUp`, which forge runs as a
/// separate transaction, so the fulfilment starts with cold storage like a real node transaction.
/// The figures are emitted as `log_named_uint` events that forge decodes into the test's logs.
contract GasTest is OracleFixture {
    RequestEvent internal s_pending;

    function setUp() public override {
        super.setUp();
        // A first request so that the measured request is not the first (nonce slot already set,
        // like any consumer after its first request) and a pending one for the fulfilment.
        s_pending = _requestPrice(PAYMENT);
    }

    /// PriceConsumer.requestPrice -> LINK.transferAndCall -> Oracle.onTokenTransfer -> oracleRequest.
    function test_gas_oracleRequest() public {
        consumer.requestPrice(SPEC_ID, "ETH/USD", 100, PAYMENT);
        Vm.Gas memory gas = vm.lastCallGas();
        emit log_named_uint("gas.oracle_request", gas.gasTotalUsed);
    }

    /// Oracle.fulfillOracleRequest including the PriceConsumer.fulfill callback.
    function test_gas_oracleFulfil() public {
        RequestEvent memory ev = s_pending;
        vm.prank(node);
        bool ok = oracle.fulfillOracleRequest(
            ev.requestId, ev.payment, ev.callbackAddr, ev.callbackFunctionId, ev.cancelExpiration, bytes32(uint256(1))
        );
        Vm.Gas memory gas = vm.lastCallGas();
        assertTrue(ok, "callback succeeded");
        emit log_named_uint("gas.oracle_fulfil", gas.gasTotalUsed);
    }
}
