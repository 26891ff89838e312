//! The runner's command channel, why a run ended, and the progress an observer sees.

use std::fmt;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::stats::{HistoryRow, Snapshot};

/// A command to a running test.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Change the number of users, reached at `spawn_rate` users per second.
    SetUsers {
        /// The new total.
        users: u32,
        /// Users started or stopped per second.
        spawn_rate: f64,
    },
    /// End the run (as when the run time is over).
    Stop,
    /// Ask for the statistics so far.
    Snapshot(oneshot::Sender<Snapshot>),
}

/// Drives a running test: one channel for the command line, a web UI or a distributed
/// worker. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RunnerHandle {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
    pub(crate) kill: CancellationToken,
}

impl RunnerHandle {
    /// Send a command; `false` when the run is already over.
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// Change the number of users.
    pub fn set_users(&self, users: u32, spawn_rate: f64) -> bool {
        self.send(Command::SetUsers { users, spawn_rate })
    }

    /// End the run; the report is still written.
    pub fn stop(&self) -> bool {
        self.send(Command::Stop)
    }

    /// Cancel the users' running tasks at once, without waiting for the stop timeout
    /// (a second Ctrl-C). Use after [`RunnerHandle::stop`].
    pub fn kill(&self) {
        self.kill.cancel();
    }

    /// The statistics so far, or `None` when the run is over.
    pub async fn snapshot(&self) -> Option<Snapshot> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Command::Snapshot(tx)) {
            return None;
        }
        rx.await.ok()
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The run time was over.
    RunTime,
    /// A stop command (Ctrl-C, SIGTERM, a handle) ended it.
    Stopped,
    /// Every handle was dropped while the run had no run time.
    Detached,
    /// The load shape ended the run.
    ShapeDone,
    /// A threshold with abort-on-fail failed.
    ThresholdAbort,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::RunTime => "run time over",
            StopReason::Stopped => "stopped",
            StopReason::Detached => "all handles dropped",
            StopReason::ShapeDone => "load shape finished",
            StopReason::ThresholdAbort => "a threshold failed (aborted)",
        })
    }
}

/// What the runner tells an observer once a tick.
#[derive(Debug)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// Time since the start.
    pub elapsed: Duration,
    /// Users running.
    pub users: u32,
    /// Users asked for.
    pub target_users: u32,
    /// The newest history row.
    pub row: &'a HistoryRow,
}

pub(crate) type Observer = Box<dyn FnMut(&Progress<'_>) + Send>;
