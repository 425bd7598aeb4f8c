//! Deploys and wires the staking pool (ADR 0006) for the devnet, tests and `orakel pool`:
//! the registry, the five logic contracts, the owners' share, and the network contracts pool
//! nodes may send penalty deposits to.
//!
//! Every transaction is sent `from` the given account, so the provider must be able to sign
//! for it (a wallet holding its key, or a dev node with unlocked accounts such as anvil).

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolEvent;

use crate::deploy::ensure_success;
use crate::staking::{
    LinkPool, Node, NodeFactory, NodeStaking, PoolOwners, PoolRegistry, names, stake_payload,
};
use crate::{Error, LinkToken, Result};

/// Addresses of a deployed pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStack {
    /// The LINK token stakes are made in.
    pub link: Address,
    /// `PoolRegistry`, owned by the pool owner.
    pub registry: Address,
    /// `LinkPool`: the entry point clients start from.
    pub link_pool: Address,
    /// `Node` logic.
    pub node_logic: Address,
    /// `NodeFactory`.
    pub node_factory: Address,
    /// `NodeStaking`.
    pub node_staking: Address,
    /// `PoolOwners`.
    pub pool_owners: Address,
}

/// How to set a pool up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSetup {
    /// Seconds between scheduling and applying a logic change or whitelist addition once a
    /// node exists (0: immediate).
    pub change_delay: u64,
    /// The owners' share of every node's profit, basis points.
    pub owners_bps: u64,
    /// Network contracts (e.g. SLA markets) pool nodes may bid on and call.
    pub whitelist: Vec<Address>,
}

/// Deploys a pool on `link` owned by `owner`: registry, every logic contract (registered under
/// its name), the owners' share with `owner` holding every owner unit, and the whitelist. All
/// of it is applied before any node exists, so nothing waits for the change delay.
///
/// # Errors
/// Fails when a deployment or transaction fails or reverts.
pub async fn deploy_pool<P: Provider>(
    provider: &P,
    owner: Address,
    link: Address,
    setup: &PoolSetup,
) -> Result<PoolStack> {
    let registry =
        PoolRegistry::deploy_builder(provider, link, owner, U256::from(setup.change_delay))
            .from(owner)
            .deploy()
            .await?;
    let link_pool = LinkPool::deploy_builder(provider, registry)
        .from(owner)
        .deploy()
        .await?;
    let node_logic = Node::deploy_builder(provider, registry)
        .from(owner)
        .deploy()
        .await?;
    let node_factory = NodeFactory::deploy_builder(provider, registry)
        .from(owner)
        .deploy()
        .await?;
    let node_staking = NodeStaking::deploy_builder(provider, registry)
        .from(owner)
        .deploy()
        .await?;
    let pool_owners = PoolOwners::deploy_builder(provider, registry)
        .from(owner)
        .deploy()
        .await?;
    let reg = PoolRegistry::new(registry, provider);
    for (name, logic) in [
        (names::LINK_POOL, link_pool),
        (names::NODE, node_logic),
        (names::NODE_FACTORY, node_factory),
        (names::NODE_STAKING, node_staking),
        (names::POOL_OWNERS, pool_owners),
    ] {
        let receipt = reg
            .setLogic(name, logic)
            .from(owner)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure_success("PoolRegistry.setLogic", &receipt)?;
    }
    for account in &setup.whitelist {
        let receipt = reg
            .addToWhitelist(*account)
            .from(owner)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure_success("PoolRegistry.addToWhitelist", &receipt)?;
    }
    let owners = PoolOwners::new(pool_owners, provider);
    let receipt = owners
        .setOwnersShare(U256::from(setup.owners_bps))
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure_success("PoolOwners.setOwnersShare", &receipt)?;
    let receipt = owners
        .setOwnership(owner, U256::from(1u64))
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure_success("PoolOwners.setOwnership", &receipt)?;
    Ok(PoolStack {
        link,
        registry,
        link_pool,
        node_logic,
        node_factory,
        node_staking,
        pool_owners,
    })
}

/// The settings of a new node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewNode {
    /// Runs the node: bids and answers as it, manages its settings.
    pub operator: Address,
    /// Only allow-listed stakers may stake.
    pub private: bool,
    /// Operator fee, basis points of each distribution.
    pub fee_bps: u64,
    /// Highest total stake (juels).
    pub stake_limit: U256,
}

/// Creates a node (`NodeFactory.createNode`, pool owner only) and returns its address (its
/// `PoolStorage`, the node's oracle identity).
///
/// # Errors
/// Fails when the transaction fails or reverts, or emits no `NodeCreated`.
pub async fn create_node<P: Provider>(
    provider: &P,
    pool_owner: Address,
    factory: Address,
    node: &NewNode,
) -> Result<Address> {
    let receipt = NodeFactory::new(factory, provider)
        .createNode(
            node.operator,
            node.private,
            U256::from(node.fee_bps),
            node.stake_limit,
        )
        .from(pool_owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    let tx_hash = ensure_success("NodeFactory.createNode", &receipt)?;
    created_node(&receipt).ok_or(Error::MissingEvent {
        action: "NodeFactory.createNode",
        event: "NodeCreated",
        tx_hash,
    })
}

/// The node a `createNode` receipt created.
#[must_use]
pub fn created_node(receipt: &TransactionReceipt) -> Option<Address> {
    receipt.inner.logs().iter().find_map(|log| {
        NodeFactory::NodeCreated::decode_log_data(log.data())
            .ok()
            .map(|ev| ev.node)
    })
}

/// Stakes `amount` juels of `staker`'s LINK into `node` (`transferAndCall` with the stake
/// payload).
///
/// # Errors
/// Fails when the transaction fails or reverts (disabled node, private node, stake limit, …).
pub async fn stake<P: Provider>(
    provider: &P,
    staker: Address,
    link: Address,
    node: Address,
    amount: U256,
) -> Result<()> {
    let receipt = LinkToken::new(link, provider)
        .transferAndCall(node, amount, stake_payload())
        .from(staker)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure_success("LinkToken.transferAndCall (stake)", &receipt)?;
    Ok(())
}
