//! The staking pool on a real anvil: the deploy helpers wire the registry, logic names,
//! owners' share and whitelist; a node is created and staked into through the bindings, and the
//! Rust names and stake payload equal the contracts'.

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use orakel_contracts::deploy::{self, ONE_LINK};
use orakel_contracts::pool::{self, NewNode, PoolSetup};
use orakel_contracts::staking::{LinkPool, PoolRegistry, names, stake_payload};

use orakel_contracts::anvil::AnvilProcess;

use crate::TestResult;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_deploys_creates_a_node_and_takes_a_stake_on_anvil() -> TestResult {
    let anvil = AnvilProcess::start(&[]).await?;
    let provider = ProviderBuilder::new().connect_http(anvil.url().parse()?);
    let accounts = provider.get_accounts().await?;
    let (owner, operator, staker) = (accounts[0], accounts[1], accounts[2]);

    let link = deploy::deploy_link_token(&provider, owner, owner).await?;
    let sla = deploy::deploy_sla_stack(&provider, owner, link).await?;
    let stack = pool::deploy_pool(
        &provider,
        owner,
        link,
        &PoolSetup {
            change_delay: 0,
            owners_bps: 500,
            whitelist: vec![sla.market],
        },
    )
    .await?;
    let registry = PoolRegistry::new(stack.registry, &provider);
    let link_pool = LinkPool::new(stack.link_pool, &provider);
    assert_eq!(registry.logic(names::NODE).call().await?, stack.node_logic);
    assert_eq!(
        registry.logic(names::NODE_STAKING).call().await?,
        stack.node_staking
    );
    assert_eq!(link_pool.nodeLogic().call().await?, stack.node_logic);
    assert_eq!(link_pool.poolOwners().call().await?, stack.pool_owners);
    assert_eq!(link_pool.stakePayload().call().await?, stake_payload());
    assert!(registry.isWhitelisted(sla.market).call().await?);
    assert!(!registry.isWhitelisted(link).call().await?);

    let node = pool::create_node(
        &provider,
        owner,
        stack.node_factory,
        &NewNode {
            operator,
            private: false,
            fee_bps: 1000,
            stake_limit: ONE_LINK * U256::from(1_000u64),
        },
    )
    .await?;
    assert_ne!(node, Address::ZERO);
    assert_eq!(link_pool.nodes().call().await?, vec![node]);
    let info = link_pool.nodeInfo(node).call().await?;
    assert_eq!(info.operator, operator);
    assert_eq!(info.feeBps, U256::from(1000u64));
    assert!(info.enabled);

    deploy::transfer_link(&provider, owner, link, staker, ONE_LINK * U256::from(50u64)).await?;
    pool::stake(&provider, staker, link, node, ONE_LINK * U256::from(30u64)).await?;
    assert_eq!(
        link_pool.stakeOf(node, staker).call().await?,
        ONE_LINK * U256::from(30u64)
    );
    assert_eq!(
        link_pool.totalStaked(node).call().await?,
        ONE_LINK * U256::from(30u64)
    );
    assert_eq!(link_pool.bidCount(node).call().await?, U256::ZERO);

    // Above the limit: the stake reverts and nothing changes.
    let over = pool::stake(
        &provider,
        staker,
        link,
        node,
        ONE_LINK * U256::from(2_000u64),
    )
    .await;
    assert!(
        over.is_err(),
        "a stake above the limit (and balance) is refused"
    );
    assert_eq!(
        link_pool.totalStaked(node).call().await?,
        ONE_LINK * U256::from(30u64)
    );
    Ok(())
}
