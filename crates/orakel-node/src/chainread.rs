//! Connects the pipeline's `ethcall` and `estimategaslimit` tasks to the node's RPC pool.

use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Bytes, TxKind};
use alloy::rpc::types::{TransactionInput, TransactionRequest};
use async_trait::async_trait;
use orakel_chain::Rpc;
use orakel_pipeline::{BlockRef, ChainCall, ChainReader};

/// The node's [`ChainReader`]: read-only calls on the chain the node serves.
pub struct RpcChainReader {
    rpc: Rpc,
}

impl RpcChainReader {
    /// Creates the reader.
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }

    /// Refuses a call meant for another chain than the one the pool serves.
    fn check_chain(&self, call: &ChainCall) -> Result<(), String> {
        match call.evm_chain_id {
            Some(id) if id != self.rpc.chain_id() => Err(format!(
                "evmChainID {id} does not match this node's chain {}",
                self.rpc.chain_id()
            )),
            _ => Ok(()),
        }
    }
}

/// The JSON-RPC transaction object and block of a call.
fn request(call: &ChainCall) -> (TransactionRequest, BlockId) {
    let tx = TransactionRequest {
        from: call.from,
        to: Some(TxKind::Call(call.to)),
        gas: call.gas,
        gas_price: call.gas_price,
        max_fee_per_gas: call.gas_fee_cap,
        max_priority_fee_per_gas: call.gas_tip_cap,
        input: TransactionInput::new(call.data.clone()),
        ..TransactionRequest::default()
    };
    let block = match call.block {
        BlockRef::Latest => BlockId::Number(BlockNumberOrTag::Latest),
        BlockRef::Pending => BlockId::Number(BlockNumberOrTag::Pending),
        BlockRef::Number(n) => BlockId::Number(BlockNumberOrTag::Number(n)),
    };
    (tx, block)
}

#[async_trait]
impl ChainReader for RpcChainReader {
    async fn call(&self, call: ChainCall) -> Result<Bytes, String> {
        self.check_chain(&call)?;
        let (tx, block) = request(&call);
        self.rpc
            .eth_call(&tx, block)
            .await
            .map_err(|e| e.to_string())
    }

    async fn estimate_gas(&self, call: ChainCall) -> Result<u64, String> {
        self.check_chain(&call)?;
        let (tx, block) = request(&call);
        self.rpc
            .estimate_gas(&tx, block)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;
    use std::sync::{Arc, Mutex};

    /// A JSON-RPC endpoint on 127.0.0.1 that answers the few methods the reader uses and
    /// records the requests.
    async fn fake_rpc() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let log = log.clone();
                async move {
                    let req = body.0;
                    log.lock().unwrap().push(req.clone());
                    let id = req["id"].clone();
                    let data = req["params"][0]["input"].as_str().unwrap_or_default().to_owned();
                    let answer = match req["method"].as_str().unwrap_or_default() {
                        "eth_chainId" => serde_json::json!({"result": "0x7a69"}),
                        "eth_estimateGas" => serde_json::json!({"result": "0x5208"}),
                        "eth_call" if data.starts_with("0xdead") => serde_json::json!({
                            "error": {"code": 3, "message": "execution reverted: nope", "data": "0x"}
                        }),
                        "eth_call" => serde_json::json!({"result": "0x2a"}),
                        _ => serde_json::json!({"error": {"code": -32601, "message": "no"}}),
                    };
                    let mut out = serde_json::json!({"jsonrpc": "2.0", "id": id});
                    if let (Some(o), Some(a)) = (out.as_object_mut(), answer.as_object()) {
                        o.extend(a.clone());
                    }
                    axum::Json(out)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, seen)
    }

    #[tokio::test]
    async fn calls_and_estimates_over_rpc() {
        let (url, seen) = fake_rpc().await;
        let rpc = Rpc::connect(&[url], 31337).await.unwrap();
        let reader = RpcChainReader::new(rpc);
        let call = ChainCall {
            to: Address::with_last_byte(2),
            data: Bytes::from(vec![0x50, 0xd2, 0x5b, 0xcd]),
            block: BlockRef::Pending,
            ..ChainCall::default()
        };
        assert_eq!(reader.call(call.clone()).await.unwrap().as_ref(), [0x2a]);
        assert_eq!(reader.estimate_gas(call.clone()).await.unwrap(), 21_000);
        {
            let seen = seen.lock().unwrap();
            let eth_call = seen.iter().find(|r| r["method"] == "eth_call").unwrap();
            assert_eq!(eth_call["params"][1], "pending");
            assert_eq!(
                eth_call["params"][0]["to"],
                "0x0000000000000000000000000000000000000002"
            );
        }
        let revert = ChainCall {
            data: Bytes::from(vec![0xde, 0xad]),
            ..call.clone()
        };
        let e = reader.call(revert).await.unwrap_err();
        assert!(e.contains("execution reverted: nope"), "{e}");
        let other_chain = ChainCall {
            evm_chain_id: Some(1),
            ..call
        };
        assert_eq!(
            reader.call(other_chain).await.unwrap_err(),
            "evmChainID 1 does not match this node's chain 31337"
        );
    }

    #[test]
    fn builds_the_rpc_request() {
        let call = ChainCall {
            from: Some(Address::with_last_byte(1)),
            to: Address::with_last_byte(2),
            data: Bytes::from(vec![0x50, 0xd2, 0x5b, 0xcd]),
            gas: Some(50_000),
            gas_fee_cap: Some(9),
            gas_tip_cap: Some(1),
            block: BlockRef::Number(12),
            ..ChainCall::default()
        };
        let (tx, block) = request(&call);
        assert_eq!(tx.to, Some(TxKind::Call(Address::with_last_byte(2))));
        assert_eq!(tx.from, Some(Address::with_last_byte(1)));
        assert_eq!(tx.gas, Some(50_000));
        assert_eq!(tx.max_fee_per_gas, Some(9));
        assert_eq!(tx.max_priority_fee_per_gas, Some(1));
        assert_eq!(tx.gas_price, None);
        assert_eq!(
            tx.input.input().map(|b| b.to_vec()),
            Some(vec![0x50, 0xd2, 0x5b, 0xcd])
        );
        assert_eq!(block, BlockId::Number(BlockNumberOrTag::Number(12)));
    }
}
