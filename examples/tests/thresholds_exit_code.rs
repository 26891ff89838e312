//! A threshold that must fail makes the process exit with the documented code and names
//! the threshold; one that must pass exits 0.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};

#[test]
fn failing_threshold_exits_99_and_names_it() {
    let out = run_bounded(
        example("http_basic")
            .args(["-u", "2", "-r", "10", "-t", "2s", "--only-summary"])
            .args(["--threshold", "p50 < 1us", "--threshold", "fail_ratio < 1%"]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(out.status), 99, "{stdout}");
    assert!(stdout.contains("FAIL p50 < 1us"), "{stdout}");
    assert!(stdout.contains("PASS fail_ratio < 1%"), "{stdout}");
}

#[test]
fn passing_threshold_exits_0() {
    let out = run_bounded(
        example("http_basic")
            .args(["-u", "2", "-r", "10", "-t", "2s", "--only-summary"])
            .args(["--threshold", "fail_ratio < 1%", "--threshold", "p95 < 10s"]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(out.status), 0, "{stdout}");
    assert!(stdout.contains("PASS p95 < 10s"), "{stdout}");
}

#[test]
fn bad_threshold_is_rejected_before_any_load() {
    let out = run_bounded(
        example("http_basic").args(["-t", "2s", "--threshold", "p95 <"]),
        Duration::from_secs(30),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out.status), 2, "{err}");
    assert!(
        err.contains("--threshold") && err.contains("p95 <"),
        "{err}"
    );
}
