//! Statistics deltas: what happened since the last take, for a worker that ships
//! periodic reports (Locust's 3-second `stats` messages) or any client that wants rates.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use super::entry::EntryAcc;
use super::snapshot::{ErrorSnapshot, ExceptionSnapshot};
use super::ErrorAcc;

/// What one (kind, name) entry recorded since the last take.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EntryDelta {
    /// The kind of request (Locust's "Type", its `method` on the wire).
    pub kind: String,
    /// The name requests are grouped under.
    pub name: String,
    /// Requests recorded.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// The sum of their latencies, in microseconds.
    pub total_us: u64,
    /// The smallest latency, in microseconds.
    pub min_us: u64,
    /// The largest latency, in microseconds.
    pub max_us: u64,
    /// The sum of the response sizes, in bytes.
    pub bytes: u64,
    /// The latencies, in microseconds.
    pub histogram: Histogram<u64>,
    /// The latencies rounded into Locust's response-time buckets, in milliseconds, each
    /// sample rounded exactly as Locust rounds it ([`locust_bucket_ms`]) from its
    /// microseconds.
    pub buckets_ms: BTreeMap<u64, u64>,
    /// Requests and failures per Unix second. The runner collects the threads'
    /// statistics once a second, and counts what it collects under the second it does.
    pub per_second: BTreeMap<u64, (u64, u64)>,
    /// Unix time (seconds) of the first collection that held requests of this entry.
    pub first_unix: f64,
    /// Unix time (seconds) of the last collection that held requests of this entry:
    /// within a second after its last request.
    pub last_unix: f64,
}

/// Everything recorded between two takes ([`RunnerHandle::take_stats`]).
///
/// [`RunnerHandle::take_stats`]: crate::RunnerHandle::take_stats
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StatsDelta {
    /// Unix time (seconds) of the previous take, or of the start.
    pub since_unix: f64,
    /// Unix time (seconds) of this take.
    pub until_unix: f64,
    /// The entries that recorded requests since the last take, by kind then name.
    pub entries: Vec<EntryDelta>,
    /// Failures since the last take, grouped by entry and message; `first_seen` and
    /// `last_seen` are within this delta.
    pub errors: Vec<ErrorSnapshot>,
    /// Task errors and panics since the last take.
    pub exceptions: Vec<ExceptionSnapshot>,
}

impl StatsDelta {
    /// Whether nothing at all was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.errors.is_empty() && self.exceptions.is_empty()
    }

    /// Requests of every entry together.
    pub fn total_requests(&self) -> u64 {
        self.entries.iter().map(|e| e.requests).sum()
    }

    /// Failures of every entry together.
    pub fn total_failures(&self) -> u64 {
        self.entries.iter().map(|e| e.failures).sum()
    }
}

/// Locust's response-time bucket of a latency given in microseconds, in milliseconds:
/// below 100 ms rounded to 1 ms, below 1 s to 10 ms, below 10 s to 100 ms, then to 1 s,
/// with ties to even as Python's `round` (2.5 ms -> 2, 105 ms -> 100, 145 ms -> 140).
///
/// ```
/// use swarm_core::locust_bucket_ms;
/// assert_eq!(locust_bucket_ms(2_500), 2);
/// assert_eq!(locust_bucket_ms(99_500), 100);
/// assert_eq!(locust_bucket_ms(105_000), 100);
/// assert_eq!(locust_bucket_ms(115_000), 120);
/// assert_eq!(locust_bucket_ms(58_760_000), 59_000);
/// ```
pub fn locust_bucket_ms(us: u64) -> u64 {
    let unit: u64 = if us < 100_000 {
        1_000
    } else if us < 1_000_000 {
        10_000
    } else if us < 10_000_000 {
        100_000
    } else {
        1_000_000
    };
    let q = us / unit;
    let r = us % unit;
    let half = unit / 2;
    let q = if r > half || (r == half && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    q * (unit / 1_000)
}

/// One entry's delta as the aggregator accumulates it.
pub(crate) struct DeltaEntry {
    pub(crate) acc: EntryAcc,
    pub(crate) per_second: BTreeMap<u64, (u64, u64)>,
    pub(crate) first_unix: f64,
    pub(crate) last_unix: f64,
}

/// Everything since the last take.
pub(crate) struct DeltaAcc {
    pub(crate) entries: BTreeMap<(String, String), DeltaEntry>,
    pub(crate) errors: BTreeMap<(String, String, String), ErrorAcc>,
    pub(crate) exceptions: BTreeMap<(String, String), u64>,
    pub(crate) since: SystemTime,
}

pub(crate) fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl DeltaAcc {
    pub(crate) fn new(since: SystemTime) -> Self {
        DeltaAcc {
            entries: BTreeMap::new(),
            errors: BTreeMap::new(),
            exceptions: BTreeMap::new(),
            since,
        }
    }

    /// Add what a shard held for one entry, collected at `now`.
    pub(crate) fn add_entry(&mut self, kind: &str, name: &str, acc: &EntryAcc, now: SystemTime) {
        let t = unix(now);
        let e = self
            .entries
            .entry((kind.to_owned(), name.to_owned()))
            .or_insert_with(|| DeltaEntry {
                acc: EntryAcc::new(),
                per_second: BTreeMap::new(),
                first_unix: t,
                last_unix: t,
            });
        e.acc.add(acc);
        let sec = e.per_second.entry(t as u64).or_default();
        sec.0 += acc.requests;
        sec.1 += acc.failures;
        e.last_unix = t;
    }

    /// Hand out what was accumulated and start again at `now`.
    pub(crate) fn take(&mut self, now: SystemTime) -> StatsDelta {
        let since = std::mem::replace(&mut self.since, now);
        let entries = std::mem::take(&mut self.entries)
            .into_iter()
            .map(|((kind, name), e)| EntryDelta {
                kind,
                name,
                requests: e.acc.requests,
                failures: e.acc.failures,
                total_us: e.acc.total_us,
                min_us: if e.acc.requests == 0 { 0 } else { e.acc.min_us },
                max_us: e.acc.max_us,
                bytes: e.acc.bytes,
                buckets_ms: e
                    .acc
                    .buckets
                    .as_deref()
                    .map(|b| b.iter().map(|(k, v)| (u64::from(*k), *v)).collect())
                    .unwrap_or_default(),
                histogram: e.acc.hist,
                per_second: e.per_second,
                first_unix: e.first_unix,
                last_unix: e.last_unix,
            })
            .collect();
        let errors = std::mem::take(&mut self.errors)
            .into_iter()
            .map(|((kind, name, message), e)| ErrorSnapshot {
                kind,
                name,
                message,
                occurrences: e.count,
                first_seen: e.first_seen,
                last_seen: e.last_seen,
            })
            .collect();
        let exceptions = std::mem::take(&mut self.exceptions)
            .into_iter()
            .map(|((message, traceback), count)| ExceptionSnapshot {
                message,
                traceback,
                count,
            })
            .collect();
        StatsDelta {
            since_unix: unix(since),
            until_unix: unix(now),
            entries,
            errors,
            exceptions,
        }
    }
}

/// Locust buckets of one entry: bucket (ms) -> count. Only kept while deltas are on.
pub(crate) type Buckets = HashMap<u32, u64>;

#[cfg(test)]
mod tests {
    use super::locust_bucket_ms;

    #[test]
    fn buckets_round_half_to_even_as_python() {
        // (ms, bucket) pairs checked against Locust 2.47.0's bucket_response_time.
        let cases: [(f64, u64); 18] = [
            (0.4, 0),
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (99.5, 100),
            (104.9, 100),
            (105.0, 100),
            (115.0, 120),
            (145.0, 140),
            (147.0, 150),
            (995.0, 1000),
            (1050.0, 1000),
            (1150.0, 1200),
            (3432.0, 3400),
            (9950.0, 10000),
            (10500.0, 10000),
            (11500.0, 12000),
            (58760.0, 59000),
        ];
        for (ms, bucket) in cases {
            let us = (ms * 1000.0).round() as u64;
            assert_eq!(locust_bucket_ms(us), bucket, "{ms} ms");
        }
        assert_eq!(locust_bucket_ms(0), 0);
        assert_eq!(locust_bucket_ms(501), 1);
        assert_eq!(locust_bucket_ms(3_500), 4);
    }
}
