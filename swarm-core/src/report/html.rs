//! The HTML report (`--html PATH`): one self-contained file, CSS and SVG charts inline, no
//! script. Its Content-Security-Policy forbids every network request, so it opens the
//! same way offline, from a CI artifact or an e-mail.

use std::fmt::Write as _;

use super::baseline::{fmt_change, Comparison, EntryChange};
use super::junit::escape;
use super::svg::{line_chart, Series};
use super::Report;
use crate::stats::{EntrySnapshot, Snapshot, PERCENTILES};

const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}\
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}\
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d9de;padding-bottom:4px}\
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600;color:#fff}\
.pass{background:#2e7d32}.fail{background:#c62828}\
table{border-collapse:collapse;width:100%;background:#fff;font-variant-numeric:tabular-nums}\
th,td{border:1px solid #e0e3e7;padding:4px 8px;text-align:right;white-space:nowrap}\
th{background:#eef0f3}td.name,th.name{text-align:left;white-space:normal;word-break:break-all}\
tr.total td{font-weight:600;background:#f3f5f8}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{color:#5b6570}dd{margin:0}\
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}\
.card{background:#fff;border:1px solid #e0e3e7;border-radius:6px;padding:8px 14px;min-width:120px}\
.card b{display:block;font-size:20px}\
svg.chart{width:100%;height:auto;background:#fff;border:1px solid #e0e3e7;margin:6px 0}\
svg .grid{stroke:#e6e8eb}svg .tick,svg .legend{font-size:11px;fill:#5b6570}svg .title{font-size:13px;font-weight:600}\
.worse{color:#c62828}.better{color:#2e7d32}.note{color:#5b6570}";

/// The whole document.
pub(crate) fn to_html(report: &Report) -> String {
    let snap = &report.snapshot;
    let mut out = String::with_capacity(64 * 1024);
    let title = format!(
        "Swarm report: {}",
        report.info.host.as_deref().unwrap_or("(no host)")
    );
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"swarm {}\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&title)
    );
    let passed = report.passed();
    let outcome = if report.in_progress {
        "the run goes on: these are its numbers so far".to_owned()
    } else {
        let mut s = format!("exit code {}; ended: {}", report.exit_code(), report.reason);
        if !report.exhausted_feeders.is_empty() {
            s.push_str("; feeders out of rows: ");
            s.push_str(&report.exhausted_feeders.join(", "));
        }
        s
    };
    let _ = writeln!(
        out,
        "<h1>{}</h1><p><span id=\"verdict\" class=\"verdict {}\">{}{}</span> {}</p>",
        escape(&title),
        if passed { "pass" } else { "fail" },
        if passed { "PASSED" } else { "FAILED" },
        if report.in_progress { " so far" } else { "" },
        escape(&outcome)
    );
    cards(&mut out, snap);
    settings(&mut out, report);
    charts(&mut out, snap);
    if !report.thresholds.is_empty() {
        thresholds(&mut out, report);
    }
    if let Some(cmp) = &report.comparison {
        comparison(&mut out, cmp);
    }
    stats_table(&mut out, snap);
    percentile_table(&mut out, snap);
    codes(&mut out, snap);
    failures(&mut out, report);
    out.push_str("</main></body></html>\n");
    out
}

fn cards(out: &mut String, snap: &Snapshot) {
    let total = snap.aggregated();
    let ms = |q| total.percentile_ms(q).map_or("N/A".to_owned(), fmt_ms);
    let cards = [
        ("Requests", total.requests.to_string()),
        (
            "Failures",
            format!("{} ({:.2}%)", total.failures, total.fail_ratio() * 100.0),
        ),
        ("Requests/s", format!("{:.1}", snap.total_rps())),
        ("p50", ms(0.5)),
        ("p95", ms(0.95)),
        ("p99", ms(0.99)),
        ("Duration", format!("{:.1} s", snap.duration_secs)),
    ];
    out.push_str("<div class=\"cards\" id=\"summary\">");
    for (label, value) in cards {
        let _ = write!(
            out,
            "<div class=\"card\">{label}<b>{}</b></div>",
            escape(&value)
        );
    }
    out.push_str("</div>\n");
}

fn settings(out: &mut String, report: &Report) {
    let i = &report.info;
    out.push_str("<h2>Run settings</h2><dl id=\"settings\">");
    let started = super::junit::timestamp(report.snapshot.start_unix_secs);
    let rows = [
        ("Host", i.host.clone().unwrap_or_default()),
        ("Started (UTC)", started),
        ("Users", i.users.to_string()),
        ("Spawn rate", format!("{}/s", i.spawn_rate)),
        (
            "Run time",
            i.run_time_secs
                .map_or("until stopped".to_owned(), |s| format!("{s} s")),
        ),
        ("User types", i.user_types.join(", ")),
        ("Seed", i.seed.to_string()),
        ("Run id", i.run_id.clone()),
    ];
    for (k, v) in rows {
        let _ = write!(out, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    out.push_str("</dl>\n");
}

fn charts(out: &mut String, snap: &Snapshot) {
    out.push_str("<h2>Over time</h2>\n");
    let start = snap.history.first().map_or(0, |r| r.timestamp);
    let t = |ts: u64| ts.saturating_sub(start) as f64;
    let rows = &snap.history;
    let points = |f: &dyn Fn(&crate::stats::HistoryRow) -> Option<f64>| {
        rows.iter()
            .map(|r| (t(r.timestamp), f(r)))
            .collect::<Vec<_>>()
    };
    out.push_str(&line_chart(
        "rps",
        "Requests per second",
        "req/s",
        &[
            Series {
                name: "requests/s",
                color: "#1f77b4",
                points: points(&|r| Some(r.rps)),
            },
            Series {
                name: "failures/s",
                color: "#d62728",
                points: points(&|r| Some(r.fails_per_sec)),
            },
        ],
    ));
    out.push_str(&line_chart(
        "latency",
        "Response time percentiles (last 10 s)",
        "ms",
        &[
            Series {
                name: "p50",
                color: "#2ca02c",
                points: points(&|r| r.p50_ms()),
            },
            Series {
                name: "p95",
                color: "#ff7f0e",
                points: points(&|r| r.p95_ms()),
            },
        ],
    ));
    out.push_str(&line_chart(
        "users",
        "Users",
        "users",
        &[Series {
            name: "users",
            color: "#9467bd",
            points: points(&|r| Some(f64::from(r.users))),
        }],
    ));
    out.push('\n');
}

fn thresholds(out: &mut String, report: &Report) {
    out.push_str(
        "<h2>Thresholds</h2><table id=\"thresholds\"><tr><th>Verdict</th><th class=\"name\">Threshold</th><th class=\"name\">Measured</th></tr>",
    );
    for t in &report.thresholds {
        let _ = write!(
            out,
            "<tr><td class=\"{}\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td></tr>",
            if t.passed { "better" } else { "worse" },
            if t.passed { "PASS" } else { "FAIL" },
            escape(&t.expr),
            escape(&t.message)
        );
    }
    out.push_str("</table>\n");
}

fn comparison(out: &mut String, cmp: &Comparison) {
    let _ = write!(
        out,
        "<h2>Against the baseline</h2><p class=\"note\">{} (started {} UTC); each value now, and its change</p>\
         <table id=\"baseline\"><tr><th class=\"name\">Type</th><th class=\"name\">Name</th>\
         <th>req/s</th><th>fail %</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>",
        escape(&cmp.path),
        super::junit::timestamp(cmp.started_at)
    );
    let row = |out: &mut String, e: &EntryChange, class: &str| {
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td class=\"name\">{}</td><td class=\"name\">{}</td>",
            escape(&e.kind),
            escape(&e.name)
        );
        // For rates, more is better; for failures and latencies, less is.
        for (c, more_is_better, scale) in [
            (&e.rps, true, 1.0),
            (&e.fail_ratio, false, 100.0),
            (&e.p50_ms, false, 1.0),
            (&e.p95_ms, false, 1.0),
            (&e.p99_ms, false, 1.0),
        ] {
            let class = match c.change {
                Some(x) if x.abs() >= 0.05 && (x > 0.0) == more_is_better => "better",
                Some(x) if x.abs() >= 0.05 => "worse",
                _ => "",
            };
            let now = c
                .current
                .map_or("N/A".to_owned(), |v| format!("{:.2}", v * scale));
            let _ = write!(
                out,
                "<td class=\"{class}\">{now} ({})</td>",
                escape(&fmt_change(c))
            );
        }
        out.push_str("</tr>");
    };
    for e in &cmp.entries {
        row(out, e, "");
    }
    row(out, &cmp.total, "total");
    out.push_str("</table>\n");
    if let Some(note) = cmp.note() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&note));
    }
    for (label, list) in [
        ("New since the baseline", &cmp.only_current),
        ("In the baseline only", &cmp.only_baseline),
    ] {
        if !list.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"note\">{label}: {}</p>",
                escape(&list.join(", "))
            );
        }
    }
}

fn stats_table(out: &mut String, snap: &Snapshot) {
    out.push_str(
        "<h2>Statistics</h2><table id=\"stats\"><tr><th class=\"name\">Type</th><th class=\"name\">Name</th>\
         <th># requests</th><th># failures</th><th>Avg ms</th><th>Min ms</th><th>Max ms</th>\
         <th>Median ms</th><th>Avg size (bytes)</th><th>req/s</th><th>failures/s</th></tr>",
    );
    let secs = snap.duration_secs;
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let row = |out: &mut String, e: &EntrySnapshot, class: &str| {
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            escape(&e.kind),
            escape(&e.name),
            e.requests,
            e.failures,
            fmt_ms(e.avg_ms()),
            fmt_ms(e.min_us as f64 / 1000.0),
            fmt_ms(e.max_us as f64 / 1000.0),
            e.percentile_ms(0.5).map_or("N/A".to_owned(), fmt_ms),
            e.avg_bytes(),
            rate(e.requests),
            rate(e.failures),
        );
    };
    for e in &snap.entries {
        row(out, e, "");
    }
    row(out, &snap.aggregated(), "total");
    out.push_str("</table>\n");
}

fn percentile_table(out: &mut String, snap: &Snapshot) {
    out.push_str("<h2>Response time percentiles (ms)</h2><table id=\"percentiles\"><tr><th class=\"name\">Type</th><th class=\"name\">Name</th>");
    for q in PERCENTILES {
        let _ = write!(out, "<th>{}%</th>", (q * 100.0 * 100.0).round() / 100.0);
    }
    out.push_str("</tr>");
    let row = |out: &mut String, e: &EntrySnapshot, class: &str| {
        let _ = write!(
            out,
            "<tr class=\"{class}\"><td class=\"name\">{}</td><td class=\"name\">{}</td>",
            escape(&e.kind),
            escape(&e.name)
        );
        for q in PERCENTILES {
            let _ = write!(
                out,
                "<td>{}</td>",
                e.percentile_ms(q).map_or("N/A".to_owned(), fmt_ms)
            );
        }
        out.push_str("</tr>");
    };
    for e in &snap.entries {
        row(out, e, "");
    }
    row(out, &snap.aggregated(), "total");
    out.push_str("</table>\n");
}

fn codes(out: &mut String, snap: &Snapshot) {
    let codes = snap.codes_by_kind();
    if codes.is_empty() {
        return;
    }
    out.push_str("<h2>Codes</h2><table id=\"codes\"><tr><th class=\"name\">Type</th><th class=\"name\">Code</th><th>Responses</th></tr>");
    for (kind, by_code) in &codes {
        for (code, n) in by_code {
            let _ = write!(
                out,
                "<tr><td class=\"name\">{}</td><td class=\"name\">{}</td><td>{n}</td></tr>",
                escape(kind),
                escape(code)
            );
        }
    }
    out.push_str("</table>\n");
}

fn failures(out: &mut String, report: &Report) {
    let snap = &report.snapshot;
    if !snap.errors.is_empty() {
        out.push_str("<h2>Failures</h2><table id=\"failures\"><tr><th># occurrences</th><th class=\"name\">Type</th><th class=\"name\">Name</th><th class=\"name\">Error</th></tr>");
        let mut errors: Vec<_> = snap.errors.iter().collect();
        errors.sort_by_key(|e| std::cmp::Reverse(e.occurrences));
        for e in errors {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td></tr>",
                e.occurrences,
                escape(&e.kind),
                escape(&e.name),
                escape(&e.message)
            );
        }
        out.push_str("</table>\n");
    }
    if !snap.exceptions.is_empty() {
        out.push_str("<h2>Exceptions</h2><table id=\"exceptions\"><tr><th># count</th><th class=\"name\">Message</th><th class=\"name\">Where</th></tr>");
        for e in &snap.exceptions {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"name\">{}</td><td class=\"name\">{}</td></tr>",
                e.count,
                escape(&e.message),
                escape(&e.traceback)
            );
        }
        out.push_str("</table>\n");
    }
    for e in &report.hook_errors {
        let _ = writeln!(out, "<p class=\"worse\">{}</p>", escape(e));
    }
}

/// Milliseconds for people: two decimals below 10 ms, one below 100, none above.
fn fmt_ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}
