//! Statistics: per-thread shards that users record into without a process-wide lock,
//! merged by the runner once a tick into the run's totals and [`Snapshot`]s.

mod aggregate;
mod delta;
mod entry;
mod snapshot;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

pub(crate) use aggregate::Aggregator;
pub use delta::{locust_bucket_ms, EntryDelta, StatsDelta};
pub use entry::EntrySnapshot;
pub use snapshot::{
    ErrorSnapshot, ExceptionSnapshot, HistoryRow, ScheduleSnapshot, Snapshot, PERCENTILES,
};

/// One measured request (or any timed operation) to record.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Sample<'a> {
    /// The kind of request, Locust's "Type" column (`GET`, `WS`, `JSONRPC`, ...).
    pub kind: &'a str,
    /// The name requests are grouped under.
    pub name: &'a str,
    /// How long it took.
    pub elapsed: Duration,
    /// The size of the response, in bytes.
    pub bytes: u64,
    /// An outcome code (HTTP status, JSON-RPC error code), when the protocol has one.
    pub code: Option<i64>,
    /// The failure message, when the request failed.
    pub error: Option<&'a str>,
}

impl<'a> Sample<'a> {
    /// A successful sample with no size and no code.
    pub fn new(kind: &'a str, name: &'a str, elapsed: Duration) -> Self {
        Sample {
            kind,
            name,
            elapsed,
            bytes: 0,
            code: None,
            error: None,
        }
    }

    /// Set the response size.
    #[must_use]
    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = bytes;
        self
    }

    /// Set the outcome code.
    #[must_use]
    pub fn code(mut self, code: i64) -> Self {
        self.code = Some(code);
        self
    }

    /// Mark the sample as failed, with a message that groups it in the error report.
    #[must_use]
    pub fn failure(mut self, message: &'a str) -> Self {
        self.error = Some(message);
        self
    }
}

/// Occurrences of one failure message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorAcc {
    pub(crate) count: u64,
    /// Unix seconds.
    pub(crate) first_seen: u64,
    /// Unix seconds.
    pub(crate) last_seen: u64,
}

impl ErrorAcc {
    pub(crate) fn add(&mut self, other: &ErrorAcc) {
        self.count += other.count;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

#[derive(Default)]
pub(crate) struct Shard {
    /// kind -> name -> numbers; two levels so that a lookup borrows `&str` and never allocates.
    pub(crate) entries: HashMap<Box<str>, HashMap<Box<str>, entry::EntryAcc>>,
    /// (kind, name, message) -> occurrences, first and last seen.
    pub(crate) errors: HashMap<(String, String, String), ErrorAcc>,
    /// (message, traceback) -> occurrences.
    pub(crate) exceptions: HashMap<(String, String), u64>,
    /// Open model: how late each iteration started (actual minus scheduled start).
    pub(crate) lateness: Option<entry::EntryAcc>,
}

/// The most distinct names one kind of request may have in a run's statistics. Each entry
/// holds full HDR histograms (tens of KB, once per shard and once in the totals): a URL
/// with a random part recorded without a grouping name (swarm-http's `.name()`) would otherwise grow the
/// statistics without bound (42 KB per name: gigabytes within a minute, issue 10). Samples
/// of later names are counted together under [`OTHER_NAMES`], and a warning names an
/// example. Chosen over sparse histograms: it bounds both memory and the per-tick merge
/// work, and a run with this many names has a naming mistake to fix.
pub const MAX_NAMES_PER_KIND: usize = 500;

/// The entry that counts the samples of names past [`MAX_NAMES_PER_KIND`].
pub const OTHER_NAMES: &str = "(other names)";

/// The shards of one run.
pub(crate) struct StatsCore {
    shards: Box<[Mutex<Shard>]>,
    /// Statistics deltas are on: shards also count Locust's buckets.
    deltas: AtomicBool,
    /// kind -> the names admitted so far (at most [`MAX_NAMES_PER_KIND`] each).
    names: Mutex<HashMap<Box<str>, std::collections::HashSet<Box<str>>>>,
    /// The warning about too many names was given.
    warned: AtomicBool,
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static THREAD_SLOT: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

impl StatsCore {
    pub(crate) fn new() -> Arc<Self> {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let n = (cores * 2).clamp(4, 64);
        Arc::new(StatsCore {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            deltas: AtomicBool::new(false),
            names: Mutex::default(),
            warned: AtomicBool::new(false),
        })
    }

    /// The name a sample of `kind` named `name` is counted under: its own while the kind
    /// has fewer than [`MAX_NAMES_PER_KIND`] names (or already has this one), else
    /// [`OTHER_NAMES`]. Asked only when a shard meets the name for the first time.
    fn admit<'a>(&self, kind: &str, name: &'a str) -> &'a str {
        let mut names = self.names.lock();
        let known = match names.get_mut(kind) {
            Some(k) => k,
            None => names.entry(kind.into()).or_default(),
        };
        if known.contains(name) {
            return name;
        }
        if known.len() < MAX_NAMES_PER_KIND {
            known.insert(name.into());
            return name;
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                kind,
                example = name,
                "more than {MAX_NAMES_PER_KIND} distinct {kind} request names (the latest: {name}): \
                 later names are counted together under \"{OTHER_NAMES}\". A URL with a random \
                 part needs a name that groups it, e.g. .name(\"/item?id=[id]\")"
            );
        }
        OTHER_NAMES
    }

    #[inline]
    fn shard(&self) -> &Mutex<Shard> {
        let slot = THREAD_SLOT.with(|s| *s);
        &self.shards[slot % self.shards.len()]
    }

    pub(crate) fn shards(&self) -> &[Mutex<Shard>] {
        &self.shards
    }

    pub(crate) fn enable_deltas(&self) {
        self.deltas.store(true, Ordering::Relaxed);
    }
}

/// Records samples into the run's statistics. Cheap to clone; every user has one
/// (`ctx.recorder()`), and protocol clients keep a clone.
///
/// Recording locks only the shard of the current thread, never a process-wide lock.
#[derive(Clone)]
pub struct Recorder {
    core: Arc<StatsCore>,
    /// Per-user counters shared with the clients that hold a clone.
    user: Arc<UserCell>,
}

/// Per-user state of a recorder.
struct UserCell {
    /// Failures recorded by this user: lets the runner tell a task error that a request
    /// already counted from one it must count itself.
    failures: AtomicU64,
    /// Open model: how late (µs) the current iteration started; `u64::MAX` when none.
    lateness_us: AtomicU64,
}

const NO_LATENESS: u64 = u64::MAX;

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    pub(crate) fn new(core: Arc<StatsCore>) -> Self {
        Recorder {
            core,
            user: Arc::new(UserCell {
                failures: AtomicU64::new(0),
                lateness_us: AtomicU64::new(NO_LATENESS),
            }),
        }
    }

    /// A recorder for another user of the same run.
    #[cfg(test)]
    pub(crate) fn for_new_user(&self) -> Self {
        Self::new(self.core.clone())
    }

    pub(crate) fn failures_recorded(&self) -> u64 {
        self.user.failures.load(Ordering::Relaxed)
    }

    /// Open model: an iteration scheduled `lateness` ago starts now. Until
    /// [`Recorder::end_iteration`], every sample also gets a latency corrected for
    /// coordinated omission (its service time plus this lateness).
    pub(crate) fn begin_iteration(&self, lateness: Duration) {
        let us = u64::try_from(lateness.as_micros()).unwrap_or(NO_LATENESS - 1);
        self.user.lateness_us.store(us, Ordering::Relaxed);
        let mut shard = self.core.shard().lock();
        shard
            .lateness
            .get_or_insert_with(entry::EntryAcc::new)
            .record(us, 0, None, false);
    }

    pub(crate) fn end_iteration(&self) {
        self.user.lateness_us.store(NO_LATENESS, Ordering::Relaxed);
    }

    /// Record one sample.
    pub fn record(&self, sample: &Sample<'_>) {
        let us = u64::try_from(sample.elapsed.as_micros()).unwrap_or(u64::MAX);
        let failed = sample.error.is_some();
        if let Some(error) = sample.error {
            self.user.failures.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                kind = sample.kind,
                entry = sample.name,
                error,
                "request failed"
            );
        }
        let lateness = self.user.lateness_us.load(Ordering::Relaxed);
        let deltas = self.core.deltas.load(Ordering::Relaxed);
        let mut shard = self.core.shard().lock();
        let Shard {
            entries, errors, ..
        } = &mut *shard;
        let by_name = match entries.get_mut(sample.kind) {
            Some(m) => m,
            None => entries.entry(sample.kind.into()).or_default(),
        };
        let mut name = sample.name;
        let acc = if by_name.contains_key(name) {
            by_name.get_mut(name)
        } else {
            name = self.core.admit(sample.kind, name);
            None
        };
        let acc = match acc {
            Some(a) => a,
            None => by_name
                .entry(name.into())
                .or_insert_with(entry::EntryAcc::new),
        };
        acc.record(us, sample.bytes, sample.code, failed);
        if deltas {
            acc.record_bucket(us);
        }
        if lateness != NO_LATENESS {
            acc.record_corrected(us.saturating_add(lateness));
        }
        if let Some(msg) = sample.error {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let one = ErrorAcc {
                count: 1,
                first_seen: now,
                last_seen: now,
            };
            errors
                .entry((sample.kind.to_owned(), name.to_owned(), msg.to_owned()))
                .and_modify(|e| e.add(&one))
                .or_insert(one);
        }
    }

    /// Record a success.
    pub fn success(&self, kind: &str, name: &str, elapsed: Duration, bytes: u64) {
        self.record(&Sample::new(kind, name, elapsed).bytes(bytes));
    }

    /// Record a failure with its message.
    pub fn failure(&self, kind: &str, name: &str, elapsed: Duration, message: &str) {
        self.record(&Sample::new(kind, name, elapsed).failure(message));
    }

    /// Record an error that is not a request (a task that failed or panicked), for the
    /// exceptions report.
    pub fn exception(&self, message: &str, traceback: &str) {
        let mut shard = self.core.shard().lock();
        *shard
            .exceptions
            .entry((message.to_owned(), traceback.to_owned()))
            .or_default() += 1;
    }

    /// Time a future and record it: `Ok` as a success, `Err` as a failure with the
    /// error's message. Returns the future's output.
    ///
    /// ```no_run
    /// # async fn f(ctx: &mut swarm_core::UserContext) -> Result<(), std::io::Error> {
    /// let reply = ctx.recorder().measure("RPC", "eth_blockNumber", async {
    ///     Ok::<_, std::io::Error>(42)
    /// }).await?;
    /// # let _ = reply; Ok(()) }
    /// ```
    pub async fn measure<T, E, F>(&self, kind: &str, name: &str, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: fmt::Display,
    {
        // Tokio's clock, as the runner's: the same as std's, except under a paused test clock.
        let start = tokio::time::Instant::now();
        let out = fut.await;
        let elapsed = start.elapsed();
        match &out {
            Ok(_) => self.record(&Sample::new(kind, name, elapsed)),
            Err(e) => self.record(&Sample::new(kind, name, elapsed).failure(&e.to_string())),
        }
        out
    }
}
