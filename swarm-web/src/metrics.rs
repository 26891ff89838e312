//! The Prometheus text endpoint (`--metrics-bind`): per-entry request and failure
//! counters, latency quantiles as a summary, and the users.
//!
//! Written by hand in the text exposition format 0.0.4: the Rust clients (`prometheus`,
//! `prometheus-client`) have no summary fed with quantiles computed elsewhere, and ours
//! come from the run's HDR histograms. A test reads it back with a real parser.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use swarm_core::{EntrySnapshot, Snapshot};

/// The quantiles of the latency summary.
const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 1.0];

/// The content type of the text format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value, escaped as the format requires.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn labels(e: &EntrySnapshot) -> String {
    format!("kind=\"{}\",name=\"{}\"", label(&e.kind), label(&e.name))
}

fn float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{x}")
    }
}

/// The text of `/metrics`.
pub(crate) fn render(snap: &Snapshot, users: u32, user_counts: &BTreeMap<String, u32>) -> String {
    let mut out = String::new();
    out.push_str("# HELP swarm_requests_total Requests recorded, per entry (kind, name).\n");
    out.push_str("# TYPE swarm_requests_total counter\n");
    for e in &snap.entries {
        let _ = writeln!(out, "swarm_requests_total{{{}}} {}", labels(e), e.requests);
    }
    out.push_str("# HELP swarm_failures_total Failed requests, per entry (kind, name).\n");
    out.push_str("# TYPE swarm_failures_total counter\n");
    for e in &snap.entries {
        let _ = writeln!(out, "swarm_failures_total{{{}}} {}", labels(e), e.failures);
    }
    out.push_str(
        "# HELP swarm_response_time_seconds Response times since the start (or the last reset), per entry.\n",
    );
    out.push_str("# TYPE swarm_response_time_seconds summary\n");
    for e in &snap.entries {
        let l = labels(e);
        for q in QUANTILES {
            let v = e.percentile_ms(q).map_or(f64::NAN, |ms| ms / 1000.0);
            let _ = writeln!(
                out,
                "swarm_response_time_seconds{{{l},quantile=\"{q}\"}} {}",
                float(v)
            );
        }
        let _ = writeln!(
            out,
            "swarm_response_time_seconds_sum{{{l}}} {}",
            float(e.total_us as f64 / 1e6)
        );
        let _ = writeln!(
            out,
            "swarm_response_time_seconds_count{{{l}}} {}",
            e.requests
        );
    }
    out.push_str("# HELP swarm_users Users running.\n");
    out.push_str("# TYPE swarm_users gauge\n");
    let _ = writeln!(out, "swarm_users {users}");
    out.push_str("# HELP swarm_user_type_users Users running, per user type.\n");
    out.push_str("# TYPE swarm_user_type_users gauge\n");
    for (t, n) in user_counts {
        let _ = writeln!(
            out,
            "swarm_user_type_users{{user_type=\"{}\"}} {n}",
            label(t)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
