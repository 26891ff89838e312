//! Locust's catch_response: the task decides success from the body, and a response
//! nobody judged is recorded by its status.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::HttpClient;

struct Checker {
    http: HttpClient,
}

#[async_trait]
impl User for Checker {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let http = HttpClient::builder(ctx).header("x-demo", "1")?.build()?;
        Ok(Checker { http })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .round_robin()
            .task("judge", Self::judge)
            .task("validate", Self::validate)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(10))
    }
}

impl Checker {
    async fn judge(&mut self, _ctx: &mut UserContext) -> TaskResult {
        let r = self.http.get("/status").name("judged").send_checked().await;
        if r.text().contains("nope") {
            r.success();
        } else {
            r.failure("body lacks nope");
        }
        // Not judged: a 404 is a failure by its status.
        let _ = self
            .http
            .get("/missing")
            .name("unjudged")
            .send_checked()
            .await;
        Ok(())
    }
    async fn validate(&mut self, _ctx: &mut UserContext) -> TaskResult {
        let _ = self
            .http
            .get("/fail")
            .expect_status([500])
            .name("expected-500")
            .send()
            .await?;
        let r = self
            .http
            .get("/index.html")
            .validate(|r| {
                if r.text().contains("Swarm") {
                    Ok(())
                } else {
                    Err("no Swarm".into())
                }
            })
            .send()
            .await;
        assert!(r.is_ok());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_decides_success() {
    let server = DemoServer::start().await.unwrap();
    let report = Swarm::new()
        .user::<Checker>()
        .users(2)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(2))
        .stop_timeout(Duration::from_secs(2))
        .host(server.url())
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    let judged = s.entry("GET", "judged").unwrap();
    assert!(judged.requests > 0);
    assert_eq!(
        judged.failures, judged.requests,
        "every judged request failed by decision"
    );
    let unjudged = s.entry("GET", "unjudged").unwrap();
    assert_eq!(unjudged.failures, unjudged.requests);
    assert!(s
        .errors
        .iter()
        .any(|e| e.name == "unjudged" && e.message == "HTTP 404 Not Found"));
    let expected = s.entry("GET", "expected-500").unwrap();
    assert!(expected.requests > 0);
    assert_eq!(expected.failures, 0, "500 was expected");
    let index = s.entry("GET", "/index.html").unwrap();
    assert_eq!(index.failures, 0);
    assert_eq!(server.hits("other"), unjudged.requests);
    assert_eq!(
        s.entry(swarm_core::TASK_KIND, "Checker.judge")
            .map_or(0, |e| e.requests),
        0
    );
}
