//! The staking-pool part of the SLA devnet (`orakel devnet --sla --pool`): stakers (fresh keys,
//! funded by the deployer) stake unevenly into every pool node before the SLA opens; once the
//! SLA is over, the nodes settle their deposits with the pool and distribute their payments,
//! and the report shows what each staker has: stake (less its share of any slash) and rewards.

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::ProviderBuilder;
use alloy_signer_local::PrivateKeySigner;
use orakel_contracts::deploy::{self, ONE_LINK};
use orakel_contracts::staking::LinkPool;

use crate::sla::{SlaRole, link_amount};
use crate::{Devnet, Error, Result};

/// Stakes (whole LINK) behind every pool node, one staker each: uneven on purpose.
pub const STAKES: [u64; 2] = [30, 10];

/// A pool node and who backs it.
#[derive(Debug, Clone)]
pub struct PoolNodeStakes {
    /// The devnet node serving as it.
    pub devnet_node: usize,
    /// Its role.
    pub role: SlaRole,
    /// The pool node (its oracle address).
    pub node: Address,
    /// Stakers and what they staked (juels).
    pub stakers: Vec<(Address, U256)>,
}

/// The devnet's staking pool (an SLA devnet with at least one pool node has one).
fn pool_of(devnet: &Devnet) -> Result<orakel_contracts::pool::PoolStack> {
    devnet
        .sla_network()?
        .pool
        .ok_or_else(|| Error::Setup("the devnet has no staking pool".into()))
}

fn chain_err(e: impl std::fmt::Display) -> Error {
    Error::Chain(e.to_string())
}

/// Gives every pool node of `devnet` stakers with [`STAKES`] (fresh keys funded with gas
/// money and LINK by the deployer) and stakes.
///
/// # Errors
/// Fails when the devnet has no pool, or a transfer or stake fails.
pub async fn stake_into_pool_nodes(devnet: &Devnet) -> Result<Vec<PoolNodeStakes>> {
    pool_of(devnet)?;
    let mut wallet: Option<EthereumWallet> = None;
    let mut plan = Vec::new();
    for n in devnet.nodes.iter() {
        let Some(node) = n.pool_node else { continue };
        let mut stakers = Vec::new();
        for amount in STAKES {
            let key = PrivateKeySigner::random();
            let staker = key.address();
            match &mut wallet {
                Some(w) => w.register_signer(key),
                None => wallet = Some(EthereumWallet::from(key)),
            }
            stakers.push((staker, ONE_LINK * U256::from(amount)));
        }
        plan.push(PoolNodeStakes {
            devnet_node: n.index,
            role: n.sla_role.unwrap_or(SlaRole::Honest),
            node,
            stakers,
        });
    }
    let Some(wallet) = wallet else {
        return Ok(plan);
    };
    let url: reqwest::Url = devnet
        .rpc_url
        .parse()
        .map_err(|e| Error::Setup(format!("rpc url: {e}")))?;
    let stakers_provider = ProviderBuilder::new().wallet(wallet).connect_http(url);
    for p in &plan {
        for (staker, amount) in &p.stakers {
            // 1 ETH (10^18 wei, the same unit as a juel) of gas money.
            devnet
                .send_eth(*staker, ONE_LINK, &format!("staker {staker:#x}"))
                .await?;
            deploy::transfer_link(
                &devnet.provider,
                devnet.deployer,
                devnet.link,
                *staker,
                *amount,
            )
            .await?;
            orakel_contracts::pool::stake(&stakers_provider, *staker, devnet.link, p.node, *amount)
                .await?;
        }
    }
    Ok(plan)
}

/// Waits until every pool node has settled its deposits, collected what the market credited
/// it and distributed its profit.
///
/// # Errors
/// Fails on chain errors or after `timeout`.
pub async fn wait_for_settlement(
    devnet: &Devnet,
    stakes: &[PoolNodeStakes],
    timeout: Duration,
) -> Result<()> {
    let net = devnet.sla_network()?;
    let pool = pool_of(devnet)?;
    let link_pool = LinkPool::new(pool.link_pool, &devnet.provider);
    let market = orakel_contracts::SlaMarket::new(net.stack.market, &devnet.provider);
    let deadline = Instant::now() + timeout;
    loop {
        let mut pending = Vec::new();
        for s in stakes {
            let info = link_pool.nodeInfo(s.node).call().await.map_err(chain_err)?;
            let credit = market
                .withdrawable(s.node)
                .call()
                .await
                .map_err(chain_err)?;
            let profit = link_pool
                .distributable(s.node)
                .call()
                .await
                .map_err(chain_err)?;
            if !info.locked.is_zero() || !credit.is_zero() || !profit.is_zero() {
                pending.push(format!(
                    "{:#x} (locked {}, uncollected {}, undistributed {})",
                    s.node,
                    link_amount(info.locked),
                    link_amount(credit),
                    link_amount(profit)
                ));
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Chain(format!(
                "pool nodes not settled after {timeout:?}: {}",
                pending.join(", ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Readable lines: per pool node its stake, slashes and distributions, per staker what it
/// staked, what its stake is worth now and its rewards.
///
/// # Errors
/// Fails on chain errors.
pub async fn summary_lines(devnet: &Devnet, stakes: &[PoolNodeStakes]) -> Result<Vec<String>> {
    let pool = pool_of(devnet)?;
    let link_pool = LinkPool::new(pool.link_pool, &devnet.provider);
    let mut out = vec![format!(
        "staking pool {:#x}: operator fee {} %, owners' share {} %",
        pool.link_pool,
        crate::sla::POOL_OPERATOR_FEE_BPS / 100,
        crate::sla::POOL_OWNERS_BPS / 100
    )];
    for s in stakes {
        let info = link_pool.nodeInfo(s.node).call().await.map_err(chain_err)?;
        out.push(format!(
            "  pool node {:#x} (node-{}, {}): staked {}, slashed {}, distributed {} (operator {}, owners {})",
            s.node,
            s.devnet_node,
            s.role.name(),
            link_amount(info.totalStaked),
            link_amount(info.totalSlashed),
            link_amount(info.totalDistributed),
            link_amount(info.operatorOwed),
            link_amount(info.ownersOwed),
        ));
        for (staker, staked) in &s.stakers {
            let now = link_pool
                .stakeOf(s.node, *staker)
                .call()
                .await
                .map_err(chain_err)?;
            let rewards = link_pool
                .rewardsOf(s.node, *staker)
                .call()
                .await
                .map_err(chain_err)?;
            out.push(format!(
                "    staker {staker:#x}: staked {} → stake {} + rewards {}",
                link_amount(*staked),
                link_amount(now),
                link_amount(rewards)
            ));
        }
    }
    Ok(out)
}
