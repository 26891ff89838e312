//! `GET /stats/requests` and `GET /exceptions` in Locust's JSON shape (its `web.py` and
//! `StatsEntry.to_dict`): field names, rounding and Locust's bucketed percentiles.

use serde_json::{json, Map, Value};
use swarm_core::{locust_bucket_ms, EntrySnapshot, Snapshot};

use crate::control::Current;

/// Locust shows at most this many rows and errors (the page slows down beyond).
const MAX_ROWS: usize = 500;

/// A latency in ms, bucketed as Locust's `bucket_response_time`; 0 with no requests.
fn bucketed(ms: Option<f64>) -> u64 {
    ms.map_or(0, |v| locust_bucket_ms((v * 1000.0).round() as u64))
}

pub(crate) fn per_sec(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

pub(crate) fn entry(e: &EntrySnapshot, duration: f64, current: (f64, f64)) -> Value {
    let none = e.requests == 0;
    let min_ms = e.min_us as f64 / 1000.0;
    let max_ms = e.max_us as f64 / 1000.0;
    let mut m = Map::new();
    m.insert("method".into(), json!(e.kind));
    m.insert("name".into(), json!(e.name));
    m.insert("num_requests".into(), json!(e.requests));
    m.insert("num_failures".into(), json!(e.failures));
    m.insert(
        "min_response_time".into(),
        json!(if none { 0 } else { min_ms.round() as u64 }),
    );
    m.insert(
        "max_response_time".into(),
        json!(if none { 0 } else { max_ms.round() as u64 }),
    );
    m.insert("current_rps".into(), json!(current.0));
    m.insert("current_fail_per_sec".into(), json!(current.1));
    m.insert("avg_response_time".into(), json!(e.avg_ms()));
    m.insert(
        "median_response_time".into(),
        json!(bucketed(e.percentile_ms(0.5))),
    );
    m.insert("total_rps".into(), json!(per_sec(e.requests, duration)));
    m.insert(
        "total_fail_per_sec".into(),
        json!(per_sec(e.failures, duration)),
    );
    for q in [0.95, 0.99] {
        m.insert(
            format!("response_time_percentile_{q}"),
            json!(bucketed(e.percentile_ms(q))),
        );
    }
    m.insert("avg_content_length".into(), json!(e.avg_bytes()));
    Value::Object(m)
}

/// The answer of `GET /stats/requests`: Locust's fields, then Swarm's own
/// (`target_user_count`, `user_counts`, `host`, `last_error`).
pub(crate) fn stats_requests(cur: &Current) -> Value {
    let snap = &cur.snapshot;
    let d = snap.duration_secs;
    let rates = |kind: &str, name: &str| {
        cur.current
            .get(&(kind.to_owned(), name.to_owned()))
            .copied()
            .unwrap_or((0.0, 0.0))
    };
    let mut entries: Vec<&EntrySnapshot> = snap.entries.iter().collect();
    entries.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    let mut stats: Vec<Value> = entries
        .iter()
        .take(MAX_ROWS)
        .map(|e| entry(e, d, rates(&e.kind, &e.name)))
        .collect();
    let total = snap.aggregated();
    let total_rates = rates("", "Aggregated");
    stats.push(entry(&total, d, total_rates));
    let errors = errors(snap);
    let (p50, p95) = cur
        .last_point
        .as_ref()
        .map_or((None, None), |p| (p.p50_ms, p.p95_ms));
    json!({
        "stats": stats,
        "errors": errors,
        "current_rps": total_rates.0,
        "current_fail_per_sec": total_rates.1,
        "total_rps": per_sec(total.requests, d),
        "total_fail_per_sec": per_sec(total.failures, d),
        "fail_ratio": total.fail_ratio(),
        "current_response_time_percentiles": {
            // Bucketed whole milliseconds, as Locust's.
            "response_time_percentile_0.5": p50.map_or(0, |v| v as u64),
            "response_time_percentile_0.95": p95.map_or(0, |v| v as u64),
        },
        "state": cur.state,
        "user_count": cur.users,
        "target_user_count": cur.target_users,
        "user_counts": cur.user_counts,
        "host": cur.host,
        "last_error": cur.last_error,
    })
}

/// The `errors` of `GET /stats/requests`.
pub(crate) fn errors(snap: &Snapshot) -> Vec<Value> {
    snap.errors
        .iter()
        .take(MAX_ROWS)
        .map(|e| {
            json!({
                "method": e.kind,
                "name": e.name,
                "error": e.message,
                "occurrences": e.occurrences,
                "first_seen": e.first_seen,
                "last_seen": e.last_seen,
            })
        })
        .collect()
}

/// The `stats` rows of a snapshot, sorted, the `Aggregated` row last, with no
/// "current" rates (0).
pub(crate) fn rows(snap: &Snapshot) -> Vec<Value> {
    let mut entries: Vec<&EntrySnapshot> = snap.entries.iter().collect();
    entries.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    let d = snap.duration_secs;
    let mut stats: Vec<Value> = entries
        .iter()
        .take(MAX_ROWS)
        .map(|e| entry(e, d, (0.0, 0.0)))
        .collect();
    stats.push(entry(&snap.aggregated(), d, (0.0, 0.0)));
    stats
}

/// The answer of `GET /exceptions`.
pub(crate) fn exceptions(snap: &Snapshot) -> Value {
    let rows: Vec<Value> = snap
        .exceptions
        .iter()
        .map(|e| {
            json!({
                "count": e.count,
                "msg": e.message,
                "traceback": e.traceback,
                "nodes": "local",
            })
        })
        .collect();
    json!({ "exceptions": rows })
}
