//! The HTML report (`--html`) of a real run opens in headless Chromium from a `file://`
//! URL: every chart draws, every table is filled (the stats table agrees with the JSON
//! report of the same run), and the page makes no network request. That is checked
//! three ways: no element that could load anything, no Resource Timing entry, and
//! chromedriver's performance log (the DevTools `Network` events) names no URL but the
//! report itself; a probe page with one remote image shows the log would catch one. A
//! screenshot of the whole report goes to `target/artifacts/html_report.png`.

#[path = "common/chrome.rs"]
mod chrome;
mod common;

use std::path::Path;
use std::time::Duration;

use chrome::{screenshot, Driver};
use common::Proc;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::Client;
use serde_json::{json, Value};

/// chromedriver's `POST /session/{id}/se/log` (`{"type": "performance"}`): the DevTools
/// events since the last read.
#[derive(Debug)]
struct PerformanceLog;

impl WebDriverCompatibleCommand for PerformanceLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "performance"}).to_string()),
        )
    }
}

/// The URLs of every request the page started since the last call
/// (`Network.requestWillBeSent`).
async fn requested(b: &Client) -> Vec<String> {
    let log = b
        .issue_cmd(PerformanceLog)
        .await
        .expect("chromedriver's performance log");
    log.as_array()
        .expect("a list of log entries")
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
        .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
        .filter_map(|m| {
            m["message"]["params"]["request"]["url"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

async fn run_js(b: &Client, script: &str) -> Value {
    b.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_shows_every_chart_and_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let json_path = dir.path().join("report.json");
    let mut run = Proc::start(&[
        "-u",
        "3",
        "-r",
        "30",
        "-t",
        "5s",
        "--only-summary",
        "--threshold",
        "GET /: p95 < 10s",
        "--threshold",
        "fail_ratio < 0.01",
        "--html",
        html.to_str().unwrap(),
        "--json",
        json_path.to_str().unwrap(),
    ]);
    let status = run.wait(Duration::from_secs(90));
    assert!(status.code().is_some(), "{}", run.stderr());
    assert!(html.exists(), "no HTML report:\n{}", run.stderr());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();

    let driver = Driver::start();
    let b = driver
        .session(
            1280,
            900,
            json!({"goog:loggingPrefs": {"performance": "ALL"}}),
        )
        .await;

    // The log sees a page's requests: a probe with a remote image (loopback, port 9,
    // nothing listens) shows up in it.
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!doctype html><title>probe</title><img src=\"http://127.0.0.1:9/probe.png\">",
    )
    .unwrap();
    requested(&b).await;
    b.goto(&file_url(&probe)).await.unwrap();
    let seen = requested(&b).await;
    assert!(
        seen.iter().any(|u| u == "http://127.0.0.1:9/probe.png"),
        "the performance log missed the probe's image: {seen:?}"
    );

    let url = file_url(&html);
    b.goto(&url).await.unwrap();
    let title = b.title().await.unwrap();
    assert!(title.starts_with("Swarm report"), "{title}");

    // Every chart is drawn: an SVG of real size whose lines have at least two points
    // and a length on the screen.
    let charts = run_js(
        &b,
        "return [...document.querySelectorAll('svg[data-chart]')].map(svg => { \
           const r = svg.getBoundingClientRect(); \
           const lines = [...svg.querySelectorAll('path.series')].map(p => ({ \
             series: p.dataset.series, \
             points: (p.getAttribute('d').match(/[ML]/g) || []).length, \
             length: p.getTotalLength() })); \
           return {chart: svg.dataset.chart, width: r.width, height: r.height, lines}; })",
    )
    .await;
    let charts = charts.as_array().unwrap();
    let names: Vec<&str> = charts
        .iter()
        .map(|c| c["chart"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rps", "latency", "users"], "{charts:?}");
    for c in charts {
        assert!(
            c["width"].as_f64().unwrap() > 300.0 && c["height"].as_f64().unwrap() > 80.0,
            "{c}"
        );
        let lines = c["lines"].as_array().unwrap();
        assert!(!lines.is_empty(), "{c}");
        for l in lines {
            assert!(
                l["points"].as_u64().unwrap() >= 2,
                "a line of one point: {c}"
            );
            assert!(
                l["length"].as_f64().unwrap() > 0.0,
                "a line of no length: {c}"
            );
        }
    }

    // Every section is there and filled.
    let rows = run_js(
        &b,
        "return Object.fromEntries(['stats', 'percentiles', 'codes', 'failures', 'thresholds'] \
           .map(id => [id, document.querySelectorAll('#' + id + ' tr').length]))",
    )
    .await;
    for (id, min) in [
        ("stats", 4),
        ("percentiles", 4),
        ("codes", 3),
        ("failures", 2),
        ("thresholds", 3),
    ] {
        assert!(rows[id].as_u64().unwrap() >= min, "{id}: {rows}");
    }
    let settings = run_js(&b, "return document.getElementById('settings').innerText").await;
    assert!(settings.as_str().unwrap().contains("Visitor"), "{settings}");
    let verdict = run_js(&b, "return document.getElementById('verdict').textContent").await;
    assert_eq!(
        verdict, "FAILED",
        "fail_ratio < 0.01 fails: /fail answers 500"
    );

    // The stats table shows the run's numbers, as the JSON report has them.
    let cells = run_js(
        &b,
        "return [...document.querySelectorAll('#stats tr')].slice(1) \
           .map(tr => [...tr.cells].map(td => td.textContent))",
    )
    .await;
    let entries = report["snapshot"]["entries"].as_array().unwrap();
    for e in entries {
        let row = cells
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == e["kind"] && r[1] == e["name"])
            .unwrap_or_else(|| panic!("no row for {e} in {cells}"));
        assert_eq!(row[2], e["requests"].to_string(), "{row} vs {e}");
        assert_eq!(row[3], e["failures"].to_string(), "{row} vs {e}");
    }
    assert_eq!(
        cells.as_array().unwrap().last().unwrap()[2],
        report["total"]["requests"].to_string()
    );

    // Nothing could load, nothing did.
    let loaders = run_js(
        &b,
        "return [...document.querySelectorAll( \
           'script, link, img, iframe, object, embed, video, audio, source, [src], [href], [srcset]')] \
           .map(e => e.outerHTML.slice(0, 80))",
    )
    .await;
    assert_eq!(loaders, json!([]), "elements that load");
    let resources = run_js(
        &b,
        "return performance.getEntriesByType('resource').map(e => e.name)",
    )
    .await;
    assert_eq!(resources, json!([]), "Resource Timing entries");
    let seen = requested(&b).await;
    assert!(
        seen.contains(&url),
        "the log has the report itself: {seen:?}"
    );
    assert!(
        seen.iter().all(|u| *u == url),
        "requests besides the report: {seen:?}"
    );

    // A screenshot of the whole report.
    let height = run_js(&b, "return document.documentElement.scrollHeight").await;
    let height = height.as_u64().unwrap().clamp(900, 6000) as u32;
    b.set_window_size(1280, height + 120).await.unwrap();
    screenshot(&b, "html_report.png").await;
    b.close().await.unwrap();
}
