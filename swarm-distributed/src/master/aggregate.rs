//! The master's side of the statistics: worker reports (Locust's wire deltas) summed
//! as Locust's master sums them ([`StatsEntry::extend`]), and turned into swarm-core's
//! [`Snapshot`] (the inverse of what a worker does with the core's deltas), so the
//! normal report writers (console, CSV, JSON, HTML, JUnit) and thresholds apply.

use std::collections::{BTreeMap, VecDeque};

use swarm_core::{EntrySnapshot, ErrorSnapshot, ExceptionSnapshot, HistoryRow, Snapshot};

use crate::stats::{response_time_percentile, StatsEntry, StatsError, StatsReport, AGGREGATED};

/// What one worker has reported so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reported {
    pub(crate) requests: u64,
    pub(crate) failures: u64,
}

/// Everything the workers reported, merged.
#[derive(Debug)]
pub(crate) struct Aggregate {
    entries: BTreeMap<(String, String), StatsEntry>,
    total: StatsEntry,
    errors: BTreeMap<String, StatsError>,
    exceptions: BTreeMap<(String, String), u64>,
    per_worker: BTreeMap<String, Reported>,
    history: Vec<HistoryRow>,
    /// The total's buckets at each history tick of the last 10 s (for the "current"
    /// percentiles of a history row, over a 10 s window as Locust's).
    window: VecDeque<BTreeMap<u64, u64>>,
    /// The time, requests and failures of the history ticks of the last 10 s (the rates
    /// of a row are over them: the workers report every 3 s, so a rate over the last
    /// second alone would be 0 twice and then three times the rate).
    ticks: VecDeque<(f64, u64, u64)>,
}

/// Seconds of the history rows' percentile window.
const WINDOW: usize = 10;

impl Aggregate {
    pub(crate) fn new(start: f64) -> Self {
        Self {
            entries: BTreeMap::new(),
            total: StatsEntry::empty(AGGREGATED, "", start),
            errors: BTreeMap::new(),
            exceptions: BTreeMap::new(),
            per_worker: BTreeMap::new(),
            history: Vec::new(),
            window: VecDeque::new(),
            ticks: VecDeque::new(),
        }
    }

    /// Forget what was reported (Locust's statistics reset at `now`, epoch s); the
    /// history's rows so far stay (the charts go on).
    pub(crate) fn reset(&mut self, now: f64) {
        let history = std::mem::take(&mut self.history);
        *self = Self::new(now);
        self.history = history;
    }

    /// Add one `stats` report of `worker`.
    pub(crate) fn add(&mut self, worker: &str, report: &StatsReport) {
        for e in &report.stats {
            self.entries
                .entry((e.method.clone(), e.name.clone()))
                .or_insert_with(|| StatsEntry::empty(&e.name, &e.method, e.start_time))
                .extend(e);
        }
        self.total.extend(&report.stats_total);
        for (key, e) in &report.errors {
            match self.errors.get_mut(key) {
                Some(known) => {
                    known.occurrences += e.occurrences;
                    known.first_seen = min_opt(known.first_seen, e.first_seen);
                    known.last_seen = max_opt(known.last_seen, e.last_seen);
                }
                None => {
                    self.errors.insert(key.clone(), e.clone());
                }
            }
        }
        let w = self.per_worker.entry(worker.to_owned()).or_default();
        w.requests += report.stats_total.num_requests;
        w.failures += report.stats_total.num_failures;
    }

    /// Add one `exception` message.
    pub(crate) fn add_exception(&mut self, message: &str, traceback: &str) {
        *self
            .exceptions
            .entry((message.to_owned(), traceback.to_owned()))
            .or_default() += 1;
    }

    /// Whether `worker` has reported since the start (or the last reset).
    pub(crate) fn has_reported(&self, worker: &str) -> bool {
        self.per_worker.contains_key(worker)
    }

    /// What `worker` reported so far.
    pub(crate) fn reported(&self, worker: &str) -> Reported {
        self.per_worker.get(worker).copied().unwrap_or_default()
    }

    /// Requests and failures over all workers.
    pub(crate) fn totals(&self) -> Reported {
        Reported {
            requests: self.total.num_requests,
            failures: self.total.num_failures,
        }
    }

    /// A row of the per-second history at `now` (epoch s) with `users` running.
    pub(crate) fn tick_history(&mut self, now: f64, users: u32) {
        self.window.push_back(self.total.response_times.clone());
        if self.window.len() > WINDOW + 1 {
            self.window.pop_front();
        }
        let (requests, failures) = (self.total.num_requests, self.total.num_failures);
        while self
            .ticks
            .front()
            .is_some_and(|(t, ..)| now - t > WINDOW as f64)
        {
            self.ticks.pop_front();
        }
        let (rps, fails_per_sec) = match self.ticks.front() {
            Some(&(t, r, f)) if now > t => (
                requests.saturating_sub(r) as f64 / (now - t),
                failures.saturating_sub(f) as f64 / (now - t),
            ),
            _ => (0.0, 0.0),
        };
        self.ticks.push_back((now, requests, failures));
        // The buckets of the window: now minus 10 s ago.
        let mut recent = self.total.response_times.clone();
        if let Some(old) = self.window.front().filter(|_| self.window.len() > WINDOW) {
            for (k, v) in old {
                if let Some(n) = recent.get_mut(k) {
                    *n = n.saturating_sub(*v);
                }
            }
            recent.retain(|_, n| *n > 0);
        }
        let in_window: u64 = recent.values().sum();
        let percentiles_ms = swarm_core::PERCENTILES
            .iter()
            .map(|p| {
                (in_window > 0).then(|| response_time_percentile(&recent, in_window, *p) as f64)
            })
            .collect();
        let total = entry_snapshot(&self.total);
        self.history.push(HistoryRow {
            timestamp: now as u64,
            users,
            rps,
            fails_per_sec,
            percentiles_ms,
            total_requests: requests,
            total_failures: failures,
            total_median_ms: total.percentile_ms(0.5),
            total_avg_ms: total.avg_ms(),
            total_min_ms: total.min_us as f64 / 1000.0,
            total_max_ms: total.max_us as f64 / 1000.0,
            total_avg_bytes: total.avg_bytes(),
        });
    }

    /// Everything so far as the core's snapshot: a run that started at `start` (epoch
    /// s), seen at `now`, with `users` running.
    pub(crate) fn snapshot(&self, start: f64, now: f64, users: u32) -> Snapshot {
        let mut snap = Snapshot::empty();
        snap.start_unix_secs = start;
        snap.duration_secs = (now - start).max(0.0);
        snap.users = users;
        snap.entries = self.entries.values().map(entry_snapshot).collect();
        snap.errors = self
            .errors
            .values()
            .map(|e| ErrorSnapshot {
                kind: e.method.clone(),
                name: e.name.clone(),
                message: e.error.clone(),
                occurrences: e.occurrences,
                first_seen: e.first_seen.map_or(0, |s| s as u64),
                last_seen: e.last_seen.map_or(0, |s| s as u64),
            })
            .collect();
        snap.exceptions = self
            .exceptions
            .iter()
            .map(|((message, traceback), count)| ExceptionSnapshot {
                message: message.clone(),
                traceback: traceback.clone(),
                count: *count,
            })
            .collect();
        snap.history = self.history.clone();
        snap
    }
}

/// A wire entry (times in float ms, Locust's buckets) as the core's entry (times in
/// µs, an HDR histogram): the histogram holds each bucket's count at the bucket's
/// value, which is the resolution the workers sent.
pub(crate) fn entry_snapshot(e: &StatsEntry) -> EntrySnapshot {
    let mut out = EntrySnapshot::empty(&e.method, &e.name);
    out.requests = e.num_requests;
    out.failures = e.num_failures;
    out.total_us = ms_to_us(e.total_response_time);
    out.min_us = e.min_response_time.map_or(0, ms_to_us);
    out.max_us = ms_to_us(e.max_response_time);
    out.bytes = e.total_content_length;
    for (bucket_ms, count) in &e.response_times {
        let us = bucket_ms.saturating_mul(1000).max(1);
        if out.histogram.record_n(us, *count).is_err() {
            out.histogram.saturating_record_n(us, *count);
        }
    }
    out
}

fn ms_to_us(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        (ms * 1000.0).round() as u64
    } else {
        0
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::EntryDelta;

    fn report(requests: &[(u64, bool)], start: f64) -> StatsReport {
        let mut d = EntryDelta::new("GET", "/a");
        for (i, (us, failed)) in requests.iter().enumerate() {
            d.record(*us, 10, *failed, start + i as f64);
        }
        let errors = requests.iter().filter(|(_, f)| *f).map(|_| StatsError {
            name: "/a".to_owned(),
            method: "GET".to_owned(),
            error: "HTTP 500".to_owned(),
            occurrences: 1,
            first_seen: Some(start),
            last_seen: Some(start + 1.0),
        });
        StatsReport::from_deltas(&[d], errors, BTreeMap::new(), start)
    }

    #[test]
    fn reports_of_two_workers_add_up_in_the_snapshot() {
        let mut agg = Aggregate::new(1000.0);
        agg.add("w1", &report(&[(2_000, false), (4_000, true)], 1000.0));
        agg.add("w2", &report(&[(150_000, false)], 1001.0));
        agg.add("w1", &report(&[(3_000, false)], 1003.0));
        agg.add_exception("boom", "task x");
        agg.add_exception("boom", "task x");
        let snap = agg.snapshot(1000.0, 1010.0, 3);
        assert_eq!(snap.total_requests(), 4);
        assert_eq!(snap.total_failures(), 1);
        assert_eq!(snap.duration_secs, 10.0);
        let e = snap.entry("GET", "/a").unwrap();
        assert_eq!(e.total_us, 159_000);
        assert_eq!((e.min_us, e.max_us), (2_000, 150_000));
        assert_eq!(e.bytes, 40);
        // The median is in the 3 ms bucket (within the histogram's 0.1 %), the maximum exact.
        let median = e.percentile_ms(0.5).unwrap();
        assert!((median - 3.0).abs() < 0.01, "{median}");
        assert_eq!(e.percentile_ms(1.0), Some(150.0));
        assert_eq!(snap.errors.len(), 1);
        assert_eq!(snap.errors[0].occurrences, 1);
        assert_eq!(snap.exceptions[0].count, 2);
        assert_eq!(agg.reported("w1").requests, 3);
        assert_eq!(
            agg.reported("w2"),
            Reported {
                requests: 1,
                failures: 0
            }
        );
        assert_eq!(agg.totals().requests, 4);
    }

    #[test]
    fn history_rows_carry_rates_and_totals() {
        let mut agg = Aggregate::new(1000.0);
        agg.tick_history(1001.0, 2);
        agg.add("w1", &report(&[(2_000, false), (2_000, true)], 1001.0));
        agg.tick_history(1003.0, 2);
        let snap = agg.snapshot(1000.0, 1003.0, 2);
        assert_eq!(snap.history.len(), 2);
        let row = &snap.history[1];
        assert_eq!((row.total_requests, row.total_failures), (2, 1));
        assert_eq!(row.rps, 1.0);
        assert_eq!(row.fails_per_sec, 0.5);
        assert_eq!(row.p50_ms(), Some(2.0));
        assert_eq!(snap.history[0].p50_ms(), None);
    }

    #[test]
    fn history_rates_are_over_the_last_10_s_as_the_workers_report_every_3_s() {
        let mut agg = Aggregate::new(1000.0);
        let reply: Vec<(u64, bool)> = vec![(1_000, false); 30];
        let mut rps = Vec::new();
        for second in 1..=20u32 {
            // 10 requests a second, reported every 3 s.
            if second % 3 == 0 {
                agg.add("w1", &report(&reply, 1000.0 + f64::from(second)));
            }
            agg.tick_history(1000.0 + f64::from(second), 1);
            rps.push(agg.history.last().unwrap().rps);
        }
        // Once 10 s of ticks are in: 9 to 12 a second, never 0 nor 30.
        assert!(
            rps[12..].iter().all(|r| (9.0..=12.0).contains(r)),
            "{rps:?}"
        );
    }
}
