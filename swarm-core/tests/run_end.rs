//! How a run ends when its handles are dropped.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::StopReason;
use tokio::time::Instant;

struct Ticker;

#[async_trait]
impl User for Ticker {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Ticker)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("tick", Self::tick)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Ticker {
    async fn tick(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "tick", Duration::from_millis(1), 0);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn without_handles_a_timed_run_goes_on_to_its_end() {
    let t0 = Instant::now();
    let (handle, run) = Swarm::new()
        .user::<Ticker>()
        .users(4)
        .spawn_rate(1.0)
        .run_time(Duration::from_millis(5_500))
        .start()
        .unwrap();
    drop(handle);
    let report = run.await.unwrap();
    assert_eq!(report.reason, StopReason::RunTime);
    assert_eq!(t0.elapsed(), Duration::from_millis(5_500));
    // Users started at 0, 1, 2 and 3 s, each ticking once a second until 5.5 s.
    assert_eq!(report.requests(), 6 + 5 + 4 + 3);
    let users: Vec<u32> = report.snapshot.history.iter().map(|r| r.users).collect();
    assert_eq!(users, [2, 3, 4, 4, 4, 0]);
}

#[tokio::test(start_paused = true)]
async fn without_handles_an_untimed_run_ends_at_once() {
    let t0 = Instant::now();
    let (handle, run) = Swarm::new().user::<Ticker>().start().unwrap();
    drop(handle);
    let report = run.await.unwrap();
    assert_eq!(report.reason, StopReason::Detached);
    assert_eq!(t0.elapsed(), Duration::ZERO);
}
