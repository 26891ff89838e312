//! The multi-tenant platform on a mediator, with the staircase of the multi-agent mediator
//! test: each `MultitenantMediator` user is a sub-wallet of an ACA-Py multi-tenant agent,
//! created through its multitenancy admin API, that connects to the mediator, is granted
//! mediation and then trust-pings it every `--min-wait` to `--max-wait` seconds, all
//! through the admin API with the tenant's bearer token (every admin call its own entry;
//! `DIDCOMM tenant_onboard` is wallet creation to grant).
//!
//! ```text
//! cargo run --release --example multitenant_mediator        # local peers; 10 tenants more every 30 s up to 100, 10 min
//! cargo run --release --example multitenant_mediator -- --shape steps:users=5,every=10s,max=20,time=1m
//! MULTITENANT_URL=http://127.0.0.1:8031 ISSUER_HEADERS='{"X-API-Key": "..."}' \
//!   MEDIATION_URL='http://127.0.0.1:8000?oob=...' cargo run --release --example multitenant_mediator
//! cargo run --release --example multitenant_mediator -- MediatorPing     # native agents, same mediator
//! ```
//!
//! `MediatorPing` (the native agent) runs on the same mediator when named, alone or beside
//! the tenants, for comparison. The admin API is `MULTITENANT_URL` (else `ISSUER_URL`);
//! `ISSUER_HEADERS` (a JSON object, e.g. the base wallet's `{"X-API-Key": "..."}`) goes
//! with every admin call, tenants' included, and is never printed. With no admin URL it
//! starts a local multi-tenant ACA-Py from `peers/` (`peers/start multitenant`), with no
//! `MEDIATION_URL` a local ACA-Py mediator; both are stopped (by PID) at the end. Without
//! `--shape` or `--users` the staircase runs.
use std::process::ExitCode;
use std::time::Duration;

use swarm_aries::issuer::{IssuerConfig, IssuerHeaders};
use swarm_aries::users::{
    MediatorPing, MediatorSettings, MultitenantMediator, MultitenantSettings,
};
use swarm_aries::Invitation;

#[path = "common/local_peer.rs"]
mod local_peer;
use local_peer::LocalPeer;

/// The staircase of the multi-agent mediator test, unless `--shape` or `--users` says
/// otherwise.
const STAIRCASE: &str = "steps:users=10,every=30s,max=100,time=10m";

#[derive(Debug, clap::Parser)]
#[command(
    name = "multitenant_mediator",
    about = "ACA-Py sub-wallets (tenants) on an Aries mediator, beside native agents"
)]
struct Cli {
    #[command(flatten)]
    swarm: swarm_core::cli::Args,

    /// The multi-tenant agent's admin API (else ISSUER_URL); default: start a local one
    #[arg(long, env = "MULTITENANT_URL", value_name = "URL")]
    multitenant_url: Option<String>,

    /// The admin API, when MULTITENANT_URL is not given
    #[arg(long, env = "ISSUER_URL", value_name = "URL")]
    issuer_url: Option<String>,

    /// Headers of every admin call, a JSON object (e.g. {"X-API-Key": "..."}); never printed
    #[arg(
        long,
        env = "ISSUER_HEADERS",
        hide_env_values = true,
        value_name = "JSON"
    )]
    issuer_headers: Option<String>,

    /// The mediator's out-of-band invitation URL; default: start a local ACA-Py mediator
    #[arg(long, env = "MEDIATION_URL", value_name = "URL")]
    mediation_url: Option<String>,

    /// Shortest wait between pings, seconds
    #[arg(
        long,
        env = "LOCUST_MIN_WAIT",
        default_value_t = 1.0,
        value_name = "SECS"
    )]
    min_wait: f64,

    /// Longest wait between pings, seconds
    #[arg(
        long,
        env = "LOCUST_MAX_WAIT",
        default_value_t = 3.0,
        value_name = "SECS"
    )]
    max_wait: f64,

    /// How long a connection or a mediation grant may take, seconds
    #[arg(
        long,
        env = "TENANT_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECS"
    )]
    timeout: f64,

    /// Remove each tenant's sub-wallet when its user stops
    #[arg(long)]
    remove_wallets: bool,
}

swarm_core::register_user!(MultitenantMediator);
swarm_core::register_user!(MediatorPing);

fn secs(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("{name} {v} is not a number of seconds >= 0"))
}

/// Whether a command-line word sets the load itself (a shape, a user count, an arrival
/// rate, a worker or master mode).
fn sets_load(arg: &str) -> bool {
    const LONG: [&str; 6] = [
        "--shape",
        "--users",
        "--arrival-rate",
        "--arrival-stages",
        "--worker",
        "--master",
    ];
    LONG.iter()
        .any(|f| arg == *f || arg.strip_prefix(f).is_some_and(|r| r.starts_with('=')))
        || (arg.starts_with("-u") && !arg.starts_with("--"))
}

/// The command line, with the staircase added when neither it nor `SWARM_SHAPE` /
/// `SWARM_USERS` set the load.
fn with_staircase(mut args: Vec<String>) -> Vec<String> {
    let env_set = ["SWARM_SHAPE", "SWARM_USERS"]
        .iter()
        .any(|k| std::env::var_os(k).is_some());
    if !env_set && !args.iter().skip(1).any(|a| sets_load(a)) {
        args.extend(["--shape".to_owned(), STAIRCASE.to_owned()]);
    }
    args
}

fn main() -> ExitCode {
    let app = swarm_core::cli::App::new()
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new());
    let matches = app
        .augment(<Cli as clap::CommandFactory>::command())
        .get_matches_from(with_staircase(std::env::args().collect()));
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let run = || -> Result<ExitCode, String> {
        let (min, max, timeout) = (
            secs("--min-wait", cli.min_wait)?,
            secs("--max-wait", cli.max_wait)?,
            secs("--timeout", cli.timeout)?,
        );
        if min > max {
            return Err(format!(
                "--min-wait ({min:?}) is above --max-wait ({max:?})"
            ));
        }
        // Settings that do not parse are refused before any peer starts.
        let headers = IssuerHeaders::parse(cli.issuer_headers.as_deref().unwrap_or(""))
            .map_err(|e| e.to_string())?;
        let mut args = cli.swarm.clone();
        if !args.list && args.to_config().is_ok_and(|c| c.user_types.is_empty()) {
            args.user_types = vec!["MultitenantMediator".to_owned()];
        }
        // Tenants and agents talk to the admin API and the mediator, not to a --host.
        args.no_preflight = true;
        let mut app = app;
        let (mut _platform, mut _mediator) = (None, None);
        if !args.list {
            let url = match cli.multitenant_url.as_ref().or(cli.issuer_url.as_ref()) {
                Some(u) => u.clone(),
                None => {
                    let peer = LocalPeer::start("multitenant", "no MULTITENANT_URL given")?;
                    let url = peer.var("ADMIN_URL")?;
                    _platform = Some(peer);
                    url
                }
            };
            let mediation = match &cli.mediation_url {
                Some(u) => u.clone(),
                None => {
                    let peer = LocalPeer::start("mediator", "no MEDIATION_URL given")?;
                    let inv = peer.var("INVITATION")?;
                    _mediator = Some(peer);
                    inv
                }
            };
            let config = IssuerConfig::new(&url)
                .map_err(|e| e.to_string())?
                .headers(headers)
                .timeout(timeout);
            let tenants = MultitenantSettings::new(config, &mediation)
                .map_err(|e| e.to_string())?
                .wait(min, max)
                .timeout(timeout)
                .remove_wallets(cli.remove_wallets);
            let invitation =
                Invitation::parse(&mediation).map_err(|e| format!("MEDIATION_URL: {e}"))?;
            app = app.setting(tenants).setting(
                MediatorSettings::new(invitation)
                    .wait(min, max)
                    .timeout(timeout),
            );
        }
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
