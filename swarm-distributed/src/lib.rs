#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod heartbeat;
mod master;
mod mode;
mod proto;
mod session;
mod stats;
mod transport;
mod worker;

pub use crate::heartbeat::{
    Liveness, MasterLiveness, ProcessMonitor, ProcessUsage, WorkerState, CONNECT_RETRY_COUNT,
    CONNECT_TIMEOUT, CPU_MONITOR_INTERVAL, HEARTBEAT_INTERVAL, MASTER_HEARTBEAT_TIMEOUT,
    WORKER_REPORT_INTERVAL,
};
pub use crate::master::{
    CommandError, MasterCommand, MasterError, MasterHandle, MasterOptions, MasterPhase,
    MasterStatus, WorkerInfo, HEARTBEAT_LIVENESS,
};
pub use crate::mode::{LocustMaster, LocustWorker};
pub use crate::proto::{
    Ack, CustomTypes, Envelope, ExceptionReport, LogsReport, MasterMessage, MasterSpawningComplete,
    ProtoError, Spawn, SpawningComplete, UpdateUserClass, Value, WorkerHeartbeat, WorkerMessage,
    MAX_DEPTH,
};
pub use crate::session::{epoch_now, Directive, Handled, WorkerSession};
pub use crate::stats::{
    bucket_response_time_us, error_key, response_time_percentile, EntryDelta, StatsEntry,
    StatsError, StatsReport, AGGREGATED,
};
pub use crate::transport::{Connection, NodeId, TransportError, TransportOptions, LINGER};
pub use crate::worker::WorkerOptions;

/// The Locust release whose protocol this crate speaks (and tests against).
pub const LOCUST_VERSION: &str = "2.47.0";
