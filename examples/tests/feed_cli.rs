//! `--feed` on a scenario binary (the liveness example's `headers` feeder): a good file
//! runs, a bad one is refused before any load with its line named and exit code 2.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};

const LIMIT: Duration = Duration::from_secs(60);

fn liveness(args: &[&str]) -> (i32, String, String) {
    let mut cmd = example("liveness");
    cmd.args(args)
        .env_remove("ISSUER_HEADERS")
        .env("LOCUST_MIN_WAIT", "0.1")
        .env("LOCUST_MAX_WAIT", "0.2");
    let out = run_bounded(&mut cmd, LIMIT);
    (
        code(out.status),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A headers file with two tenants' keys, one JSON object a line.
fn two_tenants(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("tenants.jsonl");
    std::fs::write(
        &path,
        "{\"X-Api-Key\": \"tenant-a-key\"}\n{\"X-Api-Key\": \"tenant-b-key\"}\n",
    )
    .unwrap();
    path
}

#[test]
fn a_headers_file_per_user_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = two_tenants(&dir);
    let feed = format!("headers={}:per-user:recycle", path.display());
    let (status, out, err) = liveness(&[
        "-u",
        "4",
        "-r",
        "10",
        "-t",
        "2s",
        "--only-summary",
        "--feed",
        &feed,
    ]);
    assert_eq!(status, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("GET") && out.contains("/status"), "{out}");
    assert!(
        !err.contains("tenant-") && !out.contains("tenant-"),
        "no key printed"
    );
}

#[test]
fn a_bad_headers_file_is_refused_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenants.jsonl");
    std::fs::write(
        &path,
        "{\"X-Api-Key\": \"tenant-a-key\"}\n{\"X-Api-Key\": [\"tenant-b-key\"]}\n",
    )
    .unwrap();
    let feed = format!("headers={}:per-user", path.display());
    let (status, out, err) = liveness(&["-t", "2s", "--feed", &feed]);
    assert_eq!(status, 2, "{err}");
    assert!(
        err.contains("feeder \"headers\"") && err.contains("line 2"),
        "{err}"
    );
    assert!(!err.contains("tenant-"), "no key printed: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.is_empty(), "no report: {out}");

    let (status, _, err) = liveness(&["-t", "2s", "--feed", "headers=/nonexistent/t.jsonl"]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("cannot read /nonexistent/t.jsonl"), "{err}");
}

#[test]
fn a_feeder_that_runs_out_with_end_run_is_named_in_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = two_tenants(&dir);
    let report = dir.path().join("report.json");
    // Four users, two rows, one per user: the third user to start ends the run.
    let feed = format!("headers={}:per-user:end-run", path.display());
    let (status, out, err) = liveness(&[
        "-u",
        "4",
        "-r",
        "10",
        "-t",
        "60s",
        "--only-summary",
        "--feed",
        &feed,
        "--json",
        report.to_str().unwrap(),
    ]);
    assert!(
        out.contains("feeders out of rows: headers"),
        "exit {status}\nstdout:\n{out}\nstderr:\n{err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["stop_reason"], "feed_exhausted", "{v}");
    assert_eq!(
        v["exhausted_feeders"],
        serde_json::json!(["headers"]),
        "{v}"
    );
    assert!(
        v["duration_secs"].as_f64().unwrap() < 30.0,
        "ended long before its run time: {v}"
    );
}
