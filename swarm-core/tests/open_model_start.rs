//! The open model's schedule starts once the pre-allocated users have made their first
//! `on_start` call: a slow `on_start` (a login, say) shows neither as start lateness nor
//! as a pool that grows, and takes none of the run time. Under the paused clock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use swarm_core::prelude::*;
use tokio::time::Instant;

/// Users made, iterations run, and how long each `on_start` takes (its first
/// `FAIL_FIRST` calls fail after that time).
static MADE: AtomicUsize = AtomicUsize::new(0);
static RUN: AtomicU64 = AtomicU64::new(0);
static START_MS: AtomicU64 = AtomicU64::new(0);
static FAIL_FIRST: AtomicUsize = AtomicUsize::new(0);

struct SlowStart;

#[async_trait]
impl User for SlowStart {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        tokio::time::sleep(Duration::from_millis(START_MS.load(Ordering::SeqCst))).await;
        if MADE.fetch_add(1, Ordering::SeqCst) < FAIL_FIRST.load(Ordering::SeqCst) {
            return Err(TaskError::new("login refused"));
        }
        Ok(SlowStart)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("work", Self::work)
    }
}

impl SlowStart {
    async fn work(&mut self, ctx: &mut UserContext) -> TaskResult {
        RUN.fetch_add(1, Ordering::SeqCst);
        let rec = ctx.recorder().clone();
        rec.measure("GET", "/work", async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, std::io::Error>(())
        })
        .await?;
        Ok(())
    }
}

fn reset(start_ms: u64, fail_first: usize) {
    MADE.store(0, Ordering::SeqCst);
    RUN.store(0, Ordering::SeqCst);
    START_MS.store(start_ms, Ordering::SeqCst);
    FAIL_FIRST.store(fail_first, Ordering::SeqCst);
}

// One test function: the counters are process-wide.
#[tokio::test(start_paused = true)]
async fn the_schedule_starts_after_the_pre_allocated_users_on_start() {
    // 1. Each on_start takes 400 ms. 50/s for 2 s on a pool of 5: every one of the 100
    //    iterations starts on time, no user is added for iterations that would have
    //    waited for on_start, and the run lasts its 2 s after the 400 ms of on_start.
    reset(400, 0);
    let t0 = Instant::now();
    let report = Swarm::new()
        .user::<SlowStart>()
        .arrival_rate(50.0)
        .run_time(Duration::from_secs(2))
        .pool(5, 50)
        .run()
        .await
        .unwrap();
    let took = t0.elapsed();
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!(MADE.load(Ordering::SeqCst), 5, "{report}");
    assert_eq!((sched.iterations, sched.dropped), (100, 0), "{report}");
    assert_eq!(RUN.load(Ordering::SeqCst), 100);
    assert_eq!(
        sched.lateness.percentile_ms(1.0),
        Some(0.0),
        "on_start showed as lateness: {report}"
    );
    assert!(
        (1.99..2.1).contains(&report.snapshot.duration_secs),
        "duration {} s",
        report.snapshot.duration_secs
    );
    assert!(took >= Duration::from_millis(2400), "{took:?}");

    // 2. A failing first on_start does not hold the schedule: it starts once every first
    //    attempt has ended, and the failed users retry (after 1 s) while the others work.
    reset(400, 2);
    let report = Swarm::new()
        .user::<SlowStart>()
        .arrival_rate(20.0)
        .run_time(Duration::from_secs(2))
        .pool(5, 5)
        .run()
        .await
        .unwrap();
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!((sched.iterations, sched.dropped), (40, 0), "{report}");
    assert_eq!(
        sched.lateness.percentile_ms(1.0),
        Some(0.0),
        "on_start showed as lateness: {report}"
    );
    let on_start = report
        .snapshot
        .entries
        .iter()
        .find(|e| e.name == "SlowStart.on_start")
        .expect("the failed on_start calls are counted");
    assert_eq!(on_start.failures, 2, "{report}");
}
