use super::metric::fmt_num;
use super::*;
use crate::stats::EntrySnapshot;

fn entry(kind: &str, name: &str, ms: &[u64], failures: u64) -> EntrySnapshot {
    let mut e = EntrySnapshot::empty(kind, name);
    for &m in ms {
        e.histogram.record(m * 1000).unwrap();
    }
    e.requests = ms.len() as u64;
    e.failures = failures;
    e.total_us = ms.iter().sum::<u64>() * 1000;
    e.min_us = ms.iter().min().copied().unwrap_or(0) * 1000;
    e.max_us = ms.iter().max().copied().unwrap_or(0) * 1000;
    e
}

/// GET /status: 1..=100 ms, 2 failures; POST /status: 500, 600 ms, 1 failure;
/// GET /api/v1:item: 10, 20, 30 ms; TASK "list items": 5 ms. 10 seconds.
fn snapshot() -> Snapshot {
    let mut snap = Snapshot::empty();
    snap.duration_secs = 10.0;
    let all: Vec<u64> = (1..=100).collect();
    snap.entries = vec![
        entry("GET", "/api/v1:item", &[10, 20, 30], 0),
        entry("GET", "/status", &all, 2),
        entry("POST", "/status", &[500, 600], 1),
        entry("TASK", "list items", &[5], 0),
    ];
    snap
}

fn parts(expr: &str) -> (Option<String>, Metric, Op, f64) {
    let t = Threshold::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let value = match t.limit {
        Limit::Fixed(v) => v,
        Limit::Baseline { .. } => panic!("{expr}: relative to the baseline"),
    };
    (t.scope.map(|s| s.0), t.metric, t.op, value)
}

fn err(expr: &str) -> String {
    match Threshold::parse(expr) {
        Ok(t) => panic!("{expr:?} parsed as {t:?}"),
        Err(e) => e.to_string(),
    }
}

fn check(expr: &str) -> ThresholdResult {
    Threshold::parse(expr).unwrap().evaluate(&snapshot())
}

#[test]
fn parses_every_metric() {
    let cases = [
        ("p50 < 1", Metric::Percentile(50.0)),
        ("p95 < 1", Metric::Percentile(95.0)),
        ("p99 < 1", Metric::Percentile(99.0)),
        ("p99.9 < 1", Metric::Percentile(99.9)),
        ("p0 < 1", Metric::Percentile(0.0)),
        ("p100 < 1", Metric::Percentile(100.0)),
        ("med < 1", Metric::Percentile(50.0)),
        ("median < 1", Metric::Percentile(50.0)),
        ("MEDIAN < 1", Metric::Percentile(50.0)),
        ("avg < 1", Metric::Avg),
        ("min < 1", Metric::Min),
        ("Max < 1", Metric::Max),
        ("fail_ratio < 1", Metric::FailRatio),
        ("rps < 1", Metric::Rps),
        ("requests < 1", Metric::Requests),
        ("failures < 1", Metric::Failures),
        ("fails_per_sec < 1", Metric::FailsPerSec),
    ];
    for (expr, metric) in cases {
        assert_eq!(parts(expr).1, metric, "{expr}");
    }
}

#[test]
fn parses_every_operator() {
    let cases = [
        ("<", Op::Lt),
        ("<=", Op::Le),
        (">", Op::Gt),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
    ];
    for (text, op) in cases {
        assert_eq!(parts(&format!("avg {text} 1")).2, op);
        assert_eq!(parts(&format!("avg{text}1")).2, op);
    }
}

#[test]
fn parses_units_to_base_units() {
    let cases = [
        ("p95 < 250", 250.0),
        ("p95 < 250ms", 250.0),
        ("p95 < 250 ms", 250.0),
        ("p95 < 250MS", 250.0),
        ("p95 < 1500us", 1.5),
        ("p95 < 1500µs", 1.5),
        ("p95 < 1.5s", 1500.0),
        ("p95 < .5s", 500.0),
        ("p95 < 2m", 120_000.0),
        ("p95 < 0", 0.0),
        ("fail_ratio < 0.01", 0.01),
        ("fail_ratio < 1%", 0.01),
        ("fail_ratio <= 100%", 1.0),
        ("fail_ratio == 0", 0.0),
        ("fail_ratio < 1", 1.0),
        ("rps > 12.5", 12.5),
        ("requests >= 1000", 1000.0),
        ("failures == 0", 0.0),
        ("fails_per_sec < 0.5", 0.5),
    ];
    for (expr, value) in cases {
        let got = parts(expr).3;
        assert!((got - value).abs() < 1e-12, "{expr}: {got} != {value}");
    }
}

#[test]
fn splits_the_scope() {
    let cases = [
        ("p95 < 1", None),
        ("GET /status: p95 < 1", Some("GET /status")),
        ("  GET /status :p95<1  ", Some("GET /status")),
        ("/status: p95 < 1", Some("/status")),
        ("GET /api/v1:item: p95 < 100ms", Some("GET /api/v1:item")),
        ("a:b:c: avg < 1", Some("a:b:c")),
        ("list items: avg < 1", Some("list items")),
        ("GET /café/🦀: avg < 1", Some("GET /café/🦀")),
        ("GET /x<y>=z!: avg < 1", Some("GET /x<y>=z!")),
    ];
    for (expr, scope) in cases {
        assert_eq!(parts(expr).0.as_deref(), scope, "{expr}");
    }
    let t = Threshold::parse("  GET /status : p95 < 1  ").unwrap();
    assert_eq!(t.expr, "GET /status : p95 < 1");
    assert_eq!(t.to_string(), t.expr);
}

#[test]
fn errors_quote_the_expression_and_the_bad_part() {
    let cases = [
        (
            "p95 < 2xx",
            r#"invalid threshold "p95 < 2xx": "2xx" is not a duration (expected e.g. 250ms, 1s)"#,
        ),
        ("p955 < 1s", r#"unknown metric "p955""#),
        ("p100.1 < 1s", r#"unknown metric "p100.1""#),
        ("p < 1s", r#"unknown metric "p""#),
        ("p1e2 < 1s", r#"unknown metric "p1e2""#),
        ("pinf < 1s", r#"unknown metric "pinf""#),
        ("p-5 < 1s", r#"unknown metric "p-5""#),
        ("p 95 < 1s", r#"unknown metric "p 95""#),
        ("latency < 1s", r#"unknown metric "latency""#),
        ("p95 250ms", "missing operator"),
        ("GET /x", "missing operator"),
        ("< 250ms", "missing metric"),
        ("GET /x: < 250ms", "missing metric"),
        ("GET /x:", "missing operator"),
        ("p95 <", r#"missing value after "<""#),
        ("p95 = 1", r#""=" is not an operator"#),
        ("p95 = 1", r#"did you mean "==""#),
        ("p95 =< 1", r#"did you mean "<=""#),
        ("p95 <> 1", r#"did you mean "!=""#),
        ("p95 <<= 1", r#""<<=" is not an operator"#),
        ("p95 < -1", r#""-1" is negative"#),
        ("p95 < 1h", r#""1h" is not a duration"#),
        ("p95 < 1%", r#""1%" is not a duration"#),
        ("p95 < 1.2.3ms", r#""1.2.3ms" is not a duration"#),
        ("p95 < ms", r#""ms" is not a duration"#),
        (
            "p95 < 100ms and p99 < 1s",
            r#""100ms and p99 < 1s" is not a duration"#,
        ),
        ("p95 < 1:30", r#""1:30" is not a duration"#),
        (
            "fail_ratio < 1ms",
            r#""1ms" is not a ratio (expected e.g. 0.01 or 1%)"#,
        ),
        (
            "fail_ratio < 5",
            r#""5" is not a ratio: a ratio goes from 0 to 1 (write 5% for a percent)"#,
        ),
        ("fail_ratio < 150%", r#""150%" is more than 100%"#),
        (
            "rps > 5ms",
            r#""5ms" has a unit, but rps takes a plain number"#,
        ),
        (
            "requests > 5%",
            r#""5%" has a unit, but requests takes a plain number"#,
        ),
        ("failures == 1s", r#""1s" has a unit"#),
        ("fails_per_sec < x", r#""x" is not a number"#),
        ("", "empty expression"),
        ("   ", "empty expression"),
        (": p95 < 1", "nothing before ':'"),
        (
            "GET /x p95 < 1s",
            r#"a scope ends with ':', as in "GET /x: p95 ...""#,
        ),
        ("GET /x: p955 < 1s", r#"unknown metric "p955""#),
        ("GET /x: p95 < 2xx", r#""2xx" is not a duration"#),
        ("p95 < 1e400", r#""1e400" is not a duration"#),
    ];
    for (expr, want) in cases {
        let msg = err(expr);
        assert!(msg.contains(want), "{expr:?}: {msg:?} lacks {want:?}");
        let quoted = format!("invalid threshold {:?}: ", expr.trim());
        assert!(msg.starts_with(&quoted), "{expr:?}: {msg:?}");
    }
    let huge = format!("p95 < {}", "9".repeat(400));
    assert!(err(&huge).contains("is not a duration"));
}

#[test]
fn error_variants_are_typed() {
    assert_eq!(
        Threshold::parse("p95 < 2xx").unwrap_err(),
        ThresholdError::InvalidValue {
            expr: "p95 < 2xx".into(),
            value: "2xx".into(),
            reason: "is not a duration (expected e.g. 250ms, 1s)".into(),
        }
    );
    let e = Threshold::parse("x: p955 < 1").unwrap_err();
    assert!(matches!(&e, ThresholdError::UnknownMetric { metric, .. } if metric == "p955"));
    assert_eq!(e.expr(), "x: p955 < 1");
}

#[test]
fn never_panics_on_garbage() {
    let snap = snapshot();
    let empty = Snapshot::empty();
    let pieces = [
        "",
        " ",
        ":",
        "::",
        "p",
        "p95",
        "p99.9",
        "p100.5",
        "med",
        "fail_ratio",
        "rps",
        "<",
        "<=",
        "=",
        "==",
        "!",
        "!=",
        ">",
        "100",
        "1.5",
        ".",
        "-",
        "ms",
        "s",
        "%",
        "µs",
        "é",
        "🦀",
        "\u{0}",
        "\t",
        "\n",
        "e",
        "GET /x",
        "/status",
        "list items",
        "1e400",
        "9999999",
        "Aggregated",
    ];
    let mut parsed = 0;
    let mut check = |s: &str| {
        let result = Threshold::parse(s);
        if let Ok(t) = result {
            parsed += 1;
            let _ = t.evaluate(&snap).to_string();
            let _ = t.evaluate(&empty).to_string();
            let back: Threshold = serde_json::from_value(serde_json::to_value(&t).unwrap())
                .unwrap_or_else(|e| panic!("{s:?}: {e}"));
            assert_eq!(back, t);
        } else if let Err(e) = result {
            let msg = e.to_string();
            assert!(msg.starts_with("invalid threshold "), "{msg}");
        }
    };
    for a in pieces {
        for b in pieces {
            for c in pieces {
                check(&format!("{a}{b}{c}"));
                check(&format!("{a} {b} {c}"));
            }
        }
    }
    // Every substring (on char boundaries) of some valid expressions.
    for valid in [
        "GET /api/v1:item: p99.9 <= 1.5s",
        "/café 🦀: fail_ratio != 1%",
        "list items:rps>=100",
    ] {
        let bounds: Vec<usize> = valid
            .char_indices()
            .map(|(i, _)| i)
            .chain([valid.len()])
            .collect();
        for &i in &bounds {
            for &j in bounds.iter().filter(|&&j| j >= i) {
                check(&valid[i..j]);
            }
        }
    }
    check(&":".repeat(2000));
    check(&"<".repeat(2000));
    check(&"p9".repeat(2000));
    assert!(parsed > 100, "only {parsed} parsed");
}

#[test]
fn evaluates_every_operator_both_ways() {
    // Aggregated: 106 requests, avg = (5050 + 1100 + 60 + 5) / 106 ms.
    let cases = [
        ("requests == 106", true),
        ("requests == 105", false),
        ("requests != 105", true),
        ("requests != 106", false),
        ("requests < 107", true),
        ("requests < 106", false),
        ("requests <= 106", true),
        ("requests <= 105", false),
        ("requests > 105", true),
        ("requests > 106", false),
        ("requests >= 106", true),
        ("requests >= 107", false),
        ("failures == 3", true),
        ("max == 600ms", true),
        ("max == 0.6s", true),
        ("max < 0.6s", false),
        ("max <= 0.6s", true),
        ("max <= 0.01m", true),
        ("min == 1000us", true),
        ("min > 1", false),
        ("p100 == 600", true),
        ("avg > 58", true),
        ("avg < 59", true),
        ("rps == 10.6", true),
        ("fails_per_sec == 0.3", true),
        ("fails_per_sec > 0.3", false),
    ];
    for (expr, passed) in cases {
        let r = check(expr);
        assert_eq!(r.passed, passed, "{r}");
        assert!(r.measured.is_some(), "{r}");
    }
}

#[test]
fn evaluates_scoped_entries() {
    // GET /status is 1..=100 ms: p95 is about 95 ms (a histogram bucket's top).
    let r = check("GET /status: p95 < 96ms");
    assert!(r.passed, "{r}");
    let p95 = r.measured.unwrap();
    assert!((95.0..96.0).contains(&p95), "{r}");
    assert_eq!(r.unit, "ms");
    assert!(!check("GET /status: p95 < 95ms").passed);
    assert!(
        check("get /status: max == 100").passed,
        "kinds compare case-insensitively"
    );
    assert!(check("GET /status: avg == 50.5").passed);
    assert!(check("GET /status: med <= 51").passed);
    assert!(check("GET /status: requests == 100").passed);
    // A name alone merges its kinds.
    assert!(check("/status: requests == 102").passed);
    assert!(check("/status: max == 600").passed);
    assert!(check("/status: failures == 3").passed);
    // Colons in the name, spaces in the name.
    assert!(check("GET /api/v1:item: p100 == 30ms").passed);
    assert!(check("/api/v1:item: min == 10ms").passed);
    assert!(check("list items: p50 == 5").passed);
    assert!(check("TASK list items: p99.9 == 5ms").passed);
    assert!(check("Aggregated: requests == 106").passed);
}

#[test]
fn a_scope_that_matches_nothing_fails() {
    for expr in [
        "GET /statsu: p95 < 1s",
        "PUT /status: requests >= 0",
        "x: failures == 0",
    ] {
        let r = check(expr);
        assert!(!r.passed, "{r}");
        assert_eq!(r.measured, None);
        assert!(r.message.starts_with("no entry matched"), "{r}");
        assert!(r.message.contains("GET /status, POST /status"), "{r}");
    }
    let r = Threshold::parse("GET /x: requests >= 0")
        .unwrap()
        .evaluate(&Snapshot::empty());
    assert_eq!(
        r.to_string(),
        r#"FAIL GET /x: requests >= 0: no entry matched "GET /x" (the run recorded no entry)"#
    );
}

#[test]
fn no_requests_fail_latency_and_ratio_but_not_counts() {
    let empty = Snapshot::empty();
    for expr in [
        "p95 < 1s",
        "avg < 1s",
        "min >= 0",
        "max < 1",
        "fail_ratio < 1%",
    ] {
        let r = Threshold::parse(expr).unwrap().evaluate(&empty);
        assert!(!r.passed, "{r}");
        assert_eq!(r.measured, None);
        assert_eq!(r.message, "no requests");
    }
    for expr in ["requests == 0", "failures == 0"] {
        let r = Threshold::parse(expr).unwrap().evaluate(&empty);
        assert!(r.passed, "{r}");
    }
    // Rates need a duration.
    let r = Threshold::parse("rps >= 0").unwrap().evaluate(&empty);
    assert!(!r.passed && r.measured.is_none(), "{r}");
}

#[test]
fn fail_ratio_as_ratio_or_percent() {
    // 3 failures of 106.
    let r = check("fail_ratio < 3%");
    assert!(r.passed, "{r}");
    assert_eq!(r.unit, "ratio");
    assert!((r.measured.unwrap() - 3.0 / 106.0).abs() < 1e-12);
    assert_eq!(r.message, "2.83%");
    assert!(!check("fail_ratio < 2%").passed);
    assert!(!check("fail_ratio < 0.02").passed);
    assert!(check("fail_ratio < 0.03").passed);
    assert!(check("GET /status: fail_ratio == 2%").passed);
    assert!(check("GET /status: fail_ratio == 0.02").passed);
    assert!(check("POST /status: fail_ratio == 50%").passed);
    assert!(check("list items: fail_ratio == 0").passed);
}

#[test]
fn results_display_pass_and_fail() {
    assert_eq!(check("max < 1s").to_string(), "PASS max < 1s: 600ms");
    assert_eq!(check("max < 500").to_string(), "FAIL max < 500: 600ms");
    assert_eq!(check("rps > 1").to_string(), "PASS rps > 1: 10.6 req/s");
    assert_eq!(check("requests > 1").to_string(), "PASS requests > 1: 106");
    let r = check("fails_per_sec == 0");
    assert_eq!(r.to_string(), "FAIL fails_per_sec == 0: 0.3 fails/s");
    assert_eq!(r.unit, "fails/s");
    assert_eq!(check("requests > 1").unit, "");
}

#[test]
fn evaluate_all_keeps_order() {
    let ts: Vec<Threshold> = ["max < 1s", "x: avg < 1", "requests > 0"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let rs = evaluate_all(&ts, &snapshot());
    let got: Vec<(&str, bool)> = rs.iter().map(|r| (r.expr.as_str(), r.passed)).collect();
    assert_eq!(
        got,
        [
            ("max < 1s", true),
            ("x: avg < 1", false),
            ("requests > 0", true)
        ]
    );
}

#[test]
fn serde_as_the_expression() {
    let t = Threshold::parse("GET /x: p95 < 1s").unwrap();
    assert_eq!(serde_json::to_value(&t).unwrap(), "GET /x: p95 < 1s");
    let a = t.clone().abort_on_fail(true);
    assert!(a.abort_on_fail);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "expr": "GET /x: p95 < 1s", "abort_on_fail": true })
    );
    assert_eq!(serde_json::from_value::<Threshold>(json).unwrap(), a);
    let back: Threshold = serde_json::from_str(r#""GET /x: p95 < 1s""#).unwrap();
    assert_eq!(back, t);
    let back: Threshold = serde_json::from_str(r#"{"expr": "GET /x: p95 < 1s"}"#).unwrap();
    assert_eq!(back, t);
    let bad = serde_json::from_str::<Threshold>(r#""p95 < 2xx""#).unwrap_err();
    assert!(
        bad.to_string().contains("\"2xx\" is not a duration"),
        "{bad}"
    );
    assert!(serde_json::from_str::<Threshold>(r#"{"expr": "p95<1", "x": 1}"#).is_err());

    let r = check("max < 1s");
    let back: ThresholdResult = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn formats_numbers_briefly() {
    assert_eq!(fmt_num(153.2), "153.2");
    assert_eq!(fmt_num(2.0), "2");
    assert_eq!(fmt_num(0.0), "0");
    assert_eq!(fmt_num(-0.0001), "0");
    assert_eq!(fmt_num(1.23456), "1.235");
    assert_eq!(fmt_num(1000.0), "1000");
}

mod baseline;
