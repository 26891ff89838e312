//! One statistics entry: the numbers of one (kind, name) pair.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Significant figures kept by every latency histogram.
const SIGFIG: u8 = 3;

pub(crate) fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, growing its buckets only as large values arrive.
    let mut h = Histogram::new(SIGFIG).expect("3 significant figures is a valid histogram");
    h.auto(true);
    h
}

/// The accumulating numbers of one entry, in a shard or in the run's totals.
#[derive(Debug, Clone)]
pub(crate) struct EntryAcc {
    pub(crate) requests: u64,
    pub(crate) failures: u64,
    pub(crate) total_us: u64,
    pub(crate) min_us: u64,
    pub(crate) max_us: u64,
    pub(crate) bytes: u64,
    pub(crate) hist: Histogram<u64>,
    pub(crate) codes: Vec<(i64, u64)>,
    /// Open model: latency from the iteration's scheduled start.
    pub(crate) corrected: Option<Histogram<u64>>,
    /// With statistics deltas on: each sample's Locust bucket (ms) and its count.
    pub(crate) buckets: Option<Box<super::delta::Buckets>>,
}

impl EntryAcc {
    pub(crate) fn new() -> Self {
        EntryAcc {
            requests: 0,
            failures: 0,
            total_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            bytes: 0,
            hist: new_histogram(),
            codes: Vec::new(),
            corrected: None,
            buckets: None,
        }
    }

    /// Count the sample in its Locust bucket (statistics deltas only).
    pub(crate) fn record_bucket(&mut self, us: u64) {
        let ms = u32::try_from(super::delta::locust_bucket_ms(us)).unwrap_or(u32::MAX);
        *self
            .buckets
            .get_or_insert_with(Box::default)
            .entry(ms)
            .or_default() += 1;
    }

    #[inline]
    pub(crate) fn record(&mut self, us: u64, bytes: u64, code: Option<i64>, failed: bool) {
        self.requests += 1;
        self.failures += u64::from(failed);
        self.total_us = self.total_us.saturating_add(us);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
        self.bytes = self.bytes.saturating_add(bytes);
        // `record` grows the auto-resizing histogram; `saturating_record` never does and
        // would clamp every value past the current range (2047 µs at first) to its top.
        let us = us.max(1);
        if self.hist.record(us).is_err() {
            self.hist.saturating_record(us);
        }
        if let Some(code) = code {
            match self.codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => self.codes.push((code, 1)),
            }
        }
    }

    pub(crate) fn record_corrected(&mut self, us: u64) {
        let h = self.corrected.get_or_insert_with(new_histogram);
        if h.record(us.max(1)).is_err() {
            h.saturating_record(us.max(1));
        }
    }

    pub(crate) fn add(&mut self, other: &EntryAcc) {
        if let Some(oc) = other.corrected.as_ref().filter(|h| !h.is_empty()) {
            let _ = self.corrected.get_or_insert_with(new_histogram).add(oc);
        }
        self.requests += other.requests;
        self.failures += other.failures;
        self.total_us = self.total_us.saturating_add(other.total_us);
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
        self.bytes = self.bytes.saturating_add(other.bytes);
        if !other.hist.is_empty() {
            // Same configuration on both sides, and auto-resize: cannot fail.
            let _ = self.hist.add(&other.hist);
        }
        for (code, n) in &other.codes {
            match self.codes.iter_mut().find(|(c, _)| c == code) {
                Some((_, m)) => *m += n,
                None => self.codes.push((*code, *n)),
            }
        }
        if let Some(ob) = other.buckets.as_deref().filter(|b| !b.is_empty()) {
            let mine = self.buckets.get_or_insert_with(Box::default);
            for (ms, n) in ob {
                *mine.entry(*ms).or_default() += n;
            }
        }
    }

    /// Empty the entry, keeping the histogram's memory.
    pub(crate) fn clear(&mut self) {
        self.requests = 0;
        self.failures = 0;
        self.total_us = 0;
        self.min_us = u64::MAX;
        self.max_us = 0;
        self.bytes = 0;
        self.hist.reset();
        if let Some(c) = self.corrected.as_mut() {
            c.reset();
        }
        self.codes.clear();
        if let Some(b) = self.buckets.as_mut() {
            b.clear();
        }
    }

    pub(crate) fn snapshot(&self, kind: &str, name: &str) -> EntrySnapshot {
        EntrySnapshot {
            kind: kind.to_owned(),
            name: name.to_owned(),
            requests: self.requests,
            failures: self.failures,
            total_us: self.total_us,
            min_us: if self.requests == 0 { 0 } else { self.min_us },
            max_us: self.max_us,
            bytes: self.bytes,
            codes: self
                .codes
                .iter()
                .map(|(c, n)| (c.to_string(), *n))
                .collect(),
            histogram: self.hist.clone(),
            corrected: self.corrected.clone().filter(|h| !h.is_empty()),
        }
    }
}

/// The numbers of one (kind, name) entry at the time of a snapshot.
///
/// Latencies are kept in microseconds; the report writers convert them to the units of
/// each format (milliseconds for Locust's CSV) only at the edge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntrySnapshot {
    /// The kind of request (`GET`, `POST`, `WS`, `JSONRPC`, `TASK`, ...), Locust's "Type".
    pub kind: String,
    /// The name requests are grouped under.
    pub name: String,
    /// How many requests were recorded.
    pub requests: u64,
    /// How many of them failed.
    pub failures: u64,
    /// The sum of all latencies, in microseconds.
    pub total_us: u64,
    /// The smallest latency, in microseconds (0 when there is no request).
    pub min_us: u64,
    /// The largest latency, in microseconds.
    pub max_us: u64,
    /// The sum of the sizes of all responses, in bytes.
    pub bytes: u64,
    /// How many times each outcome code (HTTP status, JSON-RPC error code) was seen.
    pub codes: BTreeMap<String, u64>,
    /// The latency histogram, in microseconds, as `[value, count]` pairs.
    #[serde(with = "hist_serde")]
    pub histogram: Histogram<u64>,
    /// Open model only: latency measured from each iteration's scheduled start (corrected
    /// for coordinated omission), in microseconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hist_serde"
    )]
    pub corrected: Option<Histogram<u64>>,
}

impl EntrySnapshot {
    /// An empty entry.
    pub fn empty(kind: impl Into<String>, name: impl Into<String>) -> Self {
        EntryAcc::new().snapshot(&kind.into(), &name.into())
    }

    /// The mean latency in milliseconds (0 when there is no request).
    pub fn avg_ms(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.total_us as f64 / self.requests as f64 / 1000.0
        }
    }

    /// The latency at quantile `q` (0.0 ..= 1.0) in milliseconds, from the histogram;
    /// `None` when there is no request.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        if self.histogram.is_empty() {
            None
        } else if q >= 1.0 {
            Some(self.max_us as f64 / 1000.0)
        } else {
            // The histogram answers with the top of a bucket (up to 0.1% above the
            // samples in it); keep it within the exact min and max, so that no
            // percentile exceeds the maximum.
            let us = self.histogram.value_at_quantile(q);
            let us = if self.requests > 0 && self.min_us <= self.max_us {
                us.clamp(self.min_us, self.max_us)
            } else {
                us
            };
            Some(us as f64 / 1000.0)
        }
    }

    /// The corrected latency (from the scheduled start) at quantile `q`, in
    /// milliseconds; `None` outside the open model.
    pub fn corrected_percentile_ms(&self, q: f64) -> Option<f64> {
        let h = self.corrected.as_ref().filter(|h| !h.is_empty())?;
        Some(h.value_at_quantile(q.min(1.0)) as f64 / 1000.0)
    }

    /// The mean response size in bytes.
    pub fn avg_bytes(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.bytes as f64 / self.requests as f64
        }
    }

    /// The share of failed requests (0.0 ..= 1.0).
    pub fn fail_ratio(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.failures as f64 / self.requests as f64
        }
    }

    /// Add another snapshot of the same entry (from another thread or worker).
    pub fn merge(&mut self, other: &EntrySnapshot) {
        if other.requests > 0 {
            self.min_us = if self.requests == 0 {
                other.min_us
            } else {
                self.min_us.min(other.min_us)
            };
        }
        self.requests += other.requests;
        self.failures += other.failures;
        self.total_us = self.total_us.saturating_add(other.total_us);
        self.max_us = self.max_us.max(other.max_us);
        self.bytes = self.bytes.saturating_add(other.bytes);
        for (code, n) in &other.codes {
            *self.codes.entry(code.clone()).or_default() += n;
        }
        if let Some(oc) = other.corrected.as_ref().filter(|h| !h.is_empty()) {
            let _ = self.corrected.get_or_insert_with(new_histogram).add(oc);
        }
        if !other.histogram.is_empty() {
            if self.histogram.is_empty() && !self.histogram.is_auto_resize() {
                self.histogram = new_histogram();
            }
            let _ = self.histogram.add(&other.histogram);
        }
    }
}

mod opt_hist_serde {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)]
    pub(super) fn serialize<S: Serializer>(
        h: &Option<Histogram<u64>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => super::hist_serde::serialize(h, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Histogram<u64>>, D::Error> {
        let pairs = Option::<Vec<[u64; 2]>>::deserialize(d)?;
        pairs
            .map(|pairs| {
                let mut h = super::new_histogram();
                for [value, count] in pairs {
                    h.record_n(value, count).map_err(serde::de::Error::custom)?;
                }
                Ok(h)
            })
            .transpose()
    }
}

mod hist_serde {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(h: &Histogram<u64>, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<[u64; 2]> = h
            .iter_recorded()
            .map(|v| [v.value_iterated_to(), v.count_at_value()])
            .collect();
        pairs.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u64>, D::Error> {
        let pairs = Vec::<[u64; 2]>::deserialize(d)?;
        let mut h = super::new_histogram();
        for [value, count] in pairs {
            h.record_n(value, count).map_err(serde::de::Error::custom)?;
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_merges() {
        let mut a = EntryAcc::new();
        for us in [1000, 2000, 3000] {
            a.record(us, 10, Some(200), false);
        }
        let mut b = EntryAcc::new();
        b.record(9000, 5, Some(500), true);
        let mut sa = a.snapshot("GET", "/");
        let sb = b.snapshot("GET", "/");
        sa.merge(&sb);
        assert_eq!(sa.requests, 4);
        assert_eq!(sa.failures, 1);
        assert_eq!(sa.min_us, 1000);
        assert_eq!(sa.max_us, 9000);
        assert_eq!(sa.bytes, 35);
        assert_eq!(sa.codes["200"], 3);
        assert_eq!(sa.codes["500"], 1);
        assert!((sa.avg_ms() - 3.75).abs() < 1e-9);
        assert_eq!(sa.percentile_ms(0.5), Some(2.0));
        assert_eq!(sa.percentile_ms(1.0), Some(9.0));
    }

    #[test]
    fn serde_round_trip_keeps_the_histogram() {
        let mut a = EntryAcc::new();
        for us in 1..5000 {
            a.record(us * 7, 1, None, false);
        }
        let s = a.snapshot("GET", "/x");
        let json = serde_json::to_string(&s).unwrap();
        let back: EntrySnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back.histogram.len(), s.histogram.len());
        for q in [0.5, 0.9, 0.99, 0.999] {
            assert_eq!(back.percentile_ms(q), s.percentile_ms(q));
        }
    }

    #[test]
    fn clear_keeps_nothing() {
        let mut a = EntryAcc::new();
        a.record(5, 5, Some(1), true);
        a.clear();
        let s = a.snapshot("k", "n");
        assert_eq!((s.requests, s.failures, s.min_us, s.bytes), (0, 0, 0, 0));
        assert!(s.histogram.is_empty() && s.codes.is_empty());
    }
}
