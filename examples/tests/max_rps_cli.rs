//! `--max-rps` on the command line keeps the requests within the cap for the run.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};

#[test]
fn max_rps_caps_the_request_count() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = run_bounded(
        example("http_max")
            .args([
                "-u",
                "10",
                "-r",
                "100",
                "-t",
                "3s",
                "--max-rps",
                "20",
                "--only-summary",
                "--json",
            ])
            .arg(&json),
        Duration::from_secs(60),
    );
    assert_eq!(
        code(out.status),
        0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let requests = report["total"]["requests"].as_u64().unwrap();
    // 20 per second for 3 s (the first at 0): never more than 61, and the cap is reached.
    assert!(requests <= 61, "{requests}");
    assert!(requests >= 50, "{requests}");
}
