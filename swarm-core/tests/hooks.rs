//! test_start runs once before any user and can hand data to users; test_stop runs on
//! every exit path; a failing hook is reported clearly.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::Error;

static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log(e: impl Into<String>) {
    EVENTS.lock().unwrap().push(e.into());
}

/// Set up in test_start, read by every user.
struct Funded(AtomicU32);

struct Funder;

#[async_trait]
impl User for Funder {
    async fn test_start(run: &RunContext) -> Result<(), TaskError> {
        log("start");
        run.shared(|| Funded(AtomicU32::new(100)));
        Ok(())
    }
    async fn test_stop(run: &RunContext) -> Result<(), TaskError> {
        let left = run
            .shared(|| Funded(AtomicU32::new(0)))
            .0
            .load(Ordering::SeqCst);
        log(format!("stop {left}"));
        Ok(())
    }
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let funds = ctx.shared(|| Funded(AtomicU32::new(0)));
        funds.0.fetch_sub(1, Ordering::SeqCst);
        log("user");
        Ok(Funder)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Funder {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

struct Broken;

#[async_trait]
impl User for Broken {
    async fn test_start(_run: &RunContext) -> Result<(), TaskError> {
        Err(TaskError::new("no schema"))
    }
    async fn test_stop(_run: &RunContext) -> Result<(), TaskError> {
        log("broken stop");
        Ok(())
    }
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        log("broken user");
        Ok(Broken)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
}

impl Broken {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

struct StopFails;

#[async_trait]
impl User for StopFails {
    async fn test_stop(_run: &RunContext) -> Result<(), TaskError> {
        panic!("cleanup exploded")
    }
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(StopFails)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl StopFails {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

// One test function: the event log is process-wide.
#[tokio::test(start_paused = true)]
async fn hooks_run_once_around_the_run_on_every_path() {
    let report = Swarm::new()
        .user::<Funder>()
        .users(3)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(3))
        .run()
        .await
        .unwrap();
    assert!(report.passed());
    let events = std::mem::take(&mut *EVENTS.lock().unwrap());
    assert_eq!(events, ["start", "user", "user", "user", "stop 97"]);

    // A handle's stop is another exit path.
    let (handle, run) = Swarm::new().user::<Funder>().users(1).start().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    handle.stop();
    run.await.unwrap();
    let events = std::mem::take(&mut *EVENTS.lock().unwrap());
    assert_eq!(events, ["start", "user", "stop 99"]);

    // test_start fails: no user starts, test_stop still runs, a clear error.
    let err = Swarm::new()
        .user::<Broken>()
        .run_time(Duration::from_secs(3))
        .run()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TestStart { .. }));
    assert_eq!(err.to_string(), "test_start of Broken failed: no schema");
    let events = std::mem::take(&mut *EVENTS.lock().unwrap());
    assert_eq!(events, ["broken stop"]);

    // test_stop panics: reported, and the run does not pass.
    let report = Swarm::new()
        .user::<StopFails>()
        .run_time(Duration::from_secs(2))
        .run()
        .await
        .unwrap();
    assert!(!report.passed());
    assert_eq!(report.exit_code(), 5);
    assert_eq!(
        report.hook_errors,
        ["test_stop of StopFails failed: panicked: cleanup exploded"]
    );
}
