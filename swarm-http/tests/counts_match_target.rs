//! The report's counts equal what the target itself saw: requests, deliberate failures,
//! and panics in tasks are counted while the run goes on.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::HttpClient;

struct Mixed {
    http: HttpClient,
}

#[async_trait]
impl User for Mixed {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Mixed {
            http: HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .weighted("index", 4, Self::index)
            .weighted("fail", 2, Self::fail)
            .task("status", Self::status)
            .task("panic", Self::panic)
    }
    fn wait_time(&self) -> Wait {
        Wait::between(Duration::from_millis(1), Duration::from_millis(5))
    }
}

impl Mixed {
    async fn index(&mut self, ctx: &mut UserContext) -> TaskResult {
        let n: u32 = ctx.rng().random_range(0..1000);
        self.http
            .get(&format!("/index.html?ok={n}"))
            .name("/index.html?ok=[random]")
            .send()
            .await?;
        Ok(())
    }
    async fn fail(&mut self, _ctx: &mut UserContext) -> TaskResult {
        // Rejected with 500: recorded once under /fail, and the `?` must not count it again.
        self.http.get("/fail").send().await?;
        Ok(())
    }
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        let r = self.http.get("/status").send().await?;
        let v: serde_json::Value = r.json()?;
        assert_eq!(v["status"], "ok");
        Ok(())
    }
    async fn panic(&mut self, _ctx: &mut UserContext) -> TaskResult {
        panic!("deliberate panic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_counts_equal_target_counts() {
    let server = DemoServer::start().await.expect("demo target starts");
    let report = Swarm::new()
        .user::<Mixed>()
        .users(8)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(3))
        .stop_timeout(Duration::from_secs(5))
        .host(server.url())
        .seed(1)
        .run()
        .await
        .expect("run completes");
    let snap = &report.snapshot;
    let get = |name: &str| snap.entry("GET", name).map_or(0, |e| e.requests);

    assert!(get("/index.html?ok=[random]") > 50, "{report}");
    assert_eq!(get("/index.html?ok=[random]"), server.hits("/index.html"));
    assert_eq!(get("/status"), server.hits("/status"));
    assert_eq!(get("/fail"), server.hits("/fail"));
    assert_eq!(report.requests() - panics(snap), server.total(), "{report}");

    let fail = snap.entry("GET", "/fail").expect("a /fail entry");
    assert_eq!(fail.failures, server.failures_served());
    assert_eq!(
        fail.codes.get("500").copied(),
        Some(server.failures_served())
    );
    let panics = panics(snap);
    assert!(
        panics > 0,
        "the panicking task ran and was counted: {report}"
    );
    assert_eq!(
        report.failures(),
        server.failures_served() + panics,
        "{report}"
    );
    assert!(snap
        .errors
        .iter()
        .any(|e| e.name == "Mixed.panic" && e.message.contains("deliberate panic")));
    assert!(snap
        .exceptions
        .iter()
        .any(|e| e.message.contains("deliberate panic")));
    assert!(!report.passed());
    assert_eq!(report.exit_code(), 1);
    // Content size is the body the server sent.
    let index = snap.entry("GET", "/index.html?ok=[random]").unwrap();
    assert_eq!(index.bytes % index.requests, 0);
    assert!(index.avg_bytes() > 100.0);
}

fn panics(snap: &swarm_core::Snapshot) -> u64 {
    snap.entry(swarm_core::TASK_KIND, "Mixed.panic")
        .map_or(0, |e| e.requests)
}
