//! The reports beside the console, JSON and CSV: the self-contained HTML report, JUnit
//! XML, and a run compared with a baseline (an earlier run's JSON report), with
//! thresholds relative to it. The JUnit XML is validated against the JUnit schema CI
//! systems read, with a real validator (`peers/install report-check`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{ConfigError, Error};

/// How long each request of [`Timed`] takes, set per run.
struct Latency(Duration);

/// Each second: a `GET /a` that takes the run's [`Latency`], and every third one a
/// failed `GET /b`.
struct Timed {
    n: u64,
}

#[async_trait]
impl User for Timed {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Timed { n: 0 })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("a", Self::a)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Timed {
    async fn a(&mut self, ctx: &mut UserContext) -> TaskResult {
        let latency = ctx.setting::<Latency>().map_or(Duration::ZERO, |l| l.0);
        ctx.recorder()
            .record(&Sample::new("GET", "/a", latency).bytes(10).code(200));
        self.n += 1;
        if self.n % 3 == 0 {
            ctx.recorder().record(
                &Sample::new("GET", "/b <&>", Duration::from_millis(5))
                    .code(503)
                    .failure("HTTP 503 \"busy\""),
            );
        }
        Ok(())
    }
}

fn swarm(latency_ms: u64) -> Swarm {
    Swarm::new()
        .user::<Timed>()
        .users(2)
        .spawn_rate(2.0)
        .run_time(Duration::from_millis(9_500))
        .seed(3)
        .setting(Latency(Duration::from_millis(latency_ms)))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(start_paused = true)]
async fn a_run_against_its_baseline_shows_each_change_and_relative_thresholds_decide() {
    let dir = tempfile::tempdir().unwrap();
    let base_path = dir.path().join("base.json");
    let base = swarm(10).json(&base_path).run().await.unwrap();
    assert!(base.requests() > 0);

    let report = swarm(20)
        .baseline(&base_path)
        .threshold("GET /a: p95 < baseline * 1.5")
        .threshold("GET /a: requests >= baseline")
        .threshold("fail_ratio <= baseline")
        .run()
        .await
        .unwrap();

    let cmp = report.comparison.as_ref().expect("a comparison");
    assert_eq!(cmp.path, base_path.display().to_string());
    let a = cmp.entries.iter().find(|e| e.name == "/a").unwrap();
    let change = a.p95_ms.change.unwrap();
    assert!((change - 1.0).abs() < 0.01, "p95 doubled: {change}");
    assert_eq!(a.rps.change, Some(0.0), "same rate: {:?}", a.rps);
    assert!(cmp.only_current.is_empty() && cmp.only_baseline.is_empty());

    let verdicts: Vec<bool> = report.thresholds.iter().map(|t| t.passed).collect();
    assert_eq!(verdicts, [false, true, true], "{:#?}", report.thresholds);
    assert!(report.thresholds[0].baseline.is_some());
    assert_eq!(report.exit_code(), 99);

    let json = report.to_json();
    let p95 = &json["baseline"]["entries"][0]["p95_ms"];
    assert!(p95["baseline"].as_f64().unwrap() < p95["current"].as_f64().unwrap());
    assert!(json["thresholds"][0]["baseline"].is_number());

    let console = report.to_string();
    assert!(console.contains("Against the baseline"), "{console}");
    assert!(console.contains("+100.0%"), "{console}");

    // The HTML report has the same comparison, and the thresholds' verdicts.
    let html = report.to_html();
    let table = &html[html.find("id=\"baseline\"").expect("a baseline table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains("/a") && table.contains("+100.0%"), "{table}");
    assert!(html.contains("p95 &lt; baseline * 1.5"), "{html}");
}

#[tokio::test(start_paused = true)]
async fn a_baseline_with_no_entry_in_common_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let base_path = dir.path().join("base.json");
    let mut doc = swarm(10).run().await.unwrap().to_json();
    for (i, e) in doc["snapshot"]["entries"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        e["name"] = format!("/elsewhere{i}").into();
    }
    std::fs::write(&base_path, doc.to_string()).unwrap();
    let report = swarm(10).baseline(&base_path).run().await.unwrap();
    let cmp = report.comparison.unwrap();
    assert!(cmp.entries.is_empty());
    assert_eq!(cmp.only_baseline, ["GET /elsewhere0", "GET /elsewhere1"]);
    assert_eq!(cmp.only_current, ["GET /a", "GET /b <&>"]);
    let note = cmp.note().expect("a note");
    assert!(
        note.contains("has no entry in common with this run"),
        "{note}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_bad_baseline_or_a_relative_threshold_without_one_fails_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("missing.json", None, "cannot read it"),
        (
            "other.json",
            Some(r#"{"schema":"swarm-report/9"}"#),
            "it is a swarm-report/9 report",
        ),
        ("csv.json", Some("Type,Name\n"), "it is not JSON"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        match swarm(10).baseline(&path).run().await {
            Err(Error::Config(e @ ConfigError::Baseline { .. })) => {
                let msg = e.to_string();
                assert!(msg.contains(expected), "{msg}");
                assert!(msg.contains(name), "names the file: {msg}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    match swarm(10).threshold("p95 < baseline").run().await {
        Err(Error::Config(ConfigError::Threshold(e))) => {
            assert!(e.to_string().contains("no baseline was given"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_html_report_is_one_file_that_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/report.html");
    let report = swarm(10)
        .threshold("GET /a: p95 < 5ms")
        .html(&path)
        .run()
        .await
        .unwrap();
    let html = read(&path);
    assert_eq!(html, report.to_html());
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        html.contains("default-src 'none'"),
        "a CSP that forbids loads"
    );
    for loader in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(loader), "{loader} in the report");
    }
    for chart in ["rps", "latency", "users"] {
        let at = html
            .find(&format!("data-chart=\"{chart}\""))
            .unwrap_or_else(|| panic!("chart {chart}"));
        let path_d = html[at..].split("d=\"").nth(1).unwrap();
        assert!(path_d.starts_with('M'), "{chart} draws a line");
    }
    // Names are escaped, and every table is there.
    assert!(html.contains("/b &lt;&amp;&gt;"));
    assert!(!html.contains("/b <&>"));
    for id in [
        "summary",
        "settings",
        "thresholds",
        "stats",
        "percentiles",
        "codes",
        "failures",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "section {id}");
    }
    assert!(html.contains("FAIL</td>"), "the failed threshold");
    assert!(html.contains("id=\"verdict\" class=\"verdict fail\""));
    assert!(html.contains("ended: run time over"), "{html}");

    // A report of a run that goes on says so instead of how it ended.
    let live = report.clone().in_progress();
    assert!(live.is_in_progress() && !report.is_in_progress());
    let html = live.to_html();
    assert!(
        html.contains(">FAILED so far</span> the run goes on"),
        "{html}"
    );
    assert!(!html.contains("ended:"), "{html}");
}

#[tokio::test(start_paused = true)]
async fn junit_has_a_case_per_threshold_and_per_failing_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    swarm(10)
        .threshold("GET /a: p95 < 5ms")
        .threshold("requests > 0")
        .junit(&path)
        .run()
        .await
        .unwrap();
    let xml = read(&path);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"swarm\" tests=\"3\" failures=\"1\""), "{xml}");
    assert!(xml.contains("<testsuite name=\"swarm.thresholds\" tests=\"2\" failures=\"1\""));
    assert!(xml.contains("<testcase name=\"GET /a: p95 &lt; 5ms\""));
    // With thresholds, the failing entry is shown but does not fail.
    assert!(xml.contains("<testsuite name=\"swarm.entries\" tests=\"1\" failures=\"0\""));
    assert!(xml.contains("<testcase name=\"GET /b &lt;&amp;&gt;\""));
    assert!(xml.contains("HTTP 503 &quot;busy&quot;"));

    // Without thresholds, failures decide: the entry's case fails.
    let report = swarm(10).run().await.unwrap();
    let xml = report.to_junit();
    assert!(
        xml.contains("<testsuites name=\"swarm\" tests=\"1\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"6 of 6 requests failed (100.00%)\" type=\"entries\">"),
        "{xml}"
    );
}

/// A user whose `test_stop` hook fails: the JUnit report's `swarm.hooks` suite.
struct StopFails;

#[async_trait]
impl User for StopFails {
    async fn test_stop(_run: &RunContext) -> Result<(), TaskError> {
        Err(TaskError::new("cleanup <refused> & \u{1}gone"))
    }
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(StopFails)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl StopFails {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Validate a JUnit file against the Jenkins xunit plugin's `junit-10.xsd` with
/// xmlschema (`peers/report-check/check.py`); `Err` holds the validator's complaint.
fn validate_junit(path: &Path) -> Result<(), String> {
    let root = repo_root();
    let python = root.join(".peers/report-check/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `peers/install report-check`",
        python.display()
    );
    let out = Command::new(python)
        .arg(root.join("peers/report-check/check.py"))
        .arg("junit")
        .arg(path)
        .output()
        .expect("the validator runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("Traceback") && !err.contains("no such file"),
        "the validator itself failed:\n{err}"
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(err)
    }
}

#[tokio::test(start_paused = true)]
async fn junit_validates_against_the_common_schema() {
    let dir = tempfile::tempdir().unwrap();
    // Thresholds (one fails), a failing entry with markup in its name and error, and a
    // failed test_stop hook: all three suites.
    let full = dir.path().join("full.xml");
    let report = swarm(10)
        .user::<StopFails>()
        .threshold("GET /a: p95 < 5ms")
        .threshold("requests > 0")
        .junit(&full)
        .run()
        .await
        .unwrap();
    assert!(!report.hook_errors.is_empty(), "the hook failed");
    let xml = read(&full);
    for suite in ["swarm.thresholds", "swarm.entries", "swarm.hooks"] {
        assert!(
            xml.contains(&format!("<testsuite name=\"{suite}\"")),
            "{xml}"
        );
    }
    validate_junit(&full).unwrap_or_else(|e| panic!("{e}\n{xml}"));

    // Without thresholds (the entry's case fails), and a run where nothing failed (no
    // suite at all).
    let plain = dir.path().join("plain.xml");
    swarm(10).junit(&plain).run().await.unwrap();
    validate_junit(&plain).unwrap_or_else(|e| panic!("{e}\n{}", read(&plain)));
    let clean = dir.path().join("clean.xml");
    let report = swarm(10)
        .run_time(Duration::from_millis(500))
        .junit(&clean)
        .run()
        .await
        .unwrap();
    assert_eq!(report.snapshot.aggregated().failures, 0);
    assert!(!read(&clean).contains("<testsuite "), "{}", read(&clean));
    validate_junit(&clean).unwrap_or_else(|e| panic!("{e}\n{}", read(&clean)));

    // The validator is not a rubber stamp: an attribute the schema lacks is refused.
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        read(&full).replacen("<testsuites ", "<testsuites color=\"red\" ", 1),
    )
    .unwrap();
    let err = validate_junit(&bad).expect_err("an unknown attribute is invalid");
    assert!(err.contains("color"), "{err}");
}
