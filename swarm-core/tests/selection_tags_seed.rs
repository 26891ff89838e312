//! `--tags` / `--exclude-tags` keep only the matching tasks, and `--seed` makes the task
//! choices repeatable.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{ConfigError, Error};

/// Three tasks: `a` tagged `x`, `b` tagged `y` and `z`, `c` untagged. Each records a
/// sample named after itself.
struct Tagged;

#[async_trait]
impl User for Tagged {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Tagged)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .with(Task::new("a", Self::a).tag("x"))
            .with(Task::new("b", Self::b).tag("y").tag("z"))
            .with(Task::new("c", Self::c))
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(100))
    }
}

impl Tagged {
    async fn a(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "a", Duration::from_millis(1), 0);
        Ok(())
    }
    async fn b(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "b", Duration::from_millis(1), 0);
        Ok(())
    }
    async fn c(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("T", "c", Duration::from_millis(1), 0);
        Ok(())
    }
}

async fn names_run(swarm: Swarm) -> Vec<String> {
    let report = swarm
        .user::<Tagged>()
        .seed(1)
        .run_time(Duration::from_secs(10))
        .run()
        .await
        .unwrap();
    assert!(report.requests() >= 90, "{}", report.requests());
    report
        .snapshot
        .entries
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn tags_keep_only_matching_tasks() {
    assert_eq!(names_run(Swarm::new()).await, ["a", "b", "c"]);
    assert_eq!(names_run(Swarm::new().tags(["x"])).await, ["a"]);
    assert_eq!(names_run(Swarm::new().tags(["x", "z"])).await, ["a", "b"]);
    assert_eq!(
        names_run(Swarm::new().exclude_tags(["x"])).await,
        ["b", "c"]
    );
    assert_eq!(
        names_run(Swarm::new().exclude_tags(["y", "x"])).await,
        ["c"]
    );
    assert_eq!(
        names_run(Swarm::new().tags(["x", "y"]).exclude_tags(["z"])).await,
        ["a"]
    );
}

#[tokio::test(start_paused = true)]
async fn no_task_left_is_a_config_error() {
    let err = Swarm::new()
        .user::<Tagged>()
        .tags(["nope"])
        .exclude_tags(["x"])
        .run_time(Duration::from_secs(1))
        .run()
        .await
        .unwrap_err();
    match &err {
        Error::Config(ConfigError::NoTasks { tags, exclude_tags }) => {
            assert_eq!(tags, &["nope"]);
            assert_eq!(exclude_tags, &["x"]);
        }
        other => panic!("expected NoTasks, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("--tags nope") && msg.contains("--exclude-tags x"),
        "{msg}"
    );

    let err = Swarm::new()
        .user::<Tagged>()
        .tags(["x"])
        .exclude_tags(["x"])
        .start()
        .err()
        .expect("start fails before spawning anything");
    assert!(
        matches!(err, Error::Config(ConfigError::NoTasks { .. })),
        "{err:?}"
    );
}

/// Four equally weighted tasks; every choice is written down with the user's id.
struct Chooser;

static CHOICES: Mutex<Vec<(u64, &'static str)>> = Mutex::new(Vec::new());

#[async_trait]
impl User for Chooser {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Chooser)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .task("a", Self::a)
            .task("b", Self::b)
            .task("c", Self::c)
            .task("d", Self::d)
    }
    fn wait_time(&self) -> Wait {
        Wait::between(Duration::from_millis(500), Duration::from_millis(1500))
    }
}

impl Chooser {
    fn note(ctx: &UserContext, name: &'static str) -> TaskResult {
        CHOICES.lock().unwrap().push((ctx.user_id(), name));
        Ok(())
    }
    async fn a(&mut self, ctx: &mut UserContext) -> TaskResult {
        Self::note(ctx, "a")
    }
    async fn b(&mut self, ctx: &mut UserContext) -> TaskResult {
        Self::note(ctx, "b")
    }
    async fn c(&mut self, ctx: &mut UserContext) -> TaskResult {
        Self::note(ctx, "c")
    }
    async fn d(&mut self, ctx: &mut UserContext) -> TaskResult {
        Self::note(ctx, "d")
    }
}

/// Each user's choices in one run.
async fn choices(seed: u64) -> BTreeMap<u64, Vec<&'static str>> {
    CHOICES.lock().unwrap().clear();
    let report = Swarm::new()
        .user::<Chooser>()
        .users(3)
        .spawn_rate(10.0)
        .seed(seed)
        .run_time(Duration::from_secs(30))
        .run()
        .await
        .unwrap();
    assert_eq!(report.info.seed, seed);
    let mut by_user: BTreeMap<u64, Vec<&'static str>> = BTreeMap::new();
    for (user, name) in CHOICES.lock().unwrap().drain(..) {
        by_user.entry(user).or_default().push(name);
    }
    by_user
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_makes_the_same_choices() {
    let first = choices(42).await;
    assert_eq!(first.len(), 3);
    for picks in first.values() {
        assert!(picks.len() >= 15, "{picks:?}");
    }
    assert_ne!(first[&0], first[&1], "users of one run draw differently");

    let again = choices(42).await;
    assert_eq!(first, again);

    let other = choices(43).await;
    for user in 0..3 {
        let n = first[&user].len().min(other[&user].len());
        assert_ne!(first[&user][..n], other[&user][..n], "user {user}");
    }
}
