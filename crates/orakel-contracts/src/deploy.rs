//! Deploys and wires the direct-request stack: LINK token, Oracle, example consumer.
//!
//! Every transaction is sent `from` the given owner, so the provider must be able to sign for it
//! (a wallet holding its key, or a dev node with unlocked accounts such as anvil).

use alloy::network::ReceiptResponse;
use alloy::primitives::{Address, TxHash, U256};
use alloy::providers::Provider;
use alloy::uint;

use crate::{Error, LinkToken, Oracle, PriceConsumer, Result, RevertingConsumer};

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

fn ensure_success<R: ReceiptResponse>(action: &'static str, receipt: &R) -> Result<TxHash> {
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
