//! Snapshots of a run's statistics: serde-serialisable and mergeable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::entry::EntrySnapshot;

/// The percentiles every report shows, as Locust's `PERCENTILES_TO_REPORT`.
pub const PERCENTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// Failures grouped by entry and message (Locust's failures report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSnapshot {
    /// The entry's kind.
    pub kind: String,
    /// The entry's name.
    pub name: String,
    /// The failure message.
    pub message: String,
    /// How many times it happened.
    pub occurrences: u64,
    /// When it first happened, in Unix seconds.
    pub first_seen: u64,
    /// When it last happened, in Unix seconds.
    pub last_seen: u64,
}

/// Task errors and panics that no request recorded (Locust's exceptions report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionSnapshot {
    /// The error message or panic payload.
    pub message: String,
    /// Where it happened (the task, and the panic location when known).
    pub traceback: String,
    /// How many times it happened.
    pub count: u64,
}

/// One row of the per-second history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Unix time of the row, in whole seconds.
    pub timestamp: u64,
    /// Users running at that time.
    pub users: u32,
    /// Requests per second during the last interval.
    pub rps: f64,
    /// Failures per second during the last interval.
    pub fails_per_sec: f64,
    /// Latency percentiles of the last 10 seconds, in milliseconds, for [`PERCENTILES`]
    /// (`None` when there was no request).
    pub percentiles_ms: Vec<Option<f64>>,
    /// Requests since the start.
    pub total_requests: u64,
    /// Failures since the start.
    pub total_failures: u64,
    /// Median latency since the start, in milliseconds.
    pub total_median_ms: Option<f64>,
    /// Mean latency since the start, in milliseconds.
    pub total_avg_ms: f64,
    /// Smallest latency since the start, in milliseconds.
    pub total_min_ms: f64,
    /// Largest latency since the start, in milliseconds.
    pub total_max_ms: f64,
    /// Mean response size since the start, in bytes.
    pub total_avg_bytes: f64,
}

impl HistoryRow {
    /// The current median (p50) in milliseconds.
    pub fn p50_ms(&self) -> Option<f64> {
        self.percentiles_ms.first().copied().flatten()
    }

    /// The current p95 in milliseconds.
    pub fn p95_ms(&self) -> Option<f64> {
        self.percentiles_ms.get(5).copied().flatten()
    }
}

/// The open model's schedule: iterations started, dropped, and how late they started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleSnapshot {
    /// Iterations started.
    pub iterations: u64,
    /// Iterations that could not start because every user of the pool was busy and the
    /// pool was at its maximum (k6's `dropped_iterations`).
    pub dropped: u64,
    /// Start lateness (actual minus scheduled start) of every started iteration, in
    /// microseconds: an entry named `lateness`.
    pub lateness: EntrySnapshot,
}

/// Everything a run measured, at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Unix time of the run's start, in seconds.
    pub start_unix_secs: f64,
    /// Seconds from the start to this snapshot.
    pub duration_secs: f64,
    /// Users running at the time of the snapshot.
    pub users: u32,
    /// One entry per (kind, name), sorted.
    pub entries: Vec<EntrySnapshot>,
    /// Failures grouped by message.
    pub errors: Vec<ErrorSnapshot>,
    /// Task errors and panics.
    pub exceptions: Vec<ExceptionSnapshot>,
    /// The per-second history.
    pub history: Vec<HistoryRow>,
    /// Open model only: the arrival schedule's numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSnapshot>,
}

impl Snapshot {
    /// A snapshot with nothing in it.
    pub fn empty() -> Self {
        Snapshot {
            start_unix_secs: 0.0,
            duration_secs: 0.0,
            users: 0,
            entries: Vec::new(),
            errors: Vec::new(),
            exceptions: Vec::new(),
            history: Vec::new(),
            schedule: None,
        }
    }

    /// All entries added together, named `Aggregated` (Locust's total row).
    pub fn aggregated(&self) -> EntrySnapshot {
        let mut total = EntrySnapshot::empty("", "Aggregated");
        for e in &self.entries {
            total.merge(e);
        }
        total
    }

    /// How many responses had each outcome code (HTTP status, WebSocket close code,
    /// JSON-RPC error code), per kind of request (Artillery's `Codes:`): `GET` and
    /// `WSCONNECT` are counted apart. Samples recorded without a code are not counted.
    pub fn codes_by_kind(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for e in &self.entries {
            if e.codes.is_empty() {
                continue;
            }
            let kind = out.entry(e.kind.clone()).or_default();
            for (code, n) in &e.codes {
                *kind.entry(code.clone()).or_default() += n;
            }
        }
        out
    }

    /// The entry of that kind and name.
    pub fn entry(&self, kind: &str, name: &str) -> Option<&EntrySnapshot> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.name == name)
    }

    /// The entries of that name, whatever their kind.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a EntrySnapshot> + 'a {
        self.entries.iter().filter(move |e| e.name == name)
    }

    /// Total requests.
    pub fn total_requests(&self) -> u64 {
        self.entries.iter().map(|e| e.requests).sum()
    }

    /// Total failures.
    pub fn total_failures(&self) -> u64 {
        self.entries.iter().map(|e| e.failures).sum()
    }

    /// Mean requests per second over the whole run.
    pub fn total_rps(&self) -> f64 {
        per_sec(self.total_requests(), self.duration_secs)
    }

    /// Add a snapshot of the same run from another worker: entries, errors and
    /// exceptions add up; history rows of the same second add their users and rates
    /// (their percentiles keep the larger value, an upper bound).
    pub fn merge(&mut self, other: &Snapshot) {
        if self.start_unix_secs == 0.0
            || (other.start_unix_secs > 0.0 && other.start_unix_secs < self.start_unix_secs)
        {
            self.start_unix_secs = other.start_unix_secs;
        }
        self.duration_secs = self.duration_secs.max(other.duration_secs);
        self.users += other.users;

        let mut entries: BTreeMap<(String, String), EntrySnapshot> = self
            .entries
            .drain(..)
            .map(|e| ((e.kind.clone(), e.name.clone()), e))
            .collect();
        for e in &other.entries {
            entries
                .entry((e.kind.clone(), e.name.clone()))
                .or_insert_with(|| EntrySnapshot::empty(&e.kind, &e.name))
                .merge(e);
        }
        self.entries = entries.into_values().collect();

        let mut errors: BTreeMap<(String, String, String), ErrorSnapshot> = BTreeMap::new();
        for e in self.errors.drain(..).chain(other.errors.iter().cloned()) {
            match errors.entry((e.kind.clone(), e.name.clone(), e.message.clone())) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(e);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let m = o.get_mut();
                    m.occurrences += e.occurrences;
                    m.first_seen = m.first_seen.min(e.first_seen);
                    m.last_seen = m.last_seen.max(e.last_seen);
                }
            }
        }
        self.errors = errors.into_values().collect();

        let mut exceptions: BTreeMap<(String, String), u64> = BTreeMap::new();
        for e in self
            .exceptions
            .drain(..)
            .chain(other.exceptions.iter().cloned())
        {
            *exceptions.entry((e.message, e.traceback)).or_default() += e.count;
        }
        self.exceptions = exceptions
            .into_iter()
            .map(|((message, traceback), count)| ExceptionSnapshot {
                message,
                traceback,
                count,
            })
            .collect();

        // Rows pair up by second and, within a second, by order: one snapshot can hold
        // two rows of the same second (the last tick and the final row of a run), and
        // keying by the second alone would overwrite one of them.
        let mut rows: BTreeMap<(u64, usize), HistoryRow> = BTreeMap::new();
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for r in self.history.drain(..) {
            let n = seen.entry(r.timestamp).or_default();
            rows.insert((r.timestamp, *n), r);
            *n += 1;
        }
        seen.clear();
        for r in &other.history {
            let n = seen.entry(r.timestamp).or_default();
            let key = (r.timestamp, *n);
            *n += 1;
            match rows.get_mut(&key) {
                None => {
                    rows.insert(key, r.clone());
                }
                Some(m) => {
                    m.users += r.users;
                    m.rps += r.rps;
                    m.fails_per_sec += r.fails_per_sec;
                    for (a, b) in m.percentiles_ms.iter_mut().zip(&r.percentiles_ms) {
                        *a = match (*a, *b) {
                            (Some(x), Some(y)) => Some(x.max(y)),
                            (x, y) => x.or(y),
                        };
                    }
                    let (n1, n2) = (m.total_requests as f64, r.total_requests as f64);
                    if n1 + n2 > 0.0 {
                        m.total_avg_ms = (m.total_avg_ms * n1 + r.total_avg_ms * n2) / (n1 + n2);
                        m.total_avg_bytes =
                            (m.total_avg_bytes * n1 + r.total_avg_bytes * n2) / (n1 + n2);
                    }
                    m.total_requests += r.total_requests;
                    m.total_failures += r.total_failures;
                    m.total_min_ms = m.total_min_ms.min(r.total_min_ms);
                    m.total_max_ms = m.total_max_ms.max(r.total_max_ms);
                    m.total_median_ms = match (m.total_median_ms, r.total_median_ms) {
                        (Some(x), Some(y)) => Some(x.max(y)),
                        (x, y) => x.or(y),
                    };
                }
            }
        }
        self.history = rows.into_values().collect();
        if let Some(o) = &other.schedule {
            match &mut self.schedule {
                None => self.schedule = Some(o.clone()),
                Some(m) => {
                    m.iterations += o.iterations;
                    m.dropped += o.dropped;
                    m.lateness.merge(&o.lateness);
                }
            }
        }
    }
}

pub(crate) fn per_sec(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}
