//! The console: a live one-line progress while running and Locust's tables at the end.

use std::fmt::Write as _;
use std::time::Duration;

use super::locust_fmt::bucket_ms;
use super::Report;
use crate::runner::Progress;
use crate::stats::{EntrySnapshot, PERCENTILES};

const NAME_WIDTH: usize = 60;

pub(super) fn name_cell(kind: &str, name: &str) -> String {
    let mut n = format!("{kind:<8} {name}");
    if n.chars().count() > NAME_WIDTH + 9 {
        n = n.chars().take(NAME_WIDTH + 6).collect::<String>() + "...";
    }
    n
}

/// Milliseconds with three decimals (sub-millisecond lateness matters).
fn fmt_ms(x: Option<f64>) -> String {
    x.map_or_else(|| "N/A".to_owned(), |v| format!("{v:.3}"))
}

fn ms(x: Option<f64>) -> String {
    x.map_or_else(|| "N/A".to_owned(), console_ms)
}

/// Milliseconds as Locust buckets them, except that a positive time that would read `0`
/// (sub-millisecond: the histograms hold microseconds) keeps two decimals, or three below
/// 0.1 ms (`0.42`, `0.007`). The console only: the CSV keeps Locust's format.
fn console_ms(v: f64) -> String {
    let bucketed = bucket_ms(v);
    if bucketed != 0 || v <= 0.0 {
        bucketed.to_string()
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else if v >= 0.001 {
        format!("{v:.3}")
    } else {
        "<0.001".to_owned()
    }
}

fn stats_line(out: &mut String, e: &EntrySnapshot, kind: &str, secs: f64) {
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let fails = format!("{}({:.2}%)", e.failures, e.fail_ratio() * 100.0);
    let _ = writeln!(
        out,
        "{:<70} {:>8} {:>13} | {:>7} {:>7} {:>7} {:>7} | {:>8.2} {:>11.2}",
        name_cell(kind, &e.name),
        e.requests,
        fails,
        if e.requests == 0 {
            "0".to_owned()
        } else {
            console_ms(e.avg_ms())
        },
        if e.requests == 0 {
            "0".to_owned()
        } else {
            console_ms(e.min_us as f64 / 1000.0)
        },
        console_ms(e.max_us as f64 / 1000.0),
        ms(e.percentile_ms(0.5)),
        rate(e.requests),
        rate(e.failures),
    );
}

/// The final summary: stats table, percentiles, errors and exceptions.
pub(crate) fn summary(report: &Report) -> String {
    let snap = &report.snapshot;
    let secs = snap.duration_secs;
    let total = snap.aggregated();
    let sep = format!("{}\n", "-".repeat(70 + 9 + 14 + 34 + 22));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<70} {:>8} {:>13} | {:>7} {:>7} {:>7} {:>7} | {:>8} {:>11}",
        "Type     Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s"
    );
    out.push_str(&sep);
    let mut entries: Vec<&EntrySnapshot> = snap.entries.iter().collect();
    entries.sort_by(|a, b| (&a.name, &a.kind).cmp(&(&b.name, &b.kind)));
    for e in &entries {
        stats_line(&mut out, e, &e.kind, secs);
    }
    out.push_str(&sep);
    stats_line(&mut out, &total, "", secs);

    out.push_str("\nResponse time percentiles (approximated, ms)\n");
    let mut header = format!("{:<70}", "Type     Name");
    for q in PERCENTILES {
        let label = format!("{}%", (q * 100.0 * 100.0).round() / 100.0);
        let _ = write!(header, " {label:>7}");
    }
    let _ = writeln!(header, " {:>8}", "# reqs");
    out.push_str(&header);
    out.push_str(&sep);
    let pct_line = |out: &mut String, e: &EntrySnapshot, kind: &str| {
        let mut line = format!("{:<70}", name_cell(kind, &e.name));
        for q in PERCENTILES {
            let _ = write!(line, " {:>7}", ms(e.percentile_ms(q)));
        }
        let _ = writeln!(line, " {:>8}", e.requests);
        out.push_str(&line);
    };
    for e in &entries {
        pct_line(&mut out, e, &e.kind);
    }
    out.push_str(&sep);
    pct_line(&mut out, &total, "");

    if let Some(sched) = &snap.schedule {
        let late = &sched.lateness;
        let _ = writeln!(
            out,
            "\nOpen model: {} iterations started, {} dropped (pool exhausted); start lateness p50 {} ms, p99 {} ms, max {} ms",
            sched.iterations,
            sched.dropped,
            fmt_ms(late.percentile_ms(0.5)),
            fmt_ms(late.percentile_ms(0.99)),
            fmt_ms(late.percentile_ms(1.0)),
        );
        out.push_str(
            "Latency from the scheduled start (corrected for coordinated omission, ms); the tables above are service time\n",
        );
        let mut header = format!("{:<70}", "Type     Name");
        for q in PERCENTILES {
            let label = format!("{}%", (q * 100.0 * 100.0).round() / 100.0);
            let _ = write!(header, " {label:>7}");
        }
        header.push('\n');
        out.push_str(&header);
        out.push_str(&sep);
        for e in entries.iter().filter(|e| e.corrected.is_some()) {
            let mut line = format!("{:<70}", name_cell(&e.kind, &e.name));
            for q in PERCENTILES {
                let _ = write!(line, " {:>7}", ms(e.corrected_percentile_ms(q)));
            }
            line.push('\n');
            out.push_str(&line);
        }
        out.push_str(&sep);
    }
    let codes = snap.codes_by_kind();
    if !codes.is_empty() {
        out.push_str("\nCodes (responses per outcome code)\n");
        out.push_str(&sep);
        for (kind, by_code) in &codes {
            let mut line = format!("{kind:<12}");
            for (code, n) in by_code {
                let _ = write!(line, "  {code}: {n}");
            }
            line.push('\n');
            out.push_str(&line);
        }
        out.push_str(&sep);
    }
    if !snap.errors.is_empty() {
        out.push_str("\nError report\n");
        let _ = writeln!(out, "{:>13}  Error", "# occurrences");
        out.push_str(&sep);
        let mut errors: Vec<_> = snap.errors.iter().collect();
        errors.sort_by_key(|e| std::cmp::Reverse(e.occurrences));
        for e in errors {
            let _ = writeln!(
                out,
                "{:>13}  {} {}: {}",
                e.occurrences, e.kind, e.name, e.message
            );
        }
        out.push_str(&sep);
    }
    if !snap.exceptions.is_empty() {
        out.push_str("\nExceptions\n");
        let _ = writeln!(out, "{:>13}  Message (where)", "# count");
        out.push_str(&sep);
        for e in &snap.exceptions {
            let _ = writeln!(out, "{:>13}  {} ({})", e.count, e.message, e.traceback);
        }
        out.push_str(&sep);
    }
    for e in &report.hook_errors {
        let _ = writeln!(out, "\nerror: {e}");
    }
    if let Some(cmp) = &report.comparison {
        out.push_str(&super::baseline::console_text(cmp, &sep));
    }
    if !report.thresholds.is_empty() {
        out.push_str("\nThresholds\n");
        out.push_str(&sep);
        for t in &report.thresholds {
            let _ = writeln!(out, "{t}");
        }
        out.push_str(&sep);
    }
    let _ = writeln!(
        out,
        "\n{} requests, {} failures in {:.1}s ({:.1} req/s); ended: {}",
        total.requests,
        total.failures,
        secs,
        snap.total_rps(),
        report.reason
    );
    if !report.exhausted_feeders.is_empty() {
        let _ = writeln!(
            out,
            "feeders out of rows: {}",
            report.exhausted_feeders.join(", ")
        );
    }
    out
}

/// The live one-line progress.
pub(crate) fn progress_line(p: &Progress<'_>) -> String {
    let r = p.row;
    format!(
        "[{:>6}] users {}/{} | {:.1} req/s | {:.1} fail/s | p50 {} ms | p95 {} ms | total {} req, {} fail",
        fmt_elapsed(p.elapsed),
        p.users,
        p.target_users,
        r.rps,
        r.fails_per_sec,
        ms(r.p50_ms()),
        ms(r.p95_ms()),
        r.total_requests,
        r.total_failures,
    )
}

fn fmt_elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::console_ms;

    #[test]
    fn sub_millisecond_times_keep_decimals_where_they_would_read_zero() {
        assert_eq!(console_ms(0.0), "0");
        assert_eq!(console_ms(0.42), "0.42");
        assert_eq!(console_ms(0.007), "0.007");
        assert_eq!(console_ms(0.0004), "<0.001");
        // From half a millisecond on, Locust's buckets as before.
        assert_eq!(console_ms(0.6), "1");
        assert_eq!(console_ms(12.4), "12");
        assert_eq!(console_ms(1234.0), "1200");
    }
}
