//! Serving SLAs as a staking-pool node (ADR 0006): the node's oracle identity is its
//! `PoolStorage`, whose LINK (the stakers' stake) pays penalty deposits, and whose payments
//! flow back to the stakers.
//!
//! [`PoolChain`] wraps the node's [`SlaChain`] so the SLA service works unchanged:
//!
//! - its address is the pool node's (so the service recognises itself in market logs);
//! - a bid (`LinkToken.transferAndCall(market, deposit, bid(slaId))`) becomes
//!   `Node.bid(node, market, deposit, bid(slaId))`: the deposit leaves the pool node;
//! - the calls only the oracle may make (`commit`, `reveal`, `withdraw`) become
//!   `Node.forward(node, market, call)`, sent by the operator key;
//! - calls anyone may make (`finalize`, `startRound`, `closeRound`) go out directly;
//! - the LINK balance the bidding policy checks is the node's free balance (what `Node.bid`
//!   may spend: its balance less rewards and fees it owes).
//!
//! The `Node` logic is looked up in the pool registry for every transaction, so a logic
//! upgrade needs no node restart. Settling each deposit with the pool (`Node.settleBid`, then
//! `distribute`) is a step of the SLA service (`SlaService::pool_step`).

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolCall;
use async_trait::async_trait;
use orakel_contracts::LinkToken;
use orakel_contracts::sla::Market;
use orakel_contracts::staking::{LinkPool, Node, PoolRegistry, PoolStorage, names};

use crate::sla::{SentTx, SlaChain, SlaError, view};

type PoolResult<T> = Result<T, SlaError>;

/// How a call of the SLA service reaches the chain for a pool node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Unchanged, from the operator key (anyone may make it, or it is a view).
    Direct,
    /// `Node.forward(node, to, data)`: only the oracle may make it.
    Forward,
    /// `Node.bid(node, target, amount, payload)`: a penalty deposit paid by the pool node.
    Bid {
        /// The market.
        target: Address,
        /// The deposit (juels).
        amount: U256,
        /// `bid(slaId)`.
        payload: Bytes,
    },
    /// `balanceOf(node)`: answered with the node's free balance.
    FreeBalance,
}

/// Decides the [`Route`] of `data` sent to `to` for pool node `node`.
#[must_use]
pub fn route(node: Address, data: &[u8]) -> Route {
    let Some(selector) = data.first_chunk::<4>() else {
        return Route::Direct;
    };
    if *selector == Market::commitCall::SELECTOR
        || *selector == Market::revealCall::SELECTOR
        || *selector == Market::withdrawCall::SELECTOR
    {
        return Route::Forward;
    }
    if *selector == LinkToken::transferAndCallCall::SELECTOR
        && let Ok(call) = LinkToken::transferAndCallCall::abi_decode(data)
        && call.data.first_chunk::<4>() == Some(&Market::bidCall::SELECTOR)
    {
        return Route::Bid {
            target: call.to,
            amount: call.value,
            payload: call.data,
        };
    }
    if *selector == LinkToken::balanceOfCall::SELECTOR
        && let Ok(call) = LinkToken::balanceOfCall::abi_decode(data)
        && call.account == node
    {
        return Route::FreeBalance;
    }
    Route::Direct
}

/// The market calldata inside a transaction's input: the input itself, or what a
/// `Node.forward` carried (another pool node's commit or reveal).
#[must_use]
pub fn market_calldata(input: &Bytes) -> Bytes {
    if input.first_chunk::<4>() == Some(&Node::forwardCall::SELECTOR)
        && let Ok(call) = Node::forwardCall::abi_decode(input)
    {
        return call.data;
    }
    input.clone()
}

/// The SLA chain of a pool node: see the module documentation.
pub struct PoolChain {
    inner: Arc<dyn SlaChain>,
    node: Address,
    registry: Address,
}

impl std::fmt::Debug for PoolChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolChain")
            .field("node", &self.node)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

fn decode_err(what: &'static str) -> impl FnOnce(alloy::sol_types::Error) -> SlaError {
    move |e| SlaError::Decode {
        what,
        detail: e.to_string(),
    }
}

impl PoolChain {
    /// Wraps `inner` (whose key must be `node`'s operator) to act as pool node `node`. Reads
    /// the node's registry, checks the node is registered and run by this key.
    ///
    /// # Errors
    /// [`SlaError::Pool`] when `node` is not a pool node or another key operates it; chain
    /// errors when the reads fail.
    pub async fn connect(inner: Arc<dyn SlaChain>, node: Address) -> PoolResult<Self> {
        let registry = view(
            inner.as_ref(),
            node,
            PoolStorage::registryCall {},
            "PoolStorage.registry",
        )
        .await
        .map_err(|e| SlaError::Pool(format!("{node:#x} is not a pool node storage: {e}")))?;
        let this = Self {
            inner,
            node,
            registry,
        };
        let is_node = view(
            this.inner.as_ref(),
            registry,
            PoolRegistry::isNodeCall { account: node },
            "PoolRegistry.isNode",
        )
        .await?;
        if !is_node {
            return Err(SlaError::Pool(format!(
                "{node:#x} is not a node of pool registry {registry:#x}"
            )));
        }
        let info = this.node_info().await?;
        let me = this.inner.address();
        if info.operator != me {
            return Err(SlaError::Pool(format!(
                "pool node {node:#x} is operated by {:#x}, not by this node's key {me:#x}",
                info.operator
            )));
        }
        Ok(this)
    }

    /// The pool node (the oracle address).
    #[must_use]
    pub fn node(&self) -> Address {
        self.node
    }

    /// The operator key's chain access.
    #[must_use]
    pub fn inner(&self) -> &Arc<dyn SlaChain> {
        &self.inner
    }

    /// The registry's current logic contract named `name`.
    ///
    /// # Errors
    /// Chain or decoding errors; [`SlaError::Pool`] when nothing is registered.
    pub async fn logic(&self, name: B256) -> PoolResult<Address> {
        let logic = view(
            self.inner.as_ref(),
            self.registry,
            PoolRegistry::logicCall { name },
            "PoolRegistry.logic",
        )
        .await?;
        if logic == Address::ZERO {
            return Err(SlaError::Pool(format!(
                "pool registry {:#x} has no {} logic",
                self.registry,
                String::from_utf8_lossy(name.as_slice()).trim_end_matches('\0')
            )));
        }
        Ok(logic)
    }

    /// `LinkPool.nodeInfo(node)`.
    ///
    /// # Errors
    /// Chain or decoding errors.
    pub async fn node_info(&self) -> PoolResult<LinkPool::NodeInfo> {
        self.link_pool_view(
            LinkPool::nodeInfoCall { node: self.node },
            "LinkPool.nodeInfo",
        )
        .await
    }

    /// A view of the registry's current `LinkPool`.
    async fn link_pool_view<C: SolCall>(
        &self,
        call: C,
        what: &'static str,
    ) -> PoolResult<C::Return> {
        let link_pool = self.logic(names::LINK_POOL).await?;
        view(self.inner.as_ref(), link_pool, call, what).await
    }

    /// `LinkPool.distributable(node)`: the profit the next `distribute` would split.
    ///
    /// # Errors
    /// Chain or decoding errors.
    pub async fn distributable(&self) -> PoolResult<U256> {
        self.link_pool_view(
            LinkPool::distributableCall { node: self.node },
            "LinkPool.distributable",
        )
        .await
    }

    /// The open penalty deposit of this node for `amount` at `target`, newest first: deposits
    /// of the same amount at the same market are interchangeable for settlement.
    ///
    /// # Errors
    /// Chain or decoding errors.
    pub async fn open_bid(&self, target: Address, amount: U256) -> PoolResult<Option<U256>> {
        // One registry lookup for the whole scan.
        let link_pool = self.logic(names::LINK_POOL).await?;
        let chain = self.inner.as_ref();
        let mut id = view(
            chain,
            link_pool,
            LinkPool::bidCountCall { node: self.node },
            "LinkPool.bidCount",
        )
        .await?;
        while id > U256::ZERO {
            let bid = view(
                chain,
                link_pool,
                LinkPool::bidOfCall {
                    node: self.node,
                    bidId: id,
                },
                "LinkPool.bidOf",
            )
            .await?;
            if bid.open && bid.target == target && bid.amount == amount {
                return Ok(Some(id));
            }
            id -= U256::from(1u8);
        }
        Ok(None)
    }

    /// `to`/`data` as the operator key sends them.
    async fn wrap(&self, to: Address, data: Bytes) -> PoolResult<(Address, Bytes, Route)> {
        let r = route(self.node, &data);
        Ok(match &r {
            Route::Direct | Route::FreeBalance => (to, data, r),
            Route::Forward => (
                self.logic(names::NODE).await?,
                Node::forwardCall {
                    node: self.node,
                    target: to,
                    data,
                }
                .abi_encode()
                .into(),
                r,
            ),
            Route::Bid {
                target,
                amount,
                payload,
            } => (
                self.logic(names::NODE).await?,
                Node::bidCall {
                    node: self.node,
                    target: *target,
                    amount: *amount,
                    data: payload.clone(),
                }
                .abi_encode()
                .into(),
                r,
            ),
        })
    }
}

#[async_trait]
impl SlaChain for PoolChain {
    fn address(&self) -> Address {
        self.node
    }

    async fn now(&self) -> PoolResult<u64> {
        self.inner.now().await
    }

    async fn call(&self, to: Address, data: Bytes) -> PoolResult<Bytes> {
        let (target, wrapped, r) = self.wrap(to, data).await?;
        let out = self.inner.call(target, wrapped).await?;
        match r {
            Route::Forward => {
                Node::forwardCall::abi_decode_returns(&out).map_err(decode_err("Node.forward"))
            }
            Route::Bid { .. } => Ok(out),
            Route::FreeBalance => {
                let balance = LinkToken::balanceOfCall::abi_decode_returns(&out)
                    .map_err(decode_err("LinkToken.balanceOf"))?;
                let owed = self
                    .link_pool_view(LinkPool::owedOfCall { node: self.node }, "LinkPool.owedOf")
                    .await?;
                Ok(Bytes::from(alloy::sol_types::SolValue::abi_encode(
                    &balance.saturating_sub(owed),
                )))
            }
            Route::Direct => Ok(out),
        }
    }

    async fn send(
        &self,
        key: &str,
        to: Address,
        data: Bytes,
        gas_limit: Option<u64>,
    ) -> PoolResult<()> {
        let (target, wrapped, _) = self.wrap(to, data).await?;
        self.inner.send(key, target, wrapped, gas_limit).await
    }

    async fn sent(&self, key: &str) -> PoolResult<Option<SentTx>> {
        self.inner.sent(key).await
    }

    async fn tx_input(&self, hash: B256) -> PoolResult<Option<Bytes>> {
        self.inner.tx_input(hash).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const NODE: Address = Address::repeat_byte(0x0d);
    const MARKET: Address = Address::repeat_byte(0x0a);

    #[test]
    fn oracle_only_calls_are_forwarded() {
        let commit = Market::commitCall {
            roundId: U256::from(3u8),
            index: U256::from(1u8),
            commitment: B256::repeat_byte(7),
        }
        .abi_encode();
        assert_eq!(route(NODE, &commit), Route::Forward);
        let reveal = Market::revealCall {
            roundId: U256::from(3u8),
            index: U256::from(1u8),
            answer: alloy::primitives::I256::try_from(-5).unwrap(),
            salt: B256::repeat_byte(9),
        }
        .abi_encode();
        assert_eq!(route(NODE, &reveal), Route::Forward);
        assert_eq!(
            route(NODE, &Market::withdrawCall {}.abi_encode()),
            Route::Forward
        );
    }

    #[test]
    fn calls_anyone_may_make_go_out_directly() {
        for data in [
            Market::finalizeCall {
                slaId: U256::from(1u8),
            }
            .abi_encode(),
            Market::startRoundCall {
                slaId: U256::from(1u8),
            }
            .abi_encode(),
            Market::closeRoundCall {
                roundId: U256::from(1u8),
            }
            .abi_encode(),
            Node::distributeCall { node: NODE }.abi_encode(),
            vec![],
            vec![1, 2],
        ] {
            assert_eq!(route(NODE, &data), Route::Direct, "{data:?}");
        }
        // Another account's balance is a plain view.
        let other = LinkToken::balanceOfCall { account: MARKET }.abi_encode();
        assert_eq!(route(NODE, &other), Route::Direct);
        let own = LinkToken::balanceOfCall { account: NODE }.abi_encode();
        assert_eq!(route(NODE, &own), Route::FreeBalance);
    }

    #[test]
    fn a_bid_becomes_a_pool_deposit() {
        let payload: Bytes = Market::bidCall::new((U256::from(42u8),))
            .abi_encode()
            .into();
        let data = LinkToken::transferAndCallCall {
            to: MARKET,
            value: U256::from(5u8),
            data: payload.clone(),
        }
        .abi_encode();
        assert_eq!(
            route(NODE, &data),
            Route::Bid {
                target: MARKET,
                amount: U256::from(5u8),
                payload
            }
        );
        // A transferAndCall that is not a bid (e.g. a stake or a proposal) is not rerouted.
        let other = LinkToken::transferAndCallCall {
            to: MARKET,
            value: U256::from(5u8),
            data: Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]),
        }
        .abi_encode();
        assert_eq!(route(NODE, &other), Route::Direct);
    }

    #[test]
    fn forwarded_market_calldata_is_unwrapped() {
        let commit: Bytes = Market::commitCall {
            roundId: U256::from(3u8),
            index: U256::from(0u8),
            commitment: B256::repeat_byte(7),
        }
        .abi_encode()
        .into();
        let forwarded: Bytes = Node::forwardCall {
            node: NODE,
            target: MARKET,
            data: commit.clone(),
        }
        .abi_encode()
        .into();
        assert_eq!(market_calldata(&forwarded), commit);
        assert_eq!(market_calldata(&commit), commit);
        let garbage = Bytes::from_static(&[1, 2, 3]);
        assert_eq!(market_calldata(&garbage), garbage);
    }
}
