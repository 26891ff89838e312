//! A task that returns an error or panics is counted as a failure of kind `TASK`, named
//! `UserType.task`, and the user goes on. A failure its request already recorded is not
//! counted twice. A failing `on_start` is counted and tried again a second later.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::TASK_KIND;
use tokio::time::Instant;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Alternates a task that returns an error and one that panics.
struct Failing;

#[async_trait]
impl User for Failing {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Failing)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .task("fail", Self::fail)
            .task("panic", Self::panic)
            .sequential()
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(1))
    }
}

impl Failing {
    async fn fail(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Err(TaskError::new("boom"))
    }
    async fn panic(&mut self, _ctx: &mut UserContext) -> TaskResult {
        panic!("kaboom");
    }
}

#[tokio::test(start_paused = true)]
async fn errors_and_panics_are_task_failures_and_the_user_goes_on() {
    // Tasks at 0, 1, ..., 9 s: five of each.
    let report = Swarm::new()
        .user::<Failing>()
        .run_time(Duration::from_millis(9_500))
        .run()
        .await
        .unwrap();
    let snap = &report.snapshot;

    let fail = snap
        .entry(TASK_KIND, "Failing.fail")
        .expect("Failing.fail entry");
    assert_eq!((fail.requests, fail.failures), (5, 5));
    let panic = snap
        .entry(TASK_KIND, "Failing.panic")
        .expect("Failing.panic entry");
    assert_eq!((panic.requests, panic.failures), (5, 5));
    assert_eq!(snap.entries.len(), 2, "{:?}", snap.entries);
    assert_eq!(report.failures(), 10);
    assert!(!report.passed());
    assert_eq!(report.exit_code(), 1);

    let boom = snap
        .errors
        .iter()
        .find(|e| e.name == "Failing.fail")
        .expect("an error row for Failing.fail");
    assert_eq!(
        (boom.kind.as_str(), boom.message.as_str(), boom.occurrences),
        (TASK_KIND, "boom", 5)
    );
    let kaboom = snap
        .errors
        .iter()
        .find(|e| e.name == "Failing.panic")
        .expect("an error row for Failing.panic");
    assert!(kaboom.message.contains("kaboom"), "{}", kaboom.message);
    assert_eq!(kaboom.occurrences, 5);

    let ex = |needle: &str| {
        snap.exceptions
            .iter()
            .find(|e| e.message.contains(needle))
            .unwrap_or_else(|| panic!("no exception {needle:?} in {:?}", snap.exceptions))
    };
    assert_eq!(ex("boom").count, 5);
    assert!(
        ex("boom").traceback.contains("Failing.fail"),
        "{:?}",
        ex("boom")
    );
    assert_eq!(ex("kaboom").count, 5);
    assert!(
        ex("kaboom").traceback.contains("Failing.panic"),
        "{:?}",
        ex("kaboom")
    );
}

/// Records its own failed request, then returns an error; and a task that records a
/// success, then returns an error.
struct SelfReporting;

#[async_trait]
impl User for SelfReporting {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(SelfReporting)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .task("recorded", Self::recorded)
            .task("unrecorded", Self::unrecorded)
            .sequential()
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(1))
    }
}

impl SelfReporting {
    async fn recorded(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .failure("GET", "/x", Duration::from_millis(3), "HTTP 500");
        Err(TaskError::new("HTTP 500"))
    }
    async fn unrecorded(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("GET", "/y", Duration::from_millis(3), 10);
        Err(TaskError::new("bad body"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_already_recorded_is_not_counted_again() {
    let report = Swarm::new()
        .user::<SelfReporting>()
        .run_time(Duration::from_millis(5_500))
        .run()
        .await
        .unwrap();
    let snap = &report.snapshot;
    let x = snap.entry("GET", "/x").unwrap();
    assert_eq!((x.requests, x.failures), (3, 3));
    assert!(
        snap.entry(TASK_KIND, "SelfReporting.recorded").is_none(),
        "double counted: {:?}",
        snap.entries
    );
    let y = snap.entry("GET", "/y").unwrap();
    assert_eq!((y.requests, y.failures), (3, 0));
    let t = snap.entry(TASK_KIND, "SelfReporting.unrecorded").unwrap();
    assert_eq!((t.requests, t.failures), (3, 3));
    assert_eq!(report.failures(), 6);
    assert!(
        !snap.exceptions.iter().any(|e| e.message == "HTTP 500"),
        "{:?}",
        snap.exceptions
    );
}

/// `on_start` fails twice, then succeeds.
struct Flaky;

static FLAKY_ATTEMPTS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());
static FLAKY_TASKS: AtomicU32 = AtomicU32::new(0);

#[async_trait]
impl User for Flaky {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        let mut attempts = FLAKY_ATTEMPTS.lock().unwrap();
        attempts.push(Instant::now());
        if attempts.len() <= 2 {
            Err(TaskError::new("login refused"))
        } else {
            Ok(Flaky)
        }
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("work", Self::work)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(1))
    }
}

impl Flaky {
    async fn work(&mut self, _ctx: &mut UserContext) -> TaskResult {
        FLAKY_TASKS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_on_start_is_counted_and_retried_with_a_doubling_wait() {
    let t0 = Instant::now();
    let report = Swarm::new()
        .user::<Flaky>()
        .run_time(Duration::from_millis(5_500))
        .run()
        .await
        .unwrap();
    let attempts: Vec<Duration> = FLAKY_ATTEMPTS
        .lock()
        .unwrap()
        .iter()
        .map(|t| *t - t0)
        .collect();
    // Waits of 1 s, then 2 s.
    assert_eq!(attempts, [secs(0), secs(1), secs(3)]);
    let e = report
        .snapshot
        .entry(TASK_KIND, "Flaky.on_start")
        .expect("Flaky.on_start entry");
    assert_eq!((e.requests, e.failures), (2, 2));
    assert!(report
        .snapshot
        .errors
        .iter()
        .any(|e| e.message == "login refused"));
    // Started at 3 s: tasks at 3, 4, 5 s.
    assert_eq!(FLAKY_TASKS.load(Ordering::SeqCst), 3);
}

/// `on_stop` fails.
struct BadStop;

#[async_trait]
impl User for BadStop {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(BadStop)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("work", Self::work)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(1))
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        Err(TaskError::new("logout failed"))
    }
}

impl BadStop {
    async fn work(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_on_stop_is_counted() {
    let report = Swarm::new()
        .user::<BadStop>()
        .users(2)
        .spawn_rate(10.0)
        .run_time(secs(2))
        .run()
        .await
        .unwrap();
    let e = report
        .snapshot
        .entry(TASK_KIND, "BadStop.on_stop")
        .expect("BadStop.on_stop entry");
    assert_eq!((e.requests, e.failures), (2, 2));
}
