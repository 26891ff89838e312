//! Thresholds decide whether a run passed and its exit code, appear in the report with
//! their measured values, and can end a run early.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{StopReason, Threshold};

struct Slow;

#[async_trait]
impl User for Slow {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Slow)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("work", Self::work)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(100))
    }
}

impl Slow {
    async fn work(&mut self, ctx: &mut UserContext) -> TaskResult {
        // 10 ms of (paused-clock) latency, and every fourth request fails.
        let n: u32 = ctx.rng().random_range(0..4);
        let rec = ctx.recorder().clone();
        rec.measure("GET", "/work", async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if n == 0 {
                Err("boom")
            } else {
                Ok(())
            }
        })
        .await
        .ok();
        Ok(())
    }
}

fn run(thresholds: &[&str]) -> Swarm {
    let mut s = Swarm::new()
        .user::<Slow>()
        .users(4)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(20))
        .seed(7);
    for t in thresholds {
        s = s.threshold(*t);
    }
    s
}

#[tokio::test(start_paused = true)]
async fn thresholds_decide_the_verdict_and_show_measured_values() {
    let report = run(&["p95 < 50ms", "avg < 20ms", "GET /work: max <= 1s"])
        .run()
        .await
        .unwrap();
    assert!(
        report.failures() > 0,
        "requests failed, but thresholds alone decide"
    );
    assert!(report.passed(), "{report}");
    assert_eq!(report.exit_code(), 0);
    let p95 = &report.thresholds[0];
    assert!(p95.passed);
    assert!((p95.measured.unwrap() - 10.0).abs() < 0.1, "{p95:?}");

    let report = run(&["p95 < 5ms", "fail_ratio < 1%", "rps > 0"])
        .run()
        .await
        .unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.exit_code(),
        swarm_core::report::exit_code::THRESHOLDS
    );
    let failed: Vec<_> = report.failed_thresholds().map(|t| t.expr.clone()).collect();
    assert_eq!(failed, ["p95 < 5ms", "fail_ratio < 1%"]);
    let text = report.to_string();
    assert!(text.contains("FAIL p95 < 5ms"), "{text}");
    assert!(text.contains("PASS rps > 0"), "{text}");
    let json = report.to_json();
    assert_eq!(json["thresholds"][1]["expr"], "fail_ratio < 1%");
    assert_eq!(json["thresholds"][1]["passed"], false);
    assert_eq!(json["exit_code"], 99);
}

#[tokio::test(start_paused = true)]
async fn a_failing_threshold_can_abort_after_its_grace_time() {
    let report = run(&["fail_ratio < 1%"])
        .abort_on_threshold(Duration::from_secs(5))
        .run()
        .await
        .unwrap();
    assert_eq!(report.reason, StopReason::ThresholdAbort);
    assert!(
        (report.snapshot.duration_secs - 5.0).abs() < 1e-6,
        "{}",
        report.snapshot.duration_secs
    );
    assert_eq!(report.exit_code(), 99);

    // Only the threshold marked abort-on-fail aborts.
    let report = run(&["p95 < 5ms"])
        .threshold_parsed(
            Threshold::parse("fail_ratio < 90%")
                .unwrap()
                .abort_on_fail(true),
        )
        .run()
        .await
        .unwrap();
    assert_eq!(report.reason, StopReason::RunTime);
    assert_eq!(report.thresholds.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_bad_threshold_stops_the_run_before_any_load() {
    let err = run(&["p95 < 2xx"]).run().await.unwrap_err().to_string();
    assert!(err.contains("2xx") && err.contains("--threshold"), "{err}");
}
