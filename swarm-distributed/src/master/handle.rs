//! What a master shows and takes: its options, its phase, its workers and the handle a
//! web UI or a test reads them through.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarm_core::{Report, Snapshot};
use tokio::sync::{mpsc, oneshot, watch};

use crate::heartbeat::WorkerState;
use crate::proto::CustomTypes;

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
    /// Steered (a web UI): waiting for a [`MasterCommand::Start`].
    Ready,
    /// Ramping up.
    Spawning,
    /// All users dispatched.
    Running,
    /// `stop` sent; waiting for the workers to stop (and, at the end, for their last
    /// reports).
    Stopping,
    /// The run is over: stopped by a [`MasterCommand::Stop`] or its run time (a steered
    /// master then takes a new start), or the master is done and its report written.
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
    snapshot: Arc<Mutex<Option<Arc<Snapshot>>>>,
    /// Where commands go while the master runs.
    commands: Arc<Mutex<Option<mpsc::UnboundedSender<Command>>>>,
    /// A web UI steers the master through this handle.
    steered: Arc<AtomicBool>,
    /// Builds the run's report from a snapshot, once a run started.
    reporter: Arc<Mutex<Option<Reporter>>>,
}

/// Builds a report of the run from a snapshot (the master's settings, thresholds).
#[derive(Clone)]
pub(super) struct Reporter(pub(super) Arc<dyn Fn(Snapshot) -> Report + Send + Sync>);

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reporter")
    }
}

/// A command and where its answer goes.
pub(super) type Command = (MasterCommand, oneshot::Sender<Result<String, CommandError>>);

/// What a running master can be told, through [`MasterHandle::command`] (Locust's web
/// routes `POST /swarm`, `POST /stop` and the statistics reset).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MasterCommand {
    /// Start a run of `users` users over the ready workers, `spawn_rate` a second (as
    /// Locust's dispatcher splits them); while one runs, change its users (they come or
    /// go at `spawn_rate`, the last come first to go) and spawn rate.
    Start {
        /// Users over all workers.
        users: u64,
        /// Users started per second (above 0).
        spawn_rate: f64,
        /// The target host for the workers' users; `None` keeps the master's (`-H`).
        host: Option<String>,
        /// Stop the run after this long (only when a run starts).
        run_time: Option<Duration>,
    },
    /// Stop the run: the workers stop their users and are ready for the next start.
    Stop,
    /// Forget the statistics so far; the run goes on.
    ResetStats,
}

/// Why a master did not carry out a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command cannot be carried out (a bad value, or not in the master's state).
    #[error("{0}")]
    Refused(String),
    /// The master is not running (not started yet, or finished).
    #[error("the master is not running")]
    NotRunning,
}

impl MasterCommand {
    /// The command with its values checked: a spawn rate above 0, a host that parses.
    fn checked(mut self) -> Result<Self, CommandError> {
        if let MasterCommand::Start {
            spawn_rate, host, ..
        } = &mut self
        {
            if !(spawn_rate.is_finite() && *spawn_rate > 0.0) {
                return Err(CommandError::Refused(format!(
                    "invalid spawn_rate {spawn_rate}: must be a number above 0"
                )));
            }
            match host.as_deref().map(str::trim) {
                Some("") => *host = None,
                Some(h) => {
                    let url = swarm_core::parse_host(h)
                        .map_err(|e| CommandError::Refused(format!("invalid host {h:?}: {e}")))?;
                    *host = Some(url.as_str().trim_end_matches('/').to_owned());
                }
                None => {}
            }
        }
        Ok(self)
    }
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
            commands: Arc::default(),
            steered: Arc::default(),
            reporter: Arc::default(),
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

    pub(super) fn set_snapshot(&self, snap: Snapshot) {
        *lock(&self.snapshot) = Some(Arc::new(snap));
    }

    /// Steer the master through this handle (a web UI does, before the master runs):
    /// without `-u` on the command line it then waits for a [`MasterCommand::Start`]
    /// rather than starting by itself, and a stop leaves it up, ready for the next start
    /// (until Ctrl-C), as Locust's master under its web UI.
    pub fn steer(&self) {
        self.steered.store(true, Ordering::SeqCst);
    }

    pub(super) fn steered(&self) -> bool {
        self.steered.load(Ordering::SeqCst)
    }

    /// Have the running master carry out `command`; its answer (Locust's message, such
    /// as `Swarming started`), or why not. A start needs at least one ready worker.
    ///
    /// # Errors
    /// [`CommandError::Refused`] for a bad value or a command the master cannot carry
    /// out now (say, a start while it stops its workers); [`CommandError::NotRunning`]
    /// before the master runs or after it finished.
    pub async fn command(&self, command: MasterCommand) -> Result<String, CommandError> {
        let command = command.checked()?;
        let (tx, rx) = oneshot::channel();
        {
            let commands = lock(&self.commands);
            let sender = commands.as_ref().ok_or(CommandError::NotRunning)?;
            sender
                .send((command, tx))
                .map_err(|_| CommandError::NotRunning)?;
        }
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(CommandError::NotRunning),
            Err(_) => Err(CommandError::Refused(
                "the master did not answer within 30 s".to_owned(),
            )),
        }
    }

    /// The receiving end of the commands, for the master that runs now.
    pub(super) fn open(&self) -> mpsc::UnboundedReceiver<Command> {
        let (tx, rx) = mpsc::unbounded_channel();
        *lock(&self.commands) = Some(tx);
        rx
    }

    /// No more commands: the master is done.
    pub(super) fn close(&self) {
        *lock(&self.commands) = None;
    }

    /// A report of the statistics so far (the master's settings and thresholds, as its
    /// final report), and whether the run goes on (then it is marked
    /// [`Report::in_progress`]); `None` before the first run started.
    pub fn report(&self) -> Option<(Report, bool)> {
        let reporter = lock(&self.reporter).clone()?;
        let snapshot = self.snapshot()?;
        let live = matches!(
            self.phase(),
            MasterPhase::Spawning | MasterPhase::Running | MasterPhase::Stopping
        );
        let report = (reporter.0)((*snapshot).clone());
        Some(if live {
            (report.in_progress(), true)
        } else {
            (report, false)
        })
    }

    pub(super) fn reporter(&self) -> Option<Reporter> {
        lock(&self.reporter).clone()
    }

    pub(super) fn set_reporter(&self, reporter: Reporter) {
        *lock(&self.reporter) = Some(reporter);
    }

    /// A receiver that wakes on every change of the state.
    pub fn subscribe(&self) -> watch::Receiver<MasterStatus> {
        self.state.subscribe()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut MasterStatus)) {
        self.state.send_modify(f);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
