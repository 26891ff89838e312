//! Aries mediator load test: each user is a native DIDComm agent that connects to the
//! mediator (didexchange), asks for mediation, then pings it every `--min-wait` to
//! `--max-wait` seconds over its WebSocket; the round trip is the recorded latency.
//!
//! ```text
//! MEDIATION_URL='http://127.0.0.1:8000?oob=...' cargo run --release --example mediator_ping -- -u 100 -r 2 -t 5m
//! cargo run --release --example mediator_ping -- -u 20 -r 2 -t 1m     # starts a local ACA-Py from peers/
//! ```
//!
//! `mediator_ping MediatorMessage` runs pairs of agents that send each other basic messages
//! through the mediator instead (`--pickup` says how the receiver collects them).
//!
//! With no `MEDIATION_URL` (or `--mediation-url`), and ACA-Py installed with
//! `peers/install mediator`, it starts a local mediator on 127.0.0.1, uses its invitation,
//! and stops it (by PID) at the end.
use std::process::ExitCode;
use std::time::Duration;

use swarm_aries::users::{MediatorMessage, MediatorPing, MediatorSettings, Pickup};
use swarm_aries::Invitation;

#[path = "common/local_peer.rs"]
mod local_peer;
use local_peer::LocalPeer;

#[derive(Debug, clap::Parser)]
#[command(
    name = "mediator_ping",
    about = "Ping an Aries mediator from many native agents"
)]
struct Cli {
    #[command(flatten)]
    swarm: swarm_core::cli::Args,

    /// The mediator's invitation URL (?oob=, ?c_i=); default: start a local ACA-Py
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
        default_value_t = 2.0,
        value_name = "SECS"
    )]
    max_wait: f64,

    /// How long to wait for a reply before counting a failure, seconds
    #[arg(
        long,
        env = "PING_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECS"
    )]
    timeout: f64,

    /// How MediatorMessage receivers get messages: push (on the WebSocket; ACA-Py), live
    /// (messagepickup 2.0 live mode), poll (messagepickup 2.0), batch (messagepickup 1.0)
    #[arg(
        long,
        env = "MEDIATION_PICKUP",
        default_value = "push",
        value_name = "MODE"
    )]
    pickup: Pickup,

    /// Seconds between two pickups with --pickup poll or batch
    #[arg(long, default_value_t = 0.2, value_name = "SECS")]
    poll_interval: f64,
}

swarm_core::register_user!(MediatorPing);
swarm_core::register_user!(MediatorMessage);

/// A local ACA-Py mediator from peers/: its invitation and the guard that stops it.
fn start_local_mediator() -> Result<(String, LocalPeer), String> {
    let peer = LocalPeer::start("mediator", "no MEDIATION_URL given")?;
    Ok((peer.var("INVITATION")?, peer))
}

fn secs(name: &str, v: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| format!("{name} {v} is not a number of seconds >= 0"))
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
        let (min, max, timeout) = (
            secs("--min-wait", cli.min_wait)?,
            secs("--max-wait", cli.max_wait)?,
            secs("--timeout", cli.timeout)?,
        );
        let poll = secs("--poll-interval", cli.poll_interval)?;
        if min > max {
            return Err(format!(
                "--min-wait ({min:?}) is above --max-wait ({max:?})"
            ));
        }
        let mut _local = None;
        let url = match &cli.mediation_url {
            Some(u) => u.clone(),
            None if cli.swarm.list => String::new(),
            None => {
                let (inv, guard) = start_local_mediator()?;
                _local = Some(guard);
                inv
            }
        };
        let mut app = app;
        if !cli.swarm.list {
            let invitation = Invitation::parse(&url).map_err(|e| format!("MEDIATION_URL: {e}"))?;
            app = app.setting(
                MediatorSettings::new(invitation)
                    .wait(min, max)
                    .timeout(timeout)
                    .pickup(cli.pickup, poll),
            );
        }
        let mut args = cli.swarm.clone();
        // Without user type names (command line, SWARM_* or the config file), only the
        // pings (name MediatorMessage, or both, to send basic messages between agent pairs).
        // A config that does not load is reported by the run itself.
        if !args.list && args.to_config().is_ok_and(|c| c.user_types.is_empty()) {
            args.user_types = vec!["MediatorPing".to_owned()];
        }
        // The agents talk to the mediator named in the invitation, not to a --host.
        args.no_preflight = true;
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
