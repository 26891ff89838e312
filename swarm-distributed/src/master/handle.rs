//! What a master shows and takes: its options, its phase, its workers and the handle a
//! web UI or a test reads them through.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use swarm_core::Snapshot;
use tokio::sync::watch;

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

    pub(super) fn set_snapshot(&self, snap: Snapshot) {
        *self
            .snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(snap));
    }

    /// A receiver that wakes on every change of the state.
    pub fn subscribe(&self) -> watch::Receiver<MasterStatus> {
        self.state.subscribe()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut MasterStatus)) {
        self.state.send_modify(f);
    }
}
