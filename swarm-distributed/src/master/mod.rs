//! The Swarm master: Locust's master side of the protocol, driving Swarm workers and
//! Python Locust workers alike, and writing the normal Swarm report of what they did.
//!
//! A headless test goes: wait until `--expect-workers` workers are ready (at most
//! `--expect-workers-max-wait`), ramp up with Locust's dispatcher (a `spawn` of absolute
//! per-class counts to every worker at each step, then `spawning_complete`), run for
//! `--run-time` (or until Ctrl-C), then `stop`, wait (bounded) for every worker to stop,
//! `quit`, wait (bounded) for the final reports and `quit`s, and write the report. A
//! worker whose heartbeats stop goes `missing` after Locust's liveness (3 ticks of 1 s):
//! the test goes on with the others, and what it reported stays in the report.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use swarm_core::cli::ModeContext;
use swarm_core::report::exit_code;
use swarm_core::{BuiltinShape, LoadShape, ReportFiles, StopReason, Threshold};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval};

mod aggregate;
mod config;
mod dispatch;
mod handle;
mod messages;
mod server;
mod steer;

pub use handle::{
    CommandError, MasterCommand, MasterHandle, MasterOptions, MasterPhase, MasterStatus, WorkerInfo,
};
pub use server::MasterError;

use aggregate::Aggregate;
use config::{host_string, parsed_options, refuse_open_model, user_classes, users_given};
use dispatch::{Dispatcher, UserClass};
use handle::{Command, Reporter};
use server::{Incoming, Server};
use steer::{Stage, Start, STOPPING};

use crate::heartbeat::{WorkerState, HEARTBEAT_INTERVAL};
use crate::proto::{Ack, MasterMessage, MasterSpawningComplete, ProtoError, Spawn, WorkerMessage};
use crate::session::epoch_now;

/// Locust's `HEARTBEAT_LIVENESS`: missed heartbeat ticks before a worker is missing.
pub const HEARTBEAT_LIVENESS: i32 = 3;

/// A registered worker.
#[derive(Debug)]
struct Worker {
    info: WorkerInfo,
    liveness: i32,
    /// It answered `stop` with `client_stopped` since the last `stop`.
    stopped: bool,
}

impl Worker {
    /// Takes users: registered, not missing, not gone.
    fn active(&self) -> bool {
        !self.info.quit && self.info.state != WorkerState::Missing
    }
}

/// Why a wait ended.
#[derive(Debug)]
enum Woke {
    /// The condition holds.
    Done,
    /// The deadline passed.
    Deadline,
    /// Ctrl-C or SIGTERM.
    Signal,
    /// A start or stop came (only while commands are taken).
    Command(Command),
}

struct Master {
    server: Server,
    workers: BTreeMap<String, Worker>,
    indexes: BTreeMap<String, u64>,
    agg: Aggregate,
    handle: MasterHandle,
    heartbeat: Interval,
    history: Interval,
    progress: Option<Interval>,
    signals: mpsc::UnboundedReceiver<()>,
    /// Identities that sent something unreadable, and how often.
    bad: BTreeMap<String, u64>,
    target_users: u64,
    /// A run has started (the statistics are the run's).
    started: bool,
    /// When the ramp-up began (epoch s).
    run_start: f64,
    /// When `stop` went out (epoch s): the end of the run's duration.
    stopped_at: Option<f64>,
    /// Where the run is.
    stage: Stage,
    /// Users in the last `spawn`s sent, over all workers.
    dispatched: u64,
    /// When the run time is over.
    run_deadline: Option<Instant>,
    /// The host the run's users go to.
    host: Option<String>,
    /// Commands from the handle.
    commands: mpsc::UnboundedReceiver<Command>,
    /// Why starts and stops are refused now (`None`: they are taken).
    closed: Option<String>,
    /// The run's settings from the command line.
    config: swarm_core::Config,
    /// The master's time-outs.
    options: MasterOptions,
    /// `--expect-workers` (the workers read it from `spawn`).
    expected: usize,
    /// The app's context (the report's settings and thresholds).
    ctx: Arc<std::sync::Mutex<ModeContext>>,
    /// The user types dispatched.
    types: Vec<String>,
    /// The run starts by itself (headless, `-u` or `--shape` given); otherwise a start
    /// command starts it, and a stop or the run time leaves the master up for the next.
    autostart: bool,
    /// The load shape (`--shape`) that sets the users of the first run, once a second,
    /// until a command sets them or the run stops; it ends the test.
    shape: Option<BuiltinShape>,
    /// The shape still sets the users (no command has).
    shape_steers: bool,
    /// The shape's last target (users, spawn rate).
    shape_last: Option<(u32, f64)>,
    /// When the run began, for the shape's clock and `--threshold-grace`.
    run_began: Instant,
    /// When the shape and the aborting thresholds are looked at next.
    check_at: Option<Instant>,
    /// The thresholds that end the run when they fail (`--threshold-abort`).
    abort_on: Vec<Threshold>,
    /// When the last `stats` report came (epoch s).
    last_stats_at: f64,
}

/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The master's test; the exit code of the process.
pub(crate) async fn run(
    ctx: ModeContext,
    options: MasterOptions,
    handle: MasterHandle,
) -> Result<u8, swarm_core::Error> {
    let mut ctx = ctx;
    let config = ctx.config().clone();
    refuse_open_model(&config)?;
    ctx.load_baseline()?;
    let abort_on = if config.threshold_abort {
        ctx.thresholds().to_vec()
    } else {
        Vec::new()
    };
    let classes = user_classes(&ctx);
    let autostart = !handle.steered() || users_given(&ctx) || config.shape.is_some();
    let ctx = Arc::new(std::sync::Mutex::new(ctx));
    let server = Server::bind(
        &options.bind_host,
        options.bind_port,
        options.custom_types.clone(),
    )
    .await
    .map_err(|e| {
        swarm_core::Error::Config(swarm_core::ConfigError::InvalidValue {
            option: "--master-bind-host/--master-bind-port".to_owned(),
            value: format!("{}:{}", options.bind_host, options.bind_port),
            reason: e.to_string(),
            file: None,
        })
    })?;
    if autostart {
        eprintln!(
            "master: listening on {} (port {}) for workers; waiting for {} of them",
            server.endpoint, server.port, options.expect_workers
        );
    } else {
        eprintln!(
            "master: listening on {} (port {}) for workers",
            server.endpoint, server.port
        );
    }
    let target = if autostart {
        u64::from(config.users)
    } else {
        0
    };
    // Commands are taken (or refused with a reason) from when the endpoint shows.
    let commands = handle.open();
    handle.update(|s| {
        s.endpoint = Some(server.endpoint.clone());
        s.phase = MasterPhase::WaitingForWorkers;
        s.target_users = target;
    });
    let (sig_tx, signals) = mpsc::unbounded_channel();
    let signal_task = tokio::spawn(async move {
        loop {
            crate::worker::shutdown_signal().await;
            if sig_tx.send(()).is_err() {
                return;
            }
        }
    });
    let mut m = Master {
        server,
        workers: BTreeMap::new(),
        indexes: BTreeMap::new(),
        agg: Aggregate::new(epoch_now()),
        handle: handle.clone(),
        heartbeat: ticker(HEARTBEAT_INTERVAL),
        history: ticker(Duration::from_secs(1)),
        progress: (!config.only_summary).then(|| ticker(PROGRESS_EVERY)),
        signals,
        bad: BTreeMap::new(),
        target_users: target,
        started: false,
        run_start: epoch_now(),
        stopped_at: None,
        stage: Stage::Idle,
        dispatched: 0,
        run_deadline: None,
        host: host_string(&config),
        commands,
        closed: None,
        config: config.clone(),
        options: options.clone(),
        expected: options.expect_workers.max(1),
        autostart,
        ctx: Arc::clone(&ctx),
        types: classes.iter().map(|c| c.name.clone()).collect(),
        shape: config.shape.clone(),
        shape_steers: true,
        shape_last: None,
        run_began: Instant::now(),
        check_at: None,
        abort_on,
        last_stats_at: 0.0,
    };
    let outcome = m.test(&options, &config, &classes).await;
    m.handle.close();
    signal_task.abort();
    let (reason, run_start) = match outcome {
        Ok(x) => x,
        Err(e) => {
            m.handle.update(|s| s.phase = MasterPhase::Stopped);
            eprintln!("error: {e}");
            return Ok(exit_code::UNREACHABLE);
        }
    };
    m.handle.update(|s| s.phase = MasterPhase::Stopped);
    // The run lasted until the stop; what came after is the users' last moments.
    let now = m.stopped_at.unwrap_or_else(epoch_now);
    let users = u32::try_from(m.reported_users()).unwrap_or(u32::MAX);
    let snapshot = m.agg.snapshot(run_start, now, users);
    m.handle.set_snapshot(snapshot.clone());
    let mut report = m.report_of(snapshot);
    report.reason = reason;
    println!("{report}");
    for path in ReportFiles::of(&config).write(&report)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(report.exit_code())
}

impl Master {
    /// The test from the wait for workers to the last report; why it ended and when
    /// it started (epoch s). Headless (or `-u` with a web UI): the run starts once
    /// `--expect-workers` are ready. Steered without `-u`: the master waits for a start
    /// command. Then one loop takes the ramp's steps, the run time, the workers'
    /// messages and the commands, until the run ends (headless) or a signal comes.
    async fn test(
        &mut self,
        options: &MasterOptions,
        config: &swarm_core::Config,
        classes: &[UserClass],
    ) -> Result<(StopReason, f64), MasterError> {
        let expected = options.expect_workers.max(1);
        if self.autostart {
            let waited_since = Instant::now();
            let deadline = options.expect_workers_max_wait.map(|d| Instant::now() + d);
            self.closed = Some(format!(
                "this master starts by itself (-u) once {expected} worker(s) are ready"
            ));
            let woke = self
                .wait(deadline, |m| m.ready_workers().len() >= expected)
                .await;
            match woke {
                Woke::Done => {}
                Woke::Signal => {
                    eprintln!("master: stopping (signal) before the test started");
                    self.finish(options, config, true).await;
                    return Ok((StopReason::Stopped, self.run_start));
                }
                Woke::Deadline | Woke::Command(_) => {
                    let connected = self.ready_workers().len();
                    self.finish(options, config, true).await;
                    return Err(MasterError::NotEnoughWorkers {
                        connected,
                        expected,
                        waited: waited_since.elapsed(),
                    });
                }
            }
            let (users, spawn_rate) = match self.shape.as_mut() {
                None => (u64::from(config.users), config.spawn_rate),
                Some(shape) => match shape.tick(Duration::ZERO, 0) {
                    None => {
                        eprintln!("master: the load shape ends before it starts");
                        self.finish(options, config, true).await;
                        return Ok((StopReason::ShapeDone, self.run_start));
                    }
                    Some(t) => {
                        self.shape_last = Some((t.users, t.spawn_rate));
                        (u64::from(t.users), t.spawn_rate)
                    }
                },
            };
            let run = Start {
                users,
                spawn_rate,
                host: host_string(config),
                run_time: config.run_time,
            };
            self.begin(&run, classes).await;
        } else {
            eprintln!("master: waiting for a start from the web UI");
            self.handle.update(|s| s.phase = MasterPhase::Ready);
        }
        let reason = loop {
            self.closed = None;
            let next = self.next_wake();
            let woke = self.wait(next, Self::due).await;
            self.closed = Some(
                "the master is stopping its workers; start again once they are ready".to_owned(),
            );
            match woke {
                Woke::Signal => {
                    eprintln!("master: stopping (signal); press Ctrl-C again to skip waiting for the workers' last reports");
                    break StopReason::Stopped;
                }
                Woke::Command((command, reply)) => {
                    let answer = self.on_command(command, classes).await;
                    let stop = matches!(answer, Ok(ref m) if m == STOPPING);
                    let _ = reply.send(answer);
                    if stop && !self.handle.steered() {
                        // Not steered: a stop ends the test, as Ctrl-C.
                        eprintln!("master: stopping (command)");
                        break StopReason::Stopped;
                    }
                    if stop && self.stop_run().await {
                        break StopReason::Stopped;
                    }
                }
                Woke::Done | Woke::Deadline => {
                    if let Some(reason) = self.advance(classes).await {
                        break reason;
                    }
                }
            }
        };
        self.finish(options, config, false).await;
        Ok((reason, self.run_start))
    }

    /// `stop`, wait for the workers to stop; `quit`, wait for their last reports and
    /// `quit`. `hurry`: send both without waiting.
    async fn finish(&mut self, options: &MasterOptions, config: &swarm_core::Config, hurry: bool) {
        self.handle.update(|s| s.phase = MasterPhase::Stopping);
        let active = self.stage.active();
        if active {
            self.stopped_at = Some(epoch_now());
        }
        self.stage = Stage::Idle;
        let mut hurry = hurry;
        let stopping = self.active_ids();
        if active && !stopping.is_empty() {
            for id in &stopping {
                if let Some(w) = self.workers.get_mut(id) {
                    w.stopped = false;
                }
                self.server.send(id, &MasterMessage::Stop).await;
            }
            if !hurry {
                let deadline = Instant::now() + config.stop_timeout + options.stop_grace;
                let woke = self
                    .wait(Some(deadline), |m| {
                        stopping
                            .iter()
                            .all(|id| m.workers.get(id).is_none_or(|w| w.stopped || !w.active()))
                    })
                    .await;
                match woke {
                    Woke::Signal => hurry = true,
                    Woke::Deadline => tracing::warn!("timeout waiting for all workers to stop"),
                    Woke::Done | Woke::Command(_) => {}
                }
            }
        }
        let quitting = self.active_ids();
        for id in &quitting {
            self.server.send(id, &MasterMessage::Quit).await;
        }
        if !hurry && !quitting.is_empty() {
            let woke = self
                .wait(Some(Instant::now() + options.quit_wait), |m| {
                    quitting
                        .iter()
                        .all(|id| m.workers.get(id).is_none_or(|w| !w.active()))
                })
                .await;
            if matches!(woke, Woke::Deadline) {
                let late: Vec<&String> = quitting
                    .iter()
                    .filter(|id| self.workers.get(*id).is_some_and(Worker::active))
                    .collect();
                tracing::warn!(
                    "no quit from {} worker(s) within {:?}: their last report may be missing ({late:?})",
                    late.len(),
                    options.quit_wait
                );
            }
        }
    }

    /// Handle messages, heartbeats and the history until `done` holds, `deadline`
    /// passes or a signal comes.
    async fn wait(&mut self, deadline: Option<Instant>, done: impl Fn(&Self) -> bool) -> Woke {
        let deadline = deadline.unwrap_or_else(far);
        loop {
            if done(self) {
                return Woke::Done;
            }
            tokio::select! {
                incoming = self.server.recv() => match incoming {
                    Some(i) => self.on_incoming(i).await,
                    None => return Woke::Deadline,
                },
                _ = self.heartbeat.tick() => self.on_heartbeat_tick(),
                _ = self.history.tick() => {
                    let users = u32::try_from(self.reported_users()).unwrap_or(u32::MAX);
                    if self.started {
                        let now = epoch_now();
                        if self.stage.active() {
                            self.agg.tick_history(now, users);
                        }
                        let end = self.stopped_at.unwrap_or(now);
                        self.handle
                            .set_snapshot(self.agg.snapshot(self.run_start, end, users));
                    }
                }
                _ = tick(self.progress.as_mut()) => self.print_progress(),
                () = tokio::time::sleep_until(deadline) => return Woke::Deadline,
                _ = self.signals.recv() => return Woke::Signal,
                Some((command, reply)) = self.commands.recv() => {
                    if command == MasterCommand::ResetStats {
                        self.reset_stats();
                        let _ = reply.send(Ok("ok".to_owned()));
                    } else if let Some(why) = &self.closed {
                        let _ = reply.send(Err(CommandError::Refused(why.clone())));
                    } else {
                        return Woke::Command((command, reply));
                    }
                }
            }
        }
    }

    fn print_progress(&self) {
        if !self.started {
            return;
        }
        let t = self.agg.totals();
        eprintln!(
            "master: {} workers, {} users, {} requests ({} failures)",
            self.active_ids().len(),
            self.reported_users(),
            t.requests,
            t.failures
        );
    }

    /// Workers that can take users now (state ready, spawning or running).
    fn ready_workers(&self) -> Vec<String> {
        self.workers
            .iter()
            .filter(|(_, w)| {
                w.active()
                    && matches!(
                        w.info.state,
                        WorkerState::Ready | WorkerState::Spawning | WorkerState::Running
                    )
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn active_ids(&self) -> Vec<String> {
        self.workers
            .iter()
            .filter(|(_, w)| w.active())
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn reported_counts(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for w in self.workers.values().filter(|w| w.active()) {
            for (class, n) in &w.info.user_classes_count {
                *out.entry(class.clone()).or_default() += n;
            }
        }
        out
    }

    fn reported_users(&self) -> u64 {
        self.reported_counts().values().sum()
    }

    /// Publish the state to the handle.
    fn publish(&mut self) {
        let mut workers: Vec<WorkerInfo> = self
            .workers
            .values()
            .map(|w| {
                let mut info = w.info.clone();
                let r = self.agg.reported(&info.id);
                info.requests = r.requests;
                info.failures = r.failures;
                info
            })
            .collect();
        workers.sort_by_key(|w| w.index);
        let totals = self.agg.totals();
        let target = self.target_users;
        self.handle.update(|s| {
            s.workers = workers;
            s.requests = totals.requests;
            s.failures = totals.failures;
            s.target_users = target;
        });
    }
}

fn format_counts(counts: &BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    let parts: Vec<String> = counts
        .iter()
        .map(|(k, v)| format!("\"{k}\": {v}"))
        .collect();
    format!("{{{}}} (total {total} users)", parts.join(", "))
}

/// An interval whose missed ticks are not made up in a burst: ticks missed while the
/// master was sending (spawns to many workers) must not count as several heartbeat
/// periods, or a live worker would be marked missing.
fn ticker(period: Duration) -> Interval {
    let mut i = tokio::time::interval(period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

/// A deadline that does not come.
fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

async fn tick(interval: Option<&mut Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}
