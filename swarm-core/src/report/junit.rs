//! The JUnit XML report (`--junit PATH`), for CI systems that show test results.
//!
//! One `<testsuites>` with up to three suites: `swarm.thresholds` (a test case per
//! threshold, failed when it does not hold), `swarm.entries` (a test case per entry that
//! had failures: a `<failure>` when failures decide the run, that is with no threshold,
//! otherwise a passing case whose `<system-out>` says how many failed) and `swarm.hooks`
//! (a failed case per `test_stop` hook that failed).
//!
//! It validates against the JUnit schema CI systems read (the Jenkins xunit plugin's
//! `junit-10.xsd`): the start time is on each `<testsuite>`, the only element of that
//! schema with a `timestamp`.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use super::Report;
use crate::stats::EntrySnapshot;

/// One test case.
struct Case {
    name: String,
    /// `(message, body)` of its `<failure>`.
    failure: Option<(String, String)>,
    out: Option<String>,
}

/// The XML text.
pub(crate) fn to_xml(report: &Report) -> String {
    let snap = &report.snapshot;
    let secs = snap.duration_secs.max(0.0);
    let stamp = timestamp(snap.start_unix_secs);

    let thresholds: Vec<Case> = report
        .thresholds
        .iter()
        .map(|t| Case {
            name: t.expr.clone(),
            failure: (!t.passed)
                .then(|| (format!("threshold failed: {}", t.message), t.to_string())),
            out: Some(t.to_string()),
        })
        .collect();
    let failures_decide = report.thresholds.is_empty();
    let entries: Vec<Case> = snap
        .entries
        .iter()
        .filter(|e| e.failures > 0)
        .map(|e| entry_case(report, e, failures_decide))
        .collect();
    let hooks: Vec<Case> = report
        .hook_errors
        .iter()
        .map(|h| Case {
            name: h.split(" failed").next().unwrap_or(h).to_owned(),
            failure: Some((h.clone(), h.clone())),
            out: None,
        })
        .collect();

    let suites = [
        ("swarm.thresholds", thresholds),
        ("swarm.entries", entries),
        ("swarm.hooks", hooks),
    ];
    let tests: usize = suites.iter().map(|(_, c)| c.len()).sum();
    let failed: usize = suites
        .iter()
        .map(|(_, c)| c.iter().filter(|c| c.failure.is_some()).count())
        .sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"swarm\" tests=\"{tests}\" failures=\"{failed}\" errors=\"0\" time=\"{secs:.3}\">"
    );
    for (name, cases) in suites.iter().filter(|(_, c)| !c.is_empty()) {
        let failed = cases.iter().filter(|c| c.failure.is_some()).count();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"{secs:.3}\" timestamp=\"{stamp}\">",
            cases.len()
        );
        for case in cases {
            let _ = write!(
                xml,
                "    <testcase name=\"{}\" classname=\"{name}\" time=\"{secs:.3}\"",
                escape(&case.name)
            );
            if case.failure.is_none() && case.out.is_none() {
                xml.push_str("/>\n");
                continue;
            }
            xml.push_str(">\n");
            if let Some((message, body)) = &case.failure {
                let _ = writeln!(
                    xml,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    escape(message),
                    name.trim_start_matches("swarm."),
                    escape(body)
                );
            }
            if let Some(out) = &case.out {
                let _ = writeln!(xml, "      <system-out>{}</system-out>", escape(out));
            }
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn entry_case(report: &Report, e: &EntrySnapshot, failures_decide: bool) -> Case {
    let name = format!("{} {}", e.kind, e.name).trim().to_owned();
    let summary = format!(
        "{} of {} requests failed ({:.2}%)",
        e.failures,
        e.requests,
        e.fail_ratio() * 100.0
    );
    let mut detail = summary.clone();
    let mut errors: Vec<_> = report
        .snapshot
        .errors
        .iter()
        .filter(|x| x.kind == e.kind && x.name == e.name)
        .collect();
    errors.sort_by_key(|x| std::cmp::Reverse(x.occurrences));
    for x in errors.iter().take(10) {
        let _ = write!(detail, "\n{} x {}", x.occurrences, x.message);
    }
    if failures_decide {
        Case {
            name,
            failure: Some((summary, detail)),
            out: None,
        }
    } else {
        Case {
            name,
            failure: None,
            out: Some(format!("{detail}\n(thresholds decide this run)")),
        }
    }
}

/// ISO 8601 in UTC, seconds (JUnit's `timestamp`).
pub(crate) fn timestamp(unix_secs: f64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs_f64(unix_secs.max(0.0));
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .trim_end_matches('Z')
        .to_owned()
}

/// Text for an XML attribute or element: the five entities escaped, and the control
/// characters XML 1.0 cannot hold dropped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\u{7}e\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;e\n"
        );
    }

    #[test]
    fn timestamps_are_iso_8601() {
        assert_eq!(timestamp(0.0), "1970-01-01T00:00:00");
        assert_eq!(timestamp(1_764_000_000.4), "2025-11-24T16:00:00");
    }
}
