//! A baseline: an earlier run's JSON report that this run is compared with
//! (`--baseline PATH`), entry by entry, and that relative thresholds
//! (`p95 < baseline * 1.1`) take their limits from.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::json::JSON_SCHEMA;
use crate::error::ConfigError;
use crate::stats::{EntrySnapshot, Snapshot};

/// An earlier run, read from its JSON report.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Baseline {
    /// The file it was read from.
    pub path: PathBuf,
    /// Everything that run measured.
    pub snapshot: Snapshot,
    /// The Swarm version that wrote it.
    pub swarm_version: Option<String>,
}

impl Baseline {
    /// Read a JSON report written by `--json`.
    ///
    /// A file that cannot be read, is not JSON, is not a Swarm report, or was written with
    /// another schema version is an error naming the file and the problem.
    pub fn load(path: impl AsRef<Path>) -> Result<Baseline, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Baseline {
            path: path.to_owned(),
            reason: format!("cannot read it: {e}"),
        })?;
        Baseline::from_json(path, &text)
    }

    /// Parse a JSON report's text; `path` names it in errors.
    pub fn from_json(path: impl AsRef<Path>, text: &str) -> Result<Baseline, ConfigError> {
        let path = path.as_ref();
        let fail = |reason: String| ConfigError::Baseline {
            path: path.to_owned(),
            reason,
        };
        let mut doc: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| fail(format!("it is not JSON ({e}); expected a report of --json")))?;
        match doc.get("schema").and_then(serde_json::Value::as_str) {
            Some(JSON_SCHEMA) => {}
            Some(other) => {
                return Err(fail(format!(
                    "it is a {other} report, and this Swarm reads {JSON_SCHEMA}: \
                     write a new baseline with this version (--json)"
                )))
            }
            None => return Err(fail(
                "it is not a Swarm JSON report (no \"schema\" field); expected a report of --json"
                    .to_owned(),
            )),
        }
        let snapshot = doc
            .get_mut("snapshot")
            .map(serde_json::Value::take)
            .ok_or_else(|| fail("the report has no \"snapshot\" field".to_owned()))?;
        let snapshot: Snapshot = serde_json::from_value(snapshot)
            .map_err(|e| fail(format!("its \"snapshot\" does not parse: {e}")))?;
        Ok(Baseline {
            path: path.to_owned(),
            snapshot,
            swarm_version: doc
                .get("swarm_version")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        })
    }

    /// This run against the baseline, entry by entry.
    pub fn compare(&self, current: &Snapshot) -> Comparison {
        let base = &self.snapshot;
        let mut entries = Vec::new();
        let mut only_current = Vec::new();
        for e in &current.entries {
            match base.entry(&e.kind, &e.name) {
                Some(b) => entries.push(EntryChange::new(
                    e,
                    current.duration_secs,
                    b,
                    base.duration_secs,
                )),
                None => only_current.push(format!("{} {}", e.kind, e.name)),
            }
        }
        let only_baseline = base
            .entries
            .iter()
            .filter(|b| current.entry(&b.kind, &b.name).is_none())
            .map(|b| format!("{} {}", b.kind, b.name))
            .collect();
        let total = EntryChange::new(
            &current.aggregated(),
            current.duration_secs,
            &base.aggregated(),
            base.duration_secs,
        );
        Comparison {
            path: self.path.display().to_string(),
            started_at: base.start_unix_secs,
            total,
            entries,
            only_current,
            only_baseline,
        }
    }
}

/// One number now and in the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// This run's value (`None`: nothing to measure, e.g. no request).
    pub current: Option<f64>,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// `(current - baseline) / baseline`: 0.1 is 10% more; `None` when either is missing
    /// or the baseline is 0.
    pub change: Option<f64>,
}

impl Change {
    fn new(current: Option<f64>, baseline: Option<f64>) -> Change {
        let change = match (current, baseline) {
            (Some(c), Some(b)) if b != 0.0 => Some((c - b) / b),
            _ => None,
        };
        Change {
            current,
            baseline,
            change,
        }
    }
}

/// One entry now and in the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntryChange {
    /// The kind of request.
    pub kind: String,
    /// The entry's name.
    pub name: String,
    /// Requests per second over each run.
    pub rps: Change,
    /// Failures over requests.
    pub fail_ratio: Change,
    /// Median latency, ms.
    pub p50_ms: Change,
    /// 95th percentile latency, ms.
    pub p95_ms: Change,
    /// 99th percentile latency, ms.
    pub p99_ms: Change,
}

impl EntryChange {
    fn new(now: &EntrySnapshot, now_secs: f64, base: &EntrySnapshot, base_secs: f64) -> Self {
        let rps = |e: &EntrySnapshot, secs: f64| (secs > 0.0).then(|| e.requests as f64 / secs);
        let ratio = |e: &EntrySnapshot| (e.requests > 0).then(|| e.fail_ratio());
        let pct = |q: f64| Change::new(now.percentile_ms(q), base.percentile_ms(q));
        EntryChange {
            kind: now.kind.clone(),
            name: now.name.clone(),
            rps: Change::new(rps(now, now_secs), rps(base, base_secs)),
            fail_ratio: Change::new(ratio(now), ratio(base)),
            p50_ms: pct(0.5),
            p95_ms: pct(0.95),
            p99_ms: pct(0.99),
        }
    }
}

/// A run compared with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Comparison {
    /// The baseline's file.
    pub path: String,
    /// Unix time the baseline run started.
    pub started_at: f64,
    /// The totals (`Aggregated`).
    pub total: EntryChange,
    /// The entries both runs have, in this run's order.
    pub entries: Vec<EntryChange>,
    /// Entries of this run the baseline does not have (`KIND NAME`).
    pub only_current: Vec<String>,
    /// Entries of the baseline this run does not have.
    pub only_baseline: Vec<String>,
}

impl Comparison {
    /// A note for people when the runs have no entry in common (the baseline is probably
    /// of another scenario).
    pub fn note(&self) -> Option<String> {
        (self.entries.is_empty() && !(self.only_current.is_empty() && self.only_baseline.is_empty()))
            .then(|| {
                format!(
                    "the baseline {} has no entry in common with this run (only the totals are compared)",
                    self.path
                )
            })
    }
}

/// A change for people: `+12.5%`, `-3.0%`, `=` for none, `n/a` when it has no value.
pub(crate) fn fmt_change(c: &Change) -> String {
    match c.change {
        Some(x) if x.abs() < 0.0005 => "=".to_owned(),
        Some(x) => format!("{:+.1}%", x * 100.0),
        None if c.current.is_some() && c.current == c.baseline => "=".to_owned(),
        None => "n/a".to_owned(),
    }
}

/// The console's comparison table.
pub(crate) fn console_text(cmp: &Comparison, sep: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nAgainst the baseline {} (change of each value)",
        cmp.path
    );
    let _ = writeln!(
        out,
        "{:<70} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "Type     Name", "req/s", "fail %", "p50", "p95", "p99"
    );
    out.push_str(sep);
    let line = |out: &mut String, e: &EntryChange, label: &str| {
        let _ = writeln!(
            out,
            "{:<70} {:>9} {:>9} {:>9} {:>9} {:>9}",
            label,
            fmt_change(&e.rps),
            fmt_change(&e.fail_ratio),
            fmt_change(&e.p50_ms),
            fmt_change(&e.p95_ms),
            fmt_change(&e.p99_ms),
        );
    };
    for e in &cmp.entries {
        line(&mut out, e, &super::console::name_cell(&e.kind, &e.name));
    }
    out.push_str(sep);
    line(&mut out, &cmp.total, "Aggregated");
    if let Some(note) = cmp.note() {
        let _ = writeln!(out, "note: {note}");
    }
    let list = |v: &[String]| {
        let mut s = v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if v.len() > 5 {
            let _ = write!(s, " and {} more", v.len() - 5);
        }
        s
    };
    if !cmp.only_current.is_empty() {
        let _ = writeln!(out, "new since the baseline: {}", list(&cmp.only_current));
    }
    if !cmp.only_baseline.is_empty() {
        let _ = writeln!(out, "in the baseline only: {}", list(&cmp.only_baseline));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_report_is_named() {
        let err = Baseline::from_json("b.json", "{\"a\": 1}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot use the baseline b.json: it is not a Swarm JSON report (no \"schema\" field); expected a report of --json"
        );
        let err = Baseline::from_json("b.json", "not json").unwrap_err();
        assert!(err.to_string().contains("it is not JSON"), "{err}");
    }

    #[test]
    fn another_schema_version_is_refused() {
        let err = Baseline::from_json(
            "old.json",
            r#"{"schema": "swarm-report/0", "snapshot": {}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("it is a swarm-report/0 report, and this Swarm reads swarm-report/1"),
            "{err}"
        );
    }

    #[test]
    fn changes_are_relative_to_the_baseline() {
        let c = Change::new(Some(110.0), Some(100.0));
        assert!((c.change.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(fmt_change(&c), "+10.0%");
        assert_eq!(fmt_change(&Change::new(Some(0.0), Some(0.0))), "=");
        assert_eq!(fmt_change(&Change::new(Some(0.5), Some(0.0))), "n/a");
        assert_eq!(fmt_change(&Change::new(None, Some(1.0))), "n/a");
    }
}
