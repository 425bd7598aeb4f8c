//! `orakel pool …`: the staking pool (ADR 0006) from the command line — deploy a pool on a
//! devnet, create nodes, stake and withdraw, distribute profit, change a node's settings and
//! read every figure. Amounts are given and shown in LINK (`12.5`), kept exactly in juels.
//!
//! Transactions are signed by one of three signers (see `docs/pool.md`): an encrypted keystore,
//! a hex key in a named environment variable, or an unlocked account of a dev node. Before a
//! stake or a withdrawal the command reads the node and refuses what the contracts would refuse,
//! with the reason; anything the chain still refuses is decoded from the contracts' custom errors.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{Panic, Revert, SolError, SolInterface};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context, anyhow, bail};
use clap::{ArgAction, Args, Subcommand};
use orakel_contracts::LinkToken;
use orakel_contracts::pool::{PoolSetup, PoolStack, created_node, deploy_pool};
use orakel_contracts::staking::{
    LinkPool, Node, NodeFactory, NodeStaking, PoolOwners, PoolRegistry, PoolStorage,
};
use serde_json::{Value, json};

/// Juels in one LINK (18 decimals).
const JUELS_PER_LINK: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);
/// Decimals of LINK.
const LINK_DECIMALS: usize = 18;
/// How long a command waits for its transaction's receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);
/// Where the RPC endpoint is by default (a local dev node).
const DEFAULT_RPC_URL: &str = "http://127.0.0.1:8545";

// ------------------------------------------------------------------------------------------
// Command line
// ------------------------------------------------------------------------------------------

/// `orakel pool …`
#[derive(Subcommand)]
pub enum PoolCommand {
    /// Deploy a pool on an existing LINK token (registry, logic contracts, owners' share,
    /// whitelist); the sender becomes the pool owner. Prints the LinkPool address first: that
    /// is what `--pool` takes.
    Deploy(DeployArgs),
    /// Create a node run by an operator (pool owner only); prints the node's address.
    CreateNode(CreateNodeArgs),
    /// Stake LINK on a node (LINK `transferAndCall` with the stake payload).
    Stake(StakeArgs),
    /// Withdraw stake from a node: an amount, or `all` (the whole stake plus rewards).
    Withdraw(WithdrawArgs),
    /// Send the sender's claimable rewards on a node to the sender.
    Claim(NodeTxArgs),
    /// Add the sender's claimable rewards on a node to its stake.
    Restake(NodeTxArgs),
    /// Split a node's profit since the last distribution: operator fee, owners' share, stakers
    /// (anyone may call it).
    Distribute(NodeTxArgs),
    /// Send the operator its accrued fees (operator only).
    WithdrawFees(NodeTxArgs),
    /// Show the pool and its nodes, one node in full, or one staker's position.
    Status(StatusArgs),
    /// Set a node's operator fee in basis points (operator only; profit so far is distributed
    /// at the old rate first).
    SetFee(SetFeeArgs),
    /// Set a node's stake limit in LINK (operator only; lowering it only stops new stakes).
    SetLimit(SetLimitArgs),
    /// Let a node take new stakes again (operator or pool owner).
    Enable(NodeTxArgs),
    /// Stop a node from taking new stakes; exits keep working (operator or pool owner).
    Disable(NodeTxArgs),
    /// Make a node private (only allow-listed stakers may stake) or public (operator only).
    SetPrivate(SetPrivateArgs),
    /// Put a staker on a node's allow list (operator only).
    Allow(AllowArgs),
    /// Take a staker off a node's allow list; its stake stays (operator only).
    Disallow(AllowArgs),
}

/// Where the chain is and how to print.
#[derive(Args, Clone)]
pub struct ChainArgs {
    /// JSON-RPC endpoint (http or https). Only its scheme, host and port are ever printed.
    #[arg(long = "rpc-url", env = "ORAKEL_RPC_URL", hide_env_values = true, default_value = DEFAULT_RPC_URL)]
    rpc_url: String,
    /// Print JSON (amounts as juel strings plus LINK strings).
    #[arg(long)]
    json: bool,
}

/// The pool to act on.
#[derive(Args, Clone)]
pub struct PoolArgs {
    /// The pool's LinkPool address (what `orakel pool deploy` prints first).
    #[arg(long, env = "ORAKEL_POOL")]
    pool: Address,
    #[command(flatten)]
    chain: ChainArgs,
}

/// Who signs the transaction: exactly one of `--keystore`, `--private-key-env`, `--unlocked`.
#[derive(Args, Clone)]
pub struct SignerArgs {
    /// Encrypted keystore (v3 JSON) of the sending account; its password comes from
    /// --password-file, else $ORAKEL_KEYSTORE_PASSWORD, else a prompt.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["private_key_env", "unlocked"])]
    keystore: Option<PathBuf>,
    /// File holding the keystore password.
    #[arg(long, value_name = "PATH", requires = "keystore")]
    password_file: Option<PathBuf>,
    /// Name of an environment variable holding the sending account's hex private key (never
    /// pass a key itself on the command line).
    #[arg(long, value_name = "VAR", conflicts_with = "unlocked")]
    private_key_env: Option<String>,
    /// Send from this account unlocked on a dev node (anvil), which signs it
    /// (`eth_sendTransaction`).
    #[arg(long, value_name = "ADDRESS")]
    unlocked: Option<Address>,
}

/// `orakel pool deploy`
#[derive(Args)]
pub struct DeployArgs {
    /// The LINK token stakes are made in.
    #[arg(long)]
    link: Address,
    /// How long logic changes and whitelist additions wait once a node exists, e.g. `2days`
    /// (`0s` applies them at once: devnets only).
    #[arg(long, value_parser = crate::parse_duration)]
    change_delay: Duration,
    /// The owners' share of every node's profit, basis points (at most 5000).
    #[arg(long, default_value_t = 0)]
    owners_share_bps: u64,
    /// A network contract (e.g. an SLA market) nodes may bid on and call; repeatable.
    #[arg(long = "whitelist", value_name = "ADDRESS")]
    whitelist: Vec<Address>,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool create-node`
#[derive(Args)]
pub struct CreateNodeArgs {
    /// Runs the node: bids and answers as it, manages its settings.
    #[arg(long)]
    operator: Address,
    /// Only allow-listed stakers may stake.
    #[arg(long)]
    private: bool,
    /// Operator fee, basis points of each distribution (at most 5000).
    #[arg(long)]
    fee_bps: u64,
    /// Highest total stake, in LINK.
    #[arg(long, value_name = "LINK", allow_hyphen_values = true, value_parser = parse_link)]
    stake_limit: U256,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool stake`
#[derive(Args)]
pub struct StakeArgs {
    /// The node (its address, as `status` lists it).
    node: Address,
    /// LINK to stake, e.g. `12.5`.
    #[arg(value_name = "AMOUNT", allow_hyphen_values = true, value_parser = parse_link)]
    amount: U256,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool withdraw`
#[derive(Args)]
pub struct WithdrawArgs {
    /// The node.
    node: Address,
    /// LINK of stake to withdraw, or `all` for the whole stake plus rewards.
    #[arg(value_name = "AMOUNT|all", allow_hyphen_values = true, value_parser = parse_withdrawal)]
    amount: Withdrawal,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool claim|restake|distribute|withdraw-fees|enable|disable`
#[derive(Args)]
pub struct NodeTxArgs {
    /// The node.
    node: Address,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool status`
#[derive(Args)]
pub struct StatusArgs {
    /// Show this node in full (default: the pool and every node).
    node: Option<Address>,
    /// Also show this staker's position (stake, shares, rewards, whether it may stake).
    #[arg(long)]
    staker: Option<Address>,
    #[command(flatten)]
    pool: PoolArgs,
}

/// `orakel pool set-fee`
#[derive(Args)]
pub struct SetFeeArgs {
    /// The node.
    node: Address,
    /// Operator fee in basis points (100 = 1 %, at most 5000).
    bps: u64,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool set-limit`
#[derive(Args)]
pub struct SetLimitArgs {
    /// The node.
    node: Address,
    /// Highest total stake, in LINK.
    #[arg(value_name = "LINK", allow_hyphen_values = true, value_parser = parse_link)]
    limit: U256,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool set-private`
#[derive(Args)]
pub struct SetPrivateArgs {
    /// The node.
    node: Address,
    /// `true`: only allow-listed stakers may stake; `false`: anyone may.
    #[arg(value_name = "true|false", action = ArgAction::Set, value_parser = clap::value_parser!(bool))]
    private: bool,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `orakel pool allow|disallow`
#[derive(Args)]
pub struct AllowArgs {
    /// The node.
    node: Address,
    /// The staker.
    staker: Address,
    #[command(flatten)]
    pool: PoolArgs,
    #[command(flatten)]
    signer: SignerArgs,
}

/// How much `withdraw` takes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// This many juels of stake.
    Juels(U256),
    /// The whole stake plus the rewards.
    All,
}

// ------------------------------------------------------------------------------------------
// LINK amounts
// ------------------------------------------------------------------------------------------

/// Parses a LINK amount written in decimal (`12`, `12.5`, `0.000000000000000001`) exactly into
/// juels. Refuses signs, exponents, separators, more than 18 decimals and values above 2^256.
pub(crate) fn parse_link(text: &str) -> Result<U256, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty: give LINK like 12.5".into());
    }
    if t.starts_with('-') {
        return Err(format!("{t:?} is negative: amounts are 0 or more LINK"));
    }
    let (whole, fraction) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(format!(
            "{t:?} is not a LINK amount: use digits with at most one '.', like 12.5"
        ));
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > LINK_DECIMALS {
        return Err(format!(
            "{t:?} has {} decimals; LINK has {LINK_DECIMALS} (1 juel = 0.000000000000000001 LINK)",
            fraction.len()
        ));
    }
    let too_large = || format!("{t:?} is too large");
    let whole = U256::from_str_radix(whole, 10).map_err(|_| too_large())?;
    let fraction = if fraction.is_empty() {
        U256::ZERO
    } else {
        let padded = format!("{fraction:0<LINK_DECIMALS$}");
        U256::from_str_radix(&padded, 10).map_err(|_| too_large())?
    };
    whole
        .checked_mul(JUELS_PER_LINK)
        .and_then(|j| j.checked_add(fraction))
        .ok_or_else(too_large)
}

/// Parses `withdraw`'s amount: `all` or LINK.
fn parse_withdrawal(text: &str) -> Result<Withdrawal, String> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok(Withdrawal::All);
    }
    parse_link(text)
        .map(Withdrawal::Juels)
        .map_err(|e| format!("{e} (or `all`)"))
}

/// Juels as LINK with every significant decimal and no trailing zeros: `12.5`, `0`,
/// `0.000000000000000001`.
pub(crate) fn format_link(juels: U256) -> String {
    let (whole, fraction) = juels.div_rem(JUELS_PER_LINK);
    // fraction < 10^18 < 2^64: the low limb is all of it.
    let fraction = fraction.as_limbs()[0];
    if fraction == 0 {
        return whole.to_string();
    }
    let decimals = format!("{fraction:0>LINK_DECIMALS$}");
    format!("{whole}.{}", decimals.trim_end_matches('0'))
}

/// `12.5 LINK`.
fn link(juels: U256) -> String {
    format!("{} LINK", format_link(juels))
}

/// An amount in JSON: exact juels and the LINK string.
fn amount_json(juels: U256) -> Value {
    json!({ "juels": juels.to_string(), "link": format_link(juels) })
}

/// A number in JSON: a number when it fits 64 bits, else a decimal string.
fn number_json(n: U256) -> Value {
    match u64::try_from(n) {
        Ok(small) => json!(small),
        Err(_) => json!(n.to_string()),
    }
}

/// Basis points as a percentage: `10% (1000 bps)`, `12.34% (1234 bps)`.
fn format_bps(bps: U256) -> String {
    let (whole, rest) = bps.div_rem(U256::from(100u64));
    let rest = rest.as_limbs()[0];
    if rest == 0 {
        format!("{whole}% ({bps} bps)")
    } else {
        let cents = format!("{rest:02}");
        format!("{whole}.{}% ({bps} bps)", cents.trim_end_matches('0'))
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

// ------------------------------------------------------------------------------------------
// RPC URL redaction
// ------------------------------------------------------------------------------------------

/// The part of an RPC URL that may be printed: `scheme://host:port`, never the user info, path
/// or query (providers put API keys there).
pub(crate) fn redact_url(raw: &str) -> String {
    match reqwest::Url::parse(raw.trim()) {
        Ok(url) => match url.host_str() {
            Some(host) => match url.port_or_known_default() {
                Some(port) => format!("{}://{host}:{port}", url.scheme()),
                None => format!("{}://{host}", url.scheme()),
            },
            None => format!("{}://<no host>", url.scheme()),
        },
        Err(_) => "<unparsable RPC URL>".into(),
    }
}

/// `text` with every secret-bearing form of `raw` replaced: the URL itself (as given and as
/// normalised) by its redacted form, then its password, query and a long path by `***`.
pub(crate) fn scrub_url(text: &str, raw: &str) -> String {
    let shown = redact_url(raw);
    let mut out = text.to_string();
    let raw = raw.trim();
    let mut forms = vec![raw.to_string()];
    let parsed = reqwest::Url::parse(raw).ok();
    if let Some(url) = &parsed {
        forms.push(url.as_str().to_string());
        forms.push(url.as_str().trim_end_matches('/').to_string());
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for form in forms.iter().filter(|f| !f.is_empty()) {
        out = out.replace(form.as_str(), &shown);
    }
    if let Some(url) = &parsed {
        let mut secrets: Vec<String> = Vec::new();
        if let Some(password) = url.password() {
            secrets.push(password.to_string());
        }
        if !url.username().is_empty() {
            secrets.push(format!("{}@", url.username()));
        }
        if let Some(query) = url.query() {
            secrets.push(query.to_string());
        }
        if url.path().len() >= 8 {
            secrets.push(url.path().to_string());
        }
        for secret in secrets.iter().filter(|s| s.len() >= 3) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Revert reasons
// ------------------------------------------------------------------------------------------

/// `Name(args): why`.
fn said(name: &str, args: &[String], why: &str) -> String {
    format!("{name}({}): {why}", args.join(", "))
}

fn a(addr: Address) -> String {
    addr.to_string()
}

/// Explains revert data from the pool's contracts (or LINK, or a plain `require` / panic);
/// `None` when it matches none of them.
pub(crate) fn describe_revert(data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    if let Ok(e) = Node::NodeErrors::abi_decode(data) {
        return Some(node_error(&e));
    }
    if let Ok(e) = NodeStaking::NodeStakingErrors::abi_decode(data) {
        return Some(staking_error(&e));
    }
    if let Ok(e) = NodeFactory::NodeFactoryErrors::abi_decode(data) {
        return Some(factory_error(&e));
    }
    if let Ok(LinkPool::LinkPoolErrors::UnknownNode(e)) = LinkPool::LinkPoolErrors::abi_decode(data)
    {
        return Some(unknown_node(e.node));
    }
    if let Ok(e) = PoolOwners::PoolOwnersErrors::abi_decode(data) {
        return Some(owners_error(&e));
    }
    if let Ok(e) = PoolRegistry::PoolRegistryErrors::abi_decode(data) {
        return Some(registry_error(&e));
    }
    if let Ok(e) = PoolStorage::PoolStorageErrors::abi_decode(data) {
        return Some(storage_error(&e));
    }
    if let Ok(e) = LinkToken::LinkTokenErrors::abi_decode(data) {
        return Some(link_error(&e));
    }
    if let Ok(r) = Revert::abi_decode(data) {
        return Some(format!("reverted: {}", r.reason()));
    }
    if let Ok(p) = Panic::abi_decode(data) {
        return Some(format!("contract {p}"));
    }
    None
}

fn unknown_node(node: Address) -> String {
    said(
        "UnknownNode",
        &[a(node)],
        "no such node in this pool (see `orakel pool status`)",
    )
}

fn not_pool_owner(caller: Address) -> String {
    said(
        "NotPoolOwner",
        &[a(caller)],
        "only the pool owner may do this",
    )
}

fn fee_too_high(fee: U256, max: U256) -> String {
    said(
        "FeeTooHigh",
        &[fee.to_string(), max.to_string()],
        &format!("an operator fee of {fee} bps is above the maximum of {max} bps"),
    )
}

fn zero_address() -> String {
    said("ZeroAddress", &[], "the address must not be zero")
}

fn node_disabled(node: Address) -> String {
    said(
        "NodeDisabled",
        &[a(node)],
        "the node takes no new stakes (disabled by its operator or the pool owner); exits still work",
    )
}

fn staker_not_allowed(node: Address, staker: Address) -> String {
    said(
        "StakerNotAllowed",
        &[a(node), a(staker)],
        "the node is private and this staker is not on its allow list",
    )
}

fn stake_limit_exceeded(node: Address, limit: U256, after: U256) -> String {
    said(
        "StakeLimitExceeded",
        &[a(node), link(limit), link(after)],
        &format!(
            "the stake would take the node to {}, above its limit of {}",
            link(after),
            link(limit)
        ),
    )
}

fn zero_shares(amount: U256) -> String {
    said(
        "ZeroShares",
        &[link(amount)],
        "the stake is too small to buy a single share",
    )
}

fn zero_stake() -> String {
    said("ZeroStake", &[], "a stake must be more than 0 LINK")
}

fn node_error(e: &Node::NodeErrors) -> String {
    use Node::NodeErrors as E;
    match e {
        E::DepositNotReturned(e) => said(
            "DepositNotReturned",
            &[link(e.assets), link(e.owed)],
            "the node would not hold what it owes: withdraw the returned deposit from the market first",
        ),
        E::FeeTooHigh(e) => fee_too_high(e.feeBps, e.maximum),
        E::ForfeitTooLarge(e) => said(
            "ForfeitTooLarge",
            &[link(e.deposit), link(e.forfeited)],
            "more was reported forfeited than the deposit",
        ),
        E::InsufficientFreeBalance(e) => said(
            "InsufficientFreeBalance",
            &[link(e.free), link(e.requested)],
            "the deposit is larger than the node's LINK that is not owed to anyone",
        ),
        E::InsufficientStake(e) => said(
            "InsufficientStake",
            &[link(e.available), link(e.requested)],
            &format!(
                "only {} is staked by this account on the node",
                link(e.available)
            ),
        ),
        E::NodeDisabled(e) => node_disabled(e.node),
        E::NotNodeStaking(e) => said(
            "NotNodeStaking",
            &[a(e.caller)],
            "only the pool's NodeStaking logic may call this",
        ),
        E::NotOperator(e) => said(
            "NotOperator",
            &[a(e.caller)],
            "only the node's operator may do this",
        ),
        E::NotOperatorOrOwner(e) => said(
            "NotOperatorOrOwner",
            &[a(e.caller)],
            "only the node's operator or the pool owner may do this",
        ),
        E::NotPoolOwner(e) => not_pool_owner(e.caller),
        E::StakeLimitExceeded(e) => stake_limit_exceeded(e.node, e.limit, e.totalAfter),
        E::StakeLocked(e) => said(
            "StakeLocked",
            &[link(e.totalStakedAfter), link(e.locked)],
            &format!(
                "{} of the node's stake backs penalty deposits out in the network and cannot leave until they are settled",
                link(e.locked)
            ),
        ),
        E::StakerNotAllowed(e) => staker_not_allowed(e.node, e.staker),
        E::UnknownBid(e) => said(
            "UnknownBid",
            &[e.bidId.to_string()],
            "no open penalty deposit has this id",
        ),
        E::UnknownNode(e) => unknown_node(e.node),
        E::UnsupportedBidPayload(e) => said(
            "UnsupportedBidPayload",
            &[e.selector.to_string()],
            "a penalty deposit may only carry an SLA bid",
        ),
        E::ZeroAddress(_) => zero_address(),
        E::ZeroAmount(_) => said("ZeroAmount", &[], "there is nothing to pay out"),
        E::ZeroShares(e) => zero_shares(e.amount),
        E::ZeroStake(_) => zero_stake(),
    }
}

fn staking_error(e: &NodeStaking::NodeStakingErrors) -> String {
    use NodeStaking::NodeStakingErrors as E;
    match e {
        E::NodeDisabled(e) => node_disabled(e.node),
        E::NotNodeStorage(e) => said(
            "NotNodeStorage",
            &[a(e.caller)],
            "stakes must arrive through a node (LINK transferAndCall to the node)",
        ),
        E::StakeLimitExceeded(e) => stake_limit_exceeded(e.node, e.limit, e.totalAfter),
        E::StakerNotAllowed(e) => staker_not_allowed(e.node, e.staker),
        E::ZeroShares(e) => zero_shares(e.amount),
        E::ZeroStake(_) => zero_stake(),
    }
}

fn factory_error(e: &NodeFactory::NodeFactoryErrors) -> String {
    use NodeFactory::NodeFactoryErrors as E;
    match e {
        E::FeeTooHigh(e) => fee_too_high(e.feeBps, e.maximum),
        E::NotPoolOwner(e) => not_pool_owner(e.caller),
        E::ZeroAddress(_) => zero_address(),
    }
}

fn owners_error(e: &PoolOwners::PoolOwnersErrors) -> String {
    use PoolOwners::PoolOwnersErrors as E;
    match e {
        E::NotPoolOwner(e) => not_pool_owner(e.caller),
        E::ShareTooHigh(e) => said(
            "ShareTooHigh",
            &[e.bps.to_string(), e.maximum.to_string()],
            &format!(
                "an owners' share of {} bps is above the maximum of {} bps",
                e.bps, e.maximum
            ),
        ),
        E::UnknownNode(e) => unknown_node(e.node),
        E::ZeroAmount(_) => said("ZeroAmount", &[], "there is nothing to pay out"),
    }
}

fn registry_error(e: &PoolRegistry::PoolRegistryErrors) -> String {
    use PoolRegistry::PoolRegistryErrors as E;
    match e {
        E::AlreadyRegistered(e) => said(
            "AlreadyRegistered",
            &[a(e.account), e.name.to_string()],
            "the contract is already registered under another name",
        ),
        E::EmptyName(_) => said("EmptyName", &[], "logic names cannot be empty"),
        E::ForbiddenAddress(e) => said(
            "ForbiddenAddress",
            &[a(e.account)],
            "the address cannot take this role (LINK, the registry, a node, a logic or a whitelisted contract)",
        ),
        E::NotAContract(e) => said(
            "NotAContract",
            &[a(e.account)],
            "there is no contract at this address",
        ),
        E::NothingScheduled(_) => said("NothingScheduled", &[], "nothing is scheduled for it"),
        E::OnlyNodeFactory(e) => said(
            "OnlyNodeFactory",
            &[a(e.caller)],
            "only the NodeFactory logic creates node storages",
        ),
        E::OwnableInvalidOwner(e) => said(
            "OwnableInvalidOwner",
            &[a(e.owner)],
            "not a valid pool owner",
        ),
        E::OwnableUnauthorizedAccount(e) => said(
            "OwnableUnauthorizedAccount",
            &[a(e.account)],
            "only the pool owner may do this",
        ),
        E::TooEarly(e) => said(
            "TooEarly",
            &[e.eta.to_string()],
            &format!("the change cannot be applied before {} (unix time)", e.eta),
        ),
        E::WhitelistUnchanged(e) => said(
            "WhitelistUnchanged",
            &[a(e.account)],
            "the address is already (or not) whitelisted",
        ),
    }
}

fn storage_error(e: &PoolStorage::PoolStorageErrors) -> String {
    use PoolStorage::PoolStorageErrors as E;
    match e {
        E::LengthMismatch(_) => said("LengthMismatch", &[], "keys and values differ in length"),
        E::LinkTransferFailed(e) => said(
            "LinkTransferFailed",
            &[a(e.to), link(e.amount)],
            "the LINK token refused the transfer",
        ),
        E::NotLogic(e) => said(
            "NotLogic",
            &[a(e.caller)],
            "only the pool's registered logic contracts may write a node",
        ),
        E::NotNetworkContract(e) => said(
            "NotNetworkContract",
            &[a(e.target)],
            "the target is not a whitelisted oracle-network contract",
        ),
        E::OnlyLinkToken(e) => said(
            "OnlyLinkToken",
            &[a(e.caller)],
            "only the pool's LINK token may call this",
        ),
        E::Reentrancy(_) => said(
            "Reentrancy",
            &[],
            "refused while a network call of the node is running",
        ),
        E::UnsupportedPayload(_) => said(
            "UnsupportedPayload",
            &[],
            "a transferAndCall to a node must carry no payload or the stake payload",
        ),
    }
}

fn link_error(e: &LinkToken::LinkTokenErrors) -> String {
    use LinkToken::LinkTokenErrors as E;
    match e {
        E::ERC20InsufficientAllowance(e) => said(
            "ERC20InsufficientAllowance",
            &[a(e.spender), link(e.allowance), link(e.needed)],
            "the LINK allowance is too small",
        ),
        E::ERC20InsufficientBalance(e) => said(
            "ERC20InsufficientBalance",
            &[a(e.sender), link(e.balance), link(e.needed)],
            &format!(
                "the account holds {}, the transfer needs {}",
                link(e.balance),
                link(e.needed)
            ),
        ),
        E::ERC20InvalidApprover(e) => {
            said("ERC20InvalidApprover", &[a(e.approver)], "invalid approver")
        }
        E::ERC20InvalidReceiver(e) => {
            said("ERC20InvalidReceiver", &[a(e.receiver)], "invalid receiver")
        }
        E::ERC20InvalidSender(e) => said("ERC20InvalidSender", &[a(e.sender)], "invalid sender"),
        E::ERC20InvalidSpender(e) => {
            said("ERC20InvalidSpender", &[a(e.spender)], "invalid spender")
        }
        E::InvalidRecipient(e) => said(
            "InvalidRecipient",
            &[a(e.recipient)],
            "LINK cannot be sent to this address",
        ),
    }
}

/// A contract call's error, with the contracts' reason when the revert data carries one.
fn contract_error(action: &str, e: &alloy::contract::Error) -> anyhow::Error {
    if let Some(data) = e.as_revert_data() {
        return match describe_revert(&data) {
            Some(reason) => anyhow!("{action} refused: {reason}"),
            None => anyhow!("{action} reverted with unknown data {data}"),
        };
    }
    anyhow!("{action}: {e}")
}

// ------------------------------------------------------------------------------------------
// Connection and signing
// ------------------------------------------------------------------------------------------

/// A connection to the chain, with the account that sends, if any.
struct Chain {
    provider: DynProvider,
    from: Option<Address>,
    json: bool,
}

/// Reads the keystore password: `--password-file`, else `$ORAKEL_KEYSTORE_PASSWORD`, else a
/// prompt on a terminal.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading password file {}", path.display()))?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_string());
    }
    if let Ok(p) = std::env::var("ORAKEL_KEYSTORE_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no keystore password: use --password-file or ORAKEL_KEYSTORE_PASSWORD");
    }
    Ok(rpassword::prompt_password("keystore password: ")?)
}

/// The key in the environment variable `var` (hex, with or without `0x`). Never prints it.
fn key_from_env(var: &str) -> anyhow::Result<PrivateKeySigner> {
    let value = std::env::var(var).map_err(|_| {
        anyhow!("--private-key-env {var}: the environment variable {var} is not set")
    })?;
    value.trim().parse::<PrivateKeySigner>().map_err(|_| {
        anyhow!("--private-key-env {var}: {var} does not hold a hex private key (32 bytes)")
    })
}

/// How a command signs: a local key or an unlocked dev-node account.
enum Signing {
    Key(Box<PrivateKeySigner>),
    Unlocked(Address),
}

impl SignerArgs {
    fn signing(&self) -> anyhow::Result<Signing> {
        if let Some(path) = &self.keystore {
            let password = read_password(self.password_file.as_deref())?;
            let key = orakel_chain::keystore::load(path, &password)?;
            return Ok(Signing::Key(Box::new(key)));
        }
        if let Some(var) = &self.private_key_env {
            return Ok(Signing::Key(Box::new(key_from_env(var)?)));
        }
        if let Some(account) = self.unlocked {
            return Ok(Signing::Unlocked(account));
        }
        bail!(
            "this command sends a transaction: give --keystore PATH, --private-key-env VAR or (dev nodes) --unlocked ADDRESS"
        )
    }
}

/// Connects to `args.rpc_url`, signing with `signer` when given, and checks that the endpoint
/// answers (and that an `--unlocked` account is one of the node's).
async fn connect(args: &ChainArgs, signer: Option<&SignerArgs>) -> anyhow::Result<Chain> {
    let shown = redact_url(&args.rpc_url);
    let url: reqwest::Url = args
        .rpc_url
        .trim()
        .parse()
        .map_err(|_| anyhow!("--rpc-url {shown}: not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--rpc-url {shown}: only http and https endpoints are supported");
    }
    let signing = signer.map(SignerArgs::signing).transpose()?;
    let unlocked = match &signing {
        Some(Signing::Unlocked(account)) => Some(*account),
        _ => None,
    };
    let (provider, from) = match signing {
        Some(Signing::Key(key)) => {
            let from = key.address();
            let provider = ProviderBuilder::new()
                .wallet(EthereumWallet::from(*key))
                .connect_http(url)
                .erased();
            (provider, Some(from))
        }
        Some(Signing::Unlocked(account)) => (
            ProviderBuilder::new().connect_http(url).erased(),
            Some(account),
        ),
        None => (ProviderBuilder::new().connect_http(url).erased(), None),
    };
    provider
        .get_chain_id()
        .await
        .map_err(|e| anyhow!("cannot reach the RPC endpoint {shown}: {e}"))?;
    if let Some(account) = unlocked
        && let Ok(accounts) = provider.get_accounts().await
        && !accounts.contains(&account)
    {
        bail!(
            "--unlocked {account}: not an unlocked account of the node at {shown}; use --keystore or --private-key-env"
        );
    }
    Ok(Chain {
        provider,
        from,
        json: args.json,
    })
}

impl Chain {
    /// The sending account.
    fn sender(&self) -> anyhow::Result<Address> {
        self.from
            .ok_or_else(|| anyhow!("this command sends a transaction: give a signer"))
    }

    /// Sends `call` from the sender, waits for the receipt and fails unless it succeeded;
    /// a refusal seen while estimating gas is explained from the contracts' errors.
    async fn send<D: CallDecoder>(
        &self,
        action: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> anyhow::Result<TransactionReceipt> {
        let call = call.from(self.sender()?);
        let pending = call.send().await.map_err(|e| contract_error(action, &e))?;
        let hash = *pending.tx_hash();
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .with_context(|| format!("{action}: waiting for the receipt of {hash}"))?;
        if !receipt.status() {
            let block = receipt.block_number.unwrap_or_default();
            // Replay it on the state before its block for a reason (best effort).
            let reason = match call.call_raw().block(block.saturating_sub(1).into()).await {
                Err(e) => e
                    .as_revert_data()
                    .and_then(|d| describe_revert(&d))
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default(),
                Ok(_) => String::new(),
            };
            bail!("{action}: transaction {hash} reverted in block {block}{reason}");
        }
        Ok(receipt)
    }
}

/// The transaction part of a command's output.
fn tx_json(receipt: &TransactionReceipt) -> Value {
    json!({
        "tx": receipt.transaction_hash.to_string(),
        "block": receipt.block_number,
    })
}

fn tx_line(receipt: &TransactionReceipt) -> String {
    format!(
        "tx {} (block {})",
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default()
    )
}

/// Prints a sent transaction's outcome: `line` then the tx, or `fields` plus the tx as JSON.
fn report(chain: &Chain, receipt: &TransactionReceipt, line: &str, fields: Value) {
    if chain.json {
        let mut out = tx_json(receipt);
        if let (Value::Object(out), Value::Object(fields)) = (&mut out, fields) {
            out.extend(fields);
        }
        crate::api_client::print_json(&out);
    } else {
        println!("{line}");
        println!("{}", tx_line(receipt));
    }
}

// ------------------------------------------------------------------------------------------
// Reading the pool
// ------------------------------------------------------------------------------------------

/// One node as `status` shows it.
#[derive(Debug, Clone)]
pub(crate) struct NodeView {
    pub(crate) node: Address,
    pub(crate) info: LinkPool::NodeInfo,
    pub(crate) distributable: U256,
    pub(crate) bid_count: U256,
}

/// One staker's position on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StakerView {
    pub(crate) staker: Address,
    pub(crate) stake: U256,
    pub(crate) shares: U256,
    pub(crate) rewards: U256,
    pub(crate) can_stake: bool,
    pub(crate) allowed: bool,
}

/// The pool's directory and settings.
#[derive(Debug, Clone)]
pub(crate) struct PoolView {
    pub(crate) link_pool: Address,
    pub(crate) registry: Address,
    pub(crate) owner: Address,
    pub(crate) link: Address,
    pub(crate) owners_share_bps: U256,
    pub(crate) change_delay_secs: U256,
}

async fn read_node(
    pool: &LinkPool::LinkPoolInstance<DynProvider>,
    node: Address,
) -> anyhow::Result<NodeView> {
    let what = format!("reading node {node}");
    let info = pool
        .nodeInfo(node)
        .call()
        .await
        .map_err(|e| contract_error(&what, &e))?;
    let distributable = pool
        .distributable(node)
        .call()
        .await
        .map_err(|e| contract_error(&what, &e))?;
    let bid_count = pool
        .bidCount(node)
        .call()
        .await
        .map_err(|e| contract_error(&what, &e))?;
    Ok(NodeView {
        node,
        info,
        distributable,
        bid_count,
    })
}

async fn read_staker(
    pool: &LinkPool::LinkPoolInstance<DynProvider>,
    node: Address,
    staker: Address,
) -> anyhow::Result<StakerView> {
    let what = format!("reading staker {staker} on node {node}");
    let err = |e: alloy::contract::Error| contract_error(&what, &e);
    Ok(StakerView {
        staker,
        stake: pool.stakeOf(node, staker).call().await.map_err(err)?,
        shares: pool.sharesOf(node, staker).call().await.map_err(err)?,
        rewards: pool.rewardsOf(node, staker).call().await.map_err(err)?,
        can_stake: pool.canStake(node, staker).call().await.map_err(err)?,
        allowed: pool.isAllowed(node, staker).call().await.map_err(err)?,
    })
}

async fn read_pool(chain: &Chain, link_pool: Address) -> anyhow::Result<PoolView> {
    let pool = LinkPool::new(link_pool, chain.provider.clone());
    let what = format!("reading pool {link_pool}");
    let err = |e: alloy::contract::Error| contract_error(&what, &e);
    let registry = pool.registry().call().await.map_err(err)?;
    let link = pool.link().call().await.map_err(err)?;
    let owners = pool.poolOwners().call().await.map_err(err)?;
    let reg = PoolRegistry::new(registry, chain.provider.clone());
    Ok(PoolView {
        link_pool,
        registry,
        owner: reg.owner().call().await.map_err(err)?,
        link,
        owners_share_bps: PoolOwners::new(owners, chain.provider.clone())
            .ownersShareBps()
            .call()
            .await
            .map_err(err)?,
        change_delay_secs: reg.changeDelay().call().await.map_err(err)?,
    })
}

/// Connects and checks that `--pool` is a LinkPool (it has a registry).
async fn open_pool(
    args: &PoolArgs,
    signer: Option<&SignerArgs>,
) -> anyhow::Result<(Chain, LinkPool::LinkPoolInstance<DynProvider>)> {
    let chain = connect(&args.chain, signer).await?;
    let code = chain
        .provider
        .get_code_at(args.pool)
        .await
        .with_context(|| format!("reading the code at --pool {}", args.pool))?;
    if code.is_empty() {
        bail!(
            "--pool {}: no contract there (give the LinkPool address `orakel pool deploy` printed first)",
            args.pool
        );
    }
    let pool = LinkPool::new(args.pool, chain.provider.clone());
    pool.registry().call().await.map_err(|e| {
        anyhow!(
            "--pool {}: not a LinkPool (no registry()): {}",
            args.pool,
            contract_error("reading it", &e)
        )
    })?;
    Ok((chain, pool))
}

// ------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------

/// The pool's node table: one row per node, columns as wide as their widest cell; amounts in
/// LINK.
pub(crate) fn render_nodes_table(nodes: &[NodeView]) -> String {
    let header = [
        "node",
        "operator",
        "enabled",
        "private",
        "fee",
        "staked LINK",
        "limit LINK",
        "locked LINK",
        "distributable LINK",
    ];
    let rows: Vec<[String; 9]> = nodes
        .iter()
        .map(|n| {
            let fee = format_bps(n.info.feeBps);
            [
                a(n.node),
                a(n.info.operator),
                yes_no(n.info.enabled).into(),
                yes_no(n.info.isPrivate).into(),
                fee.split(' ').next().unwrap_or_default().into(),
                format_link(n.info.totalStaked),
                format_link(n.info.stakeLimit),
                format_link(n.info.locked),
                format_link(n.distributable),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    // Text columns align left, numbers right.
    let line = |cells: &[&str]| -> String {
        let mut out = String::new();
        for (k, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if k > 0 {
                out.push_str("  ");
            }
            if k < 4 {
                out.push_str(&format!("{cell:<w$}"));
            } else {
                out.push_str(&format!("{cell:>w$}"));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
    }
    out
}

/// The pool's header lines.
pub(crate) fn render_pool(p: &PoolView, node_count: usize) -> String {
    format!(
        "pool           {}\n\
         registry       {}\n\
         pool owner     {}\n\
         LINK           {}\n\
         owners' share  {}\n\
         change delay   {}\n\
         nodes          {node_count}\n",
        a(p.link_pool),
        a(p.registry),
        a(p.owner),
        a(p.link),
        format_bps(p.owners_share_bps),
        u64::try_from(p.change_delay_secs)
            .map(|s| humantime::format_duration(Duration::from_secs(s)).to_string())
            .unwrap_or_else(|_| format!("{} s", p.change_delay_secs)),
    )
}

/// One node in full.
pub(crate) fn render_node(v: &NodeView) -> String {
    let i = &v.info;
    let room = i.stakeLimit.saturating_sub(i.totalStaked);
    let lines: Vec<(&str, String)> = vec![
        ("node", a(v.node)),
        ("operator", a(i.operator)),
        (
            "enabled",
            if i.enabled {
                "yes (takes new stakes)".into()
            } else {
                "no (takes no new stakes; exits work)".into()
            },
        ),
        (
            "private",
            if i.isPrivate {
                "yes (allow-listed stakers only)".into()
            } else {
                "no".into()
            },
        ),
        ("operator fee", format_bps(i.feeBps)),
        (
            "stake limit",
            format!("{} ({} left)", link(i.stakeLimit), link(room)),
        ),
        ("total staked", link(i.totalStaked)),
        ("total shares", i.totalShares.to_string()),
        (
            "locked",
            format!("{} (backs penalty deposits out)", link(i.locked)),
        ),
        ("balance", link(i.balance)),
        ("distributable", link(v.distributable)),
        (
            "reward reserve",
            format!("{} (stakers' unclaimed rewards)", link(i.rewardReserve)),
        ),
        ("operator owed", link(i.operatorOwed)),
        ("owners owed", link(i.ownersOwed)),
        (
            "pending",
            format!("{} (scaled 1e36; not yet allocated)", i.pending),
        ),
        (
            "reward per share",
            format!("{} (scaled 1e36)", i.accRewardPerShare),
        ),
        (
            "distributed",
            format!("{} (all time)", link(i.totalDistributed)),
        ),
        ("slashed", format!("{} (all time)", link(i.totalSlashed))),
        ("epoch", i.epoch.to_string()),
        ("deposits placed", v.bid_count.to_string()),
    ];
    let mut out = String::new();
    for (label, value) in lines {
        out.push_str(&format!("{label:<17} {value}\n"));
    }
    out
}

/// One staker's position on `node`.
pub(crate) fn render_staker(node: Address, s: &StakerView, private: bool) -> String {
    let mut out = format!("staker {} on node {}\n", a(s.staker), a(node));
    out.push_str(&format!("  stake      {}\n", link(s.stake)));
    out.push_str(&format!("  shares     {}\n", s.shares));
    out.push_str(&format!("  rewards    {} (claimable)\n", link(s.rewards)));
    if private {
        out.push_str(&format!("  allowed    {}\n", yes_no(s.allowed)));
    }
    out.push_str(&format!(
        "  can stake  {}\n",
        if s.can_stake {
            "yes (up to the stake limit)"
        } else {
            "no"
        }
    ));
    out
}

/// One node as JSON.
pub(crate) fn node_json(v: &NodeView) -> Value {
    let i = &v.info;
    json!({
        "node": a(v.node),
        "operator": a(i.operator),
        "enabled": i.enabled,
        "private": i.isPrivate,
        "fee_bps": number_json(i.feeBps),
        "stake_limit": amount_json(i.stakeLimit),
        "total_staked": amount_json(i.totalStaked),
        "total_shares": i.totalShares.to_string(),
        "locked": amount_json(i.locked),
        "balance": amount_json(i.balance),
        "distributable": amount_json(v.distributable),
        "reward_reserve": amount_json(i.rewardReserve),
        "operator_owed": amount_json(i.operatorOwed),
        "owners_owed": amount_json(i.ownersOwed),
        "pending_scaled": i.pending.to_string(),
        "acc_reward_per_share_scaled": i.accRewardPerShare.to_string(),
        "total_distributed": amount_json(i.totalDistributed),
        "total_slashed": amount_json(i.totalSlashed),
        "epoch": i.epoch.to_string(),
        "bid_count": number_json(v.bid_count),
    })
}

/// One staker's position as JSON.
pub(crate) fn staker_json(s: &StakerView) -> Value {
    json!({
        "staker": a(s.staker),
        "stake": amount_json(s.stake),
        "shares": s.shares.to_string(),
        "rewards": amount_json(s.rewards),
        "can_stake": s.can_stake,
        "allowed": s.allowed,
    })
}

/// The pool as JSON, with its nodes.
pub(crate) fn pool_json(p: &PoolView, nodes: Vec<Value>) -> Value {
    json!({
        "pool": a(p.link_pool),
        "registry": a(p.registry),
        "owner": a(p.owner),
        "link": a(p.link),
        "owners_share_bps": number_json(p.owners_share_bps),
        "change_delay_secs": number_json(p.change_delay_secs),
        "nodes": nodes,
    })
}

/// The addresses `deploy` prints, LinkPool first.
pub(crate) fn stack_lines(s: &PoolStack, owner: Address) -> Vec<(&'static str, Address)> {
    vec![
        ("LinkPool", s.link_pool),
        ("PoolRegistry", s.registry),
        ("Node", s.node_logic),
        ("NodeFactory", s.node_factory),
        ("NodeStaking", s.node_staking),
        ("PoolOwners", s.pool_owners),
        ("LINK", s.link),
        ("pool owner", owner),
    ]
}

// ------------------------------------------------------------------------------------------
// Commands
// ------------------------------------------------------------------------------------------

/// Runs `orakel pool …`. Every error leaves with the RPC URL's secrets scrubbed.
pub async fn pool(cmd: PoolCommand) -> anyhow::Result<ExitCode> {
    let raw_url = cmd.rpc_url().to_string();
    run(cmd)
        .await
        .map_err(|e| anyhow!("{}", scrub_url(&format!("{e:#}"), &raw_url)))
}

impl PoolCommand {
    /// The RPC URL the command uses, as given (secrets included: never print it).
    fn rpc_url(&self) -> &str {
        let chain = match self {
            Self::Deploy(args) => return &args.chain.rpc_url,
            Self::CreateNode(args) => &args.pool,
            Self::Stake(args) => &args.pool,
            Self::Withdraw(args) => &args.pool,
            Self::Status(args) => &args.pool,
            Self::SetFee(args) => &args.pool,
            Self::SetLimit(args) => &args.pool,
            Self::SetPrivate(args) => &args.pool,
            Self::Allow(args) | Self::Disallow(args) => &args.pool,
            Self::Claim(args)
            | Self::Restake(args)
            | Self::Distribute(args)
            | Self::WithdrawFees(args)
            | Self::Enable(args)
            | Self::Disable(args) => &args.pool,
        };
        &chain.chain.rpc_url
    }
}

async fn run(cmd: PoolCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PoolCommand::Deploy(args) => deploy(args).await,
        PoolCommand::CreateNode(args) => create_node(args).await,
        PoolCommand::Stake(args) => stake(args).await,
        PoolCommand::Withdraw(args) => withdraw(args).await,
        PoolCommand::Claim(args) => claim(args).await,
        PoolCommand::Restake(args) => restake(args).await,
        PoolCommand::Distribute(args) => distribute(args).await,
        PoolCommand::WithdrawFees(args) => withdraw_fees(args).await,
        PoolCommand::Status(args) => status(args).await,
        PoolCommand::SetFee(args) => set_fee(args).await,
        PoolCommand::SetLimit(args) => set_limit(args).await,
        PoolCommand::Enable(args) => set_enabled(args, true).await,
        PoolCommand::Disable(args) => set_enabled(args, false).await,
        PoolCommand::SetPrivate(args) => set_private(args).await,
        PoolCommand::Allow(args) => set_allowed(args, true).await,
        PoolCommand::Disallow(args) => set_allowed(args, false).await,
    }
}

async fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let chain = connect(&args.chain, Some(&args.signer)).await?;
    let owner = chain.sender()?;
    let code = chain
        .provider
        .get_code_at(args.link)
        .await
        .context("reading the LINK token's code")?;
    if code.is_empty() {
        bail!("--link {}: no contract there", args.link);
    }
    let setup = PoolSetup {
        change_delay: args.change_delay.as_secs(),
        owners_bps: args.owners_share_bps,
        whitelist: args.whitelist,
    };
    let stack = deploy_pool(&chain.provider, owner, args.link, &setup)
        .await
        .map_err(|e| match &e {
            orakel_contracts::Error::Contract(c) => contract_error("deploying the pool", c),
            other => anyhow!("deploying the pool: {other}"),
        })?;
    let lines = stack_lines(&stack, owner);
    if chain.json {
        let mut out = serde_json::Map::new();
        for (key, (_, addr)) in [
            "link_pool",
            "registry",
            "node_logic",
            "node_factory",
            "node_staking",
            "pool_owners",
            "link",
            "owner",
        ]
        .into_iter()
        .zip(&lines)
        {
            out.insert(key.into(), json!(a(*addr)));
        }
        crate::api_client::print_json(&Value::Object(out));
    } else {
        for (label, addr) in &lines {
            println!("{label:<13} {}", a(*addr));
        }
        println!(
            "use it with  --pool {} (or ORAKEL_POOL)",
            a(stack.link_pool)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn create_node(args: CreateNodeArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let factory = pool
        .nodeFactory()
        .call()
        .await
        .map_err(|e| contract_error("reading the node factory", &e))?;
    let factory = NodeFactory::new(factory, chain.provider.clone());
    let receipt = chain
        .send(
            "creating the node",
            factory.createNode(
                args.operator,
                args.private,
                U256::from(args.fee_bps),
                args.stake_limit,
            ),
        )
        .await?;
    let node = created_node(&receipt).ok_or_else(|| {
        anyhow!(
            "creating the node: transaction {} emitted no NodeCreated",
            receipt.transaction_hash
        )
    })?;
    report(
        &chain,
        &receipt,
        &format!(
            "created node {}  operator {}  fee {}  limit {}{}",
            a(node),
            a(args.operator),
            format_bps(U256::from(args.fee_bps)),
            link(args.stake_limit),
            if args.private { "  private" } else { "" }
        ),
        json!({ "node": a(node), "operator": a(args.operator) }),
    );
    Ok(ExitCode::SUCCESS)
}

/// Why `staker` cannot stake `amount` on the node now, if the node's rules or its LINK
/// balance refuse it (the same checks the contracts make, in the same order).
pub(crate) fn stake_refusal(
    node: Address,
    staker: Address,
    amount: U256,
    info: &LinkPool::NodeInfo,
    allowed: bool,
    balance: U256,
) -> Option<String> {
    if amount.is_zero() {
        return Some("a stake must be more than 0 LINK".into());
    }
    if !info.enabled {
        return Some(format!(
            "node {node} is disabled: it takes no new stakes (exits still work)"
        ));
    }
    if info.isPrivate && !allowed {
        return Some(format!(
            "node {node} is private and {staker} is not on its allow list; its operator adds stakers with `orakel pool allow`"
        ));
    }
    let after = info.totalStaked.saturating_add(amount);
    if after > info.stakeLimit {
        return Some(format!(
            "staking {} would take node {node} to {}, above its stake limit of {} ({} left)",
            link(amount),
            link(after),
            link(info.stakeLimit),
            link(info.stakeLimit.saturating_sub(info.totalStaked))
        ));
    }
    if balance < amount {
        return Some(format!(
            "insufficient LINK: {staker} holds {}, the stake needs {}",
            link(balance),
            link(amount)
        ));
    }
    None
}

async fn stake(args: StakeArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let staker = chain.sender()?;
    let node = args.node;
    let what = format!("reading node {node}");
    let info = pool
        .nodeInfo(node)
        .call()
        .await
        .map_err(|e| contract_error(&what, &e))?;
    let allowed = pool
        .isAllowed(node, staker)
        .call()
        .await
        .map_err(|e| contract_error(&what, &e))?;
    let token = pool
        .link()
        .call()
        .await
        .map_err(|e| contract_error("reading the LINK token", &e))?;
    let token = LinkToken::new(token, chain.provider.clone());
    let balance = token
        .balanceOf(staker)
        .call()
        .await
        .map_err(|e| contract_error("reading the LINK balance", &e))?;
    if let Some(why) = stake_refusal(node, staker, args.amount, &info, allowed, balance) {
        bail!("{why}");
    }
    let payload = pool
        .stakePayload()
        .call()
        .await
        .map_err(|e| contract_error("reading the stake payload", &e))?;
    let receipt = chain
        .send("staking", token.transferAndCall(node, args.amount, payload))
        .await?;
    let shares = receipt
        .decoded_log::<NodeStaking::Staked>()
        .map(|l| l.data.shares)
        .unwrap_or_default();
    report(
        &chain,
        &receipt,
        &format!(
            "staked {} on node {} from {} ({shares} shares)",
            link(args.amount),
            a(node),
            a(staker)
        ),
        json!({
            "node": a(node),
            "staker": a(staker),
            "amount": amount_json(args.amount),
            "shares": shares.to_string(),
        }),
    );
    Ok(ExitCode::SUCCESS)
}

/// The node logic contract of `pool`.
async fn node_logic(
    chain: &Chain,
    pool: &LinkPool::LinkPoolInstance<DynProvider>,
) -> anyhow::Result<Node::NodeInstance<DynProvider>> {
    let logic = pool
        .nodeLogic()
        .call()
        .await
        .map_err(|e| contract_error("reading the node logic", &e))?;
    Ok(Node::new(logic, chain.provider.clone()))
}

async fn withdraw(args: WithdrawArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let staker = chain.sender()?;
    let node = args.node;
    let position = read_staker(&pool, node, staker).await?;
    let logic = node_logic(&chain, &pool).await?;
    match args.amount {
        Withdrawal::All => {
            if position.stake.is_zero() && position.rewards.is_zero() {
                bail!("nothing to withdraw: {staker} has no stake and no rewards on node {node}");
            }
            let receipt = chain
                .send("withdrawing everything", logic.withdrawAll(node))
                .await?;
            let principal = receipt
                .decoded_log::<Node::Withdrawn>()
                .map(|l| l.data.amount)
                .unwrap_or_default();
            let rewards = receipt
                .decoded_log::<Node::RewardsClaimed>()
                .map(|l| l.data.amount)
                .unwrap_or_default();
            report(
                &chain,
                &receipt,
                &format!(
                    "withdrew {} of stake and {} of rewards from node {} to {}",
                    link(principal),
                    link(rewards),
                    a(node),
                    a(staker)
                ),
                json!({
                    "node": a(node),
                    "staker": a(staker),
                    "stake": amount_json(principal),
                    "rewards": amount_json(rewards),
                }),
            );
        }
        Withdrawal::Juels(amount) => {
            if amount.is_zero() {
                bail!("withdraw a positive amount (or `all`)");
            }
            if amount > position.stake {
                bail!(
                    "{staker} has {} staked on node {node}; cannot withdraw {}",
                    link(position.stake),
                    link(amount)
                );
            }
            let info = pool
                .nodeInfo(node)
                .call()
                .await
                .map_err(|e| contract_error("reading the node", &e))?;
            if info.totalStaked.saturating_sub(amount) < info.locked {
                bail!(
                    "{} of node {node}'s stake backs penalty deposits out in the network; at most {} can leave until they are settled",
                    link(info.locked),
                    link(info.totalStaked.saturating_sub(info.locked))
                );
            }
            let receipt = chain
                .send("withdrawing", logic.withdraw(node, amount))
                .await?;
            let paid = receipt
                .decoded_log::<Node::Withdrawn>()
                .map(|l| l.data.amount)
                .unwrap_or(amount);
            report(
                &chain,
                &receipt,
                &format!(
                    "withdrew {} of stake from node {} to {} ({} left staked)",
                    link(paid),
                    a(node),
                    a(staker),
                    link(position.stake.saturating_sub(paid))
                ),
                json!({
                    "node": a(node),
                    "staker": a(staker),
                    "stake": amount_json(paid),
                }),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn claim(args: NodeTxArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let staker = chain.sender()?;
    let node = args.node;
    let position = read_staker(&pool, node, staker).await?;
    if position.rewards.is_zero() {
        bail!(
            "no rewards to claim: {staker} has 0 LINK claimable on node {node} (run `orakel pool distribute` first?)"
        );
    }
    let logic = node_logic(&chain, &pool).await?;
    let receipt = chain
        .send("claiming rewards", logic.claimRewards(node))
        .await?;
    let amount = receipt
        .decoded_log::<Node::RewardsClaimed>()
        .map(|l| l.data.amount)
        .unwrap_or_default();
    report(
        &chain,
        &receipt,
        &format!(
            "claimed {} of rewards from node {} to {}",
            link(amount),
            a(node),
            a(staker)
        ),
        json!({ "node": a(node), "staker": a(staker), "rewards": amount_json(amount) }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn restake(args: NodeTxArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let staker = chain.sender()?;
    let node = args.node;
    let position = read_staker(&pool, node, staker).await?;
    let distributable = pool
        .distributable(node)
        .call()
        .await
        .map_err(|e| contract_error("reading the node", &e))?;
    if position.rewards.is_zero() && distributable.is_zero() {
        bail!("no rewards to restake: {staker} has 0 LINK claimable on node {node}");
    }
    let logic = node_logic(&chain, &pool).await?;
    let receipt = chain.send("restaking rewards", logic.restake(node)).await?;
    let (amount, shares) = receipt
        .decoded_log::<Node::Restaked>()
        .map(|l| (l.data.amount, l.data.shares))
        .unwrap_or_default();
    report(
        &chain,
        &receipt,
        &format!(
            "restaked {} of rewards on node {} for {} ({shares} shares)",
            link(amount),
            a(node),
            a(staker)
        ),
        json!({
            "node": a(node),
            "staker": a(staker),
            "amount": amount_json(amount),
            "shares": shares.to_string(),
        }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn distribute(args: NodeTxArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let node = args.node;
    let logic = node_logic(&chain, &pool).await?;
    let receipt = chain.send("distributing", logic.distribute(node)).await?;
    match receipt.decoded_log::<Node::Distributed>() {
        Some(d) => {
            let d = d.data;
            report(
                &chain,
                &receipt,
                &format!(
                    "distributed {} on node {}: operator fee {}, owners' share {}, stakers {}",
                    link(d.profit),
                    a(node),
                    link(d.operatorFee),
                    link(d.ownersShare),
                    link(d.stakers)
                ),
                json!({
                    "node": a(node),
                    "profit": amount_json(d.profit),
                    "operator_fee": amount_json(d.operatorFee),
                    "owners_share": amount_json(d.ownersShare),
                    "stakers": amount_json(d.stakers),
                }),
            );
        }
        None => report(
            &chain,
            &receipt,
            &format!(
                "nothing to distribute on node {}: no profit since the last distribution",
                a(node)
            ),
            json!({ "node": a(node), "profit": amount_json(U256::ZERO) }),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn withdraw_fees(args: NodeTxArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let node = args.node;
    let logic = node_logic(&chain, &pool).await?;
    let receipt = chain
        .send(
            "withdrawing operator fees",
            logic.withdrawOperatorFees(node),
        )
        .await?;
    let (operator, amount) = receipt
        .decoded_log::<Node::OperatorFeesWithdrawn>()
        .map(|l| (l.data.operator, l.data.amount))
        .unwrap_or_default();
    report(
        &chain,
        &receipt,
        &format!(
            "sent {} of operator fees from node {} to {}",
            link(amount),
            a(node),
            a(operator)
        ),
        json!({ "node": a(node), "operator": a(operator), "amount": amount_json(amount) }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, None).await?;
    match args.node {
        Some(node) => {
            let view = read_node(&pool, node).await?;
            let staker = match args.staker {
                Some(s) => Some(read_staker(&pool, node, s).await?),
                None => None,
            };
            if chain.json {
                let mut out = node_json(&view);
                if let (Value::Object(map), Some(s)) = (&mut out, &staker) {
                    map.insert("staker".into(), staker_json(s));
                }
                crate::api_client::print_json(&out);
            } else {
                print!("{}", render_node(&view));
                if let Some(s) = &staker {
                    println!();
                    print!("{}", render_staker(node, s, view.info.isPrivate));
                }
            }
        }
        None => {
            let summary = read_pool(&chain, args.pool.pool).await?;
            let nodes = pool
                .nodes()
                .call()
                .await
                .map_err(|e| contract_error("listing the nodes", &e))?;
            let mut views = Vec::with_capacity(nodes.len());
            let mut positions = Vec::new();
            for node in nodes {
                views.push(read_node(&pool, node).await?);
                if let Some(s) = args.staker {
                    positions.push(read_staker(&pool, node, s).await?);
                }
            }
            if chain.json {
                let nodes = views
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        let mut out = node_json(v);
                        if let (Value::Object(map), Some(s)) = (&mut out, positions.get(k)) {
                            map.insert("staker".into(), staker_json(s));
                        }
                        out
                    })
                    .collect();
                crate::api_client::print_json(&pool_json(&summary, nodes));
            } else {
                print!("{}", render_pool(&summary, views.len()));
                if !views.is_empty() {
                    println!();
                    print!("{}", render_nodes_table(&views));
                }
                for (v, s) in views.iter().zip(&positions) {
                    println!();
                    print!("{}", render_staker(v.node, s, v.info.isPrivate));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_fee(args: SetFeeArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let logic = node_logic(&chain, &pool).await?;
    let fee = U256::from(args.bps);
    let receipt = chain
        .send(
            "setting the operator fee",
            logic.setOperatorFee(args.node, fee),
        )
        .await?;
    report(
        &chain,
        &receipt,
        &format!("node {}: operator fee {}", a(args.node), format_bps(fee)),
        json!({ "node": a(args.node), "fee_bps": args.bps }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn set_limit(args: SetLimitArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let logic = node_logic(&chain, &pool).await?;
    let receipt = chain
        .send(
            "setting the stake limit",
            logic.setStakeLimit(args.node, args.limit),
        )
        .await?;
    report(
        &chain,
        &receipt,
        &format!("node {}: stake limit {}", a(args.node), link(args.limit)),
        json!({ "node": a(args.node), "stake_limit": amount_json(args.limit) }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn set_enabled(args: NodeTxArgs, enabled: bool) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let logic = node_logic(&chain, &pool).await?;
    let action = if enabled {
        "enabling the node"
    } else {
        "disabling the node"
    };
    let receipt = chain
        .send(action, logic.setEnabled(args.node, enabled))
        .await?;
    report(
        &chain,
        &receipt,
        &format!(
            "node {}: {}",
            a(args.node),
            if enabled {
                "enabled (takes new stakes)"
            } else {
                "disabled (takes no new stakes; exits still work)"
            }
        ),
        json!({ "node": a(args.node), "enabled": enabled }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn set_private(args: SetPrivateArgs) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let logic = node_logic(&chain, &pool).await?;
    let receipt = chain
        .send(
            "setting the node private or public",
            logic.setPrivate(args.node, args.private),
        )
        .await?;
    report(
        &chain,
        &receipt,
        &format!(
            "node {}: {}",
            a(args.node),
            if args.private {
                "private (allow-listed stakers only)"
            } else {
                "public (anyone may stake)"
            }
        ),
        json!({ "node": a(args.node), "private": args.private }),
    );
    Ok(ExitCode::SUCCESS)
}

async fn set_allowed(args: AllowArgs, allowed: bool) -> anyhow::Result<ExitCode> {
    let (chain, pool) = open_pool(&args.pool, Some(&args.signer)).await?;
    let logic = node_logic(&chain, &pool).await?;
    let action = if allowed {
        "adding the staker to the allow list"
    } else {
        "removing the staker from the allow list"
    };
    let receipt = chain
        .send(
            action,
            logic.setStakerAllowed(args.node, args.staker, allowed),
        )
        .await?;
    report(
        &chain,
        &receipt,
        &format!(
            "node {}: {} {} the allow list",
            a(args.node),
            a(args.staker),
            if allowed { "is on" } else { "is off" }
        ),
        json!({ "node": a(args.node), "staker": a(args.staker), "allowed": allowed }),
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn juels(link: u64) -> U256 {
        U256::from(link) * JUELS_PER_LINK
    }

    fn info() -> LinkPool::NodeInfo {
        LinkPool::NodeInfo {
            operator: Address::repeat_byte(0x0a),
            feeBps: U256::from(1000u64),
            stakeLimit: juels(100),
            enabled: true,
            isPrivate: false,
            totalStaked: juels(40),
            totalShares: juels(40),
            locked: U256::ZERO,
            epoch: U256::ZERO,
            rewardReserve: juels(3),
            operatorOwed: U256::from(5u64) * JUELS_PER_LINK / U256::from(10u64),
            ownersOwed: U256::ZERO,
            pending: U256::from(7u64),
            accRewardPerShare: U256::from(11u64),
            totalDistributed: juels(4),
            totalSlashed: U256::ZERO,
            balance: juels(50),
        }
    }

    #[test]
    fn link_amounts_parse_exactly() {
        assert_eq!(parse_link("12").unwrap(), juels(12));
        assert_eq!(
            parse_link("12.5").unwrap(),
            juels(12) + JUELS_PER_LINK / U256::from(2u64)
        );
        assert_eq!(
            parse_link("0.000000000000000001").unwrap(),
            U256::from(1u64)
        );
        assert_eq!(parse_link(" 0 ").unwrap(), U256::ZERO);
        assert_eq!(parse_link("007.50").unwrap(), parse_link("7.5").unwrap());
        assert_eq!(
            parse_link("1.123456789012345678").unwrap(),
            U256::from(1_123_456_789_012_345_678u64)
        );
    }

    #[test]
    fn bad_link_amounts_say_why() {
        for (text, why) in [
            ("", "empty"),
            ("-1", "negative"),
            ("-0.5", "negative"),
            ("1.0000000000000000001", "19 decimals"),
            ("abc", "not a LINK amount"),
            ("1.", "not a LINK amount"),
            (".5", "not a LINK amount"),
            ("1.2.3", "not a LINK amount"),
            ("1e18", "not a LINK amount"),
            ("1,000", "not a LINK amount"),
            ("+1", "not a LINK amount"),
            ("0x10", "not a LINK amount"),
            (
                "1000000000000000000000000000000000000000000000000000000000000000000000000",
                "too large",
            ),
        ] {
            let err = parse_link(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
        // The largest amount that fits, and one juel more.
        let max = format_link(U256::MAX);
        assert_eq!(parse_link(&max).unwrap(), U256::MAX);
        let (whole, _) = max.split_once('.').unwrap();
        let above = format!("{whole}.999999999999999999");
        assert!(parse_link(&above).unwrap_err().contains("too large"));
    }

    #[test]
    fn link_amounts_print_with_full_precision() {
        assert_eq!(format_link(U256::ZERO), "0");
        assert_eq!(format_link(juels(40)), "40");
        assert_eq!(format_link(U256::from(1u64)), "0.000000000000000001");
        assert_eq!(
            format_link(juels(6) + JUELS_PER_LINK * U256::from(375u64) / U256::from(1000u64)),
            "6.375"
        );
        assert_eq!(link(juels(2)), "2 LINK");
        assert_eq!(
            amount_json(U256::from(1_500_000_000_000_000_000u64)),
            json!({ "juels": "1500000000000000000", "link": "1.5" })
        );
    }

    #[test]
    fn withdrawal_is_an_amount_or_all() {
        assert_eq!(parse_withdrawal("all").unwrap(), Withdrawal::All);
        assert_eq!(parse_withdrawal("ALL").unwrap(), Withdrawal::All);
        assert_eq!(
            parse_withdrawal("2.5").unwrap(),
            Withdrawal::Juels(parse_link("2.5").unwrap())
        );
        assert!(parse_withdrawal("some").unwrap_err().contains("`all`"));
    }

    #[test]
    fn basis_points_read_as_percentages() {
        assert_eq!(format_bps(U256::from(1000u64)), "10% (1000 bps)");
        assert_eq!(format_bps(U256::from(1234u64)), "12.34% (1234 bps)");
        assert_eq!(format_bps(U256::from(5u64)), "0.05% (5 bps)");
        assert_eq!(format_bps(U256::from(250u64)), "2.5% (250 bps)");
        assert_eq!(format_bps(U256::ZERO), "0% (0 bps)");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_the_identity(limbs in any::<[u64; 4]>()) {
            let juels = U256::from_limbs(limbs);
            prop_assert_eq!(parse_link(&format_link(juels)).unwrap(), juels);
        }

        #[test]
        fn parse_then_format_is_canonical(whole in "[0-9]{1,30}", fraction in "[0-9]{0,18}") {
            let text = if fraction.is_empty() { whole.clone() } else { format!("{whole}.{fraction}") };
            let parsed = parse_link(&text).unwrap();
            let canonical_whole = whole.trim_start_matches('0');
            let canonical_whole = if canonical_whole.is_empty() { "0" } else { canonical_whole };
            let canonical_fraction = fraction.trim_end_matches('0');
            let expected = if canonical_fraction.is_empty() {
                canonical_whole.to_string()
            } else {
                format!("{canonical_whole}.{canonical_fraction}")
            };
            prop_assert_eq!(format_link(parsed), expected);
        }

        #[test]
        fn garbage_never_parses_silently(text in "\\PC{0,24}") {
            let ok = !text.trim().is_empty()
                && text.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if !ok {
                prop_assert!(parse_link(&text).is_err());
            }
        }
    }

    #[test]
    fn rpc_urls_print_without_secrets() {
        assert_eq!(
            redact_url("https://user:hunter22@rpc.example.org/v3/0123456789abcdef?key=s3cret"),
            "https://rpc.example.org:443"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("http://localhost/"), "http://localhost:80");
        assert_eq!(redact_url("http://[::1]:8545/x"), "http://[::1]:8545");
        assert_eq!(redact_url("not a url"), "<unparsable RPC URL>");
    }

    #[test]
    fn errors_are_scrubbed_of_the_rpc_url() {
        let raw = "https://alice:hunter22@rpc.example.org/v3/0123456789abcdef?apikey=s3cret";
        let text = format!(
            "error sending request for url ({raw}): connection refused; also https://alice:hunter22@rpc.example.org/v3/0123456789abcdef?apikey=s3cret/ and hunter22 and apikey=s3cret and /v3/0123456789abcdef"
        );
        let out = scrub_url(&text, raw);
        for secret in ["hunter22", "s3cret", "0123456789abcdef", "alice"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("https://rpc.example.org:443"), "{out}");
        // Nothing to hide: the text stays readable.
        assert_eq!(
            scrub_url(
                "cannot reach http://127.0.0.1:8545",
                "http://127.0.0.1:8545"
            ),
            "cannot reach http://127.0.0.1:8545"
        );
    }

    #[test]
    fn custom_errors_read_as_sentences() {
        let caller = Address::repeat_byte(0x11);
        let node = Address::repeat_byte(0x22);
        let text = describe_revert(&Node::NotOperator { caller }.abi_encode()).unwrap();
        assert_eq!(
            text,
            format!("NotOperator({caller}): only the node's operator may do this")
        );
        let text = describe_revert(
            &NodeStaking::StakerNotAllowed {
                node,
                staker: caller,
            }
            .abi_encode(),
        )
        .unwrap();
        assert!(text.starts_with("StakerNotAllowed("), "{text}");
        assert!(text.contains("allow list"), "{text}");
        let text = describe_revert(
            &Node::InsufficientStake {
                available: juels(2),
                requested: juels(3),
            }
            .abi_encode(),
        )
        .unwrap();
        assert_eq!(
            text,
            "InsufficientStake(2 LINK, 3 LINK): only 2 LINK is staked by this account on the node"
        );
        let text = describe_revert(&NodeFactory::NotPoolOwner { caller }.abi_encode()).unwrap();
        assert!(text.contains("only the pool owner"), "{text}");
        let text = describe_revert(
            &PoolRegistry::OwnableUnauthorizedAccount { account: caller }.abi_encode(),
        )
        .unwrap();
        assert!(text.contains("only the pool owner"), "{text}");
        let text = describe_revert(
            &LinkToken::ERC20InsufficientBalance {
                sender: caller,
                balance: juels(1),
                needed: juels(5),
            }
            .abi_encode(),
        )
        .unwrap();
        assert!(
            text.contains("holds 1 LINK, the transfer needs 5 LINK"),
            "{text}"
        );
        let text = describe_revert(&LinkPool::UnknownNode { node }.abi_encode()).unwrap();
        assert!(text.contains("no such node"), "{text}");
        let text = describe_revert(&Node::NodeDisabled { node }.abi_encode()).unwrap();
        assert!(text.contains("no new stakes"), "{text}");
        let text = describe_revert(
            &Revert {
                reason: "nope".into(),
            }
            .abi_encode(),
        )
        .unwrap();
        assert_eq!(text, "reverted: nope");
        let text = describe_revert(
            &Panic {
                code: U256::from(0x11u64),
            }
            .abi_encode(),
        )
        .unwrap();
        assert!(text.contains("overflow"), "{text}");
        assert_eq!(describe_revert(&[]), None);
        assert_eq!(describe_revert(&[0xde, 0xad, 0xbe, 0xef, 1, 2]), None);
    }

    #[test]
    fn every_pool_error_is_explained() {
        // Each selector of every binding's errors decodes to a sentence (zeroed arguments are
        // valid ABI for the static types these errors carry).
        let selectors = Node::NodeErrors::SELECTORS
            .iter()
            .chain(NodeStaking::NodeStakingErrors::SELECTORS)
            .chain(NodeFactory::NodeFactoryErrors::SELECTORS)
            .chain(LinkPool::LinkPoolErrors::SELECTORS)
            .chain(PoolOwners::PoolOwnersErrors::SELECTORS)
            .chain(PoolRegistry::PoolRegistryErrors::SELECTORS)
            .chain(PoolStorage::PoolStorageErrors::SELECTORS)
            .chain(LinkToken::LinkTokenErrors::SELECTORS);
        for selector in selectors {
            let mut data = selector.to_vec();
            data.extend([0u8; 96]);
            let text = describe_revert(&data)
                .unwrap_or_else(|| panic!("selector {selector:02x?} is not explained"));
            assert!(text.contains("): "), "{text}");
        }
    }

    #[test]
    fn stake_refusals_name_the_rule() {
        let node = Address::repeat_byte(0x22);
        let staker = Address::repeat_byte(0x33);
        let open = info();
        assert_eq!(
            stake_refusal(node, staker, juels(10), &open, false, juels(10)),
            None
        );
        let why = stake_refusal(node, staker, U256::ZERO, &open, false, juels(10)).unwrap();
        assert!(why.contains("more than 0"), "{why}");
        let mut disabled = info();
        disabled.enabled = false;
        let why = stake_refusal(node, staker, juels(1), &disabled, true, juels(10)).unwrap();
        assert!(why.contains("disabled"), "{why}");
        let mut private = info();
        private.isPrivate = true;
        let why = stake_refusal(node, staker, juels(1), &private, false, juels(10)).unwrap();
        assert!(why.contains("allow list"), "{why}");
        assert_eq!(
            stake_refusal(node, staker, juels(1), &private, true, juels(10)),
            None
        );
        let why = stake_refusal(node, staker, juels(61), &open, false, juels(100)).unwrap();
        assert!(
            why.contains("above its stake limit of 100 LINK (60 LINK left)"),
            "{why}"
        );
        let why = stake_refusal(node, staker, juels(11), &open, false, juels(10)).unwrap();
        assert!(why.contains("insufficient LINK"), "{why}");
        assert!(
            why.contains("holds 10 LINK, the stake needs 11 LINK"),
            "{why}"
        );
    }

    #[test]
    fn a_node_renders_readably_and_as_json() {
        let view = NodeView {
            node: Address::repeat_byte(0x22),
            info: info(),
            distributable: juels(7),
            bid_count: U256::from(2u64),
        };
        let text = render_node(&view);
        assert!(text.contains("operator fee      10% (1000 bps)"), "{text}");
        assert!(
            text.contains("stake limit       100 LINK (60 LINK left)"),
            "{text}"
        );
        assert!(text.contains("operator owed     0.5 LINK"), "{text}");
        assert!(text.contains("distributable     7 LINK"), "{text}");
        assert!(text.contains("deposits placed   2"), "{text}");
        let out = node_json(&view);
        assert_eq!(out["fee_bps"], json!(1000));
        assert_eq!(out["total_staked"]["juels"], json!("40000000000000000000"));
        assert_eq!(out["operator_owed"]["link"], json!("0.5"));
        assert_eq!(out["pending_scaled"], json!("7"));
        assert_eq!(out["enabled"], json!(true));
        let table = render_nodes_table(std::slice::from_ref(&view));
        assert_eq!(table.lines().count(), 2);
        let row = table.lines().nth(1).unwrap();
        assert!(row.contains("  10%  "), "{table}");
        assert!(row.ends_with("  7"), "{table}");
        assert!(table.starts_with("node  "), "{table}");
    }

    #[test]
    fn a_staker_renders_readably_and_as_json() {
        let s = StakerView {
            staker: Address::repeat_byte(0x33),
            stake: juels(30),
            shares: juels(30),
            rewards: U256::from(1u64),
            can_stake: false,
            allowed: false,
        };
        let text = render_staker(Address::repeat_byte(0x22), &s, true);
        assert!(
            text.contains("rewards    0.000000000000000001 LINK"),
            "{text}"
        );
        assert!(text.contains("allowed    no"), "{text}");
        assert!(!render_staker(Address::ZERO, &s, false).contains("allowed"));
        let out = staker_json(&s);
        assert_eq!(out["rewards"]["juels"], json!("1"));
        assert_eq!(out["can_stake"], json!(false));
    }
}
