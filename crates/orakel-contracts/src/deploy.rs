//! Deploys and wires the direct-request stack (LINK token, Oracle, example consumer) and the
//! SLA stack (reputation, market, aggregators, feeds).
//!
//! Every transaction is sent `from` the given owner, so the provider must be able to sign for it
//! (a wallet holding its key, or a dev node with unlocked accounts such as anvil).

use alloy::network::ReceiptResponse;
use alloy::primitives::{Address, TxHash, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolEvent;
use alloy::uint;

use crate::sla::{Market, SlaTerms};
use crate::{
    Error, LinkToken, MedianAggregator, ModeAggregator, Oracle, PriceConsumer, Reputation, Result,
    RevertingConsumer, SlaFeed, SlaMarket, TrimmedMeanAggregator, TwoDevAggregator, sla_feed,
};

/// One LINK in its smallest unit (18 decimals).
pub const ONE_LINK: U256 = uint!(1_000_000_000_000_000_000_U256);

/// LINK that [`deploy_stack`] gives the example consumer: 1,000 LINK.
pub const DEFAULT_CONSUMER_FUNDING: U256 = uint!(1_000_000_000_000_000_000_000_U256);

/// Addresses of a deployed stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// The LINK token; its whole supply starts with the owner.
    pub link: Address,
    /// The Oracle, owned by the owner.
    pub oracle: Address,
    /// The example `PriceConsumer`, pointed at `oracle` and funded with LINK.
    pub consumer: Address,
}

/// Deploys LINK (supply to `owner`), an Oracle owned by `owner` with `authorized_senders` allowed
/// to fulfil (skipped when empty: the Oracle rejects an empty list), and a `PriceConsumer` funded
/// with [`DEFAULT_CONSUMER_FUNDING`].
///
/// # Errors
/// Fails when a deployment or transaction fails or reverts.
pub async fn deploy_stack<P: Provider>(
    provider: &P,
    owner: Address,
    authorized_senders: &[Address],
) -> Result<Deployment> {
    deploy_stack_with_funding(
        provider,
        owner,
        authorized_senders,
        DEFAULT_CONSUMER_FUNDING,
    )
    .await
}

/// Like [`deploy_stack`], funding the consumer with `consumer_funding` (no transfer when zero).
///
/// # Errors
/// Fails when a deployment or transaction fails or reverts.
pub async fn deploy_stack_with_funding<P: Provider>(
    provider: &P,
    owner: Address,
    authorized_senders: &[Address],
    consumer_funding: U256,
) -> Result<Deployment> {
    let link = deploy_link_token(provider, owner, owner).await?;
    let oracle = deploy_oracle(provider, owner, link, owner).await?;
    if !authorized_senders.is_empty() {
        set_authorized_senders(provider, owner, oracle, authorized_senders).await?;
    }
    let consumer = deploy_price_consumer(provider, owner, link, oracle).await?;
    if !consumer_funding.is_zero() {
        transfer_link(provider, owner, link, consumer, consumer_funding).await?;
    }
    Ok(Deployment {
        link,
        oracle,
        consumer,
    })
}

/// Deploys the LINK token from `from`, minting the whole supply to `holder`.
///
/// # Errors
/// Fails when the deployment fails.
pub async fn deploy_link_token<P: Provider>(
    provider: &P,
    from: Address,
    holder: Address,
) -> Result<Address> {
    Ok(LinkToken::deploy_builder(provider, holder)
        .from(from)
        .deploy()
        .await?)
}

/// Deploys an Oracle paid in `link` and owned by `owner`, from `from`.
///
/// # Errors
/// Fails when the deployment fails.
pub async fn deploy_oracle<P: Provider>(
    provider: &P,
    from: Address,
    link: Address,
    owner: Address,
) -> Result<Address> {
    Ok(Oracle::deploy_builder(provider, link, owner)
        .from(from)
        .deploy()
        .await?)
}

/// Deploys a `PriceConsumer` that pays in `link` and asks `oracle`, from `from`.
///
/// # Errors
/// Fails when the deployment fails.
pub async fn deploy_price_consumer<P: Provider>(
    provider: &P,
    from: Address,
    link: Address,
    oracle: Address,
) -> Result<Address> {
    Ok(PriceConsumer::deploy_builder(provider, link, oracle)
        .from(from)
        .deploy()
        .await?)
}

/// Deploys a `RevertingConsumer` (callback always reverts) that pays in `link` and asks `oracle`.
///
/// # Errors
/// Fails when the deployment fails.
pub async fn deploy_reverting_consumer<P: Provider>(
    provider: &P,
    from: Address,
    link: Address,
    oracle: Address,
) -> Result<Address> {
    Ok(RevertingConsumer::deploy_builder(provider, link, oracle)
        .from(from)
        .deploy()
        .await?)
}

/// Replaces the Oracle's authorized senders; `owner` must be the Oracle's owner.
///
/// # Errors
/// Fails when the transaction fails or reverts (e.g. empty list, duplicates, not the owner).
pub async fn set_authorized_senders<P: Provider>(
    provider: &P,
    owner: Address,
    oracle: Address,
    senders: &[Address],
) -> Result<TxHash> {
    let receipt = Oracle::new(oracle, provider)
        .setAuthorizedSenders(senders.to_vec())
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure_success("Oracle.setAuthorizedSenders", &receipt)
}

/// Transfers `amount` LINK from `from` to `to`.
///
/// # Errors
/// Fails when the transaction fails or reverts (e.g. insufficient balance).
pub async fn transfer_link<P: Provider>(
    provider: &P,
    from: Address,
    link: Address,
    to: Address,
    amount: U256,
) -> Result<TxHash> {
    let receipt = LinkToken::new(link, provider)
        .transfer(to, amount)
        .from(from)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure_success("LinkToken.transfer", &receipt)
}

/// Addresses of a deployed SLA stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaStack {
    /// The LINK token the market is paid in.
    pub link: Address,
    /// `Reputation`, owned by the owner, with `market` authorized to record rounds.
    pub reputation: Address,
    /// `SlaMarket`.
    pub market: Address,
    /// `TrimmedMeanAggregator` with k = 1 (tolerates one arbitrary answer).
    pub trimmed_mean: Address,
    /// `MedianAggregator`.
    pub median: Address,
    /// `ModeAggregator`.
    pub mode: Address,
    /// `TwoDevAggregator`.
    pub two_dev: Address,
}

/// Deploys the SLA stack on top of an existing LINK token: `Reputation(owner)`,
/// `SlaMarket(link)`, every aggregator (trimmed mean with k = 1), and authorizes the market to
/// record rounds (`setWriter(market, true)`). Everything is sent from `owner`.
///
/// # Errors
/// Fails when a deployment or transaction fails or reverts.
pub async fn deploy_sla_stack<P: Provider>(
    provider: &P,
    owner: Address,
    link: Address,
) -> Result<SlaStack> {
    let reputation = Reputation::deploy_builder(provider, owner)
        .from(owner)
        .deploy()
        .await?;
    let market = SlaMarket::deploy_builder(provider, link)
        .from(owner)
        .deploy()
        .await?;
    let trimmed_mean = deploy_trimmed_mean(provider, owner, 1).await?;
    let median = MedianAggregator::deploy_builder(provider)
        .from(owner)
        .deploy()
        .await?;
    let mode = ModeAggregator::deploy_builder(provider)
        .from(owner)
        .deploy()
        .await?;
    let two_dev = TwoDevAggregator::deploy_builder(provider)
        .from(owner)
        .deploy()
        .await?;
    let receipt = Reputation::new(reputation, provider)
        .setWriter(market, true)
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure_success("Reputation.setWriter", &receipt)?;
    Ok(SlaStack {
        link,
        reputation,
        market,
        trimmed_mean,
        median,
        mode,
        two_dev,
    })
}

/// Deploys a `TrimmedMeanAggregator` dropping `k` answers at each end, from `from`.
///
/// # Errors
/// Fails when the deployment fails (e.g. `k` ≥ 128).
pub async fn deploy_trimmed_mean<P: Provider>(
    provider: &P,
    from: Address,
    k: u64,
) -> Result<Address> {
    Ok(
        TrimmedMeanAggregator::deploy_builder(provider, U256::from(k))
            .from(from)
            .deploy()
            .await?,
    )
}

/// Deploys an `SlaFeed` (owned by `owner`) that buys SLAs of `market`, paid in `link`.
///
/// # Errors
/// Fails when the deployment fails.
pub async fn deploy_sla_feed<P: Provider>(
    provider: &P,
    owner: Address,
    link: Address,
    market: Address,
    decimals: u8,
    description: &str,
) -> Result<Address> {
    Ok(
        SlaFeed::deploy_builder(provider, link, market, decimals, description.to_owned())
            .from(owner)
            .deploy()
            .await?,
    )
}

/// The full payment an SLA with `terms` costs: `oracles × paymentPerOracle × rounds`.
#[must_use]
pub fn sla_payment(terms: &SlaTerms) -> U256 {
    U256::from(terms.oracles) * U256::from(terms.paymentPerOracle) * U256::from(terms.rounds)
}

/// `terms` as `SlaFeed.open` takes them (the same ABI struct, bound in the feed's module).
#[must_use]
pub fn feed_terms(terms: &SlaTerms) -> sla_feed::ISlaMarket::SlaTerms {
    sla_feed::ISlaMarket::SlaTerms {
        specId: terms.specId,
        jobType: terms.jobType,
        params: terms.params.clone(),
        oracles: terms.oracles,
        minResponses: terms.minResponses,
        minReputation: terms.minReputation,
        penaltyDeposit: terms.penaltyDeposit,
        paymentPerOracle: terms.paymentPerOracle,
        rounds: terms.rounds,
        biddingEnds: terms.biddingEnds,
        commitWindow: terms.commitWindow,
        revealWindow: terms.revealWindow,
        heartbeat: terms.heartbeat,
        deviationBps: terms.deviationBps,
        aggregator: terms.aggregator,
        reputation: terms.reputation,
        callback: terms.callback,
        callbackSelector: terms.callbackSelector,
    }
}

/// An SLA a feed opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenedSla {
    /// The SLA id the market gave it (from `SlaProposed`).
    pub sla_id: U256,
    /// The `open` transaction.
    pub tx_hash: TxHash,
    /// Its block.
    pub block: u64,
}

/// Funds `feed` with the SLA's payment (LINK from `owner`) and calls `feed.open(terms)` as its
/// owner; the feed proposes the SLA with itself as callback. Returns the SLA id.
///
/// # Errors
/// Fails when a transaction fails or reverts, or the receipt has no `SlaProposed` event.
pub async fn fund_and_open_sla_feed<P: Provider>(
    provider: &P,
    owner: Address,
    link: Address,
    feed: Address,
    terms: &SlaTerms,
) -> Result<OpenedSla> {
    transfer_link(provider, owner, link, feed, sla_payment(terms)).await?;
    let receipt = SlaFeed::new(feed, provider)
        .open(feed_terms(terms))
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    let tx_hash = ensure_success("SlaFeed.open", &receipt)?;
    let sla_id = proposed_sla_id(&receipt).ok_or(Error::MissingEvent {
        action: "SlaFeed.open",
        event: "SlaProposed",
        tx_hash,
    })?;
    Ok(OpenedSla {
        sla_id,
        tx_hash,
        block: receipt.block_number.unwrap_or_default(),
    })
}

/// The id of the SLA proposed in a transaction (its `SlaProposed` event), if any.
#[must_use]
pub fn proposed_sla_id(receipt: &TransactionReceipt) -> Option<U256> {
    receipt.inner.logs().iter().find_map(|log| {
        (log.topic0() == Some(&Market::SlaProposed::SIGNATURE_HASH))
            .then(|| Market::SlaProposed::decode_log_data(log.data()).ok())
            .flatten()
            .map(|ev| ev.slaId)
    })
}

pub(crate) fn ensure_success<R: ReceiptResponse>(
    action: &'static str,
    receipt: &R,
) -> Result<TxHash> {
    let tx_hash = receipt.transaction_hash();
    if receipt.status() {
        Ok(tx_hash)
    } else {
        Err(Error::Reverted { action, tx_hash })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn link_amounts() {
        assert_eq!(ONE_LINK, U256::from(10u64).pow(U256::from(18u64)));
        assert_eq!(DEFAULT_CONSUMER_FUNDING, ONE_LINK * U256::from(1_000u64));
    }
}
