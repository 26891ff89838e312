//! The JSON report. Its schema is versioned: see `docs/report-json.md`.

use serde_json::{json, Map, Value};

use super::Report;
use crate::stats::{EntrySnapshot, PERCENTILES};

/// The schema identifier written in every JSON report. A change that removes or
/// renames a field bumps its number.
pub const JSON_SCHEMA: &str = "swarm-report/1";

fn percentile_key(q: f64) -> String {
    let s = format!("{:.4}", q * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("p{s}")
}

fn entry_json(e: &EntrySnapshot, duration: f64) -> Value {
    let mut pct = Map::new();
    for q in PERCENTILES {
        pct.insert(
            percentile_key(q),
            e.percentile_ms(q).map_or(Value::Null, Value::from),
        );
    }
    let rate = |n: u64| {
        if duration > 0.0 {
            n as f64 / duration
        } else {
            0.0
        }
    };
    let corrected = e.corrected.as_ref().map(|_| {
        PERCENTILES
            .iter()
            .map(|q| {
                (
                    percentile_key(*q),
                    e.corrected_percentile_ms(*q)
                        .map_or(Value::Null, Value::from),
                )
            })
            .collect::<Map<_, _>>()
    });
    json!({
        "kind": e.kind,
        "name": e.name,
        "requests": e.requests,
        "failures": e.failures,
        "fail_ratio": e.fail_ratio(),
        "rps": rate(e.requests),
        "failures_per_sec": rate(e.failures),
        "avg_ms": e.avg_ms(),
        "min_ms": e.min_us as f64 / 1000.0,
        "max_ms": e.max_us as f64 / 1000.0,
        "bytes": e.bytes,
        "avg_bytes": e.avg_bytes(),
        "percentiles_ms": pct,
        "corrected_percentiles_ms": corrected,
        "codes": e.codes,
    })
}

pub(crate) fn to_json(report: &Report) -> Value {
    let snap = &report.snapshot;
    let d = snap.duration_secs;
    json!({
        "schema": JSON_SCHEMA,
        "swarm_version": env!("CARGO_PKG_VERSION"),
        "started_at": snap.start_unix_secs,
        "duration_secs": d,
        "stop_reason": report.reason,
        "passed": report.passed(),
        "exit_code": report.exit_code(),
        "run": report.info,
        "thresholds": report.thresholds,
        "hook_errors": report.hook_errors,
        "exhausted_feeders": report.exhausted_feeders,
        "baseline": report.comparison,
        "total": entry_json(&snap.aggregated(), d),
        "entries": snap.entries.iter().map(|e| entry_json(e, d)).collect::<Vec<_>>(),
        "codes_by_kind": snap.codes_by_kind(),
        "errors": snap.errors,
        "exceptions": snap.exceptions,
        "history": snap.history,
        "schedule": snap.schedule.as_ref().map(|s| json!({
            "iterations": s.iterations,
            "dropped": s.dropped,
            "lateness": entry_json(&s.lateness, d),
        })),
        "snapshot": snap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_keys() {
        let keys: Vec<_> = PERCENTILES.iter().map(|q| percentile_key(*q)).collect();
        assert_eq!(
            keys,
            ["p50", "p66", "p75", "p80", "p90", "p95", "p98", "p99", "p99.9", "p99.99", "p100"]
        );
    }
}
