//! The control plane: the commands a running test takes, the handle that sends them, and
//! what subscribers see (run state, per-type counts, spawning complete, progress).
//!
//! The command line, a web UI and a distributed worker are all clients of this one
//! plane; none reaches into the runner any other way.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::stats::{HistoryRow, Snapshot, StatsDelta};

/// A command to a running test. Most callers use the methods of [`RunnerHandle`],
/// which check their arguments first.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Change the number of users, split over the user types by weight (fixed counts
    /// first), reached at `spawn_rate` users per second. In the open model it sets the
    /// most users the pool may grow to.
    SetUsers {
        /// The new total.
        users: u32,
        /// Users started or stopped per second.
        spawn_rate: f64,
    },
    /// Set the number of users of each named type (what a Locust master sends); types
    /// not named get none. Closed model only.
    SetUserCounts {
        /// Users per user type name.
        counts: BTreeMap<String, u32>,
        /// Users started or stopped per second.
        spawn_rate: f64,
    },
    /// Change the spawn rate of the ramp in progress and of later ones.
    SetSpawnRate(f64),
    /// Open model: start iterations at this constant rate from now on, for the rest of
    /// the run (it replaces the rest of a ramping schedule).
    SetArrivalRate(f64),
    /// Forget the statistics recorded so far; the run goes on.
    ResetStats,
    /// End the run (as when the run time is over).
    Stop,
    /// End the run for this reason (a feeder that ran out with `end-run`).
    End(StopReason),
    /// Ask for the statistics so far; `history` adds the per-second history rows.
    Snapshot {
        /// Where the snapshot goes.
        reply: oneshot::Sender<Snapshot>,
        /// Include the per-second history (a copy of every row so far).
        history: bool,
    },
    /// Take what was recorded since the last take (statistics deltas; enable them with
    /// [`Swarm::stats_deltas`](crate::Swarm::stats_deltas)).
    TakeStats(oneshot::Sender<StatsDelta>),
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The run is over: no one takes commands any more.
    #[error("the run is over")]
    RunOver,
    /// A user type name that is not part of this run.
    #[error("unknown user type {name:?}; this run has: {}", known.join(", "))]
    UnknownUserType {
        /// The name given.
        name: String,
        /// The user types of the run.
        known: Vec<String>,
    },
    /// A rate that is not a finite number above 0.
    #[error("invalid {what} {value}: must be a number above 0")]
    InvalidRate {
        /// Which rate (`spawn rate`, `arrival rate`).
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// The command applies to the other load model.
    #[error("{command} applies to the {applies_to} model only")]
    WrongModel {
        /// The command.
        command: &'static str,
        /// The model it applies to (`open`, `closed`).
        applies_to: &'static str,
    },
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunState {
    /// Users are being started or stopped towards a new target.
    Spawning,
    /// Every user type has the users it was asked for.
    Running,
    /// The run is ending: users finish their tasks (the stop timeout), then stop.
    Stopping,
    /// The run is over; the final statistics are taken.
    Stopped,
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunState::Spawning => "spawning",
            RunState::Running => "running",
            RunState::Stopping => "stopping",
            RunState::Stopped => "stopped",
        })
    }
}

/// The state of a run as the runner last published it ([`RunnerHandle::status`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunStatus {
    /// Where the run is.
    pub state: RunState,
    /// Users running, all types together.
    pub users: u32,
    /// Users asked for, all types together.
    pub target_users: u32,
    /// Users running per user type, in the run's order of types.
    pub user_counts: BTreeMap<String, u32>,
    /// Time since the start.
    pub elapsed: Duration,
}

/// Something that happened in a run, as subscribers ([`RunnerHandle::subscribe`]) see it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RunEvent {
    /// The run moved to another state.
    State(RunState),
    /// Every user type reached the users it was asked for (Locust's
    /// `spawning_complete`).
    SpawningComplete {
        /// Users running per user type.
        user_counts: BTreeMap<String, u32>,
        /// All types together.
        users: u32,
    },
    /// The per-second progress of the run.
    Progress(ProgressEvent),
    /// With statistics deltas on: what was recorded since the last take, sent once when
    /// every user has stopped, before [`RunState::Stopped`] (so that a worker ships its
    /// last report without losing what the users did while stopping).
    FinalStats(Arc<StatsDelta>),
}

/// The per-second progress of a run, in [`RunEvent::Progress`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProgressEvent {
    /// Time since the start.
    pub elapsed: Duration,
    /// Users running.
    pub users: u32,
    /// Users asked for.
    pub target_users: u32,
    /// The newest history row.
    pub row: Arc<HistoryRow>,
}

/// Drives a running test and lets any number of clients watch it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RunnerHandle {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
    pub(crate) kill: CancellationToken,
    pub(crate) events: broadcast::Sender<RunEvent>,
    pub(crate) status: watch::Receiver<RunStatus>,
    pub(crate) types: Arc<[String]>,
    pub(crate) open_model: bool,
}

fn check_rate(what: &'static str, value: f64) -> Result<(), CommandError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(CommandError::InvalidRate { what, value })
    }
}

impl RunnerHandle {
    /// A sender that does not keep the run alive (a feeder's `end-run`).
    pub(crate) fn downgrade(&self) -> mpsc::WeakUnboundedSender<Command> {
        self.tx.downgrade()
    }

    /// Send a command as it is; `false` when the run is already over.
    pub fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }

    fn send_checked(&self, cmd: Command) -> Result<(), CommandError> {
        if self.send(cmd) {
            Ok(())
        } else {
            Err(CommandError::RunOver)
        }
    }

    /// The user types of the run, in their order.
    pub fn user_types(&self) -> &[String] {
        &self.types
    }

    /// Whether the run uses the open model (arrival rates).
    pub fn is_open_model(&self) -> bool {
        self.open_model
    }

    /// Change the number of users (split over the types by weight), reached at
    /// `spawn_rate` users per second; `false` when the run is over. A spawn rate that is
    /// not above 0 starts or stops them all at once. While a load shape runs, this takes
    /// over from the shape (see [`LoadShape`](crate::LoadShape)).
    pub fn set_users(&self, users: u32, spawn_rate: f64) -> bool {
        self.send(Command::SetUsers { users, spawn_rate })
    }

    /// Set the users of each named type, as a Locust master does (`{"WebsiteUser": 7,
    /// "Admin": 3}`); types not named get none. A spawn rate that is not above 0 starts
    /// or stops them all at once. Refused for a name that is not a user type of this run,
    /// and in the open model.
    pub fn set_user_counts<I, S>(&self, counts: I, spawn_rate: f64) -> Result<(), CommandError>
    where
        I: IntoIterator<Item = (S, u32)>,
        S: Into<String>,
    {
        if self.open_model {
            return Err(CommandError::WrongModel {
                command: "set user counts",
                applies_to: "closed",
            });
        }
        let mut map = BTreeMap::new();
        for (name, n) in counts {
            let name = name.into();
            if !self.types.contains(&name) {
                return Err(CommandError::UnknownUserType {
                    name,
                    known: self.types.to_vec(),
                });
            }
            map.insert(name, n);
        }
        self.send_checked(Command::SetUserCounts {
            counts: map,
            spawn_rate,
        })
    }

    /// Change the spawn rate (users started or stopped per second).
    pub fn set_spawn_rate(&self, per_second: f64) -> Result<(), CommandError> {
        check_rate("spawn rate", per_second)?;
        self.send_checked(Command::SetSpawnRate(per_second))
    }

    /// Open model: start iterations at this constant rate from now on, for the rest of
    /// the run.
    pub fn set_arrival_rate(&self, per_second: f64) -> Result<(), CommandError> {
        if !self.open_model {
            return Err(CommandError::WrongModel {
                command: "set arrival rate",
                applies_to: "open",
            });
        }
        check_rate("arrival rate", per_second)?;
        self.send_checked(Command::SetArrivalRate(per_second))
    }

    /// Forget the statistics so far (Locust's "reset stats"); the run goes on.
    pub fn reset_stats(&self) -> bool {
        self.send(Command::ResetStats)
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

    /// The statistics so far, without the per-second history (which only grows; see
    /// [`RunnerHandle::snapshot_with_history`]); `None` when the run is over.
    pub async fn snapshot(&self) -> Option<Snapshot> {
        self.ask_snapshot(false).await
    }

    /// The statistics so far with a copy of every history row.
    pub async fn snapshot_with_history(&self) -> Option<Snapshot> {
        self.ask_snapshot(true).await
    }

    async fn ask_snapshot(&self, history: bool) -> Option<Snapshot> {
        let (reply, rx) = oneshot::channel();
        if !self.send(Command::Snapshot { reply, history }) {
            return None;
        }
        rx.await.ok()
    }

    /// What was recorded since the last take, per entry, with the errors since then
    /// (for a worker's periodic reports). Needs
    /// [`Swarm::stats_deltas`](crate::Swarm::stats_deltas); `None` when the run is over.
    pub async fn take_stats(&self) -> Option<StatsDelta> {
        let (tx, rx) = oneshot::channel();
        if !self.send(Command::TakeStats(tx)) {
            return None;
        }
        rx.await.ok()
    }

    /// Events of the run from now on: state changes, spawning complete, per-second
    /// progress. Any number of subscribers; one that falls more than 1,024 events behind
    /// loses the oldest ([`broadcast::error::RecvError::Lagged`]).
    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.events.subscribe()
    }

    /// The run's latest state and per-type counts; `changed().await` on it waits for the
    /// next change.
    pub fn status(&self) -> watch::Receiver<RunStatus> {
        self.status.clone()
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
    /// A feeder ran out of rows and its policy is `end-run` (the report's
    /// `exhausted_feeders` names it).
    FeedExhausted,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::RunTime => "run time over",
            StopReason::Stopped => "stopped",
            StopReason::Detached => "all handles dropped",
            StopReason::ShapeDone => "load shape finished",
            StopReason::ThresholdAbort => "a threshold failed (aborted)",
            StopReason::FeedExhausted => "a feeder ran out of rows (end-run)",
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
