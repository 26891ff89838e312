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
use swarm_core::{ReportFiles, Snapshot, StopReason};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Interval};

mod aggregate;
mod dispatch;
mod server;

pub use server::MasterError;

use aggregate::Aggregate;
use dispatch::{Dispatcher, UserClass};
use server::{Incoming, Server};

use crate::heartbeat::{WorkerState, HEARTBEAT_INTERVAL};
use crate::proto::{
    Ack, CustomTypes, MasterMessage, MasterSpawningComplete, ProtoError, Spawn, Value,
    WorkerMessage,
};
use crate::session::epoch_now;

/// Locust's `HEARTBEAT_LIVENESS`: missed heartbeat ticks before a worker is missing.
pub const HEARTBEAT_LIVENESS: i32 = 3;

/// Where the master listens and how long it waits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MasterOptions {
    /// The interface to bind (`--master-bind-host`); `*` is every IPv4 interface.
    pub bind_host: String,
    /// The port to bind (`--master-bind-port`); 0 lets the system choose.
    pub bind_port: u16,
    /// Workers to wait for before the test starts (`--expect-workers`).
    pub expect_workers: usize,
    /// How long to wait for them (`--expect-workers-max-wait`); `None` is forever.
    pub expect_workers_max_wait: Option<Duration>,
    /// After `stop`, how long beyond the stop time-out the workers get to stop.
    pub stop_grace: Duration,
    /// After `quit`, how long the workers get to send their final reports and `quit`.
    pub quit_wait: Duration,
    /// After the last ramp-up step, how long to wait for the workers to report their
    /// users (Locust: 1 s, `LOCUST_WAIT_FOR_WORKERS_REPORT_AFTER_RAMP_UP`).
    pub ramp_up_report_wait: Duration,
    /// Custom message types to accept from workers (others are logged and skipped).
    pub custom_types: CustomTypes,
}

impl Default for MasterOptions {
    fn default() -> Self {
        Self {
            bind_host: "*".to_owned(),
            bind_port: 5557,
            expect_workers: 1,
            expect_workers_max_wait: None,
            stop_grace: Duration::from_secs(15),
            quit_wait: Duration::from_secs(10),
            ramp_up_report_wait: Duration::from_secs(1),
            custom_types: CustomTypes::new(),
        }
    }
}

/// Where a master is in its test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MasterPhase {
    /// Binding its socket.
    Starting,
    /// Waiting for `--expect-workers` workers.
    WaitingForWorkers,
    /// Ramping up.
    Spawning,
    /// All users dispatched.
    Running,
    /// `stop` and `quit` sent; waiting for the last reports.
    Stopping,
    /// The report is written (or being written).
    Stopped,
}

/// One worker as the master sees it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// Its node id (ZeroMQ identity), `{hostname}_{uuid}`.
    pub id: String,
    /// Its 0-based index under this master (the `ack`'s index).
    pub index: u64,
    /// Its state: from its heartbeats, or `Missing` when they stopped.
    pub state: WorkerState,
    /// Users it runs, per user class (from its last report).
    pub user_classes_count: BTreeMap<String, u64>,
    /// CPU use of its process, percent of one core (from its heartbeats).
    pub cpu_percent: f64,
    /// Resident memory of its process, bytes.
    pub memory_bytes: u64,
    /// The version it sent in `client_ready`.
    pub version: String,
    /// Requests it reported so far.
    pub requests: u64,
    /// Failures it reported so far.
    pub failures: u64,
    /// It sent `quit` (it is gone, its statistics stay).
    pub quit: bool,
}

impl WorkerInfo {
    /// Users it runs, all classes together.
    pub fn users(&self) -> u64 {
        self.user_classes_count.values().sum()
    }
}

/// The master's live state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MasterStatus {
    /// Where the test is.
    pub phase: MasterPhase,
    /// The endpoint the master listens on, once bound (`tcp://host:port`).
    pub endpoint: Option<String>,
    /// Every worker that registered, by index.
    pub workers: Vec<WorkerInfo>,
    /// Users asked for.
    pub target_users: u64,
    /// Requests reported by all workers so far.
    pub requests: u64,
    /// Failures reported by all workers so far.
    pub failures: u64,
}

/// A view of a running master's state, for a web UI's worker list or a test. Cheap to
/// clone; take one with [`crate::LocustMaster::handle`] before composing the mode.
///
/// ```no_run
/// let master = swarm_distributed::LocustMaster::new();
/// let handle = master.handle();
/// std::thread::spawn(move || loop {
///     for w in handle.workers() {
///         println!("{} {:?} {} users, {:.0}% CPU", w.id, w.state, w.users(), w.cpu_percent);
///     }
///     std::thread::sleep(std::time::Duration::from_secs(1));
/// });
/// swarm_core::cli::App::new().mode(master).main();
/// ```
#[derive(Debug, Clone)]
pub struct MasterHandle {
    state: Arc<watch::Sender<MasterStatus>>,
    /// The statistics of the run so far, renewed every second once it started.
    snapshot: Arc<std::sync::Mutex<Option<Arc<Snapshot>>>>,
}

impl Default for MasterHandle {
    fn default() -> Self {
        let (tx, _) = watch::channel(MasterStatus {
            phase: MasterPhase::Starting,
            endpoint: None,
            workers: Vec::new(),
            target_users: 0,
            requests: 0,
            failures: 0,
        });
        Self {
            state: Arc::new(tx),
            snapshot: Arc::default(),
        }
    }
}

impl MasterHandle {
    /// The master's state now.
    pub fn status(&self) -> MasterStatus {
        self.state.borrow().clone()
    }

    /// The workers that registered, by index (missing and quit ones included).
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.state.borrow().workers.clone()
    }

    /// Where the test is.
    pub fn phase(&self) -> MasterPhase {
        self.state.borrow().phase
    }

    /// The statistics the workers reported so far, as the core's snapshot (the
    /// report's entries, errors and history), renewed every second once the test
    /// started; `None` before.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_snapshot(&self, snap: Snapshot) {
        *self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(snap));
    }

    /// A receiver that wakes on every change of the state.
    pub fn subscribe(&self) -> watch::Receiver<MasterStatus> {
        self.state.subscribe()
    }

    fn update(&self, f: impl FnOnce(&mut MasterStatus)) {
        self.state.send_modify(f);
    }
}

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

    async fn on_incoming(&mut self, incoming: Incoming) {
        let Incoming { identity, message } = incoming;
        let envelope = match message {
            Ok(e) => e,
            Err(e) => {
                self.on_bad(&identity, &e);
                return;
            }
        };
        if envelope.node_id != identity && self.bad.insert(format!("id:{identity}"), 1).is_none() {
            tracing::warn!(
                "worker {identity} puts node id {:?} in its messages: the ZeroMQ identity is used",
                envelope.node_id
            );
        }
        tracing::debug!(message = %envelope.message, "from worker {identity}");
        match envelope.message {
            WorkerMessage::ClientReady { version } => self.on_ready(&identity, version).await,
            WorkerMessage::Heartbeat(h) => {
                let Some(w) = self.workers.get_mut(&identity) else {
                    tracing::debug!("heartbeat from unknown worker {identity}");
                    return;
                };
                w.liveness = HEARTBEAT_LIVENESS;
                if w.info.state == WorkerState::Missing {
                    eprintln!(
                        "master: worker {identity} self-healed with heartbeat, setting state to {}",
                        h.state.as_str()
                    );
                }
                if !w.info.quit {
                    w.info.state = h.state;
                }
                w.info.cpu_percent = h.current_cpu_usage;
                w.info.memory_bytes = h.current_memory_usage;
                self.server.send(&identity, &MasterMessage::Heartbeat).await;
                self.publish();
            }
            WorkerMessage::Stats(report) => {
                self.agg.add(&identity, &report);
                if let Some(w) = self.workers.get_mut(&identity) {
                    if w.active() {
                        w.info.user_classes_count = report.user_classes_count.clone();
                    }
                }
                self.publish();
            }
            WorkerMessage::Spawning => match self.workers.get_mut(&identity) {
                Some(w) => w.info.state = WorkerState::Spawning,
                None => {
                    tracing::warn!("spawning from unknown worker {identity}: asking it to quit");
                    self.server.send(&identity, &MasterMessage::Quit).await;
                }
            },
            WorkerMessage::SpawningComplete(s) => match self.workers.get_mut(&identity) {
                Some(w) => {
                    w.info.state = WorkerState::Running;
                    w.info.user_classes_count = s.user_classes_count;
                    self.publish();
                }
                None => {
                    tracing::warn!(
                        "spawning_complete from unknown worker {identity}: asking it to quit"
                    );
                    self.server.send(&identity, &MasterMessage::Quit).await;
                }
            },
            WorkerMessage::ClientStopped => {
                if let Some(w) = self.workers.get_mut(&identity) {
                    w.stopped = true;
                    w.info.state = WorkerState::Ready;
                    w.info.user_classes_count.clear();
                    eprintln!(
                        "master: worker {identity} (index {}) reported that it has stopped",
                        w.info.index
                    );
                    self.publish();
                }
            }
            WorkerMessage::Quit => {
                if let Some(w) = self.workers.get_mut(&identity) {
                    w.info.quit = true;
                    w.info.state = WorkerState::Stopped;
                    w.info.user_classes_count.clear();
                    eprintln!("master: worker {identity} (index {}) quit", w.info.index);
                    self.publish();
                }
            }
            WorkerMessage::Exception(e) => self.agg.add_exception(&e.msg, &e.traceback),
            WorkerMessage::Logs(_) => {}
            WorkerMessage::Custom { message_type, .. } => {
                tracing::debug!(%message_type, "custom message from worker {identity}");
            }
        }
    }

    async fn on_ready(&mut self, identity: &str, version: String) {
        if version != crate::LOCUST_VERSION && version != "-1" {
            let same_minor = version.get(0..4) == crate::LOCUST_VERSION.get(0..4);
            if !same_minor {
                tracing::warn!(
                    "worker {identity} runs a different version ({version}) of the master/worker \
                     protocol; this master speaks Locust {}'s. It is registered anyway (as Locust's \
                     master does); if it misbehaves, run workers of Locust {}",
                    crate::LOCUST_VERSION,
                    crate::LOCUST_VERSION
                );
            }
        }
        let next = self.indexes.len() as u64;
        let index = *self.indexes.entry(identity.to_owned()).or_insert(next);
        self.server
            .send(
                identity,
                &MasterMessage::Ack(Ack {
                    index: i64::try_from(index).ok(),
                }),
            )
            .await;
        let known = self.workers.contains_key(identity);
        let w = self
            .workers
            .entry(identity.to_owned())
            .or_insert_with(|| Worker {
                info: WorkerInfo {
                    id: identity.to_owned(),
                    index,
                    state: WorkerState::Ready,
                    user_classes_count: BTreeMap::new(),
                    cpu_percent: 0.0,
                    memory_bytes: 0,
                    version: version.clone(),
                    requests: 0,
                    failures: 0,
                    quit: false,
                },
                liveness: HEARTBEAT_LIVENESS,
                stopped: false,
            });
        w.info.version = version;
        w.info.state = WorkerState::Ready;
        w.info.quit = false;
        w.liveness = HEARTBEAT_LIVENESS;
        let ready = self.ready_workers().len();
        if !known {
            eprintln!(
                "master: worker {identity} (index {index}) reported as ready. {ready} workers connected."
            );
            if self.started {
                tracing::info!("worker {identity} joined a test that runs: it gets users in the next test (no rebalancing, as Locust's default)");
            }
        }
        self.publish();
    }

    fn on_bad(&mut self, identity: &str, e: &ProtoError) {
        let n = self.bad.entry(identity.to_owned()).or_default();
        *n += 1;
        if let ProtoError::Data { message_type, .. } = e {
            if message_type == "client_ready" {
                tracing::error!(
                    "worker {identity} sent client_ready without a usable version ({e}): an old \
                     (pre 2.0) Locust worker? Not registered"
                );
                return;
            }
        }
        if *n <= 3 || n.is_power_of_two() {
            tracing::error!(
                "worker {identity} sent a message this master cannot read ({e}; {n} so far); this \
                 master speaks the master/worker protocol of Locust {}: the message is skipped",
                crate::LOCUST_VERSION
            );
        }
    }

    fn on_heartbeat_tick(&mut self) {
        let mut changed = false;
        for w in self.workers.values_mut() {
            if !w.active() {
                continue;
            }
            if w.liveness < 0 {
                eprintln!(
                    "master: worker {} failed to send heartbeat, setting state to missing",
                    w.info.id
                );
                w.info.state = WorkerState::Missing;
                w.info.user_classes_count.clear();
                changed = true;
            } else {
                w.liveness -= 1;
            }
        }
        if changed {
            self.publish();
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
