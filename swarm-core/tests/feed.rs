//! Feeders under tokio's paused clock: sequential order, uniqueness over many users,
//! per-user assignment, each exhaustion policy, partitions, and random draws.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{Feed, FeedMode, OnExhausted, StopReason};

/// A row as the CSV files of these tests hold it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Account {
    id: u64,
    #[allow(dead_code)]
    password: String,
}

/// What the users drew: (user id, row id), and how many users started and stopped.
#[derive(Default)]
struct Drawn {
    rows: Mutex<Vec<(u64, u64)>>,
    starts: AtomicU32,
    stops: AtomicU32,
}

fn drawn(ctx: &UserContext) -> Arc<Drawn> {
    ctx.setting::<Drawn>().expect("the test hands a Drawn")
}

/// Draws one row of `accounts` per task, every second.
struct Drawer;

#[async_trait]
impl User for Drawer {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        drawn(ctx).starts.fetch_add(1, Ordering::SeqCst);
        Ok(Drawer)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("draw", Self::draw)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
    async fn on_stop(&mut self, ctx: &mut UserContext) -> Result<(), TaskError> {
        drawn(ctx).stops.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Drawer {
    async fn draw(&mut self, ctx: &mut UserContext) -> TaskResult {
        let row = ctx.feed::<Account>("accounts")?;
        drawn(ctx)
            .rows
            .lock()
            .unwrap()
            .push((ctx.user_id(), row.id));
        Ok(())
    }
}

/// Draws its row in `on_start` (per-user: its own account), then again in each task.
struct Member {
    id: u64,
}

#[async_trait]
impl User for Member {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let row = ctx.feed::<Account>("accounts")?;
        Ok(Member { id: row.id })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("again", Self::again)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Member {
    async fn again(&mut self, ctx: &mut UserContext) -> TaskResult {
        let row = ctx.feed::<Account>("accounts")?;
        assert_eq!(row.id, self.id, "a per-user row never changes");
        drawn(ctx)
            .rows
            .lock()
            .unwrap()
            .push((ctx.user_id(), row.id));
        Ok(())
    }
}

/// A CSV file of `n` accounts with ids from 0.
fn accounts_csv(dir: &tempfile::TempDir, n: u64) -> std::path::PathBuf {
    let path = dir.path().join("accounts.csv");
    let mut text = String::from("id,password\n");
    for i in 0..n {
        text.push_str(&format!("{i},pw-{i}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn rows(d: &Drawn) -> Vec<(u64, u64)> {
    d.rows.lock().unwrap().clone()
}

/// Accounts with these ids, in memory.
fn accounts(ids: std::ops::Range<u64>) -> Vec<Account> {
    ids.map(|id| Account {
        id,
        password: format!("pw-{id}"),
    })
    .collect()
}

/// Run `users` [`Drawer`]s for `secs` with this feeder (and whatever `more` adds); the
/// report and what they drew.
async fn drawers(
    users: u32,
    secs: u64,
    feed: Feed,
    more: impl FnOnce(Swarm) -> Swarm,
) -> (Report, Arc<Drawn>) {
    run_users::<Drawer>(users, secs, feed, more).await
}

/// As [`drawers`], with users of type `U`.
async fn run_users<U: User>(
    users: u32,
    secs: u64,
    feed: Feed,
    more: impl FnOnce(Swarm) -> Swarm,
) -> (Report, Arc<Drawn>) {
    let d = Arc::new(Drawn::default());
    let swarm = Swarm::new()
        .user::<U>()
        .users(users)
        .spawn_rate(1000.0)
        .run_time(Duration::from_secs(secs))
        .feed(feed)
        .setting_arc(d.clone());
    let report = more(swarm).run().await.unwrap();
    (report, d)
}

#[tokio::test(start_paused = true)]
async fn sequential_rows_come_in_file_order_and_recycle() {
    let dir = tempfile::tempdir().unwrap();
    let feed = Feed::csv("accounts", accounts_csv(&dir, 5)).typed::<Account>();
    let (report, d) = drawers(1, 12, feed, |s| s).await;
    let ids: Vec<u64> = rows(&d).iter().map(|r| r.1).collect();
    assert!(ids.len() >= 11, "a draw a second for 12 s: {ids:?}");
    let want: Vec<u64> = (0..ids.len() as u64).map(|i| i % 5).collect();
    assert_eq!(ids, want, "in file order, then again from the first");
    assert_eq!(report.failures(), 0, "{report}");
    assert!(
        report.exhausted_feeders.is_empty(),
        "recycling never runs out"
    );
}

#[tokio::test(start_paused = true)]
async fn unique_rows_go_to_one_user_each_and_stop_users_when_out() {
    let dir = tempfile::tempdir().unwrap();
    let feed = Feed::csv("accounts", accounts_csv(&dir, 1000))
        .mode(FeedMode::Unique)
        .typed::<Account>();
    let (report, d) = drawers(200, 30, feed, |s| s).await;
    let ids: Vec<u64> = rows(&d).iter().map(|r| r.1).collect();
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no row twice");
    assert_eq!(unique, (0..1000).collect(), "every row used");
    // Out of rows, every user stopped cleanly (on_stop ran) and nothing failed.
    assert_eq!(d.stops.load(Ordering::SeqCst), 200);
    assert_eq!(report.failures(), 0, "{report}");
    assert_eq!(report.reason, StopReason::RunTime);
    assert_eq!(
        report.exhausted_feeders,
        ["accounts"],
        "named in the report"
    );
}

#[tokio::test(start_paused = true)]
async fn users_a_feeder_stopped_no_longer_count_and_a_new_target_replaces_them() {
    // 10 users, then 20 from 5 s; the 20 rows are gone at the second draw of each user.
    let feed = Feed::rows("accounts", accounts(0..20)).mode(FeedMode::Unique);
    let shape = swarm_core::parse_shape("steps:users=10,every=5s,max=20,time=10s").unwrap();
    let (report, d) = drawers(10, 60, feed, |s| s.shape(shape)).await;
    assert_eq!(report.reason, StopReason::ShapeDone);
    let users: Vec<u32> = report.snapshot.history.iter().map(|r| r.users).collect();
    // Seconds 1-4 (the last row is the run's end, always 0): out of rows by the
    // third draw, the 10 users have left.
    assert_eq!(
        users.get(2..4),
        Some(&[0, 0][..]),
        "users per second: {users:?}"
    );
    // At 5 s the new target starts 20 users (not 10 more on top of the 10 that left),
    // as a Locust worker does at its next spawn; each finds no row and stops too.
    assert_eq!(
        d.starts.load(Ordering::SeqCst),
        30,
        "users per second: {users:?}"
    );
    assert_eq!(d.stops.load(Ordering::SeqCst), 30);
    assert_eq!(rows(&d).len(), 20, "each row once");
    assert_eq!(report.failures(), 0, "{report}");
}

#[tokio::test(start_paused = true)]
async fn open_model_iterations_past_the_rows_end_at_once_on_the_same_users() {
    // 10 iterations a second for 10 s on a pool of 2 (at most 5); 20 rows, one per
    // iteration. A pool user is not stopped by the feeder (a new one would pay its
    // on_start for nothing): the schedule keeps its rate, the later iterations end at
    // once, and the pool does not grow.
    let feed = Feed::rows("accounts", accounts(0..20)).mode(FeedMode::Unique);
    let (report, d) = drawers(2, 10, feed, |s| s.arrival_rate(10.0).pool(2, 5)).await;
    let sched = report.snapshot.schedule.clone().unwrap();
    assert_eq!(rows(&d).len(), 20, "each row once");
    assert_eq!((sched.iterations, sched.dropped), (100, 0), "{report}");
    assert_eq!(d.starts.load(Ordering::SeqCst), 2, "{report}");
    assert_eq!(d.stops.load(Ordering::SeqCst), 2, "{report}");
    assert_eq!(report.failures(), 0, "{report}");
    assert_eq!(report.exhausted_feeders, ["accounts"]);
}

#[tokio::test(start_paused = true)]
async fn per_user_rows_follow_the_user_number() {
    let feed = Feed::rows("accounts", accounts(1000..1050)).mode(FeedMode::PerUser);
    let (report, d) = run_users::<Member>(20, 5, feed, |s| s).await;
    let mut by_user: HashMap<u64, BTreeSet<u64>> = HashMap::new();
    for (user, id) in rows(&d) {
        by_user.entry(user).or_default().insert(id);
    }
    assert_eq!(by_user.len(), 20, "every user drew");
    for (user, ids) in &by_user {
        assert_eq!(
            ids,
            &BTreeSet::from([1000 + user]),
            "user {user} gets row {user}"
        );
    }
    assert_eq!(report.failures(), 0, "{report}");
}

#[tokio::test(start_paused = true)]
async fn per_user_with_fewer_rows_than_users_stops_the_rest_in_on_start() {
    let feed = Feed::rows("accounts", accounts(0..3)).mode(FeedMode::PerUser);
    let (report, d) = run_users::<Member>(5, 5, feed, |s| s).await;
    let users: BTreeSet<u64> = rows(&d).iter().map(|r| r.0).collect();
    assert_eq!(
        users,
        BTreeSet::from([0, 1, 2]),
        "users 3 and 4 have no row"
    );
    // Their on_start returned the exhausted error once and stopped: no retry, no failure.
    assert_eq!(report.failures(), 0, "{report}");
}

#[tokio::test(start_paused = true)]
async fn end_run_ends_the_run_with_its_reason() {
    let generated = Feed::generator("accounts", |i| Account {
        id: i,
        password: String::new(),
    })
    .mode(FeedMode::Unique);
    let ten = Feed::rows("accounts", accounts(0..10))
        .mode(FeedMode::Unique)
        .on_exhausted(OnExhausted::EndRun);
    let (report, d) = drawers(3, 3600, generated, |s| s.feed(ten)).await;
    assert_eq!(report.reason, StopReason::FeedExhausted, "{report}");
    assert_eq!(
        serde_json::to_value(report.reason).unwrap(),
        "feed_exhausted",
        "stop_reason in the JSON report"
    );
    assert!(
        report.to_string().contains("a feeder ran out of rows"),
        "the console report says why: {report}"
    );
    assert_eq!(
        report.exhausted_feeders,
        ["accounts"],
        "which feeder ran out"
    );
    assert!(
        report.to_string().contains("feeders out of rows: accounts"),
        "the console report names it: {report}"
    );
    let ids: BTreeSet<u64> = rows(&d).iter().map(|r| r.1).collect();
    assert_eq!(
        ids,
        (0..10).collect(),
        "the later feeder of a name replaces the first"
    );
    assert!(
        report.duration() < Duration::from_secs(60),
        "ended long before the run time: {report}"
    );
    assert_eq!(report.failures(), 0, "{report}");
}

#[tokio::test(start_paused = true)]
async fn two_partitions_split_a_unique_feeder_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let path = accounts_csv(&dir, 11);
    let mut union = Vec::new();
    for index in 0..2 {
        let feed = Feed::csv("accounts", &path).mode(FeedMode::Unique);
        let (_, d) = drawers(4, 10, feed, |s| s.feed_partition(index, 2)).await;
        let ids: BTreeSet<u64> = rows(&d).iter().map(|r| r.1).collect();
        assert!(
            ids.iter().all(|i| i % 2 == u64::from(index)),
            "partition {index} holds rows {index}, {index} + 2, ...: {ids:?}"
        );
        union.extend(rows(&d).into_iter().map(|r| r.1));
    }
    let set: BTreeSet<u64> = union.iter().copied().collect();
    assert_eq!(set.len(), union.len(), "no row in both partitions");
    assert_eq!(set, (0..11).collect(), "together they cover the file");
}

#[tokio::test(start_paused = true)]
async fn random_rows_stay_in_range_and_follow_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let path = accounts_csv(&dir, 7);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let feed = Feed::csv("accounts", &path).mode(FeedMode::Random);
        let (_, d) = drawers(1, 30, feed, |s| s.seed(42)).await;
        runs.push(rows(&d).iter().map(|r| r.1).collect::<Vec<_>>());
    }
    assert!(runs[0].len() >= 29, "{:?}", runs[0]);
    assert!(runs[0].iter().all(|&i| i < 7));
    let distinct: BTreeSet<u64> = runs[0].iter().copied().collect();
    assert!(
        distinct.len() > 1,
        "not the same row every time: {:?}",
        runs[0]
    );
    assert_eq!(runs[0], runs[1], "the same seed draws the same rows");
}

#[tokio::test(start_paused = true)]
async fn json_lines_rows_convert_to_the_row_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.jsonl");
    std::fs::write(
        &path,
        "{\"id\": 7, \"password\": \"a\"}\n\n{\"id\": 8, \"password\": \"b\"}\n",
    )
    .unwrap();
    let feed = Feed::json_lines("accounts", &path).typed::<Account>();
    let (_, d) = drawers(1, 4, feed, |s| s).await;
    let ids: Vec<u64> = rows(&d).iter().map(|r| r.1).collect();
    assert_eq!(&ids[..4], &[7, 8, 7, 8], "blank lines are skipped");
}

#[tokio::test(start_paused = true)]
async fn without_a_row_type_a_bad_row_is_a_counted_failure_when_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.csv");
    std::fs::write(&path, "id,password\n0,a\nnot-a-number,b\n2,c\n").unwrap();
    // Sequential and recycling: every third draw is the bad row.
    let (report, d) = drawers(1, 9, Feed::csv("accounts", &path), |s| s).await;
    let ids: Vec<u64> = rows(&d).iter().map(|r| r.1).collect();
    assert_eq!(&ids[..4], &[0, 2, 0, 2], "the good rows were drawn");
    assert!(
        report.failures() >= 2,
        "each draw of the bad row failed: {report}"
    );
    assert_eq!(
        report.failures() as usize,
        ids.len() / 2,
        "one failure a bad draw: {report}"
    );
    assert_eq!(report.reason, StopReason::RunTime, "the run went on");
}
