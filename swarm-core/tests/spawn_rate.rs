//! Users start at the spawn rate, and a new user count is reached at the spawn rate too.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::StopReason;
use tokio::time::{sleep_until, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Records the instant of every `on_start`.
struct Ramp;

static RAMP_STARTS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[async_trait]
impl User for Ramp {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        RAMP_STARTS.lock().unwrap().push(Instant::now());
        Ok(Ramp)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Ramp {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn users_start_one_every_half_second() {
    let ticks = Arc::new(Mutex::new(Vec::new()));
    let seen = ticks.clone();
    let t0 = Instant::now();
    let report = Swarm::new()
        .user::<Ramp>()
        .users(10)
        .spawn_rate(2.0)
        .run_time(Duration::from_secs(8))
        .on_progress(move |p| {
            seen.lock()
                .unwrap()
                .push((p.elapsed, p.users, p.target_users));
        })
        .run()
        .await
        .unwrap();

    let starts: Vec<Duration> = RAMP_STARTS
        .lock()
        .unwrap()
        .iter()
        .map(|t| *t - t0)
        .collect();
    let expected: Vec<Duration> = (0..10).map(|i| ms(500 * i)).collect();
    assert_eq!(starts, expected);

    assert_eq!(report.reason, StopReason::RunTime);
    assert_eq!(t0.elapsed(), Duration::from_secs(8));

    // One progress call a second (the end of the run at 8 s comes before its tick). A
    // user due at the same instant as a tick is started first: 3 users at 1 s, 5 at 2 s.
    let ticks = ticks.lock().unwrap();
    let got: Vec<(Duration, u32, u32)> = ticks.clone();
    let want: Vec<(Duration, u32, u32)> = (1..=7u32)
        .map(|s| (Duration::from_secs(s.into()), (2 * s + 1).min(10), 10))
        .collect();
    assert_eq!(got, want);
}

/// Counts the users that stopped.
struct Shrink;

static SHRINK_STOPS: AtomicU32 = AtomicU32::new(0);

#[async_trait]
impl User for Shrink {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Shrink)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(100))
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        SHRINK_STOPS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Shrink {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn set_users_ramps_down_at_the_spawn_rate() {
    let t0 = Instant::now();
    let (handle, run) = Swarm::new()
        .user::<Shrink>()
        .users(10)
        .spawn_rate(100.0)
        .start()
        .unwrap();

    sleep_until(t0 + Duration::from_secs(1)).await;
    assert_eq!(handle.snapshot().await.unwrap().users, 10);
    assert_eq!(SHRINK_STOPS.load(Ordering::SeqCst), 0);

    // Down to 4 at 2 users a second: one stops at once, then one every 0.5 s.
    assert!(handle.set_users(4, 2.0));
    let mut counts = Vec::new();
    for k in 0..8 {
        sleep_until(t0 + ms(1250 + 500 * k)).await;
        counts.push(handle.snapshot().await.unwrap().users);
    }
    assert_eq!(counts, [9, 8, 7, 6, 5, 4, 4, 4]);
    // Their long waits were cut short and on_stop ran.
    assert_eq!(SHRINK_STOPS.load(Ordering::SeqCst), 6);

    // And back up to 6.
    assert!(handle.set_users(6, 4.0));
    sleep_until(t0 + ms(5_900)).await;
    assert_eq!(handle.snapshot().await.unwrap().users, 6);

    assert!(handle.stop());
    let report = run.await.unwrap();
    assert_eq!(report.reason, StopReason::Stopped);
    assert_eq!(SHRINK_STOPS.load(Ordering::SeqCst), 12);
    assert!(!handle.stop(), "the run is over");
}
