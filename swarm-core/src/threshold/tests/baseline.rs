//! Thresholds relative to an earlier run's report (`p95 < baseline * 1.1`).

use super::*;

/// The baseline: GET /status 1..=100 ms over 10 s as in `snapshot()`, but at half the
/// latency (so the current run is twice as slow) and 1 failure instead of 2.
fn baseline() -> Snapshot {
    let mut snap = Snapshot::empty();
    snap.duration_secs = 10.0;
    let half: Vec<u64> = (1..=100).map(|m: u64| m.div_ceil(2)).collect();
    snap.entries = vec![entry("GET", "/status", &half, 1)];
    snap
}

#[test]
fn parses_limits_relative_to_the_baseline() {
    for (expr, factor) in [
        ("p95 < baseline", 1.0),
        ("p95 < baseline * 1.1", 1.1),
        ("p95<BASELINE*2", 2.0),
        ("GET /status: fail_ratio <= baseline * 0.5", 0.5),
    ] {
        let t = Threshold::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert!(t.is_relative(), "{expr}");
        assert_eq!(t.limit, Limit::Baseline { factor }, "{expr}");
    }
    assert_eq!(
        err("p95 < baseline + 10ms"),
        r#"invalid threshold "p95 < baseline + 10ms": "baseline + 10ms" is not a baseline limit (expected baseline or baseline * 1.1)"#
    );
    assert!(err("p95 < baseline * x").contains("is not a baseline limit"));
    assert!(!Threshold::parse("p95 < 10ms").unwrap().is_relative());
}

#[test]
fn a_relative_limit_comes_from_the_same_scope_and_metric_of_the_baseline() {
    let base = baseline();
    let t = Threshold::parse("GET /status: p95 < baseline * 1.5")
        .unwrap()
        .resolve(Some(&base))
        .unwrap();
    // Baseline p95 48 ms: limit 72 ms; now 95 ms: fails.
    let r = t.evaluate(&snapshot());
    assert!(!r.passed, "{r}");
    let (now, base_p95) = (r.measured.unwrap(), r.baseline.unwrap());
    assert!((base_p95 - 48.0).abs() < 0.1, "{base_p95}");
    assert_eq!(
        r.message,
        format!(
            "{}ms (baseline {}ms x 1.5 = {}ms)",
            fmt_num(now),
            fmt_num(base_p95),
            fmt_num(base_p95 * 1.5)
        )
    );
    let t = Threshold::parse("GET /status: p95 < baseline * 2.5")
        .unwrap()
        .resolve(Some(&base))
        .unwrap();
    assert!(t.evaluate(&snapshot()).passed);
    // Failures doubled: 2% against 1%.
    let t = Threshold::parse("GET /status: fail_ratio <= baseline")
        .unwrap()
        .resolve(Some(&base))
        .unwrap();
    let r = t.evaluate(&snapshot());
    assert!(!r.passed, "{r}");
    assert_eq!(r.message, "2% (baseline 1%)");
}

#[test]
fn a_relative_limit_without_its_value_in_the_baseline_is_an_error() {
    let t = Threshold::parse("p95 < baseline").unwrap();
    assert_eq!(
        t.resolve(None).unwrap_err().to_string(),
        r#"threshold "p95 < baseline" is relative to the baseline, but no baseline was given (--baseline PATH)"#
    );
    let t = Threshold::parse("POST /status: p95 < baseline").unwrap();
    let e = t.resolve(Some(&baseline())).unwrap_err().to_string();
    assert!(
        e.contains(r#"in the baseline: no entry matched "POST /status" (entries: GET /status)"#),
        "{e}"
    );
    // Not resolved: it fails, and says why.
    let r = t.evaluate(&snapshot());
    assert!(!r.passed);
    assert_eq!(r.message, "no baseline to compare with");
    // A fixed limit needs no baseline.
    let fixed = Threshold::parse("p95 < 1s").unwrap();
    assert_eq!(fixed.resolve(None).unwrap(), fixed);
}
