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
use std::time::Duration;

use swarm_core::cli::ModeContext;
use swarm_core::report::exit_code;
use swarm_core::{ReportFiles, StopReason};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval};

mod aggregate;
mod dispatch;
mod handle;
mod messages;
mod server;

pub use handle::{MasterHandle, MasterOptions, MasterPhase, MasterStatus, WorkerInfo};
pub use server::MasterError;

use aggregate::Aggregate;
use dispatch::{Dispatcher, UserClass};
use server::{Incoming, Server};

use crate::heartbeat::{WorkerState, HEARTBEAT_INTERVAL};
use crate::proto::{
    Ack, MasterMessage, MasterSpawningComplete, ProtoError, Spawn, Value, WorkerMessage,
};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Woke {
    /// The condition holds.
    Done,
    /// The deadline passed.
    Deadline,
    /// Ctrl-C or SIGTERM.
    Signal,
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
    started: bool,
    /// When the ramp-up began (epoch s).
    run_start: f64,
    /// When `stop` went out (epoch s): the end of the run's duration.
    stopped_at: Option<f64>,
}

/// How often a progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The master's test; the exit code of the process.
pub(crate) async fn run(
    ctx: ModeContext,
    options: MasterOptions,
    handle: MasterHandle,
) -> Result<u8, swarm_core::Error> {
    let config = ctx.config().clone();
    let classes = user_classes(&ctx);
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
    eprintln!(
        "master: listening on {} (port {}) for workers; waiting for {} of them",
        server.endpoint, server.port, options.expect_workers
    );
    handle.update(|s| {
        s.endpoint = Some(server.endpoint.clone());
        s.phase = MasterPhase::WaitingForWorkers;
        s.target_users = u64::from(config.users);
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
        target_users: u64::from(config.users),
        started: false,
        run_start: epoch_now(),
        stopped_at: None,
    };
    let outcome = m.test(&options, &config, &classes).await;
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
    let mut report = ctx.report_of(snapshot, classes.iter().map(|c| c.name.clone()).collect());
    report.reason = reason;
    println!("{report}");
    for path in ReportFiles::of(&config).write(&report)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(report.exit_code())
}

/// The user classes the master dispatches: the binary's user types (those named on
/// the command line, or all), with their weights and fixed counts.
fn user_classes(ctx: &ModeContext) -> Vec<UserClass> {
    let names = ctx.user_types();
    swarm_core::registered()
        .into_iter()
        .filter(|r| names.iter().any(|n| n == r.name()))
        .map(|r| UserClass {
            name: r.name().to_owned(),
            weight: r.weight(),
            fixed_count: r.fixed_count(),
        })
        .collect()
}

impl Master {
    /// The test from the wait for workers to the last report; why it ended and when
    /// it started (epoch s).
    async fn test(
        &mut self,
        options: &MasterOptions,
        config: &swarm_core::Config,
        classes: &[UserClass],
    ) -> Result<(StopReason, f64), MasterError> {
        let expected = options.expect_workers.max(1);
        let waited_since = Instant::now();
        let deadline = options.expect_workers_max_wait.map(|d| Instant::now() + d);
        let woke = self
            .wait(deadline, |m| m.ready_workers().len() >= expected)
            .await;
        let mut run_start = epoch_now();
        match woke {
            Woke::Done => {}
            Woke::Signal => {
                eprintln!("master: stopping (signal) before the test started");
                self.finish(options, config, true).await;
                return Ok((StopReason::Stopped, run_start));
            }
            Woke::Deadline => {
                let connected = self.ready_workers().len();
                self.finish(options, config, true).await;
                return Err(MasterError::NotEnoughWorkers {
                    connected,
                    expected,
                    waited: waited_since.elapsed(),
                });
            }
        }

        // Ramp up.
        self.started = true;
        run_start = epoch_now();
        self.run_start = run_start;
        self.handle.update(|s| s.phase = MasterPhase::Spawning);
        let workers = self.ready_workers();
        eprintln!(
            "master: sending spawn jobs of {} users at {:.2} spawn rate to {} ready workers",
            config.users,
            config.spawn_rate,
            workers.len()
        );
        let mut dispatcher = Dispatcher::new(
            &workers,
            classes,
            u64::from(config.users),
            config.spawn_rate,
        );
        let parsed_options = parsed_options(config, expected);
        let run_deadline = config.run_time.map(|t| Instant::now() + t);
        let mut interrupted = false;
        while let Some((step, more)) = dispatcher.next_step() {
            let timestamp = epoch_now();
            let step_users: u64 = step.values().flat_map(BTreeMap::values).sum();
            tracing::info!(
                "dispatch step: {step_users} users over {} workers",
                step.len()
            );
            for (worker, counts) in step {
                let spawn = Spawn {
                    timestamp,
                    user_classes_count: counts,
                    host: host_string(config),
                    stop_timeout: Some(config.stop_timeout.as_secs_f64()),
                    parsed_options: parsed_options.clone(),
                };
                if self.workers.get(&worker).is_some_and(Worker::active) {
                    self.server
                        .send(&worker, &MasterMessage::Spawn(Box::new(spawn)))
                        .await;
                }
            }
            if !more {
                break;
            }
            let next = (Instant::now() + dispatcher.wait()).min(run_deadline.unwrap_or(far()));
            if self.wait(Some(next), |_| false).await == Woke::Signal {
                interrupted = true;
                break;
            }
            if run_deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        if !interrupted {
            let target: BTreeMap<String, u64> = dispatcher.totals();
            let total: u64 = target.values().sum();
            let woke = self
                .wait(Some(Instant::now() + options.ramp_up_report_wait), |m| {
                    m.reported_users() == total
                })
                .await;
            interrupted = woke == Woke::Signal;
            let message =
                MasterMessage::SpawningComplete(MasterSpawningComplete { user_count: total });
            for id in self.active_ids() {
                self.server.send(&id, &message).await;
            }
            eprintln!(
                "master: {}: {}",
                if woke == Woke::Done {
                    "All users spawned"
                } else {
                    "Spawning is complete and report waittime is expired, but not all reports received from workers"
                },
                format_counts(&self.reported_counts())
            );
            self.handle.update(|s| s.phase = MasterPhase::Running);
        }

        // Run.
        let mut reason = StopReason::Stopped;
        if !interrupted {
            match self.wait(run_deadline, |m| m.active_ids().is_empty()).await {
                Woke::Done => eprintln!("master: no worker is left: stopping the test"),
                Woke::Deadline => {
                    eprintln!("master: run time over: stopping the test");
                    reason = StopReason::RunTime;
                }
                Woke::Signal => interrupted = true,
            }
        }
        if interrupted {
            eprintln!("master: stopping (signal); press Ctrl-C again to skip waiting for the workers' last reports");
        }
        self.finish(options, config, false).await;
        Ok((reason, run_start))
    }

    /// `stop`, wait for the workers to stop; `quit`, wait for their last reports and
    /// `quit`. `hurry`: send both without waiting.
    async fn finish(&mut self, options: &MasterOptions, config: &swarm_core::Config, hurry: bool) {
        self.handle.update(|s| s.phase = MasterPhase::Stopping);
        self.stopped_at = Some(epoch_now());
        let mut hurry = hurry;
        let stopping = self.active_ids();
        if self.started && !stopping.is_empty() {
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
                    Woke::Done => {}
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
            if woke == Woke::Deadline {
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
                        self.agg.tick_history(now, users);
                        let end = self.stopped_at.unwrap_or(now);
                        self.handle
                            .set_snapshot(self.agg.snapshot(self.run_start, end, users));
                    }
                }
                _ = tick(self.progress.as_mut()) => self.print_progress(),
                () = tokio::time::sleep_until(deadline) => return Woke::Deadline,
                _ = self.signals.recv() => return Woke::Signal,
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

/// The master's options a worker reads from `spawn` (Locust's workers copy
/// `expect_workers`, `tags` and `exclude_tags`).
fn parsed_options(config: &swarm_core::Config, expected: usize) -> Value {
    let tags = |t: &[String]| {
        if t.is_empty() {
            Value::Nil
        } else {
            Value::Array(t.iter().map(|s| Value::from(s.as_str())).collect())
        }
    };
    Value::Map(vec![
        (Value::from("expect_workers"), Value::from(expected as u64)),
        (Value::from("tags"), tags(&config.tags)),
        (Value::from("exclude_tags"), tags(&config.exclude_tags)),
        (
            Value::from("host"),
            host_string(config).map_or(Value::Nil, Value::from),
        ),
    ])
}

/// The host as Locust's `-H` gives it: no trailing `/` (Python's users append the path,
/// `http://h:1` + `/index.html`; `http://h:1/` would make it `//index.html`).
fn host_string(config: &swarm_core::Config) -> Option<String> {
    config
        .host
        .as_ref()
        .map(|h| h.as_str().trim_end_matches('/').to_owned())
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
