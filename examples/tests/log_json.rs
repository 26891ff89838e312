//! `--log-json` gives what an ELK-style pipeline needs: every line of stderr one JSON
//! object with a timestamp and a level, and each line of a run carrying the run's id
//! (the one in the JSON report), and, for a failure, its entry, user type and error.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};
use serde_json::Value;

#[test]
fn every_log_line_is_json_and_a_failure_names_its_run_entry_user_type_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let mut cmd = example("distributed");
    cmd.args([
        "-u",
        "4",
        "-r",
        "4",
        "-t",
        "4s",
        "--only-summary",
        "--log-json",
    ])
    .args(["-L", "debug", "--json"])
    .arg(&report_path)
    // Only Swarm's own lines: the HTTP stack's debug lines are not what is tested.
    .env("RUST_LOG", "swarm_core=debug");
    let out = run_bounded(&mut cmd, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out.status), 1, "requests to /fail failed:\n{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let run_id = report["run"]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(run_id.len(), 16, "{run_id}");

    let mut lines = Vec::new();
    for line in err.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["timestamp"].is_string(), "{line}");
        assert!(v["level"].is_string(), "{line}");
        lines.push(v);
    }
    let run_of = |v: &Value| {
        v["spans"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "run"))
            .and_then(|s| s["run_id"].as_str())
            .map(str::to_owned)
    };
    let message = |v: &Value| v["fields"]["message"].as_str().unwrap_or("").to_owned();

    let started = lines
        .iter()
        .find(|v| message(v) == "run started")
        .expect("run started");
    assert_eq!(run_of(started).as_deref(), Some(run_id.as_str()));
    let finished = lines
        .iter()
        .find(|v| message(v) == "run finished")
        .expect("run finished");
    assert_eq!(finished["fields"]["failures"], report["total"]["failures"]);

    let failed: Vec<&Value> = lines
        .iter()
        .filter(|v| message(v) == "request failed")
        .collect();
    assert!(!failed.is_empty(), "no failure logged:\n{err}");
    for v in failed {
        assert_eq!(v["level"], "DEBUG");
        assert_eq!(v["fields"]["entry"], "/fail", "{v}");
        assert_eq!(v["fields"]["kind"], "GET", "{v}");
        assert!(
            v["fields"]["error"].as_str().unwrap().contains("500"),
            "{v}"
        );
        assert_eq!(run_of(v).as_deref(), Some(run_id.as_str()), "{v}");
        let user = v["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "user")
            .unwrap_or_else(|| panic!("no user span: {v}"));
        assert_eq!(user["user_type"], "WebsiteUser");
        assert!(user["user_id"].is_u64());
    }
}

/// Plain log lines piped to a file or CI carry no colour codes (they would read as
/// `\x1b[2m...` garbage there); a terminal still gets colour.
#[test]
fn plain_log_lines_to_a_pipe_have_no_colour_codes() {
    let mut cmd = example("distributed");
    cmd.args(["-u", "2", "-r", "2", "-t", "2s", "--only-summary"])
        .args(["-L", "debug"])
        .env("RUST_LOG", "swarm_core=debug")
        .env_remove("NO_COLOR");
    let out = run_bounded(&mut cmd, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run started"), "no log line to check:\n{err}");
    assert!(!err.contains('\x1b'), "colour codes in a piped log:\n{err}");
}
