//! Heartbeats: the worker's state, its CPU and memory use, and the liveness rule by
//! which a worker decides that its master is gone.
//!
//! Locust's worker sends a heartbeat every [`HEARTBEAT_INTERVAL`] with its state and
//! the CPU and memory use of its process, re-sampled every [`CPU_MONITOR_INTERVAL`]
//! (`0.0`/`0` until the first sample). The master answers each heartbeat with one of
//! its own. A worker that has heard at least one master heartbeat quits once it hears
//! none for more than [`MASTER_HEARTBEAT_TIMEOUT`]; before the first one, it never
//! times out this way. [`MasterLiveness`] holds that rule on Tokio's clock, so it is
//! tested under a paused clock.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::time::Instant;

/// How often a worker sends a heartbeat (Locust's `HEARTBEAT_INTERVAL`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// How often CPU and memory use are re-sampled (Locust's `CPU_MONITOR_INTERVAL`).
pub const CPU_MONITOR_INTERVAL: Duration = Duration::from_secs(10);
/// Silence after which a worker gives its master up (Locust's
/// `MASTER_HEARTBEAT_TIMEOUT`), counted from the last master heartbeat.
pub const MASTER_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a worker sends its statistics (Locust's `WORKER_REPORT_INTERVAL`).
pub const WORKER_REPORT_INTERVAL: Duration = Duration::from_secs(3);
/// How long a worker waits for `ack` after `client_ready` before sending it again
/// (Locust's `CONNECT_TIMEOUT`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a worker re-sends `client_ready` before giving up (Locust's
/// `CONNECT_RETRY_COUNT`).
pub const CONNECT_RETRY_COUNT: u32 = 60;

/// A worker's state as its heartbeat reports it (Locust's `STATE_*` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerState {
    /// `"ready"` (Locust's `STATE_INIT`): connected, no users; also after a stop.
    Ready,
    /// `"spawning"`: a spawn was received and is being applied.
    Spawning,
    /// `"running"`: the spawn is applied.
    Running,
    /// `"cleanup"`.
    Cleanup,
    /// `"stopping"`.
    Stopping,
    /// `"stopped"`.
    Stopped,
    /// `"missing"` (only a master sets this).
    Missing,
}

impl WorkerState {
    /// The string on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Spawning => "spawning",
            Self::Running => "running",
            Self::Cleanup => "cleanup",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Missing => "missing",
        }
    }
}

impl WorkerState {
    const ALL: [Self; 7] = [
        Self::Ready,
        Self::Spawning,
        Self::Running,
        Self::Cleanup,
        Self::Stopping,
        Self::Stopped,
        Self::Missing,
    ];

    /// The state for a wire string, if it is one of Locust's.
    pub fn from_wire(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

// By hand: msgpack has no enums, and Locust sends the bare string.
impl Serialize for WorkerState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WorkerState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_wire(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown worker state {s:?} (Locust's are ready, spawning, running, cleanup, stopping, stopped, missing)"
            ))
        })
    }
}

impl fmt::Display for WorkerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CPU and memory use of this process, as a heartbeat carries them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ProcessUsage {
    /// CPU time used since the previous sample, in percent of the wall time between
    /// the two samples (100 = one core busy; more with several threads), as psutil's
    /// `Process.cpu_percent()`.
    pub cpu_percent: f64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// Samples this process's CPU and memory use (from `/proc/self` on Linux; zeros
/// elsewhere). Call [`ProcessMonitor::sample`] every [`CPU_MONITOR_INTERVAL`]: each
/// sample's CPU figure covers the time since the previous one (or since
/// [`ProcessMonitor::new`]).
#[derive(Debug)]
pub struct ProcessMonitor {
    last: Option<(std::time::Instant, Duration)>,
}

impl Default for ProcessMonitor {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessMonitor {
    /// A monitor whose first sample covers the time from now.
    pub fn new() -> Self {
        Self {
            last: cpu_time().map(|t| (std::time::Instant::now(), t)),
        }
    }

    /// The CPU use since the previous sample and the current RSS.
    pub fn sample(&mut self) -> ProcessUsage {
        let now = std::time::Instant::now();
        let cpu = cpu_time();
        let cpu_percent = match (self.last, cpu) {
            (Some((then, before)), Some(after)) => {
                let wall = now.duration_since(then).as_secs_f64();
                if wall > 0.0 {
                    after.saturating_sub(before).as_secs_f64() / wall * 100.0
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        if let Some(cpu) = cpu {
            self.last = Some((now, cpu));
        }
        ProcessUsage {
            cpu_percent,
            rss_bytes: rss_bytes().unwrap_or(0),
        }
    }
}

/// User plus system CPU time of this process.
#[cfg(target_os = "linux")]
fn cpu_time() -> Option<Duration> {
    let stat = procfs::process::Process::myself().ok()?.stat().ok()?;
    let ticks = procfs::ticks_per_second();
    if ticks == 0 {
        return None;
    }
    let total = stat.utime.saturating_add(stat.stime);
    Some(Duration::from_secs_f64(total as f64 / ticks as f64))
}

#[cfg(not(target_os = "linux"))]
fn cpu_time() -> Option<Duration> {
    None
}

/// Resident set size of this process in bytes.
#[cfg(target_os = "linux")]
fn rss_bytes() -> Option<u64> {
    let statm = procfs::process::Process::myself().ok()?.statm().ok()?;
    Some(statm.resident.saturating_mul(procfs::page_size()))
}

#[cfg(not(target_os = "linux"))]
fn rss_bytes() -> Option<u64> {
    None
}

/// What a worker knows about its master's heartbeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// No master heartbeat yet: the time-out does not apply.
    NotYetHeard,
    /// The last master heartbeat came this long ago, within the time-out.
    Alive {
        /// Time since the last master heartbeat.
        since_last: Duration,
    },
    /// No master heartbeat for longer than the time-out: the worker should quit.
    Gone {
        /// Time since the last master heartbeat.
        since_last: Duration,
    },
}

/// The worker's view of its master's liveness (Locust's `heartbeat_timeout_checker`):
/// gone once more than `timeout` has passed since the last master heartbeat, and
/// never before the first one. Reads Tokio's clock, so a paused clock drives it.
#[derive(Debug, Clone)]
pub struct MasterLiveness {
    timeout: Duration,
    last: Option<Instant>,
}

impl Default for MasterLiveness {
    fn default() -> Self {
        Self::new(MASTER_HEARTBEAT_TIMEOUT)
    }
}

impl MasterLiveness {
    /// A fresh view with this time-out ([`MASTER_HEARTBEAT_TIMEOUT`] in Locust).
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            last: None,
        }
    }

    /// The time-out.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Record a master heartbeat received now.
    pub fn heartbeat_received(&mut self) {
        self.last = Some(Instant::now());
    }

    /// Forget all heartbeats (e.g. after connecting to a new master).
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// The state now.
    pub fn check(&self) -> Liveness {
        self.check_at(Instant::now())
    }

    /// The state at `now`.
    pub fn check_at(&self, now: Instant) -> Liveness {
        match self.last {
            None => Liveness::NotYetHeard,
            Some(last) => {
                let since_last = now.saturating_duration_since(last);
                if since_last > self.timeout {
                    Liveness::Gone { since_last }
                } else {
                    Liveness::Alive { since_last }
                }
            }
        }
    }

    /// Whether the master counts as gone now.
    pub fn is_gone(&self) -> bool {
        matches!(self.check(), Liveness::Gone { .. })
    }

    /// The instant after which the master counts as gone, if a heartbeat was heard:
    /// something to `sleep_until` in a `select!` loop (re-read it after each heartbeat).
    pub fn deadline(&self) -> Option<Instant> {
        self.last.map(|last| last + self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_gone_before_the_first_master_heartbeat() {
        let live = MasterLiveness::default();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(live.check(), Liveness::NotYetHeard);
        assert!(!live.is_gone());
        assert_eq!(live.deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn gone_only_after_more_than_sixty_seconds_of_silence() {
        let mut live = MasterLiveness::default();
        live.heartbeat_received();
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            live.check(),
            Liveness::Alive {
                since_last: Duration::from_secs(60)
            }
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(live.is_gone(), "{:?}", live.check());
    }

    #[tokio::test(start_paused = true)]
    async fn each_heartbeat_pushes_the_deadline() {
        let mut live = MasterLiveness::new(Duration::from_secs(10));
        live.heartbeat_received();
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(9)).await;
            assert!(!live.is_gone());
            live.heartbeat_received();
        }
        let deadline = live.deadline().expect("heard");
        tokio::time::sleep_until(deadline).await;
        assert!(!live.is_gone(), "exactly at the deadline is still alive");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(live.is_gone());
        live.reset();
        assert_eq!(live.check(), Liveness::NotYetHeard);
    }

    #[test]
    fn states_have_locusts_strings() {
        for (s, wire) in [
            (WorkerState::Ready, "ready"),
            (WorkerState::Spawning, "spawning"),
            (WorkerState::Running, "running"),
            (WorkerState::Cleanup, "cleanup"),
            (WorkerState::Stopping, "stopping"),
            (WorkerState::Stopped, "stopped"),
            (WorkerState::Missing, "missing"),
        ] {
            assert_eq!(s.as_str(), wire);
            let v = rmpv::ext::to_value(s).expect("serializes");
            assert_eq!(v.as_str(), Some(wire));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_monitor_sees_cpu_work_and_memory() {
        let mut m = ProcessMonitor::new();
        // Burn CPU for a bounded amount of work until the kernel's tick counter moves.
        let start = std::time::Instant::now();
        let before = cpu_time().expect("/proc/self/stat");
        let mut x = 0u64;
        while cpu_time().expect("stat") <= before && start.elapsed() < Duration::from_secs(10) {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            std::hint::black_box(x);
        }
        let u = m.sample();
        assert!(u.cpu_percent > 0.0, "{u:?}");
        assert!(u.rss_bytes > 1024 * 1024, "{u:?}");
    }
}
