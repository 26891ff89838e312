//! When the run stops, a running task may finish within the stop timeout, then it is
//! cancelled; waits are cut short; `on_stop` runs either way.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::StopReason;
use tokio::time::{sleep_until, Instant};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One counter of `on_stop` calls per test, picked by `N`.
static STOPS: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];

/// A user whose only task sleeps 10 s and then records a success.
struct Sleeper<const N: usize>;

#[async_trait]
impl<const N: usize> User for Sleeper<N> {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Sleeper)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("slow", Self::slow)
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        STOPS[N].fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl<const N: usize> Sleeper<N> {
    async fn slow(&mut self, ctx: &mut UserContext) -> TaskResult {
        tokio::time::sleep(secs(10)).await;
        ctx.recorder().success("SLEEP", "slow", secs(10), 0);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_past_the_stop_timeout_is_cancelled() {
    let t0 = Instant::now();
    let report = Swarm::new()
        .user::<Sleeper<0>>()
        .run_time(secs(3))
        .stop_timeout(secs(5))
        .run()
        .await
        .unwrap();
    assert_eq!(
        t0.elapsed(),
        secs(8),
        "cancelled at run time + stop timeout"
    );
    assert_eq!(report.reason, StopReason::RunTime);
    assert!(
        report.snapshot.entry("SLEEP", "slow").is_none(),
        "{:?}",
        report.snapshot.entries
    );
    assert_eq!(report.requests(), 0);
    assert_eq!(report.failures(), 0, "a cancelled task is not a failure");
    assert_eq!(STOPS[0].load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_task_within_the_stop_timeout_completes() {
    let t0 = Instant::now();
    let report = Swarm::new()
        .user::<Sleeper<1>>()
        .run_time(secs(3))
        .stop_timeout(secs(20))
        .run()
        .await
        .unwrap();
    assert_eq!(t0.elapsed(), secs(10), "the run ends when the task does");
    let e = report
        .snapshot
        .entry("SLEEP", "slow")
        .expect("the task's success");
    assert_eq!((e.requests, e.failures), (1, 0));
    assert_eq!(report.requests(), 1, "no second task starts after the stop");
    assert_eq!(STOPS[1].load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn kill_cancels_at_once_after_a_stop() {
    let t0 = Instant::now();
    let (handle, run) = Swarm::new()
        .user::<Sleeper<2>>()
        .stop_timeout(secs(60))
        .start()
        .unwrap();
    sleep_until(t0 + secs(2)).await;
    assert!(handle.stop());
    sleep_until(t0 + secs(4)).await;
    handle.kill();
    let report = run.await.unwrap();
    assert_eq!(t0.elapsed(), secs(4));
    assert_eq!(report.reason, StopReason::Stopped);
    assert_eq!(report.requests(), 0);
    assert_eq!(STOPS[2].load(Ordering::SeqCst), 1);
}

/// A user with a quick task and a long wait.
struct Waiter;

static WAITER_STOPS: AtomicU32 = AtomicU32::new(0);

#[async_trait]
impl User for Waiter {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Waiter)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("quick", Self::quick)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(100))
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        WAITER_STOPS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Waiter {
    async fn quick(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("QUICK", "quick", Duration::from_millis(1), 0);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_wait_is_cut_short_at_stop() {
    let t0 = Instant::now();
    let report = Swarm::new()
        .user::<Waiter>()
        .users(3)
        .spawn_rate(100.0)
        .run_time(secs(3))
        .stop_timeout(secs(20))
        .run()
        .await
        .unwrap();
    assert_eq!(t0.elapsed(), secs(3), "no one waits out the 100 s pause");
    assert_eq!(report.requests(), 3, "one task per user");
    assert_eq!(WAITER_STOPS.load(Ordering::SeqCst), 3);
}

/// A user of a ramp-down gets the same stop timeout: killed 2 s after it was told to stop.
#[tokio::test(start_paused = true)]
async fn ramp_down_gives_running_tasks_the_stop_timeout() {
    let t0 = Instant::now();
    let (handle, run) = Swarm::new()
        .user::<Sleeper<3>>()
        .users(2)
        .spawn_rate(100.0)
        .stop_timeout(secs(2))
        .start()
        .unwrap();
    sleep_until(t0 + secs(1)).await;
    assert!(handle.set_users(0, 100.0));
    sleep_until(t0 + Duration::from_millis(2_900)).await;
    assert_eq!(
        STOPS[3].load(Ordering::SeqCst),
        0,
        "still within the stop timeout"
    );
    sleep_until(t0 + Duration::from_millis(3_100)).await;
    assert_eq!(
        STOPS[3].load(Ordering::SeqCst),
        2,
        "killed at 1 + 2 s, then on_stop"
    );
    let snap = handle.snapshot().await.unwrap();
    assert_eq!(snap.users, 0);
    assert_eq!(
        snap.total_requests(),
        0,
        "the killed tasks recorded nothing"
    );
    assert!(handle.stop());
    let report = run.await.unwrap();
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(3_100),
        "nothing left to wait for"
    );
    assert_eq!(report.requests(), 0);
}
