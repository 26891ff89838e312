//! What a threshold measures: its scope (which entries), metric and operator.

use super::LISTED_ENTRIES;
use crate::stats::{EntrySnapshot, Snapshot};

/// The entries a threshold checks.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scope(pub(super) String);

impl Scope {
    /// The selected entries merged, or `None` when none is selected.
    pub(super) fn select(&self, snap: &Snapshot) -> Option<EntrySnapshot> {
        let text = self.0.as_str();
        let by_kind: Vec<&EntrySnapshot> = match text.split_once(char::is_whitespace) {
            Some((kind, name)) => {
                let name = name.trim_start();
                snap.entries
                    .iter()
                    .filter(|e| e.kind.eq_ignore_ascii_case(kind) && e.name == name)
                    .collect()
            }
            None => Vec::new(),
        };
        let selected = if by_kind.is_empty() {
            snap.named(text).collect()
        } else {
            by_kind
        };
        if selected.is_empty() {
            return (text == "Aggregated").then(|| snap.aggregated());
        }
        let mut merged = EntrySnapshot::empty(selected[0].kind.clone(), text);
        for e in selected {
            merged.merge(e);
        }
        Some(merged)
    }

    pub(super) fn no_match(&self, snap: &Snapshot) -> String {
        let mut msg = format!("no entry matched {:?}", self.0);
        if snap.entries.is_empty() {
            msg.push_str(" (the run recorded no entry)");
            return msg;
        }
        let names: Vec<String> = snap
            .entries
            .iter()
            .take(LISTED_ENTRIES)
            .map(|e| format!("{} {}", e.kind, e.name).trim().to_owned())
            .collect();
        msg.push_str(" (entries: ");
        msg.push_str(&names.join(", "));
        if snap.entries.len() > LISTED_ENTRIES {
            msg.push_str(", ...");
        }
        msg.push(')');
        msg
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Metric {
    /// A latency percentile, 0 ..= 100.
    Percentile(f64),
    Avg,
    Min,
    Max,
    FailRatio,
    Rps,
    Requests,
    Failures,
    FailsPerSec,
}

/// The kinds of values, by their units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Time,
    Ratio,
    Count,
    Rate,
}

impl Metric {
    pub(super) fn class(self) -> Class {
        match self {
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => Class::Time,
            Metric::FailRatio => Class::Ratio,
            Metric::Requests | Metric::Failures => Class::Count,
            Metric::Rps | Metric::FailsPerSec => Class::Rate,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Metric::Percentile(_) => "a percentile",
            Metric::Avg => "avg",
            Metric::Min => "min",
            Metric::Max => "max",
            Metric::FailRatio => "fail_ratio",
            Metric::Rps => "rps",
            Metric::Requests => "requests",
            Metric::Failures => "failures",
            Metric::FailsPerSec => "fails_per_sec",
        }
    }

    pub(super) fn unit(self) -> &'static str {
        match self {
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => "ms",
            Metric::FailRatio => "ratio",
            Metric::Rps => "req/s",
            Metric::FailsPerSec => "fails/s",
            Metric::Requests | Metric::Failures => "",
        }
    }

    /// The value of the metric for an entry, in its unit, or why there is none.
    pub(super) fn measure(
        self,
        e: &EntrySnapshot,
        duration_secs: f64,
    ) -> Result<f64, &'static str> {
        let needs_requests = matches!(self.class(), Class::Time | Class::Ratio);
        if needs_requests && e.requests == 0 {
            return Err("no requests");
        }
        let per_sec = |n: u64| {
            if duration_secs > 0.0 {
                Ok(n as f64 / duration_secs)
            } else {
                Err("the run has no duration yet")
            }
        };
        match self {
            Metric::Percentile(p) => e.percentile_ms(p / 100.0).ok_or("no latency recorded"),
            Metric::Avg => Ok(e.avg_ms()),
            Metric::Min => Ok(e.min_us as f64 / 1000.0),
            Metric::Max => Ok(e.max_us as f64 / 1000.0),
            Metric::FailRatio => Ok(e.fail_ratio()),
            Metric::Rps => per_sec(e.requests),
            Metric::FailsPerSec => per_sec(e.failures),
            Metric::Requests => Ok(e.requests as f64),
            Metric::Failures => Ok(e.failures as f64),
        }
    }

    /// A measured value for people.
    pub(super) fn format(self, v: f64) -> String {
        match self.class() {
            Class::Time => format!("{}ms", fmt_num(v)),
            Class::Ratio => format!("{}%", fmt_num(v * 100.0)),
            Class::Count => fmt_num(v),
            Class::Rate => format!("{} {}", fmt_num(v), self.unit()),
        }
    }
}

/// A number with at most three decimals, without trailing zeros.
pub(super) fn fmt_num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// What a measured value is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Limit {
    /// A value in the metric's base unit.
    Fixed(f64),
    /// The baseline run's value of the same scope and metric, times a factor.
    Baseline {
        /// The factor (`baseline * 1.1`; 1 for plain `baseline`).
        factor: f64,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub(super) fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            _ => return None,
        })
    }

    /// Whether `measured OP limit` holds; values within a relative 1e-9 are equal, so that
    /// unit conversions (`0.25s` = `250ms`) do not tip a comparison.
    pub(super) fn holds(self, measured: f64, limit: f64) -> bool {
        let eq = (measured - limit).abs() <= 1e-9 * measured.abs().max(limit.abs());
        match self {
            Op::Lt => !eq && measured < limit,
            Op::Le => eq || measured < limit,
            Op::Gt => !eq && measured > limit,
            Op::Ge => eq || measured > limit,
            Op::Eq => eq,
            Op::Ne => !eq,
        }
    }
}
