//! The blockchain load test (the Go worker it replaces loaded Klaytn nodes): users send
//! signed value transfers and call a contract from funded test accounts, capped with
//! `--max-rps`.
//!
//! Before the run (`test_start`), the main account funds `--num-accounts` test accounts
//! derived from its key (as the Go worker's `--numMcUser`) and deploys a small storage
//! contract. Each user then sends from one test account (users share accounts when there
//! are more users than accounts; their nonces stay in step):
//!
//! | task (weight) | what | recorded as |
//! |---|---|---|
//! | `transfer` (4) | `--transfer-wei` back to the main account, legacy or EIP-1559 (`--tx-type`) | `JSONRPC eth_sendRawTransaction` |
//! | `read` (2) | `get()` on the contract | `JSONRPC eth_call get()` |
//! | `write` (1) | `set(n)` on the contract, waiting for the receipt | `eth_sendRawTransaction`, `ETH receipt` |
//!
//! ```text
//! cargo run --example jsonrpc_transfer -- -u 10 -r 5 -t 30s --max-rps 50     # a local ganache (peers/install ganache)
//! MAIN_KEY=0x... cargo run --example jsonrpc_transfer -- -H http://127.0.0.1:8545 --chain-id 1337 -u 50 -t 5m --max-rps 200
//! ```
//!
//! Accounts funded beforehand (a testnet's, say) can come from a feeder instead:
//! `--feed keys=funded.csv:per-user --num-accounts 0`, a CSV with a `key` column (hex
//! private keys), gives user N the account of row N; users beyond the rows stop cleanly.
//!
//! The main key comes from `MAIN_KEY` (hex) or `--main-key-file` (its first key: one hex
//! key a line, or ganache's keys file), never from a flag, and is never printed. With no `--host`, the
//! example starts ganache from `peers/`, takes its account 0 and chain id 1337, and stops
//! it at the end. `--chain-id` makes a node with another chain id an error before anything
//! is sent.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use std::time::Duration;

use clap::{Parser, ValueEnum};
use swarm_core::prelude::*;
use swarm_core::FeedError;
use swarm_eth::abi::{encode_call, storage_contract, Word};
use swarm_eth::{Account, Address, Eth, Fees, Wallet, U256};
use swarm_http::jsonrpc::RpcClient;
use swarm_http::HttpClient;

#[path = "common/local_peer.rs"]
mod local_peer;
use local_peer::LocalPeer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TxType {
    Legacy,
    Eip1559,
    /// Half of each, at random.
    Mixed,
}

#[derive(Debug, Parser)]
#[command(
    name = "jsonrpc_transfer",
    about = "Value transfers and contract calls from funded accounts over JSON-RPC"
)]
struct Cli {
    #[command(flatten)]
    swarm: swarm_core::cli::Args,

    /// A file with the main key (one hex key a line, or ganache's keys file); default:
    /// the MAIN_KEY environment variable
    #[arg(long, env = "MAIN_KEY_FILE", value_name = "PATH")]
    main_key_file: Option<PathBuf>,

    /// The chain id the node must have
    #[arg(long, env = "CHAIN_ID", value_name = "N")]
    chain_id: Option<u64>,

    /// Test accounts funded from the main account before the run (0: the users' accounts
    /// come from a `keys` feeder, e.g. --feed keys=funded.csv:per-user)
    #[arg(long, env = "NUM_ACCOUNTS", default_value_t = 10, value_name = "N")]
    num_accounts: u64,

    /// Wei each test account is funded with (at least)
    #[arg(long, default_value_t = 100_000_000_000_000_000, value_name = "WEI")]
    fund_wei: u128,

    /// Wei per transfer
    #[arg(long, default_value_t = 1_000, value_name = "WEI")]
    transfer_wei: u128,

    /// Transaction type
    #[arg(long, value_enum, default_value_t = TxType::Eip1559)]
    tx_type: TxType,
}

/// What `main` hands the users (set once, before the run).
struct Settings {
    main: Account,
    chain_id: Option<u64>,
    accounts: u64,
    fund: U256,
    transfer: U256,
    tx_type: TxType,
}

/// A row of the `keys` feeder: a funded account's private key, in hex. Its `Debug` hides it.
#[derive(Clone, serde::Deserialize)]
struct KeyRow {
    key: String,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRow { key: <hidden> }")
    }
}

/// What `test_start` prepared for the users.
struct Setup {
    wallets: Vec<Wallet>,
    main: Address,
    contract: Address,
    chain_id: u64,
}

type SharedSetup = OnceLock<Arc<Setup>>;

/// The run's settings, from `main` through the run context.
fn settings(run: &RunContext) -> Result<Arc<Settings>, TaskError> {
    run.setting::<Settings>()
        .ok_or_else(|| TaskError::new("no settings: run through main"))
}

async fn rpc(
    host: Option<&url::Url>,
    recorder: swarm_core::Recorder,
) -> Result<RpcClient, TaskError> {
    let host = host.ok_or_else(|| TaskError::new("no --host (the JSON-RPC endpoint)"))?;
    let http = HttpClient::standalone(Some(host.as_str()), recorder)
        .timeout(Duration::from_secs(30))
        .build()?;
    Ok(RpcClient::http(&http, host.as_str())?.with_timeout(Duration::from_secs(30)))
}

struct Transactor {
    eth: Eth,
    wallet: Wallet,
    setup: Arc<Setup>,
    tx_type: TxType,
    transfer: U256,
}

#[async_trait]
impl User for Transactor {
    async fn test_start(run: &RunContext) -> Result<(), TaskError> {
        let s = settings(run)?;
        let rpc = rpc(run.host(), run.recorder().clone()).await?;
        let mut eth = Eth::connect(rpc, s.chain_id).await?;
        let main = Wallet::new(s.main.clone());
        // With --num-accounts 0 the users' accounts come from the `keys` feeder.
        let wallets = if s.accounts == 0 {
            Vec::new()
        } else {
            eth.fund_accounts(&main, s.accounts, s.fund, Fees::EIP1559)
                .await?
        };
        let contract = eth.deploy(&main, storage_contract(), Fees::EIP1559).await?;
        let setup = Arc::new(Setup {
            wallets,
            main: main.address(),
            contract,
            chain_id: eth.chain_id(),
        });
        let _ = run.shared(SharedSetup::new).set(setup);
        Ok(())
    }

    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let s = ctx
            .setting::<Settings>()
            .ok_or_else(|| TaskError::new("no settings: run through main"))?;
        let setup = ctx
            .shared(SharedSetup::new)
            .get()
            .cloned()
            .ok_or_else(|| TaskError::new("test_start did not finish"))?;
        let wallet =
            match ctx.feed::<KeyRow>("keys") {
                Ok(row) => Wallet::new(Account::from_hex_key(&row.key)?),
                Err(FeedError::Unknown { .. }) if !setup.wallets.is_empty() => {
                    setup.wallets[(ctx.user_id() % setup.wallets.len() as u64) as usize].clone()
                }
                Err(FeedError::Unknown { .. }) => return Err(TaskError::new(
                    "--num-accounts 0 needs funded keys from a feeder: --feed keys=FILE:per-user",
                )),
                Err(e) => return Err(e.into()),
            };
        let rpc = rpc(ctx.host(), ctx.recorder().clone()).await?;
        let eth = Eth::connect(rpc, Some(setup.chain_id))
            .await?
            .with_receipt_timeout(Duration::from_secs(30));
        Ok(Transactor {
            eth,
            wallet,
            setup,
            tx_type: s.tx_type,
            transfer: s.transfer,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .weighted("transfer", 4, Self::transfer)
            .weighted("read", 2, Self::read)
            .weighted("write", 1, Self::write)
    }

    fn wait_time(&self) -> Wait {
        Wait::between_secs(0.05, 0.2)
    }
}

impl Transactor {
    fn fees(&self, ctx: &mut UserContext) -> Fees {
        match self.tx_type {
            TxType::Legacy => Fees::LEGACY,
            TxType::Eip1559 => Fees::EIP1559,
            TxType::Mixed if ctx.rng().random_bool(0.5) => Fees::LEGACY,
            TxType::Mixed => Fees::EIP1559,
        }
    }

    async fn transfer(&mut self, ctx: &mut UserContext) -> TaskResult {
        let fees = self.fees(ctx);
        self.eth
            .transfer(&self.wallet, self.setup.main, self.transfer, fees)
            .await?;
        Ok(())
    }

    async fn read(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.eth
            .call(
                "eth_call get()",
                self.setup.contract,
                encode_call("get()", &[]),
            )
            .await?;
        Ok(())
    }

    async fn write(&mut self, ctx: &mut UserContext) -> TaskResult {
        let fees = self.fees(ctx);
        let n: u64 = ctx.rng().random_range(0..1_000_000);
        let data = encode_call("set(uint256)", &[Word::Uint(U256::from(n))]);
        let hash = self
            .eth
            .transact(&self.wallet, self.setup.contract, data, fees)
            .await?;
        self.eth.wait_receipt(hash).await?;
        Ok(())
    }
}

swarm_core::register_user!(Transactor);

/// Start ganache from peers/: its URL, its keys file and the guard that stops it.
fn start_ganache() -> Result<(String, String, LocalPeer), String> {
    let peer = LocalPeer::start("ganache", "no --host given")?;
    Ok((peer.var("URL")?, peer.var("KEYS")?, peer))
}

fn main() -> ExitCode {
    // The worker mode's flags (--worker, --master-host, --master-port) and the web UI's
    // (--web, --metrics-bind, ...) join ours.
    let app = swarm_core::cli::App::new()
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new());
    let matches = app
        .augment(<Cli as clap::CommandFactory>::command())
        .get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let run = || -> Result<ExitCode, String> {
        let mut args = cli.swarm.clone();
        let mut _local = None;
        let mut chain_id = cli.chain_id;
        let mut key_file = cli.main_key_file.clone();
        if args.list {
            return Ok(app.run_matches(&args, &matches));
        }
        if args.plan.host.is_none() {
            let (url, keys, guard) = start_ganache()?;
            _local = Some(guard);
            args.plan.host = Some(url::Url::parse(&url).map_err(|e| format!("ganache URL: {e}"))?);
            chain_id = chain_id.or(Some(1337));
            if key_file.is_none() && std::env::var_os("MAIN_KEY").is_none() {
                key_file = Some(PathBuf::from(keys));
            }
        }
        // The first key of the file (for ganache's keys file: a funded account).
        let main = match &key_file {
            Some(path) => Account::from_file(path).map_err(|e| e.to_string())?,
            None => Account::from_env("MAIN_KEY").map_err(|e| {
                format!("{e} (give the main key in MAIN_KEY or a file with --main-key-file)")
            })?,
        };
        if cli.transfer_wei == 0 || cli.fund_wei < cli.transfer_wei {
            return Err("--fund-wei must be at least --transfer-wei, and both above 0".to_owned());
        }
        let app = app.setting(Settings {
            main,
            chain_id,
            accounts: cli.num_accounts,
            fund: U256::from(cli.fund_wei),
            transfer: U256::from(cli.transfer_wei),
            tx_type: cli.tx_type,
        });
        Ok(app.run_matches(&args, &matches))
    };
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
