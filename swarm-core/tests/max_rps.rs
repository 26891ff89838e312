//! `--max-rps` and per-task caps keep the number of task starts within the cap for the
//! whole run, with no burst after an idle spell.

use std::time::Duration;

use swarm_core::prelude::*;

/// Two uncapped tasks.
struct Eager;

/// One task capped at 5 per second.
struct Capped;

#[async_trait]
impl User for Capped {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Capped)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .with(Task::new("capped", Self::capped).max_rps(5.0))
            .task("free", Self::free)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(10))
    }
}

impl Capped {
    async fn capped(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "capped", Duration::from_millis(1), 0);
        Ok(())
    }
    async fn free(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "free", Duration::from_millis(1), 0);
        Ok(())
    }
}

#[async_trait]
impl User for Eager {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Eager)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("a", Self::a).task("free", Self::free)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(10))
    }
}

impl Eager {
    async fn a(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "a", Duration::from_millis(1), 0);
        Ok(())
    }
    async fn free(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "free", Duration::from_millis(1), 0);
        Ok(())
    }
}

fn count(report: &Report, name: &str) -> u64 {
    report.snapshot.entry("T", name).map_or(0, |e| e.requests)
}

#[tokio::test(start_paused = true)]
async fn global_cap_holds_for_the_run() {
    let report = Swarm::new()
        .user::<Eager>()
        .users(20)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(10))
        .max_rps(50.0)
        .run()
        .await
        .unwrap();
    let total = report.requests();
    // 50 per second for 10 s, the first at 0: at most 501 (the limiter spaces them 20 ms apart).
    assert!(total <= 501, "{total}");
    assert!(total >= 490, "the cap is reached, not undershot: {total}");
    // Without the cap the same users run 20 x 100 = 2000 tasks a second.
    assert!(count(&report, "a") > 100 && count(&report, "free") > 100);
}

#[tokio::test(start_paused = true)]
async fn per_task_cap_without_a_global_one() {
    let report = Swarm::new()
        .user::<Capped>()
        .users(10)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(10))
        .seed(3)
        .run()
        .await
        .unwrap();
    let capped = count(&report, "capped");
    assert!((45..=51).contains(&capped), "{capped}");
    // Users that picked the capped task wait their turn; the other task still runs.
    assert!(count(&report, "free") >= 10, "{}", count(&report, "free"));
}

#[tokio::test(start_paused = true)]
async fn a_bad_cap_is_refused() {
    let err = Swarm::new()
        .user::<Eager>()
        .max_rps(0.0)
        .run()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--max-rps"), "{err}");
}
