//! The open model's pool grows only for iterations that keep waiting: a user busy for a
//! moment longer than the schedule's gap is waited for, a target that stays slow gets
//! more users. Under the paused clock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use swarm_core::prelude::*;

/// Users made (`on_start` calls), iterations run, and how long each iteration takes:
/// the first `SLOW_FIRST` iterations take `SLOW_MS`, later ones 1 ms.
static MADE: AtomicUsize = AtomicUsize::new(0);
static RUN: AtomicU64 = AtomicU64::new(0);
static SLOW_FIRST: AtomicU64 = AtomicU64::new(0);
static SLOW_MS: AtomicU64 = AtomicU64::new(0);

struct Pooled;

#[async_trait]
impl User for Pooled {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        MADE.fetch_add(1, Ordering::SeqCst);
        Ok(Pooled)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("work", Self::work)
    }
}

impl Pooled {
    async fn work(&mut self, ctx: &mut UserContext) -> TaskResult {
        let k = RUN.fetch_add(1, Ordering::SeqCst);
        let ms = if k < SLOW_FIRST.load(Ordering::SeqCst) {
            SLOW_MS.load(Ordering::SeqCst)
        } else {
            1
        };
        let rec = ctx.recorder().clone();
        rec.measure("GET", "/work", async {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, std::io::Error>(())
        })
        .await?;
        Ok(())
    }
}

fn reset(slow_first: u64, slow_ms: u64) {
    MADE.store(0, Ordering::SeqCst);
    RUN.store(0, Ordering::SeqCst);
    SLOW_FIRST.store(slow_first, Ordering::SeqCst);
    SLOW_MS.store(slow_ms, Ordering::SeqCst);
}

// One test function: the counters are process-wide.
#[tokio::test(start_paused = true)]
async fn the_pool_grows_for_iterations_that_keep_waiting_only() {
    // 1. 20/s (50 ms apart), one user, the first iteration takes 120 ms: iterations 2 and
    //    3 (due at 50 and 100 ms) wait for that user, 70 and about 20 ms, less than the 100 ms
    //    the pool waits before it grows. No second user is made, nothing is dropped, and
    //    the lateness shows the wait.
    reset(1, 120);
    let report = Swarm::new()
        .user::<Pooled>()
        .arrival_rate(20.0)
        .run_time(Duration::from_secs(2))
        .pool(1, 10)
        .run()
        .await
        .unwrap();
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!(MADE.load(Ordering::SeqCst), 1, "{report}");
    assert_eq!((sched.iterations, sched.dropped), (40, 0));
    let late_max = sched.lateness.percentile_ms(1.0).unwrap();
    assert!(
        (69.0..=71.0).contains(&late_max),
        "max lateness {late_max} ms"
    );

    // 2. The same, but the first 10 iterations take 1 s each: iterations keep waiting, so
    //    the pool grows (after 100 ms of waiting, once for each waiting iteration) up to
    //    its maximum, and every iteration still starts.
    reset(10, 1000);
    let report = Swarm::new()
        .user::<Pooled>()
        .arrival_rate(20.0)
        .run_time(Duration::from_secs(3))
        .stop_timeout(Duration::from_secs(2))
        .pool(1, 10)
        .run()
        .await
        .unwrap();
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!(MADE.load(Ordering::SeqCst), 10, "{report}");
    assert_eq!((sched.iterations, sched.dropped), (60, 0), "{report}");
    let late_max = sched.lateness.percentile_ms(1.0).unwrap();
    assert!(late_max >= 100.0, "max lateness {late_max} ms");

    // 3. With no maximum lateness an iteration never waits: it gets a new user at once
    //    while the pool may grow (k6's behaviour), and is dropped once it may not.
    reset(1, 120);
    let report = Swarm::new()
        .user::<Pooled>()
        .arrival_rate(20.0)
        .run_time(Duration::from_secs(2))
        .pool(1, 2)
        .max_lateness(Duration::ZERO)
        .run()
        .await
        .unwrap();
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!(MADE.load(Ordering::SeqCst), 2, "{report}");
    assert_eq!((sched.iterations, sched.dropped), (40, 0), "{report}");
    assert_eq!(sched.lateness.percentile_ms(1.0), Some(0.0));
}
