//! Nothing is lost at the end of a run (issue 10): requests in flight when the run stops
//! finish within the stop grace and are counted, so the demo target's own count equals the
//! report's, run after run (the README's embedded-test pattern, real time, a real target);
//! a request still unanswered past the grace is recorded as a cancelled failure.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::HttpClient;

struct Busy {
    http: HttpClient,
}

#[async_trait]
impl User for Busy {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Busy {
            http: HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("index", Self::index)
    }
    fn wait_time(&self) -> Wait {
        Wait::between(Duration::ZERO, Duration::from_millis(2))
    }
}

impl Busy {
    async fn index(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/index.html").send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_targets_count_equals_the_reports_run_after_run() {
    let server = DemoServer::start().await.expect("demo target starts");
    let mut before = 0;
    for run in 0..8 {
        let report = Swarm::new()
            .user::<Busy>()
            .users(20)
            .spawn_rate(1000.0)
            .run_time(Duration::from_millis(700))
            .host(server.url())
            .run()
            .await
            .expect("run completes");
        let seen = server.total() - before;
        before = server.total();
        assert!(report.requests() > 20, "run {run}: {report}");
        assert_eq!(report.requests(), seen, "run {run}: {report}");
        assert_eq!(report.failures(), 0, "run {run}: {report}");
    }
}

struct Stuck {
    http: HttpClient,
}

#[async_trait]
impl User for Stuck {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Stuck {
            http: HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("slow", Self::slow)
    }
}

impl Stuck {
    async fn slow(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/slow?ms=10000").name("/slow").send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_unanswered_past_the_grace_is_a_cancelled_failure() {
    let server = DemoServer::start().await.expect("demo target starts");
    let report = Swarm::new()
        .user::<Stuck>()
        .users(3)
        .spawn_rate(1000.0)
        .run_time(Duration::from_millis(300))
        .host(server.url())
        .run()
        .await
        .expect("run completes");
    let slow = report
        .snapshot
        .entry("GET", "/slow")
        .expect("a /slow entry");
    assert_eq!((slow.requests, slow.failures), (3, 3), "{report}");
    let error = report
        .snapshot
        .errors
        .iter()
        .find(|e| e.name == "/slow")
        .expect("the cancelled requests' error");
    assert!(
        error.message.starts_with("cancelled before the response"),
        "{}",
        error.message
    );
    assert_eq!(error.occurrences, 3, "{report}");
}
