//! Locust's statistics as a worker ships them, and the master merges them.
//!
//! A worker's `stats` message ([`StatsReport`]) carries **deltas**: one
//! [`StatsEntry`] per (method, name) that saw requests since the previous report, the
//! `"Aggregated"` total, and the errors since then keyed by a hash shared by all
//! workers ([`StatsError::key`]). The master sums them with Locust's
//! `StatsEntry.extend` ([`StatsEntry::extend`] does the same), and computes its
//! percentiles from the response-time buckets, so the buckets must be Locust's own:
//! [`bucket_response_time_us`] rounds exactly as Locust's `bucket_response_time`.
//!
//! [`EntryDelta`] is the plain per-entry input a runner hands over (integer
//! microseconds, exact bucket counts, per-second counts); [`StatsEntry::from_delta`]
//! and [`StatsReport::from_deltas`] turn it into the wire form.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The name of the total entry.
pub const AGGREGATED: &str = "Aggregated";

/// One (method, name) entry in Locust's wire form (`StatsEntryDict`), fields in
/// Locust's order. Times are milliseconds as `f64`, timestamps epoch seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsEntry {
    /// The request name (`"Aggregated"` in the total).
    pub name: String,
    /// The request method or kind (`""` in the total).
    pub method: String,
    /// When the last request was logged (epoch s); `None` if there was none.
    pub last_request_timestamp: Option<f64>,
    /// When this entry started counting (epoch s); the master keeps the earliest
    /// and divides by the span for its "Requests/s".
    pub start_time: f64,
    /// Requests, failed ones included.
    pub num_requests: u64,
    /// Requests logged without a response time (left out of the times).
    pub num_none_requests: u64,
    /// Failed requests.
    pub num_failures: u64,
    /// Sum of the response times, ms.
    #[serde(serialize_with = "float_or_int_zero", deserialize_with = "number")]
    pub total_response_time: f64,
    /// Largest response time, ms.
    #[serde(serialize_with = "float_or_int_zero", deserialize_with = "number")]
    pub max_response_time: f64,
    /// Smallest response time, ms; `None` if there was none.
    pub min_response_time: Option<f64>,
    /// Sum of the response bodies' lengths, bytes.
    pub total_content_length: u64,
    /// Locust's response-time buckets: bucket (ms) -> count.
    pub response_times: BTreeMap<u64, u64>,
    /// Requests per epoch second.
    pub num_reqs_per_sec: BTreeMap<u64, u64>,
    /// Failures per epoch second.
    pub num_fail_per_sec: BTreeMap<u64, u64>,
}

/// Locust sends the int `0` for an entry without requests and floats otherwise; an
/// exact `0.0` goes out as the int `0` (the same number to the master).
fn float_or_int_zero<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if *v == 0.0 {
        s.serialize_u64(0)
    } else {
        s.serialize_f64(*v)
    }
}

/// Accept an int or a float.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    f64::deserialize(d)
}

impl StatsEntry {
    /// An entry without requests, starting at `start_time`.
    pub fn empty(name: impl Into<String>, method: impl Into<String>, start_time: f64) -> Self {
        Self {
            name: name.into(),
            method: method.into(),
            last_request_timestamp: None,
            start_time,
            num_requests: 0,
            num_none_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            max_response_time: 0.0,
            min_response_time: None,
            total_content_length: 0,
            response_times: BTreeMap::new(),
            num_reqs_per_sec: BTreeMap::new(),
            num_fail_per_sec: BTreeMap::new(),
        }
    }

    /// The wire entry for `delta`. Its `start_time` is the first request's time, or
    /// `start_time` when the delta has none.
    pub fn from_delta(delta: &EntryDelta, start_time: f64) -> Self {
        let timed = delta.requests > 0;
        Self {
            name: delta.name.clone(),
            method: delta.method.clone(),
            last_request_timestamp: delta.last_request,
            start_time: delta.first_request.unwrap_or(start_time),
            num_requests: delta.requests,
            num_none_requests: 0,
            num_failures: delta.failures,
            total_response_time: us_to_ms(delta.total_response_time_us),
            max_response_time: if timed {
                us_to_ms(delta.max_response_time_us)
            } else {
                0.0
            },
            min_response_time: delta.min_response_time_us.filter(|_| timed).map(us_to_ms),
            total_content_length: delta.content_bytes,
            response_times: delta.buckets_ms.clone(),
            num_reqs_per_sec: delta.requests_per_sec.clone(),
            num_fail_per_sec: delta.failures_per_sec.clone(),
        }
    }

    /// Add `other` into this entry exactly as Locust's `StatsEntry.extend` (how the
    /// master merges worker reports): sums, max of the max, min of the min (ignoring
    /// `None`), latest last request, earliest start.
    pub fn extend(&mut self, other: &StatsEntry) {
        self.last_request_timestamp =
            match (self.last_request_timestamp, other.last_request_timestamp) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        self.start_time = self.start_time.min(other.start_time);
        self.num_requests += other.num_requests;
        self.num_none_requests += other.num_none_requests;
        self.num_failures += other.num_failures;
        self.total_response_time += other.total_response_time;
        self.max_response_time = self.max_response_time.max(other.max_response_time);
        self.min_response_time = match (self.min_response_time, other.min_response_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.total_content_length += other.total_content_length;
        for (k, v) in &other.response_times {
            *self.response_times.entry(*k).or_default() += v;
        }
        for (k, v) in &other.num_reqs_per_sec {
            *self.num_reqs_per_sec.entry(*k).or_default() += v;
        }
        for (k, v) in &other.num_fail_per_sec {
            *self.num_fail_per_sec.entry(*k).or_default() += v;
        }
    }

    /// Locust's `get_response_time_percentile` over this entry's buckets.
    pub fn percentile(&self, percent: f64) -> u64 {
        response_time_percentile(
            &self.response_times,
            self.num_requests.saturating_sub(self.num_none_requests),
            percent,
        )
    }
}

/// One error in Locust's wire form (`StatsErrorDict`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsError {
    /// The request name.
    pub name: String,
    /// The request method or kind.
    pub method: String,
    /// The error text as the master shows it in `_failures.csv`.
    pub error: String,
    /// How often it happened in this report.
    pub occurrences: u64,
    /// First time seen (epoch s).
    pub first_seen: Option<f64>,
    /// Last time seen (epoch s).
    pub last_seen: Option<f64>,
}

impl StatsError {
    /// The key the master merges this error under, the same on every worker:
    /// Locust's `StatsError.create_key`, the hex sha256 of
    /// `f"{method}.{name}.{error!r}"`. Python's `repr` of the text is reproduced
    /// for ASCII and printable non-ASCII text (the key is then identical to a Python
    /// worker's); for other control or format characters only the stability matters,
    /// which holds.
    pub fn key(&self) -> String {
        error_key(&self.method, &self.name, &self.error)
    }
}

/// Locust's `StatsError.create_key(method, name, error)` for an error text.
pub fn error_key(method: &str, name: &str, error: &str) -> String {
    let key = format!("{method}.{name}.{}", python_str_repr(error));
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `repr()` of a `str`.
fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_ascii() => out.push(c),
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The data of a worker's `stats` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Entries with requests or failures since the last report.
    pub stats: Vec<StatsEntry>,
    /// The `"Aggregated"` total since the last report (always present).
    pub stats_total: StatsEntry,
    /// Errors since the last report, by [`StatsError::key`].
    pub errors: BTreeMap<String, StatsError>,
    /// Running users per user class.
    pub user_classes_count: BTreeMap<String, u64>,
    /// Running users in all.
    pub user_count: u64,
}

impl StatsReport {
    /// A report of `deltas` and `errors`, with the total computed as Locust's worker
    /// computes it (every request also goes into the total). Deltas with neither
    /// requests nor failures are left out, as Locust leaves them out.
    /// `start_time` is when the period this report covers began (epoch s): it is the
    /// total's start time, and an entry's when it has no first request time.
    pub fn from_deltas(
        deltas: &[EntryDelta],
        errors: impl IntoIterator<Item = StatsError>,
        user_classes_count: BTreeMap<String, u64>,
        start_time: f64,
    ) -> Self {
        let mut total = StatsEntry::empty(AGGREGATED, "", start_time);
        let mut stats = Vec::with_capacity(deltas.len());
        for delta in deltas {
            if delta.requests == 0 && delta.failures == 0 {
                continue;
            }
            let entry = StatsEntry::from_delta(delta, start_time);
            total.extend(&entry);
            stats.push(entry);
        }
        // The total's own clock started with the period, not with its first request.
        total.start_time = start_time;
        let mut by_key: BTreeMap<String, StatsError> = BTreeMap::new();
        for e in errors {
            match by_key.get_mut(&e.key()) {
                Some(known) => {
                    known.occurrences += e.occurrences;
                    known.first_seen = min_opt(known.first_seen, e.first_seen);
                    known.last_seen = max_opt(known.last_seen, e.last_seen);
                }
                None => {
                    by_key.insert(e.key(), e);
                }
            }
        }
        let user_count = user_classes_count.values().sum();
        Self {
            stats,
            stats_total: total,
            errors: by_key,
            user_classes_count,
            user_count,
        }
    }

    /// Fold `later` into this report, as the master would add the two: entries
    /// merged per (method, name) with [`StatsEntry::extend`], the totals extended,
    /// errors summed per key, the user counts taken from `later`. For a report that
    /// could not be sent: the next one then carries both, and nothing is lost.
    pub fn merge(&mut self, later: StatsReport) {
        for entry in later.stats {
            match self
                .stats
                .iter_mut()
                .find(|e| e.method == entry.method && e.name == entry.name)
            {
                Some(known) => known.extend(&entry),
                None => self.stats.push(entry),
            }
        }
        self.stats_total.extend(&later.stats_total);
        for (key, e) in later.errors {
            match self.errors.get_mut(&key) {
                Some(known) => {
                    known.occurrences += e.occurrences;
                    known.first_seen = min_opt(known.first_seen, e.first_seen);
                    known.last_seen = max_opt(known.last_seen, e.last_seen);
                }
                None => {
                    self.errors.insert(key, e);
                }
            }
        }
        self.user_classes_count = later.user_classes_count;
        self.user_count = later.user_count;
    }

    /// A report with no requests (what an idle worker sends every 3 s).
    pub fn idle(user_classes_count: BTreeMap<String, u64>, start_time: f64) -> Self {
        Self::from_deltas(&[], [], user_classes_count, start_time)
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// What a runner hands over for one (method, name) entry: what happened since the
/// last take, in integer microseconds and exact counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryDelta {
    /// The request kind or method (`"GET"`, `"WS"`, ...).
    pub method: String,
    /// The request name.
    pub name: String,
    /// Requests, failed ones included.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// Sum of the response times, µs.
    pub total_response_time_us: u64,
    /// Smallest response time, µs (`None` without requests).
    pub min_response_time_us: Option<u64>,
    /// Largest response time, µs.
    pub max_response_time_us: u64,
    /// Sum of the response bodies' lengths, bytes.
    pub content_bytes: u64,
    /// Locust bucket (ms, from [`bucket_response_time_us`]) -> requests.
    pub buckets_ms: BTreeMap<u64, u64>,
    /// Epoch second -> requests.
    pub requests_per_sec: BTreeMap<u64, u64>,
    /// Epoch second -> failures.
    pub failures_per_sec: BTreeMap<u64, u64>,
    /// Time of the first request in this delta (epoch s).
    pub first_request: Option<f64>,
    /// Time of the last request in this delta (epoch s).
    pub last_request: Option<f64>,
}

impl EntryDelta {
    /// An empty delta for (method, name).
    pub fn new(method: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Record one request that took `response_time_us` at `at` (epoch s): a helper
    /// for tests and simple producers; a runner usually fills the fields in bulk.
    pub fn record(&mut self, response_time_us: u64, content_bytes: u64, failed: bool, at: f64) {
        self.requests += 1;
        self.total_response_time_us += response_time_us;
        self.min_response_time_us = Some(
            self.min_response_time_us
                .map_or(response_time_us, |m| m.min(response_time_us)),
        );
        self.max_response_time_us = self.max_response_time_us.max(response_time_us);
        self.content_bytes += content_bytes;
        *self
            .buckets_ms
            .entry(bucket_response_time_us(response_time_us))
            .or_default() += 1;
        let second = if at.is_finite() && at > 0.0 {
            at as u64
        } else {
            0
        };
        *self.requests_per_sec.entry(second).or_default() += 1;
        if failed {
            self.failures += 1;
            *self.failures_per_sec.entry(second).or_default() += 1;
        }
        self.first_request = Some(self.first_request.map_or(at, |f| f.min(at)));
        self.last_request = Some(self.last_request.map_or(at, |l| l.max(at)));
    }
}

fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Locust's `bucket_response_time` for a response time in integer microseconds:
/// below 100 ms rounded to 1 ms, below 1 s to 10 ms, below 10 s to 100 ms, above
/// that to 1 s, ties to even (Python's `round`). Exact: Locust rounds the float
/// `us / 1000`, and a tie in microseconds is a tie in that float too, so integer
/// arithmetic decides the same way.
pub fn bucket_response_time_us(us: u64) -> u64 {
    // The core counts every sample in these buckets already (its statistics deltas).
    swarm_core::locust_bucket_ms(us)
}

/// Locust's `calculate_response_time_percentile`: walking the buckets from the
/// largest down, the first bucket at which the requests not yet walked are at most
/// `int(num_requests * percent)`; `0` when there are no buckets.
pub fn response_time_percentile(
    buckets: &BTreeMap<u64, u64>,
    num_requests: u64,
    percent: f64,
) -> u64 {
    let wanted = (num_requests as f64 * percent) as u64;
    let mut processed = 0u64;
    for (bucket, count) in buckets.iter().rev() {
        processed += count;
        if num_requests.saturating_sub(processed) <= wanted {
            return *bucket;
        }
    }
    0
}

#[cfg(test)]
mod tests;
