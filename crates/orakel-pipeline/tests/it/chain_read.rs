//! `ethcall` and `estimategaslimit` against a scripted `ChainReader`, and `ethabiencode2`
//! (JSON ABI) against `ethabiencode` (signature ABI) and independent encodings.

use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolValue, sol};
use orakel_pipeline::{
    BlockRef, ChainCall, ChainReader, Pipeline, RunContext, RunOutcome, RunState, Runner,
    RunnerConfig, Value,
};

sol! {
    function latestAnswer(uint80 roundId) external view returns (int256);
    struct Point { uint256 x; string label; }
    function submit(bytes32 id, Point[] points, address to) external;
}

/// Answers calls with canned bytes and records them.
#[derive(Default)]
struct FakeChain {
    calls: Mutex<Vec<ChainCall>>,
}

#[async_trait::async_trait]
impl ChainReader for FakeChain {
    async fn call(&self, call: ChainCall) -> Result<Bytes, String> {
        let reverts = call.data.starts_with(&[0xde, 0xad]);
        self.calls.lock().unwrap().push(call);
        if reverts {
            return Err("execution reverted: not allowed".into());
        }
        Ok(Bytes::from((-42i64).abi_encode()))
    }

    async fn estimate_gas(&self, call: ChainCall) -> Result<u64, String> {
        self.calls.lock().unwrap().push(call);
        Ok(21_001)
    }
}

async fn run(chain: Option<Arc<FakeChain>>, dot: &str) -> RunOutcome {
    let pipeline = Pipeline::parse(dot, "test.dot").unwrap_or_else(|e| panic!("{e}"));
    let mut runner = Runner::new(RunnerConfig::default(), None).unwrap();
    if let Some(c) = chain {
        runner = runner.with_chain_reader(c);
    }
    runner.execute(&pipeline, RunContext::default()).await
}

const FEED: &str = "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419";

#[tokio::test]
async fn ethcall_sends_the_call_and_returns_the_bytes() {
    let chain = Arc::new(FakeChain::default());
    let o = run(
        Some(chain.clone()),
        &format!(
            r#"
            encode [type=ethabiencode abi="latestAnswer(uint80 roundId)" data=<{{"roundId": 5}}>]
            call   [type=ethcall contract="{FEED}" data="$(encode)" gas=100000
                    from="0x0000000000000000000000000000000000000001"
                    gasPrice=7 block=pending evmChainID=31337]
            decode [type=ethabidecode abi="int256 answer" data="$(call)"]
            encode -> call -> decode
            "#
        ),
    )
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(
        o.outputs[0].as_ref().unwrap().to_json(),
        r#"{"answer":-42}"#
    );
    let calls = chain.calls.lock().unwrap();
    let call = &calls[0];
    assert_eq!(call.to, FEED.parse::<Address>().unwrap());
    assert_eq!(
        call.data.as_ref(),
        latestAnswerCall {
            roundId: alloy_primitives::Uint::from(5)
        }
        .abi_encode()
    );
    assert_eq!(call.gas, Some(100_000));
    assert_eq!(call.gas_price, Some(7));
    assert_eq!(call.from, Some(Address::with_last_byte(1)));
    assert_eq!(call.block, BlockRef::Pending);
    assert_eq!(call.evm_chain_id, Some(31337));
}

#[tokio::test]
async fn ethcall_errors_are_clear() {
    let chain = Arc::new(FakeChain::default());
    let o = run(
        Some(chain.clone()),
        &format!(r#"call [type=ethcall contract="{FEED}" data="0xdead"]"#),
    )
    .await;
    assert_eq!(
        o.errors,
        vec![
            "task \"call\" (ethcall): eth_call failed: execution reverted: not allowed".to_owned()
        ]
    );
    let o = run(
        None,
        &format!(r#"call [type=ethcall contract="{FEED}" data="0x01"]"#),
    )
    .await;
    assert_eq!(
        o.errors,
        vec!["task \"call\" (ethcall): no chain reader is configured on this runner".to_owned()]
    );
    let o = run(
        Some(chain.clone()),
        &format!(r#"call [type=ethcall contract="{FEED}" data="0x01" gas=1 gasUnlimited=true]"#),
    )
    .await;
    assert_eq!(
        o.errors,
        vec![
            "task \"call\" (ethcall): gas: must not be set together with gasUnlimited=true"
                .to_owned()
        ]
    );
    let e = Pipeline::parse(
        r#"call [type=ethcall contract="0x12" data="0x01"]"#,
        "t.dot",
    )
    .unwrap_err();
    assert!(e.to_string().contains("contract"), "{e}");
}

#[tokio::test]
async fn estimategaslimit_scales_the_estimate() {
    let chain = Arc::new(FakeChain::default());
    let o = run(
        Some(chain.clone()),
        &format!(
            r#"gas [type=estimategaslimit to="{FEED}" data="0x50d25bcd" multiplier="1.5"
                    from="0x0000000000000000000000000000000000000002"]"#
        ),
    )
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    // 21001 × 1.5 = 31501.5, truncated.
    assert_eq!(o.outputs[0], Some(Value::from(31_501u64)));
    let first = chain.calls.lock().unwrap()[0].clone();
    assert_eq!(first.data.as_ref(), [0x50, 0xd2, 0x5b, 0xcd]);
    assert_eq!(first.from, Some(Address::with_last_byte(2)));
    let o = run(
        Some(chain),
        &format!(r#"gas [type=estimategaslimit to="{FEED}" data="0x01"]"#),
    )
    .await;
    assert_eq!(o.outputs[0], Some(Value::from(21_001u64)));
}

#[tokio::test]
async fn ethabiencode2_matches_the_signature_form_and_solidity() {
    let abi = r#"{"name": "submit", "inputs": [
        {"name": "id", "type": "bytes32"},
        {"name": "points", "type": "tuple[]", "components": [
            {"name": "x", "type": "uint256"}, {"name": "label", "type": "string"}]},
        {"name": "to", "type": "address"}]}"#;
    let data = r#"{"id": "0x0102", "points": [{"x": 7, "label": "a"}, {"x": 8, "label": "b"}],
                   "to": "0x0000000000000000000000000000000000000003"}"#;
    let o = run(
        None,
        &format!(
            "json [type=ethabiencode2 abi=<{abi}> data=<{data}> index=0]\n\
             sig  [type=ethabiencode abi=\"submit(bytes32 id, (uint256 x, string label)[] points, address to)\" data=<{data}> index=1]"
        ),
    )
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    let mut id = [0u8; 32];
    id[..2].copy_from_slice(&[1, 2]);
    let expected = submitCall {
        id: id.into(),
        points: vec![
            Point {
                x: U256::from(7),
                label: "a".into(),
            },
            Point {
                x: U256::from(8),
                label: "b".into(),
            },
        ],
        to: Address::with_last_byte(3),
    }
    .abi_encode();
    assert_eq!(o.outputs[0], Some(Value::Bytes(expected.clone().into())));
    assert_eq!(o.outputs[1], Some(Value::Bytes(expected.into())));

    // No name: the bare arguments, no selector.
    let o = run(
        None,
        r#"e [type=ethabiencode2 abi=<{"inputs": [{"name": "v", "type": "uint256[2]"}]}> data=<{"v": [1, 2]}>]"#,
    )
    .await;
    assert_eq!(
        o.outputs[0],
        Some(Value::Bytes(
            [U256::from(1), U256::from(2)].abi_encode().into()
        ))
    );

    for (bad, needle) in [
        (
            r#"{"name": "f", "inputs": [{"type": "uint256"}]}"#,
            "missing argument name",
        ),
        (
            r#"{"name": "f", "inputs": [{"name": "a", "type": "uint7"}]}"#,
            "unknown type",
        ),
        (
            r#"{"name": "f", "inputs": [{"name": "a", "type": "tuple"}]}"#,
            "components",
        ),
        (
            r#"{"name": "f", "inputs": [{"name": "a", "type": "uint8[0]"}]}"#,
            "array size",
        ),
    ] {
        let e =
            Pipeline::parse(&format!("e [type=ethabiencode2 abi=<{bad}>]"), "t.dot").unwrap_err();
        assert!(e.to_string().contains(needle), "{bad}: {e}");
    }
}
