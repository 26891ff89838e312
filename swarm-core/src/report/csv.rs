//! Locust-compatible CSV files: `_stats.csv`, `_stats_history.csv`, `_failures.csv`,
//! `_exceptions.csv`, with Locust's header rows and number formats.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::locust_fmt::{csv_field, median_cell, percentile_cell, py_float};
use crate::error::ReportError;
use crate::stats::{EntrySnapshot, Snapshot, PERCENTILES};

const PERCENTILE_HEADERS: &str = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

fn stats_header() -> String {
    format!(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{PERCENTILE_HEADERS}"
    )
}

fn history_header() -> String {
    format!(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PERCENTILE_HEADERS},\
         Total Request Count,Total Failure Count,Total Median Response Time,\
         Total Average Response Time,Total Min Response Time,Total Max Response Time,\
         Total Average Content Size"
    )
}

const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// A float column that Locust writes as the int `0` when there is no request.
fn float_or_zero(requests: u64, x: f64) -> String {
    if requests == 0 {
        "0".to_owned()
    } else {
        py_float(x)
    }
}

fn stats_row(out: &mut String, e: &EntrySnapshot, duration_secs: f64) {
    let min_ms = e.min_us as f64 / 1000.0;
    let max_ms = e.max_us as f64 / 1000.0;
    let per_sec = |n: u64| {
        if duration_secs > 0.0 {
            n as f64 / duration_secs
        } else {
            0.0
        }
    };
    let _ = write!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{}",
        csv_field(&e.kind),
        csv_field(&e.name),
        e.requests,
        e.failures,
        median_cell(e.percentile_ms(0.5), min_ms, max_ms),
        py_float(e.avg_ms()),
        float_or_zero(e.requests, min_ms),
        float_or_zero(e.requests, max_ms),
        float_or_zero(e.requests, e.avg_bytes()),
        py_float(per_sec(e.requests)),
        py_float(per_sec(e.failures)),
    );
    for q in PERCENTILES {
        out.push(',');
        out.push_str(&percentile_cell(e.percentile_ms(q)));
    }
    out.push_str("\r\n");
}

/// The text of `_stats.csv`: entries sorted by (name, kind), then `Aggregated`.
pub(crate) fn stats_csv(snap: &Snapshot) -> String {
    let mut out = stats_header();
    out.push_str("\r\n");
    let mut entries: Vec<&EntrySnapshot> = snap.entries.iter().collect();
    entries.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    for e in entries {
        stats_row(&mut out, e, snap.duration_secs);
    }
    stats_row(&mut out, &snap.aggregated(), snap.duration_secs);
    out
}

/// The text of `_stats_history.csv`: one `Aggregated` row per second.
pub(crate) fn history_csv(snap: &Snapshot) -> String {
    let mut out = history_header();
    out.push_str("\r\n");
    for r in &snap.history {
        let _ = write!(
            out,
            "{},{},,Aggregated,{:.6},{:.6}",
            r.timestamp, r.users, r.rps, r.fails_per_sec
        );
        for p in &r.percentiles_ms {
            out.push(',');
            out.push_str(&percentile_cell(*p));
        }
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{}\r\n",
            r.total_requests,
            r.total_failures,
            median_cell(r.total_median_ms, r.total_min_ms, r.total_max_ms),
            py_float(r.total_avg_ms),
            float_or_zero(r.total_requests, r.total_min_ms),
            float_or_zero(r.total_requests, r.total_max_ms),
            float_or_zero(r.total_requests, r.total_avg_bytes),
        );
    }
    out
}

fn utc(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// The text of `_failures.csv`, most frequent first.
pub(crate) fn failures_csv(snap: &Snapshot) -> String {
    let mut out = format!("{FAILURES_HEADER}\r\n");
    let mut errors: Vec<_> = snap.errors.iter().collect();
    errors.sort_by_key(|e| std::cmp::Reverse(e.occurrences));
    for e in errors {
        let _ = write!(
            out,
            "{},{},{},{},{},{}\r\n",
            csv_field(&e.kind),
            csv_field(&e.name),
            csv_field(&e.message),
            e.occurrences,
            utc(e.first_seen),
            utc(e.last_seen)
        );
    }
    out
}

/// The text of `_exceptions.csv`, most frequent first.
pub(crate) fn exceptions_csv(snap: &Snapshot) -> String {
    let mut out = format!("{EXCEPTIONS_HEADER}\r\n");
    let mut ex: Vec<_> = snap.exceptions.iter().collect();
    ex.sort_by_key(|e| std::cmp::Reverse(e.count));
    for e in ex {
        let _ = write!(
            out,
            "{},{},{},local\r\n",
            e.count,
            csv_field(&e.message),
            csv_field(&e.traceback)
        );
    }
    out
}

/// The four files for `prefix`, as Locust names them.
pub(crate) fn paths(prefix: &Path) -> [PathBuf; 4] {
    let p = prefix.as_os_str().to_string_lossy();
    [
        PathBuf::from(format!("{p}_stats.csv")),
        PathBuf::from(format!("{p}_stats_history.csv")),
        PathBuf::from(format!("{p}_failures.csv")),
        PathBuf::from(format!("{p}_exceptions.csv")),
    ]
}

/// Write the four files, each completely or not at all (write then rename).
pub(crate) fn write(prefix: &Path, snap: &Snapshot) -> Result<Vec<PathBuf>, ReportError> {
    let [stats, history, failures, exceptions] = paths(prefix);
    let files = [
        (stats, stats_csv(snap)),
        (history, history_csv(snap)),
        (failures, failures_csv(snap)),
        (exceptions, exceptions_csv(snap)),
    ];
    let mut written = Vec::new();
    for (path, text) in files {
        super::write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_locusts() {
        assert_eq!(
            stats_header(),
            "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
        );
        assert_eq!(
            history_header(),
            "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
        );
    }

    #[test]
    fn empty_run_matches_locusts_empty_row() {
        let snap = Snapshot::empty();
        let text = stats_csv(&snap);
        let last = text.lines().last().unwrap();
        assert_eq!(
            last,
            ",Aggregated,0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A"
        );
        assert!(text.ends_with("\r\n"));
    }
}
