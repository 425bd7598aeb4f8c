//! `orakel pool` end to end: a real anvil, the pool contracts deployed by the real `orakel`
//! binary, and every figure the CLI prints checked in juels against the contracts' rules
//! (D = S/T × O after the operator fee and the owners' share).

use std::path::Path;
use std::process::Stdio;

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy_signer_local::PrivateKeySigner;
use orakel_contracts::LinkToken;
use orakel_contracts::anvil::AnvilProcess;
use orakel_contracts::deploy::{self, ONE_LINK};
use orakel_contracts::staking::{LinkPool, PoolOwners, PoolRegistry};
use serde_json::Value;

/// anvil's well-known dev keys (accounts 1 and 2 of its default mnemonic); public test keys.
const OPERATOR_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ALICE_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// What one run of the binary left.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `orakel pool <args>` against `url` with only the environment given.
async fn orakel(url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_orakel"))
        .arg("pool")
        .args(args)
        .args(["--rpc-url", url])
        .env_remove("ORAKEL_POOL")
        .env_remove("ORAKEL_RPC_URL")
        .env_remove("ORAKEL_KEYSTORE_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the orakel binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs and expects success; returns stdout.
async fn ok(url: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let run = orakel(url, args, env).await;
    assert_eq!(
        run.code,
        Some(0),
        "orakel pool {args:?} failed:\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    run.stdout
}

/// Runs and expects failure (exit code 1, nothing on stdout); returns stderr.
async fn fails(url: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let run = orakel(url, args, env).await;
    assert!(
        run.code.is_some_and(|c| c != 0),
        "orakel pool {args:?} should fail:\nstdout: {}\nstderr: {}",
        run.stdout,
        run.stderr
    );
    run.stderr
}

/// Runs with `--json` and parses stdout.
async fn json(url: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = ok(url, &with_json, env).await;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
}

fn link(n: u64) -> U256 {
    ONE_LINK * U256::from(n)
}

/// Juels of `text` LINK, computed without the code under test (tenths only).
fn tenths(n: u64) -> U256 {
    ONE_LINK * U256::from(n) / U256::from(10u64)
}

fn juels_of(v: &Value) -> U256 {
    v["juels"]
        .as_str()
        .unwrap_or_else(|| panic!("not an amount: {v}"))
        .parse()
        .expect("juels are decimal")
}

fn addr(s: &str) -> Address {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not an address: {e}"))
}

async fn balance<P: Provider>(provider: &P, token: Address, who: Address) -> U256 {
    LinkToken::new(token, provider)
        .balanceOf(who)
        .call()
        .await
        .expect("balanceOf")
}

fn write_keystore(dir: &Path, key: &str, password: &str) -> (String, String) {
    let signer: PrivateKeySigner = key.parse().expect("a hex key");
    let keystore = dir.join("operator.json");
    orakel_chain::keystore::write(&keystore, &signer, password).expect("keystore written");
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{password}\n")).expect("password file written");
    (
        keystore.display().to_string(),
        password_file.display().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_cli_stakes_distributes_withdraws_and_enforces_node_rules() {
    let anvil = AnvilProcess::start(&[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let provider = ProviderBuilder::new().connect_http(anvil.url().parse().expect("anvil url"));
    let url = anvil.url().to_string();
    let accounts = provider.get_accounts().await.expect("accounts");
    let (owner, operator, alice, bob, carol) = (
        accounts[0],
        accounts[1],
        accounts[2],
        accounts[3],
        accounts[4],
    );
    assert_eq!(
        OPERATOR_KEY.parse::<PrivateKeySigner>().unwrap().address(),
        operator
    );
    assert_eq!(
        ALICE_KEY.parse::<PrivateKeySigner>().unwrap().address(),
        alice
    );
    let (owner_s, operator_s, alice_s, bob_s, carol_s) = (
        owner.to_string(),
        operator.to_string(),
        alice.to_string(),
        bob.to_string(),
        carol.to_string(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let (keystore, password_file) = write_keystore(dir.path(), OPERATOR_KEY, "pool test pw");

    // LINK and an SLA market (a network contract to whitelist) from the library; the pool
    // itself from the CLI.
    let token = deploy::deploy_link_token(&provider, owner, owner)
        .await
        .expect("LINK deployed");
    let sla = deploy::deploy_sla_stack(&provider, owner, token)
        .await
        .expect("SLA stack deployed");
    for (who, amount) in [(alice, link(50)), (bob, link(20)), (carol, link(20))] {
        deploy::transfer_link(&provider, owner, token, who, amount)
            .await
            .expect("funded");
    }
    let token_s = token.to_string();
    let market_s = sla.market.to_string();
    let deployed = json(
        &url,
        &[
            "deploy",
            "--link",
            &token_s,
            "--change-delay",
            "0s",
            "--owners-share-bps",
            "500",
            "--whitelist",
            &market_s,
            "--unlocked",
            &owner_s,
        ],
        &[],
    )
    .await;
    let pool = addr(deployed["link_pool"].as_str().expect("link_pool"));
    let pool_s = pool.to_string();
    assert_eq!(addr(deployed["owner"].as_str().unwrap()), owner);
    assert_eq!(addr(deployed["link"].as_str().unwrap()), token);
    let link_pool = LinkPool::new(pool, &provider);
    let registry = PoolRegistry::new(link_pool.registry().call().await.unwrap(), &provider);
    assert_eq!(registry.owner().call().await.unwrap(), owner);
    assert!(registry.isWhitelisted(sla.market).call().await.unwrap());
    let owners = PoolOwners::new(link_pool.poolOwners().call().await.unwrap(), &provider);
    assert_eq!(
        owners.ownersShareBps().call().await.unwrap(),
        U256::from(500u64)
    );

    // The pool owner creates a node; anyone else is refused with the contract's reason.
    let env_pool = [("ORAKEL_POOL", pool_s.as_str())];
    let out = ok(
        &url,
        &[
            "create-node",
            "--operator",
            &operator_s,
            "--fee-bps",
            "1000",
            "--stake-limit",
            "100",
            "--unlocked",
            &owner_s,
        ],
        &env_pool,
    )
    .await;
    let nodes = link_pool.nodes().call().await.unwrap();
    assert_eq!(nodes.len(), 1);
    let node = nodes[0];
    let node_s = node.to_string();
    assert!(out.contains(&format!("created node {node_s}")), "{out}");
    assert!(out.contains("tx 0x"), "{out}");
    let err = fails(
        &url,
        &[
            "create-node",
            "--operator",
            &operator_s,
            "--fee-bps",
            "1000",
            "--stake-limit",
            "100",
            "--unlocked",
            &operator_s,
            "--pool",
            &pool_s,
        ],
        &[],
    )
    .await;
    assert!(
        err.contains(&format!(
            "NotPoolOwner({operator_s}): only the pool owner may do this"
        )),
        "{err}"
    );
    assert_eq!(link_pool.nodes().call().await.unwrap().len(), 1);

    // Two uneven stakes: alice 37.5 LINK with a key from the environment, bob 12.5 unlocked.
    let out = ok(
        &url,
        &[
            "stake",
            &node_s,
            "37.5",
            "--private-key-env",
            "ALICE_KEY",
            "--pool",
            &pool_s,
        ],
        &[("ALICE_KEY", ALICE_KEY)],
    )
    .await;
    assert!(
        out.contains(&format!("staked 37.5 LINK on node {node_s} from {alice_s}")),
        "{out}"
    );
    ok(
        &url,
        &["stake", &node_s, "12.5", "--unlocked", &bob_s],
        &env_pool,
    )
    .await;
    let status = json(&url, &["status", &node_s], &env_pool).await;
    assert_eq!(juels_of(&status["total_staked"]), link(50));
    assert_eq!(status["total_shares"], Value::String(link(50).to_string()));
    assert_eq!(status["total_staked"]["link"], "50");
    assert_eq!(status["operator"], operator_s.as_str());
    assert_eq!(status["fee_bps"], 1000);
    assert_eq!(juels_of(&status["stake_limit"]), link(100));
    let alice_view = json(&url, &["status", &node_s, "--staker", &alice_s], &env_pool).await;
    assert_eq!(juels_of(&alice_view["staker"]["stake"]), tenths(375));
    assert_eq!(alice_view["staker"]["can_stake"], true);

    // Income: 10 LINK arrive at the node; anyone (carol) distributes it.
    // A fresh provider: the first one's cached nonce of `owner` predates the CLI's transactions.
    let fresh = ProviderBuilder::new().connect_http(url.parse().expect("anvil url"));
    deploy::transfer_link(&fresh, owner, token, node, link(10))
        .await
        .expect("income");
    let status = json(&url, &["status", &node_s], &env_pool).await;
    assert_eq!(juels_of(&status["distributable"]), link(10));
    let out = ok(
        &url,
        &["distribute", &node_s, "--unlocked", &carol_s],
        &env_pool,
    )
    .await;
    assert!(
        out.contains("distributed 10 LINK on node",)
            && out.contains("operator fee 1 LINK, owners' share 0.5 LINK, stakers 8.5 LINK"),
        "{out}"
    );
    // D = S/T × O: the stakers' part after 10 % fee and 5 % owners' share, by stake.
    let profit = link(10);
    let fee = profit * U256::from(1000u64) / U256::from(10_000u64);
    let owners_part = profit * U256::from(500u64) / U256::from(10_000u64);
    let stakers = profit - fee - owners_part;
    let alice_rewards = stakers * tenths(375) / link(50);
    let bob_rewards = stakers * tenths(125) / link(50);
    assert_eq!(
        alice_rewards,
        ONE_LINK * U256::from(6375u64) / U256::from(1000u64)
    );
    assert_eq!(
        bob_rewards,
        ONE_LINK * U256::from(2125u64) / U256::from(1000u64)
    );
    let all = json(&url, &["status", "--staker", &alice_s], &env_pool).await;
    assert_eq!(all["owners_share_bps"], 500);
    let listed = &all["nodes"][0];
    assert_eq!(listed["node"], node_s.as_str());
    assert_eq!(juels_of(&listed["operator_owed"]), fee);
    assert_eq!(juels_of(&listed["owners_owed"]), owners_part);
    assert_eq!(juels_of(&listed["reward_reserve"]), stakers);
    assert_eq!(juels_of(&listed["distributable"]), U256::ZERO);
    assert_eq!(juels_of(&listed["staker"]["rewards"]), alice_rewards);
    assert_eq!(listed["staker"]["rewards"]["link"], "6.375");
    let bob_view = json(&url, &["status", &node_s, "--staker", &bob_s], &env_pool).await;
    assert_eq!(juels_of(&bob_view["staker"]["rewards"]), bob_rewards);
    assert_eq!(bob_view["staker"]["rewards"]["link"], "2.125");

    // The readable status shows the same figures.
    let text = ok(&url, &["status", &node_s, "--staker", &bob_s], &env_pool).await;
    assert!(text.contains("operator fee      10% (1000 bps)"), "{text}");
    assert!(text.contains("total staked      50 LINK"), "{text}");
    assert!(text.contains("rewards    2.125 LINK (claimable)"), "{text}");
    let text = ok(&url, &["status"], &env_pool).await;
    assert!(text.contains("owners' share  5% (500 bps)"), "{text}");
    assert!(text.contains(&node_s), "{text}");

    // Bob withdraws 2.5 LINK, then everything (stake + rewards).
    let bob_before = balance(&provider, token, bob).await;
    assert_eq!(bob_before, tenths(75));
    let out = ok(
        &url,
        &["withdraw", &node_s, "2.5", "--unlocked", &bob_s],
        &env_pool,
    )
    .await;
    assert!(out.contains("withdrew 2.5 LINK of stake"), "{out}");
    assert!(out.contains("(10 LINK left staked)"), "{out}");
    assert_eq!(
        balance(&provider, token, bob).await,
        bob_before + tenths(25)
    );
    let out = ok(
        &url,
        &["withdraw", &node_s, "all", "--unlocked", &bob_s],
        &env_pool,
    )
    .await;
    assert!(
        out.contains("withdrew 10 LINK of stake and 2.125 LINK of rewards"),
        "{out}"
    );
    assert_eq!(
        balance(&provider, token, bob).await,
        link(20) - tenths(125) + tenths(125) + bob_rewards
    );
    assert_eq!(
        link_pool.stakeOf(node, bob).call().await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        link_pool.rewardsOf(node, bob).call().await.unwrap(),
        U256::ZERO
    );
    let err = fails(
        &url,
        &["withdraw", &node_s, "all", "--unlocked", &bob_s],
        &env_pool,
    )
    .await;
    assert!(err.contains("nothing to withdraw"), "{err}");

    // Alice claims her rewards; her stake stays.
    let out = ok(
        &url,
        &["claim", &node_s, "--private-key-env", "ALICE_KEY"],
        &[("ALICE_KEY", ALICE_KEY), ("ORAKEL_POOL", pool_s.as_str())],
    )
    .await;
    assert!(out.contains("claimed 6.375 LINK of rewards"), "{out}");
    assert_eq!(
        balance(&provider, token, alice).await,
        link(50) - tenths(375) + alice_rewards
    );
    assert_eq!(
        link_pool.stakeOf(node, alice).call().await.unwrap(),
        tenths(375)
    );

    // The operator (keystore signer) changes the fee; a staker may not.
    let operator_signer = [
        "--keystore",
        keystore.as_str(),
        "--password-file",
        password_file.as_str(),
    ];
    let mut args = vec!["set-fee", &node_s, "2000"];
    args.extend(operator_signer);
    let out = ok(&url, &args, &env_pool).await;
    assert!(out.contains("operator fee 20% (2000 bps)"), "{out}");
    let status = json(&url, &["status", &node_s], &env_pool).await;
    assert_eq!(status["fee_bps"], 2000);
    let err = fails(
        &url,
        &["set-fee", &node_s, "100", "--unlocked", &alice_s],
        &env_pool,
    )
    .await;
    assert!(
        err.contains(&format!(
            "NotOperator({alice_s}): only the node's operator may do this"
        )),
        "{err}"
    );
    let err = fails(
        &url,
        &["set-fee", &node_s, "6000", "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    assert!(err.contains("FeeTooHigh(6000, 5000)"), "{err}");

    // Private node: only allow-listed stakers may stake.
    ok(
        &url,
        &["set-private", &node_s, "true", "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    ok(
        &url,
        &["allow", &node_s, &alice_s, "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    let carol_before = balance(&provider, token, carol).await;
    let run = orakel(
        &url,
        &["stake", &node_s, "1", "--unlocked", &carol_s],
        &env_pool,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "node {node_s} is private and {carol_s} is not on its allow list"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(balance(&provider, token, carol).await, carol_before);
    let carol_view = json(&url, &["status", &node_s, "--staker", &carol_s], &env_pool).await;
    assert_eq!(carol_view["private"], true);
    assert_eq!(carol_view["staker"]["can_stake"], false);
    assert_eq!(carol_view["staker"]["allowed"], false);
    ok(
        &url,
        &["stake", &node_s, "1", "--unlocked", &alice_s],
        &env_pool,
    )
    .await;
    assert_eq!(
        link_pool.stakeOf(node, alice).call().await.unwrap(),
        tenths(385)
    );

    // Over the stake limit, and over the staker's LINK.
    ok(
        &url,
        &["set-limit", &node_s, "40", "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    let err = fails(
        &url,
        &["stake", &node_s, "2", "--unlocked", &alice_s],
        &env_pool,
    )
    .await;
    assert!(
        err.contains("above its stake limit of 40 LINK (1.5 LINK left)"),
        "{err}"
    );
    ok(
        &url,
        &["set-limit", &node_s, "1000", "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    let err = fails(
        &url,
        &["stake", &node_s, "500", "--unlocked", &alice_s],
        &env_pool,
    )
    .await;
    assert!(err.contains("insufficient LINK"), "{err}");

    // Disabled: no stake, with the reason; exits still work.
    ok(
        &url,
        &["disable", &node_s, "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    let err = fails(
        &url,
        &["stake", &node_s, "1", "--unlocked", &alice_s],
        &env_pool,
    )
    .await;
    assert!(err.contains(&format!("node {node_s} is disabled")), "{err}");
    assert_eq!(
        link_pool.stakeOf(node, alice).call().await.unwrap(),
        tenths(385)
    );
    ok(
        &url,
        &["withdraw", &node_s, "0.5", "--unlocked", &alice_s],
        &env_pool,
    )
    .await;
    assert_eq!(
        link_pool.stakeOf(node, alice).call().await.unwrap(),
        link(38)
    );
    let status = json(&url, &["status", &node_s], &env_pool).await;
    assert_eq!(status["enabled"], false);

    // The operator takes its fees.
    let operator_before = balance(&provider, token, operator).await;
    let out = ok(
        &url,
        &["withdraw-fees", &node_s, "--unlocked", &operator_s],
        &env_pool,
    )
    .await;
    assert!(out.contains("sent 1 LINK of operator fees"), "{out}");
    assert_eq!(
        balance(&provider, token, operator).await,
        operator_before + fee
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_cli_refuses_bad_input_readably_and_never_prints_rpc_secrets() {
    let anvil = AnvilProcess::start(&[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let provider = ProviderBuilder::new().connect_http(anvil.url().parse().expect("anvil url"));
    let url = anvil.url().to_string();
    let accounts = provider.get_accounts().await.expect("accounts");
    let owner = accounts[0];
    let owner_s = owner.to_string();
    let token = deploy::deploy_link_token(&provider, owner, owner)
        .await
        .expect("LINK deployed");
    let deployed = json(
        &url,
        &[
            "deploy",
            "--link",
            &token.to_string(),
            "--change-delay",
            "1day",
            "--unlocked",
            &owner_s,
        ],
        &[],
    )
    .await;
    let pool_s = deployed["link_pool"]
        .as_str()
        .expect("link_pool")
        .to_string();
    let env_pool = [("ORAKEL_POOL", pool_s.as_str())];
    let some_node = Address::repeat_byte(0x42).to_string();

    // Amounts: more than 18 decimals, negative, garbage: clap names the argument.
    for (amount, why) in [
        ("1.0000000000000000001", "19 decimals"),
        ("-3", "negative"),
        ("ten", "not a LINK amount"),
    ] {
        let err = fails(
            &url,
            &["stake", &some_node, amount, "--unlocked", &owner_s],
            &env_pool,
        )
        .await;
        assert!(err.contains("<AMOUNT>"), "{err}");
        assert!(err.contains(why), "{err}");
    }
    let err = fails(
        &url,
        &[
            "create-node",
            "--operator",
            &owner_s,
            "--fee-bps",
            "10",
            "--stake-limit",
            "1.2.3",
            "--unlocked",
            &owner_s,
        ],
        &env_pool,
    )
    .await;
    assert!(err.contains("--stake-limit"), "{err}");

    // A node the pool does not know, and a --pool that is not a LinkPool.
    let err = fails(&url, &["status", &some_node], &env_pool).await;
    assert!(
        err.contains(&format!(
            "UnknownNode({some_node}): no such node in this pool"
        )),
        "{err}"
    );
    let err = fails(&url, &["status", "--pool", &owner_s], &[]).await;
    assert!(err.contains("no contract there"), "{err}");

    // No signer / a missing key variable / an account the node does not unlock.
    let err = fails(&url, &["distribute", &some_node], &env_pool).await;
    assert!(err.contains("--keystore"), "{err}");
    let err = fails(
        &url,
        &[
            "distribute",
            &some_node,
            "--private-key-env",
            "NO_SUCH_VAR_FOR_ORAKEL",
        ],
        &env_pool,
    )
    .await;
    assert!(err.contains("NO_SUCH_VAR_FOR_ORAKEL is not set"), "{err}");
    let err = fails(
        &url,
        &["distribute", &some_node, "--private-key-env", "BAD_KEY"],
        &[
            ("BAD_KEY", "0xnot-a-key-s3cret"),
            ("ORAKEL_POOL", pool_s.as_str()),
        ],
    )
    .await;
    assert!(err.contains("does not hold a hex private key"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    let err = fails(
        &url,
        &["distribute", &some_node, "--unlocked", &some_node],
        &env_pool,
    )
    .await;
    assert!(err.contains("not an unlocked account"), "{err}");

    // An RPC URL with credentials: only scheme://host:port is ever printed.
    let secret_url = "http://alice:hunter22@127.0.0.1:1/v3/projectkey0123?apikey=zzsecret";
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_orakel"))
        .args(["pool", "status", "--pool", &pool_s, "--rpc-url", secret_url])
        .env_remove("ORAKEL_POOL")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the orakel binary runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("http://127.0.0.1:1"), "{stderr}");
    for secret in ["hunter22", "alice", "projectkey0123", "zzsecret"] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
    // The same through the environment variable.
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_orakel"))
        .args(["pool", "status", "--pool", &pool_s])
        .env("ORAKEL_RPC_URL", secret_url)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the orakel binary runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    for secret in ["hunter22", "projectkey0123", "zzsecret"] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
    let help = tokio::process::Command::new(env!("CARGO_BIN_EXE_orakel"))
        .args(["pool", "status", "--help"])
        .env("ORAKEL_RPC_URL", secret_url)
        .output()
        .await
        .expect("the orakel binary runs");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--rpc-url"), "{help}");
    assert!(!help.contains("hunter22"), "{help}");
}
