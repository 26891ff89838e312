#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod cli;
mod config;
mod duration;
mod error;
mod feed;
mod rate;
pub mod report;
mod runner;
mod shape;
mod stats;
mod swarm;
mod task;
mod threshold;
mod user;
mod wait;

pub use crate::config::{parse_host, Config, TransportOptions};
pub use crate::duration::parse_duration;
pub use crate::error::{ConfigError, Error, ReportError, TaskError, TaskResult};
pub use crate::feed::{Feed, FeedArg, FeedError, FeedMode, OnExhausted};
pub use crate::rate::{ArrivalSchedule, RateLimiter, RateStage};
pub use crate::report::{Report, ReportFiles};
pub use crate::runner::{
    Command, CommandError, Progress, ProgressEvent, RunEvent, RunState, RunStatus, RunnerHandle,
    StopReason, TASK_KIND,
};
pub use crate::shape::{
    parse_shape, BuiltinShape, LoadShape, ShapeTarget, Spike, Stage, Stages, Steps,
};
pub use crate::stats::{
    locust_bucket_ms, EntryDelta, EntrySnapshot, ErrorSnapshot, ExceptionSnapshot, HistoryRow,
    Recorder, Sample, ScheduleSnapshot, Snapshot, StatsDelta, MAX_NAMES_PER_KIND, OTHER_NAMES,
    PERCENTILES,
};
pub use crate::swarm::Swarm;
pub use crate::task::{Selection, Task, TaskCall, TaskFn, Tasks};
pub use crate::threshold::{evaluate_all, Threshold, ThresholdError, ThresholdResult};
pub use crate::user::{registered, Registration, RunContext, User, UserContext, UserRng};
pub use crate::wait::Wait;
pub use async_trait::async_trait;
/// The `rand` crate, for the users' RNG (`ctx.rng()`).
pub use rand;

/// The `main` of a scenario binary: runs the user types registered with
/// [`register_user!`] from the command line, and returns the documented exit code.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     swarm_core::main()
/// }
/// ```
pub fn main() -> std::process::ExitCode {
    cli::App::new().main()
}

/// Everything a scenario needs, in one import.
pub mod prelude {
    pub use crate::{
        async_trait, Recorder, Report, RunContext, Sample, Swarm, Task, TaskError, TaskResult,
        Tasks, User, UserContext, Wait,
    };
    pub use rand::Rng as _;
}

#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
