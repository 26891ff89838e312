//! The runner's side of the statistics: drains the shards once a tick into the totals.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::delta::{DeltaAcc, StatsDelta};
use super::entry::{new_histogram, EntryAcc};
use super::snapshot::{
    per_sec, ErrorSnapshot, ExceptionSnapshot, HistoryRow, Snapshot, PERCENTILES,
};
use super::{Recorder, StatsCore};

/// How many intervals the "current" percentiles look back over (Locust: 10 s).
const WINDOW: usize = 10;

pub(crate) struct Aggregator {
    core: Arc<StatsCore>,
    entries: BTreeMap<String, BTreeMap<String, EntryAcc>>,
    errors: BTreeMap<(String, String, String), super::ErrorAcc>,
    exceptions: BTreeMap<(String, String), u64>,
    history: Vec<HistoryRow>,
    window: VecDeque<Histogram<u64>>,
    /// What arrived since the last tick, all entries together.
    interval: EntryAcc,
    /// Open model: start lateness of every iteration, and iterations dropped.
    lateness: Option<EntryAcc>,
    dropped: u64,
    start: Instant,
    start_wall: SystemTime,
    last_tick: Instant,
    /// Statistics deltas, when on: everything since the last take.
    delta: Option<DeltaAcc>,
}

impl Aggregator {
    pub(crate) fn new() -> Self {
        let now = Instant::now();
        Aggregator {
            core: StatsCore::new(),
            entries: BTreeMap::new(),
            errors: BTreeMap::new(),
            exceptions: BTreeMap::new(),
            history: Vec::new(),
            window: VecDeque::with_capacity(WINDOW + 1),
            interval: EntryAcc::new(),
            lateness: None,
            dropped: 0,
            start: now,
            start_wall: SystemTime::now(),
            last_tick: now,
            delta: None,
        }
    }

    /// Keep statistics deltas from now on ([`Aggregator::take_delta`]).
    pub(crate) fn enable_deltas(&mut self) {
        if self.delta.is_none() {
            self.core.enable_deltas();
            self.delta = Some(DeltaAcc::new(SystemTime::now()));
        }
    }

    /// What was recorded since the last take (empty when deltas are off). Call
    /// [`Aggregator::collect`] first.
    pub(crate) fn take_delta(&mut self) -> StatsDelta {
        match self.delta.as_mut() {
            Some(d) => d.take(SystemTime::now()),
            None => StatsDelta::default(),
        }
    }

    pub(crate) fn recorder(&self) -> Recorder {
        Recorder::new(self.core.clone())
    }

    /// Restart the clock (the run starts now) and forget everything recorded so far.
    pub(crate) fn reset(&mut self) {
        self.collect();
        self.entries.clear();
        self.errors.clear();
        self.exceptions.clear();
        self.history.clear();
        self.window.clear();
        self.interval.clear();
        self.lateness = None;
        self.dropped = 0;
        self.start = Instant::now();
        self.start_wall = SystemTime::now();
        self.last_tick = self.start;
        if let Some(d) = self.delta.as_mut() {
            *d = DeltaAcc::new(self.start_wall);
        }
    }

    /// Count the run's time from now, keeping what was recorded so far (the open model
    /// starts its clock once its pool has made its users).
    pub(crate) fn restart_clock(&mut self) {
        self.start = Instant::now();
        self.start_wall = SystemTime::now();
        self.last_tick = self.start;
    }

    /// Move everything the shards hold into the totals and the current interval.
    pub(crate) fn collect(&mut self) {
        let now = SystemTime::now();
        for shard in self.core.shards() {
            let mut shard = shard.lock();
            for (kind, by_name) in &mut shard.entries {
                for (name, acc) in by_name.iter_mut() {
                    if acc.requests == 0 {
                        continue;
                    }
                    let kinds = match self.entries.get_mut(&**kind) {
                        Some(k) => k,
                        None => self.entries.entry(kind.to_string()).or_default(),
                    };
                    let total = match kinds.get_mut(&**name) {
                        Some(t) => t,
                        None => kinds.entry(name.to_string()).or_insert_with(EntryAcc::new),
                    };
                    total.add(acc);
                    // The totals need no Locust buckets; only deltas carry them.
                    total.buckets = None;
                    if let Some(d) = self.delta.as_mut() {
                        d.add_entry(kind, name, acc, now);
                    }
                    self.interval.add(acc);
                    self.interval.buckets = None;
                    acc.clear();
                }
            }
            for (key, e) in shard.errors.drain() {
                if let Some(d) = self.delta.as_mut() {
                    d.errors
                        .entry(key.clone())
                        .and_modify(|t| t.add(&e))
                        .or_insert(e);
                }
                self.errors
                    .entry(key)
                    .and_modify(|t| t.add(&e))
                    .or_insert(e);
            }
            if let Some(l) = shard.lateness.as_mut().filter(|l| l.requests > 0) {
                self.lateness.get_or_insert_with(EntryAcc::new).add(l);
                l.clear();
            }
            for (key, n) in shard.exceptions.drain() {
                if let Some(d) = self.delta.as_mut() {
                    *d.exceptions.entry(key.clone()).or_default() += n;
                }
                *self.exceptions.entry(key).or_default() += n;
            }
        }
    }

    /// Close the current interval: collect, and append a history row.
    pub(crate) fn tick(&mut self, users: u32) {
        self.collect();
        let now = Instant::now();
        let secs = now.duration_since(self.last_tick).as_secs_f64();
        self.last_tick = now;

        let mut hist = if self.window.len() >= WINDOW {
            let mut h = self.window.pop_front().unwrap_or_else(new_histogram);
            h.reset();
            h
        } else {
            new_histogram()
        };
        let _ = hist.add(&self.interval.hist);
        self.window.push_back(hist);

        let mut current = new_histogram();
        for h in &self.window {
            let _ = current.add(h);
        }
        let percentiles_ms = PERCENTILES
            .iter()
            .map(|q| {
                if current.is_empty() {
                    None
                } else {
                    Some(current.value_at_quantile(*q) as f64 / 1000.0)
                }
            })
            .collect();

        let total = self.total();
        let row = HistoryRow {
            timestamp: self.wall(now).as_secs(),
            users,
            rps: per_sec(self.interval.requests, secs),
            fails_per_sec: per_sec(self.interval.failures, secs),
            percentiles_ms,
            total_requests: total.requests,
            total_failures: total.failures,
            total_median_ms: total.percentile_ms(0.5),
            total_avg_ms: total.avg_ms(),
            total_min_ms: total.min_us as f64 / 1000.0,
            total_max_ms: total.max_us as f64 / 1000.0,
            total_avg_bytes: total.avg_bytes(),
        };
        self.history.push(row);
        self.interval.clear();
    }

    /// Open model: iterations dropped so far.
    pub(crate) fn set_dropped(&mut self, dropped: u64) {
        self.dropped = dropped;
        self.lateness.get_or_insert_with(EntryAcc::new);
    }

    /// Open model: make the schedule appear in snapshots even before an iteration ran.
    pub(crate) fn open_model(&mut self) {
        self.lateness.get_or_insert_with(EntryAcc::new);
    }

    /// The last history row.
    pub(crate) fn last_row(&self) -> Option<&HistoryRow> {
        self.history.last()
    }

    fn wall(&self, now: Instant) -> Duration {
        let at = self.start_wall + now.duration_since(self.start);
        at.duration_since(UNIX_EPOCH).unwrap_or_default()
    }

    fn total(&self) -> super::EntrySnapshot {
        let mut total = super::EntrySnapshot::empty("", "Aggregated");
        for (kind, by_name) in &self.entries {
            for (name, acc) in by_name {
                total.merge(&acc.snapshot(kind, name));
            }
        }
        total
    }

    /// Everything so far, history included. Call [`Aggregator::collect`] first for
    /// up-to-date numbers.
    pub(crate) fn snapshot(&self, users: u32) -> Snapshot {
        self.snapshot_with(users, true)
    }

    /// Everything so far; the per-second history only when `history` is true (it is the
    /// one part that grows with the run's length).
    pub(crate) fn snapshot_with(&self, users: u32, history: bool) -> Snapshot {
        let now = Instant::now();
        Snapshot {
            start_unix_secs: self.wall(self.start).as_secs_f64(),
            duration_secs: now.duration_since(self.start).as_secs_f64(),
            users,
            entries: self
                .entries
                .iter()
                .flat_map(|(kind, by_name)| {
                    by_name
                        .iter()
                        .map(move |(name, acc)| acc.snapshot(kind, name))
                })
                .collect(),
            errors: self
                .errors
                .iter()
                .map(|((kind, name, message), e)| ErrorSnapshot {
                    kind: kind.clone(),
                    name: name.clone(),
                    message: message.clone(),
                    occurrences: e.count,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                })
                .collect(),
            exceptions: self
                .exceptions
                .iter()
                .map(|((message, traceback), n)| ExceptionSnapshot {
                    message: message.clone(),
                    traceback: traceback.clone(),
                    count: *n,
                })
                .collect(),
            history: if history {
                self.history.clone()
            } else {
                Vec::new()
            },
            schedule: self.lateness.as_ref().map(|l| super::ScheduleSnapshot {
                iterations: l.requests,
                dropped: self.dropped,
                lateness: l.snapshot("SCHEDULE", "lateness"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Sample;

    #[tokio::test(start_paused = true)]
    async fn shards_merge_into_totals_and_history() {
        let mut agg = Aggregator::new();
        let rec = agg.recorder();
        let other = rec.for_new_user();
        let handle = std::thread::spawn(move || {
            for _ in 0..1000 {
                other.record(&Sample::new("GET", "/a", Duration::from_millis(2)).bytes(10));
            }
        });
        for _ in 0..500 {
            rec.record(&Sample::new("GET", "/a", Duration::from_millis(4)).failure("boom"));
        }
        rec.exception("panicked", "task x");
        handle.join().unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        agg.tick(7);
        let snap = agg.snapshot(7);
        let e = snap.entry("GET", "/a").unwrap();
        assert_eq!((e.requests, e.failures, e.bytes), (1500, 500, 10_000));
        assert_eq!(snap.errors[0].occurrences, 500);
        assert_eq!(snap.exceptions[0].count, 1);
        let row = &snap.history[0];
        assert_eq!(row.users, 7);
        assert!((row.rps - 1500.0).abs() < 1e-6, "{}", row.rps);
        assert!((row.fails_per_sec - 500.0).abs() < 1e-6);
        assert_eq!(row.p50_ms(), Some(2.0));
        assert_eq!(rec.failures_recorded(), 500);

        // A second interval with nothing in it.
        tokio::time::advance(Duration::from_secs(1)).await;
        agg.tick(7);
        let snap = agg.snapshot(7);
        assert_eq!(snap.history[1].rps, 0.0);
        assert_eq!(snap.history[1].total_requests, 1500);
        assert!((snap.duration_secs - 2.0).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn names_past_the_cap_fold_into_one_entry_and_kept_ones_stay_exact() {
        use crate::stats::{MAX_NAMES_PER_KIND, OTHER_NAMES};
        let mut agg = Aggregator::new();
        let rec = agg.recorder();
        let other = rec.for_new_user();
        let extra = 1000;
        // Two threads (two shards) record the same names: a name is kept or folded alike
        // in every shard.
        let handle = std::thread::spawn(move || {
            for i in 0..MAX_NAMES_PER_KIND + extra {
                other.record(&Sample::new(
                    "GET",
                    &format!("/i?{i}"),
                    Duration::from_millis(2),
                ));
            }
        });
        handle.join().unwrap();
        for i in 0..MAX_NAMES_PER_KIND + extra {
            rec.record(
                &Sample::new("GET", &format!("/i?{i}"), Duration::from_millis(4)).failure("x"),
            );
        }
        rec.record(&Sample::new("WS", "/w", Duration::from_millis(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        agg.tick(1);
        let snap = agg.snapshot(1);
        let names = snap.entries.iter().filter(|e| e.kind == "GET").count();
        assert_eq!(names, MAX_NAMES_PER_KIND + 1);
        for i in 0..MAX_NAMES_PER_KIND {
            let e = snap.entry("GET", &format!("/i?{i}")).unwrap();
            assert_eq!((e.requests, e.failures), (2, 1));
        }
        let rest = snap.entry("GET", OTHER_NAMES).unwrap();
        assert_eq!(
            (rest.requests, rest.failures),
            (2 * extra as u64, extra as u64)
        );
        assert_eq!(snap.entry("WS", "/w").unwrap().requests, 1);
        let folded = snap.errors.iter().find(|e| e.name == OTHER_NAMES).unwrap();
        assert_eq!(folded.occurrences, extra as u64);
        assert_eq!(snap.errors.len(), MAX_NAMES_PER_KIND + 1);
    }
}
