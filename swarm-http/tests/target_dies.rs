//! A target that dies mid-run turns into counted failures, and the report is still
//! complete and written.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::HttpClient;

struct Poller {
    http: HttpClient,
}

#[async_trait]
impl User for Poller {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let http = HttpClient::builder(ctx)
            .timeout(Duration::from_secs(2))
            .build()?;
        Ok(Poller { http })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("status", Self::status)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(20))
    }
}

impl Poller {
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/status").send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_after_the_target_dies_are_counted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let server = DemoServer::start().await.unwrap();
    let url = server.url();
    let (handle, run) = Swarm::new()
        .user::<Poller>()
        .users(4)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(4))
        .host(&url)
        .csv(dir.path().join("dead"))
        .json(dir.path().join("dead.json"))
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = handle.snapshot().await.unwrap();
    assert!(before.total_requests() > 0);
    assert_eq!(before.total_failures(), 0);
    let served = server.hits("/status");
    server.shutdown();
    let report = run.await.unwrap();

    let status = report.snapshot.entry("GET", "/status").unwrap();
    assert!(status.failures > 0, "{report}");
    assert_eq!(
        status.requests - status.failures,
        served_at_least(served, status)
    );
    assert!(
        report
            .snapshot
            .errors
            .iter()
            .any(|e| e.message.contains("connection")),
        "{report}"
    );
    let csv = std::fs::read_to_string(dir.path().join("dead_stats.csv")).unwrap();
    let agg = csv.lines().last().unwrap();
    assert!(
        agg.starts_with(&format!(
            ",Aggregated,{},{},",
            status.requests, status.failures
        )),
        "{agg}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("dead.json")).unwrap()).unwrap();
    assert_eq!(json["total"]["failures"], status.failures);
}

/// Successes are those the server answered; a few in flight at shutdown may have been
/// answered after `served` was read.
fn served_at_least(served: u64, status: &swarm_core::EntrySnapshot) -> u64 {
    let ok = status.requests - status.failures;
    assert!(ok >= served, "ok {ok} < served {served}");
    assert!(ok <= served + 4, "ok {ok} > served {served} + users");
    ok
}
