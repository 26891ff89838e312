//! Two Swarm workers under a real Locust 2.47.0 master (`peers/start locust`) draw from
//! one unique feeder: each takes the partition of its worker index (of the master's
//! `--expect-workers`), so the union of the rows they used has no duplicate and covers
//! the file.

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{repo_root, Peer};
use swarm_core::cli::App;
use swarm_core::prelude::*;
use swarm_core::Feed;

/// A row of the test file; the secret must never show in any log.
#[derive(Clone, serde::Deserialize)]
struct Row {
    id: u64,
    #[allow(dead_code)]
    secret: String,
}

/// The rows one worker's users drew.
#[derive(Default)]
struct Used(Mutex<Vec<u64>>);

/// The Locust class `WebsiteUser` (peers/locustfiles/dist_two_classes.py): draws a unique
/// row every 50 ms until its partition runs out, then stops.
struct WebsiteUser;

#[async_trait]
impl User for WebsiteUser {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(WebsiteUser)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("draw", Self::draw)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(50))
    }
}

impl WebsiteUser {
    async fn draw(&mut self, ctx: &mut UserContext) -> TaskResult {
        let row = ctx.feed::<Row>("accounts")?;
        let used = ctx
            .setting::<Arc<Used>>()
            .ok_or_else(|| TaskError::new("no Used"))?;
        used.0.lock().unwrap().push(row.id);
        Ok(())
    }
}

/// The Locust class `AdminUser`: idle.
struct AdminUser;

#[async_trait]
impl User for AdminUser {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(AdminUser)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(200))
    }
}

impl AdminUser {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

swarm_core::register_user!(WebsiteUser, AdminUser);

const ROWS: u64 = 40;

#[test]
fn two_workers_share_a_unique_feeder_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("accounts.csv");
    let mut text = String::from("id,secret\n");
    for i in 0..ROWS {
        text.push_str(&format!("{i},hunter2-{i}\n"));
    }
    std::fs::write(&csv, text).unwrap();

    let locustfile = repo_root().join("peers/locustfiles/dist_two_classes.py");
    let master = Peer::start(
        "locust",
        &[
            "-f",
            locustfile.to_str().unwrap(),
            "--master",
            "--headless",
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "60",
            "-u",
            "6",
            "-r",
            "6",
            "-t",
            "6s",
        ],
    );
    let port = master.master_port();

    let (done_tx, done) = mpsc::channel();
    let mut used = Vec::new();
    for _ in 0..2 {
        let u = Arc::new(Used::default());
        used.push(u.clone());
        let done_tx = done_tx.clone();
        let feed = format!("accounts={}:unique", csv.display());
        std::thread::spawn(move || {
            // The scenario declares the row type; --feed names the file and mode.
            let code = App::new()
                .feed(Feed::csv("accounts", "declared-default.csv").typed::<Row>())
                .setting(u)
                .mode(swarm_distributed::LocustWorker::new())
                .main_from([
                    "worker",
                    "--worker",
                    "--master-port",
                    &port.to_string(),
                    "--feed",
                    &feed,
                    "--only-summary",
                ]);
            let _ = done_tx.send(code);
        });
    }
    for _ in 0..2 {
        let code = done
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("a worker did not end; master log:\n{}", master.log()));
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{}", master.log());
    }

    let per_worker: Vec<Vec<u64>> = used.iter().map(|u| u.0.lock().unwrap().clone()).collect();
    let mut residues = BTreeSet::new();
    for rows in &per_worker {
        assert!(!rows.is_empty(), "each worker drew rows: {per_worker:?}");
        let r: BTreeSet<u64> = rows.iter().map(|id| id % 2).collect();
        assert_eq!(r.len(), 1, "a worker keeps to its partition: {rows:?}");
        residues.extend(r);
    }
    assert_eq!(
        residues.len(),
        2,
        "the two workers took different partitions"
    );
    let all: Vec<u64> = per_worker.concat();
    let set: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!(
        set.len(),
        all.len(),
        "no row used twice in the cluster: {per_worker:?}"
    );
    assert_eq!(set, (0..ROWS).collect(), "the partitions cover the file");
    assert!(
        !master.log().contains("hunter2"),
        "no secret in the master's log"
    );
}
