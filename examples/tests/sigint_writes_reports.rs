//! Ctrl-C (SIGINT) in the middle of a run still writes the CSV and JSON reports, with
//! the final numbers.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

use common::{code, example, wait_bounded};

#[test]
fn sigint_mid_run_writes_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("run");
    let json = dir.path().join("run.json");
    let mut child = example("http_basic")
        .args([
            "-u",
            "5",
            "-r",
            "50",
            "-t",
            "120s",
            "--only-summary",
            "--csv",
        ])
        .arg(&prefix)
        .arg("--json")
        .arg(&json)
        .spawn()
        .unwrap();
    // Wait until the run has started (the demo target line), then let it run a little.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("no --host given"), "{line}");
    std::thread::sleep(Duration::from_secs(2));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_bounded(child, Duration::from_secs(30));
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert_eq!(code(out.status), 0, "stderr: {rest}");

    let stats = std::fs::read_to_string(dir.path().join("run_stats.csv")).unwrap();
    let agg: Vec<&str> = stats.lines().last().unwrap().split(',').collect();
    assert_eq!(agg[1], "Aggregated");
    let requests: u64 = agg[2].parse().unwrap();
    assert!(requests > 10, "{stats}");
    for f in [
        "run_stats_history.csv",
        "run_failures.csv",
        "run_exceptions.csv",
    ] {
        assert!(dir.path().join(f).exists(), "{f} written");
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["schema"], "swarm-report/1");
    assert_eq!(report["stop_reason"], "stopped");
    assert_eq!(
        report["total"]["requests"], requests,
        "CSV and JSON hold the same final numbers"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("{requests} requests")),
        "{summary}"
    );
}
