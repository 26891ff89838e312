//! A run's report: Locust-compatible CSV files, the versioned JSON document, and
//! snapshots that serialise and merge.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{Snapshot, TASK_KIND};

const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
const HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";
const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";
const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// In turn: a 10 ms success of 100 bytes, a 30 ms failure, and a task error.
struct Reporter;

#[async_trait]
impl User for Reporter {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Reporter)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .task("a", Self::a)
            .task("b", Self::b)
            .task("c", Self::c)
            .sequential()
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Reporter {
    async fn a(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder().record(
            &Sample::new("GET", "/a", Duration::from_millis(10))
                .bytes(100)
                .code(200),
        );
        Ok(())
    }
    async fn b(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder().record(
            &Sample::new("GET", "/b", Duration::from_millis(30))
                .code(500)
                .failure("HTTP 500"),
        );
        Ok(())
    }
    async fn c(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Err(TaskError::new("oops, bad"))
    }
}

/// Tasks at 0, 1, ..., 11 s: four of each.
async fn run() -> Report {
    Swarm::new()
        .user::<Reporter>()
        .run_time(Duration::from_millis(11_500))
        .seed(5)
        .run()
        .await
        .unwrap()
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rows(text: &str) -> Vec<Vec<&str>> {
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn csv_files_have_locusts_headers_and_totals() {
    let report = run().await;
    assert_eq!(report.requests(), 12);
    assert_eq!(report.failures(), 8);

    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out/run");
    let written = report.write_csv(&prefix).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "run_stats.csv",
            "run_stats_history.csv",
            "run_failures.csv",
            "run_exceptions.csv"
        ]
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let stats = read(&written[0]);
    assert_eq!(stats, report.stats_csv());
    let stats = rows(&stats);
    assert_eq!(stats[0].join(","), STATS_HEADER);
    assert_eq!(stats.len(), 5, "header, /a, /b, Reporter.c, Aggregated");
    for row in &stats {
        assert_eq!(row.len(), 22, "{row:?}");
    }
    // Sorted by name: /a, /b, Reporter.c.
    let a = &stats[1];
    assert_eq!(
        a[..9],
        ["GET", "/a", "4", "0", "10", "10.0", "10.0", "10.0", "100.0"]
    );
    assert!(a[11..].iter().all(|p| *p == "10"), "{a:?}");
    let b = &stats[2];
    assert_eq!(
        b[..8],
        ["GET", "/b", "4", "4", "30", "30.0", "30.0", "30.0"]
    );
    assert!(
        b[11..].iter().all(|p| *p == "30"),
        "percentiles of 30 ms samples: {b:?}"
    );
    assert_eq!(stats[3][..4], [TASK_KIND, "Reporter.c", "4", "4"]);
    let total = &stats[4];
    assert_eq!(total[..4], ["", "Aggregated", "12", "8"]);
    assert_eq!(total[6], "0.0", "the task errors took no time");
    assert_eq!(total[7], "30.0");
    assert_eq!(total[21], "30");

    let history = read(&written[1]);
    let history = rows(&history);
    assert_eq!(history[0].join(","), HISTORY_HEADER);
    assert_eq!(history.len(), 1 + 12, "a row a second and a final one");
    let last = history.last().unwrap();
    assert_eq!(last.len(), 24);
    assert_eq!(last[1], "0", "no users left at the end");
    assert_eq!(last[3], "Aggregated");
    assert_eq!(last[17..19], ["12", "8"]);
    assert_eq!(history[1][1], "1", "one user during the run");

    let failures = read(&written[2]);
    let failures: Vec<&str> = failures.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(failures[0], FAILURES_HEADER);
    assert_eq!(failures.len(), 3);
    assert!(
        failures[1..]
            .iter()
            .any(|l| l.starts_with("GET,/b,HTTP 500,4,")),
        "{failures:?}"
    );
    assert!(
        failures[1..]
            .iter()
            .any(|l| l.starts_with("TASK,Reporter.c,\"oops, bad\",4,")),
        "{failures:?}"
    );

    let exceptions = read(&written[3]);
    let exceptions: Vec<&str> = exceptions.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(exceptions[0], EXCEPTIONS_HEADER);
    assert_eq!(
        exceptions[1..],
        ["4,\"oops, bad\",error in Reporter.c,local"]
    );
}

#[tokio::test(start_paused = true)]
async fn json_report_has_its_schema_and_totals() {
    let report = run().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    report.write_json(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();

    assert_eq!(v["schema"], "swarm-report/1");
    assert_eq!(v["schema"], swarm_core::report::JSON_SCHEMA);
    assert_eq!(v["stop_reason"], "run_time");
    assert_eq!(v["passed"], false);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["run"]["seed"], 5);
    assert_eq!(v["run"]["user_types"], serde_json::json!(["Reporter"]));
    assert_eq!(v["total"]["requests"], 12);
    assert_eq!(v["total"]["failures"], 8);
    assert_eq!(v["total"]["bytes"], 400);
    assert_eq!(v["duration_secs"], 11.5);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let a = entries.iter().find(|e| e["name"] == "/a").unwrap();
    assert_eq!(a["percentiles_ms"]["p50"], 10.0);
    assert_eq!(a["codes"]["200"], 4);
    let b = entries.iter().find(|e| e["name"] == "/b").unwrap();
    assert_eq!(b["percentiles_ms"]["p99"], 30.0);
    assert_eq!(b["fail_ratio"], 1.0);
    // Per kind and code, across entries: /a's 200s and /b's 500s are both GET.
    assert_eq!(
        v["codes_by_kind"],
        serde_json::json!({"GET": {"200": 4, "500": 4}})
    );
    let console = report.to_string();
    assert!(
        console.contains("GET           200: 4  500: 4"),
        "{console}"
    );

    let snap: Snapshot = serde_json::from_value(v["snapshot"].clone()).unwrap();
    assert_eq!(snap.total_requests(), 12);
    assert_eq!(snap.history.len(), 12);
}

#[tokio::test(start_paused = true)]
async fn snapshots_round_trip_and_merge() {
    let snap = run().await.snapshot;
    let text = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back.entries.len(), snap.entries.len());
    for (x, y) in snap.entries.iter().zip(&back.entries) {
        assert_eq!(
            (&x.kind, &x.name, x.requests, x.failures, x.total_us, x.min_us, x.max_us, x.bytes),
            (&y.kind, &y.name, y.requests, y.failures, y.total_us, y.min_us, y.max_us, y.bytes)
        );
        assert_eq!(x.codes, y.codes);
        for q in swarm_core::PERCENTILES {
            assert_eq!(x.percentile_ms(q), y.percentile_ms(q), "{} p{q}", x.name);
        }
    }
    assert_eq!(back.errors, snap.errors);
    assert_eq!(back.exceptions, snap.exceptions);
    assert_eq!(back.history.len(), snap.history.len());

    let mut merged = snap.clone();
    merged.merge(&back);
    assert_eq!(merged.total_requests(), 24);
    assert_eq!(merged.total_failures(), 16);
    let a = merged.entry("GET", "/a").unwrap();
    assert_eq!((a.requests, a.bytes, a.codes["200"]), (8, 800, 8));
    assert_eq!(a.percentile_ms(0.5), Some(10.0));
    assert_eq!(merged.errors.len(), snap.errors.len());
    assert!(
        merged.errors.iter().all(|e| e.occurrences == 8),
        "{:?}",
        merged.errors
    );
    assert_eq!(merged.exceptions[0].count, 8);
    assert_eq!(
        merged.history.len(),
        snap.history.len(),
        "rows of the same second add up"
    );
    assert_eq!(merged.history[0].users, 2);
    assert_eq!(merged.history.last().unwrap().total_requests, 24);

    // Merging into an empty snapshot gives the same numbers.
    let mut empty = Snapshot::empty();
    empty.merge(&snap);
    assert_eq!(empty.total_requests(), 12);
    assert_eq!(empty.start_unix_secs, snap.start_unix_secs);
    assert_eq!(empty.aggregated().max_us, 30_000);
}
