//! The open model: iterations start on schedule whatever the latency, a full pool makes
//! iterations wait (their lateness shows in the corrected latency) or be dropped, and
//! bad settings are refused before any load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{ConfigError, Error, StopReason};
use tokio::time::Instant;

static STARTS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

/// An iteration that takes `LATENCY` of (paused-clock) time, recorded as a request.
struct Worker;

static LATENCY_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(10);

#[async_trait]
impl User for Worker {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Worker)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("work", Self::work)
    }
}

impl Worker {
    async fn work(&mut self, ctx: &mut UserContext) -> TaskResult {
        STARTS.lock().unwrap().push(Instant::now());
        let ms = LATENCY_MS.load(std::sync::atomic::Ordering::SeqCst);
        let rec = ctx.recorder().clone();
        rec.measure("GET", "/work", async {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(())
        })
        .await?;
        Ok(())
    }
}

// One test function: the start log and latency are process-wide.
#[tokio::test(start_paused = true)]
async fn iterations_start_on_schedule_and_a_full_pool_shows_in_corrected_latency() {
    // 1. Fast target, pool large enough: 10/s for 3 s = 30 iterations, 100 ms apart.
    LATENCY_MS.store(10, std::sync::atomic::Ordering::SeqCst);
    let report = Swarm::new()
        .user::<Worker>()
        .arrival_rate(10.0)
        .run_time(Duration::from_secs(3))
        .pool(2, 2)
        .run()
        .await
        .unwrap();
    let starts = std::mem::take(&mut *STARTS.lock().unwrap());
    assert_eq!(starts.len(), 30);
    for (k, t) in starts.iter().enumerate() {
        assert_eq!(
            *t - starts[0],
            Duration::from_millis(100 * k as u64),
            "iteration {k}"
        );
    }
    assert_eq!(report.reason, StopReason::RunTime);
    let sched = report
        .snapshot
        .schedule
        .as_ref()
        .expect("open-model numbers");
    assert_eq!((sched.iterations, sched.dropped), (30, 0));
    assert_eq!(
        sched.lateness.percentile_ms(1.0),
        Some(0.0),
        "every start on time"
    );
    let work = report.snapshot.entry("GET", "/work").unwrap();
    assert_eq!(work.requests, 30);
    // Equal to the histogram's precision (3 significant figures).
    let same = |a: Option<f64>, b: Option<f64>| {
        let (a, b) = (a.unwrap(), b.unwrap());
        (a - b).abs() <= 0.001 * b.max(1.0)
    };
    assert!(same(
        work.corrected_percentile_ms(0.99),
        work.percentile_ms(0.99)
    ));

    // 2. Slow target (1 s per iteration), 10/s, a pool of at most 5: iterations wait for a
    //    free user (up to 1 s late) or are dropped; the corrected latency (from the
    //    scheduled start) is above the service time.
    LATENCY_MS.store(1000, std::sync::atomic::Ordering::SeqCst);
    let report = Swarm::new()
        .user::<Worker>()
        .arrival_rate(10.0)
        .run_time(Duration::from_secs(10))
        .stop_timeout(Duration::from_secs(2))
        .pool(2, 5)
        .run()
        .await
        .unwrap();
    STARTS.lock().unwrap().clear();
    let sched = report.snapshot.schedule.clone().unwrap();
    let work = report.snapshot.entry("GET", "/work").unwrap();
    assert!(sched.dropped > 0, "{report}");
    assert_eq!(
        sched.iterations + sched.dropped,
        100,
        "every scheduled iteration is accounted for"
    );
    assert!(
        sched.iterations <= 55,
        "5 users x 1 s each for 10 s: {}",
        sched.iterations
    );
    let service = work.percentile_ms(0.5).unwrap();
    let corrected = work.corrected_percentile_ms(0.5).unwrap();
    assert!((service - 1000.0).abs() < 2.0, "service {service}");
    assert!(
        corrected > service + 100.0,
        "corrected {corrected} vs service {service}"
    );
    assert!(report.to_string().contains("dropped"), "{report}");
    assert_eq!(report.to_json()["schedule"]["dropped"], sched.dropped);

    // 3. The same with --max-lateness 0 (k6's behaviour): no waiting, more drops,
    //    corrected equal to service.
    let report = Swarm::new()
        .user::<Worker>()
        .arrival_rate(10.0)
        .run_time(Duration::from_secs(10))
        .stop_timeout(Duration::from_secs(2))
        .pool(5, 5)
        .max_lateness(Duration::ZERO)
        .run()
        .await
        .unwrap();
    STARTS.lock().unwrap().clear();
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!(sched.iterations + sched.dropped, 100);
    assert_eq!(
        sched.iterations, 50,
        "5 users, each free every 1 s, 10 per second due"
    );
    let work = report.snapshot.entry("GET", "/work").unwrap();
    assert!(same(
        work.corrected_percentile_ms(0.99),
        work.percentile_ms(0.99)
    ));

    // 4. A ramping rate: 0 -> 20/s over 2 s gives N(t) = 5 t^2 iterations: 20 in 2 s.
    LATENCY_MS.store(1, std::sync::atomic::Ordering::SeqCst);
    let report = Swarm::new()
        .user::<Worker>()
        .arrival_stages(0.0, "2s@20")
        .pool(3, 10)
        .run()
        .await
        .unwrap();
    let starts = std::mem::take(&mut *STARTS.lock().unwrap());
    assert_eq!(starts.len(), 20);
    // The k-th start is due at sqrt(k / 5) s; Tokio's timer fires on whole milliseconds,
    // so it starts at exactly that time rounded up to the millisecond.
    for (k, t) in starts.iter().enumerate() {
        let due_us = ((k as f64 / 5.0).sqrt() * 1e6).round() as u64;
        let want = Duration::from_millis(due_us.div_ceil(1000));
        assert_eq!(*t - starts[0], want, "iteration {k}");
    }
    assert_eq!(report.snapshot.schedule.unwrap().dropped, 0);
}

#[tokio::test(start_paused = true)]
async fn bad_open_model_settings_are_refused() {
    let cases: Vec<(Swarm, &str)> = vec![
        (
            Swarm::new().user::<Worker>().arrival_rate(10.0),
            "needs a --run-time",
        ),
        (
            Swarm::new()
                .user::<Worker>()
                .arrival_rate(-1.0)
                .run_time(Duration::from_secs(1)),
            "--arrival-rate",
        ),
        (
            Swarm::new()
                .user::<Worker>()
                .arrival_rate(5.0)
                .run_time(Duration::from_secs(1))
                .pool(10, 5),
            "--max-users",
        ),
        (
            Swarm::new().user::<Worker>().arrival_stages(0.0, "10s@x"),
            "10s@x",
        ),
        (
            Swarm::new()
                .user::<Worker>()
                .pool(1, 2)
                .run_time(Duration::from_secs(1)),
            "open model",
        ),
    ];
    for (swarm, want) in cases {
        let err = swarm.run().await.unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::InvalidValue { .. })),
            "{err}"
        );
        assert!(err.to_string().contains(want), "{err}");
    }
    let _ = Arc::new(());
}
