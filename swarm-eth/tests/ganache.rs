//! The Ethereum helpers against a real ganache (`peers/start ganache`, eager mining):
//! transfers land with balances changed by exactly what was sent and paid, nonces stay
//! consistent across concurrent users sharing one account and after deliberate
//! failures, funded test accounts, a deployed contract returns the stored value, a
//! chain id mismatch is refused, and new heads arrive over a subscription.

mod common;

use std::time::Duration;

use serde_json::Value;
use swarm_core::UserContext;
use swarm_eth::abi::{decode_uint, encode_call, storage_contract, Word};
use swarm_eth::{Account, Eth, EthError, Fees, Wallet, ETHER, GWEI, U256};
use swarm_http::jsonrpc::RpcClient;
use swarm_http::HttpClient;

/// ganache's deterministic mnemonic (public test data).
const MNEMONIC: &str =
    "myth like bonus scare over problem client lizard pioneer submit female collect";

fn context(peer: &common::Peer) -> UserContext {
    UserContext::detached(Some(url::Url::parse(peer.var("URL")).unwrap()), 1)
}

async fn eth(ctx: &UserContext) -> Eth {
    let http = HttpClient::new(ctx).unwrap();
    let rpc = RpcClient::http(&http, "/")
        .unwrap()
        .with_timeout(Duration::from_secs(10));
    Eth::connect(rpc, Some(1337))
        .await
        .unwrap()
        .with_receipt_timeout(Duration::from_secs(10))
}

fn fee_paid(receipt: &Value) -> U256 {
    let q = |k: &str| {
        U256::from_str_radix(receipt[k].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    q("gasUsed") * q("effectiveGasPrice")
}

async fn bounded<F: std::future::Future>(body: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(120), body)
        .await
        .expect("the test finished in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_land_and_balances_change_by_exactly_what_was_sent() {
    let ganache = common::Peer::start("ganache");
    let ctx = context(&ganache);
    bounded(async {
        let mut eth = eth(&ctx).await;
        // The keys file peers/start wrote, and the mnemonic, give the same account 0.
        let keys = Account::all_from_file(ganache.var("KEYS")).unwrap();
        let main = Account::from_mnemonic(MNEMONIC, 0).unwrap();
        assert!(keys.iter().any(|k| k.address() == main.address()));
        let main = Wallet::new(main);
        let to = Account::random().address();

        let before = eth.balance(main.address()).await.unwrap();
        let a = U256::from(12_345 * GWEI);
        let b = U256::from(ETHER / 7);
        let h1 = eth.transfer(&main, to, a, Fees::LEGACY).await.unwrap();
        let h2 = eth.transfer(&main, to, b, Fees::EIP1559).await.unwrap();
        let r1 = eth.wait_receipt(h1).await.unwrap();
        let r2 = eth.wait_receipt(h2).await.unwrap();
        assert_eq!(r1.gas_used, 21_000);
        assert_eq!(r2.raw["type"], "0x2");
        assert_eq!(eth.balance(to).await.unwrap(), a + b);
        let paid = fee_paid(&r1.raw) + fee_paid(&r2.raw);
        assert_eq!(
            eth.balance(main.address()).await.unwrap(),
            before - a - b - paid
        );
        assert_eq!(main.next_nonce().await, Some(2));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_stay_consistent_across_concurrent_users_and_after_failures() {
    let ganache = common::Peer::start("ganache");
    let ctx = context(&ganache);
    bounded(async {
        let mut setup = eth(&ctx).await;
        let shared = Wallet::new(Account::from_mnemonic(MNEMONIC, 1).unwrap());
        let start = setup.transaction_count(shared.address()).await.unwrap();

        // 6 users share one account; each sends 5 transfers, and every other user also
        // tries one it cannot pay for (more than the account holds), which fails.
        let users = 6u64;
        let mut tasks = Vec::new();
        for u in 0..users {
            let shared = shared.clone();
            let ctx = context(&ganache);
            tasks.push(tokio::spawn(async move {
                let mut eth = eth(&ctx).await;
                let to = Account::random().address();
                let mut failures = 0;
                for i in 0..5u64 {
                    if u % 2 == 0 && i == 2 {
                        let too_much = U256::from(10u64).pow(U256::from(30u64));
                        let e = eth
                            .transfer(&shared, to, too_much, Fees::LEGACY)
                            .await
                            .unwrap_err();
                        assert!(matches!(e, EthError::Rpc(_)), "{e:?}");
                        failures += 1;
                    }
                    eth.transfer(&shared, to, U256::from(1_000 + i), Fees::EIP1559)
                        .await
                        .unwrap();
                }
                assert_eq!(eth.balance(to).await.unwrap(), U256::from(5_000 + 10));
                failures
            }));
        }
        let mut failures = 0;
        for t in tasks {
            failures += t.await.unwrap();
        }
        assert_eq!(failures, 3);
        let end = setup.transaction_count(shared.address()).await.unwrap();
        assert_eq!(
            end - start,
            users * 5,
            "one nonce per landed transfer, none lost"
        );

        // Funded test accounts, each its own sender.
        let main = Wallet::new(Account::from_mnemonic(MNEMONIC, 2).unwrap());
        let funded = setup
            .fund_accounts(&main, 4, U256::from(ETHER), Fees::LEGACY)
            .await
            .unwrap();
        assert_eq!(funded.len(), 4);
        for w in &funded {
            assert_eq!(setup.balance(w.address()).await.unwrap(), U256::from(ETHER));
            let h = setup
                .transfer(w, main.address(), U256::from(GWEI), Fees::EIP1559)
                .await
                .unwrap();
            setup.wait_receipt(h).await.unwrap();
        }
        // Funding again sends nothing more to accounts that hold enough.
        let again = setup.transaction_count(main.address()).await.unwrap();
        setup
            .fund_accounts(&main, 4, U256::from(ETHER / 2), Fees::LEGACY)
            .await
            .unwrap();
        assert_eq!(
            setup.transaction_count(main.address()).await.unwrap(),
            again
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployed_contract_returns_the_stored_value_and_bad_chains_are_refused() {
    let ganache = common::Peer::start("ganache");
    let ctx = context(&ganache);
    bounded(async {
        let mut eth = eth(&ctx).await;
        let owner = Wallet::new(Account::from_mnemonic(MNEMONIC, 3).unwrap());
        let contract = eth
            .deploy(&owner, storage_contract(), Fees::EIP1559)
            .await
            .unwrap();
        let get = encode_call("get()", &[]);
        let out = eth.call("get", contract, get.clone()).await.unwrap();
        assert_eq!(decode_uint(&out), Some(U256::ZERO));
        for (value, fees) in [(42u64, Fees::LEGACY), (7_000_000, Fees::EIP1559)] {
            let set = encode_call("set(uint256)", &[Word::Uint(U256::from(value))]);
            let h = eth.transact(&owner, contract, set, fees).await.unwrap();
            eth.wait_receipt(h).await.unwrap();
            let out = eth.call("get", contract, get.clone()).await.unwrap();
            assert_eq!(decode_uint(&out), Some(U256::from(value)));
        }

        // A chain id mismatch is refused before anything is sent.
        let http = HttpClient::new(&ctx).unwrap();
        let rpc = RpcClient::http(&http, "/").unwrap();
        match Eth::connect(rpc, Some(1)).await {
            Err(EthError::ChainMismatch {
                expected: 1,
                got: 1337,
            }) => {}
            other => panic!("expected a chain id mismatch, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_heads_arrive_for_mined_transfers() {
    let ganache = common::Peer::start("ganache");
    let ctx = context(&ganache);
    bounded(Box::pin(async {
        let mut eth = eth(&ctx).await;
        let mut ws = RpcClient::ws(&ctx, "/")
            .await
            .unwrap()
            .with_timeout(Duration::from_secs(10));
        let sub = ws
            .subscribe("eth_subscribe", ["newHeads"], "newHeads")
            .await
            .unwrap();
        let from = Wallet::new(Account::from_mnemonic(MNEMONIC, 4).unwrap());
        for _ in 0..3 {
            let h = eth
                .transfer(
                    &from,
                    Account::random().address(),
                    U256::from(1u64),
                    Fees::LEGACY,
                )
                .await
                .unwrap();
            let receipt = eth.wait_receipt(h).await.unwrap();
            let head = ws.next_head(&sub, Duration::from_secs(10)).await.unwrap();
            let n = u64::from_str_radix(
                head["number"].as_str().unwrap().trim_start_matches("0x"),
                16,
            )
            .unwrap();
            assert_eq!(n, receipt.block_number);
        }
        ws.close().await.unwrap();
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_gap_is_a_bounded_failure_and_the_wallet_recovers() {
    let ganache = common::Peer::start("ganache");
    let ctx = context(&ganache);
    bounded(async {
        let http = HttpClient::new(&ctx).unwrap();
        // ganache holds a call whose nonce leaves a gap: the client's time-out bounds it.
        let rpc = RpcClient::http(&http, "/")
            .unwrap()
            .with_timeout(Duration::from_secs(2));
        let mut eth = Eth::connect(rpc, Some(1337)).await.unwrap();
        let wallet = Wallet::new(Account::from_mnemonic(MNEMONIC, 5).unwrap());
        let to = Account::random().address();
        let count = eth.transaction_count(wallet.address()).await.unwrap();
        wallet.set_next_nonce(count + 3).await;
        let e = eth
            .transfer(&wallet, to, U256::from(5u64), Fees::LEGACY)
            .await
            .unwrap_err();
        assert!(
            matches!(e, EthError::Rpc(swarm_http::RpcError::Timeout { .. })),
            "{e:?}"
        );
        assert_eq!(wallet.next_nonce().await, None, "re-read after the failure");
        // The next send takes the node's nonce again and lands.
        eth.transfer(&wallet, to, U256::from(7u64), Fees::LEGACY)
            .await
            .unwrap();
        assert_eq!(wallet.next_nonce().await, Some(count + 1));
        assert_eq!(eth.balance(to).await.unwrap(), U256::from(7u64));
    })
    .await;
}
