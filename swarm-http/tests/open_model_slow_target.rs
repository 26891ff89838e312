//! Against a real HTTP target slowed on purpose, the open model's corrected latency
//! (from the scheduled start) is above the service time, and a pool too small for the
//! rate drops iterations and counts them.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::HttpClient;

struct SlowCaller {
    http: HttpClient,
}

#[async_trait]
impl User for SlowCaller {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(SlowCaller {
            http: HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("slow", Self::slow)
    }
}

impl SlowCaller {
    async fn slow(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/slow?ms=200").name("/slow").send().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrected_latency_above_service_time_and_drops_counted() {
    let server = DemoServer::start().await.unwrap();
    // 20 iterations/s of 200 ms each need 4 users; a pool of 2 serves 10/s.
    let report = Swarm::new()
        .user::<SlowCaller>()
        .host(server.url())
        .arrival_rate(20.0)
        .run_time(Duration::from_secs(3))
        .pool(1, 2)
        .max_lateness(Duration::from_millis(500))
        .stop_timeout(Duration::from_secs(2))
        .run()
        .await
        .unwrap();
    let sched = report.snapshot.schedule.clone().expect("open model");
    let slow = report
        .snapshot
        .entry("GET", "/slow")
        .expect("requests recorded");
    assert_eq!(
        slow.requests,
        server.hits("/slow"),
        "every request reached the target"
    );
    assert_eq!(slow.failures, 0, "{report}");
    assert!(sched.dropped > 0, "{report}");
    assert_eq!(sched.iterations, slow.requests);
    assert!(
        sched.iterations + sched.dropped >= 58,
        "about 60 scheduled: {report}"
    );
    let service = slow.percentile_ms(0.9).unwrap();
    let corrected = slow.corrected_percentile_ms(0.9).unwrap();
    assert!(service >= 200.0, "service {service}");
    assert!(
        corrected > service + 100.0,
        "corrected p90 {corrected} vs service {service}: {report}"
    );
    let json = report.to_json();
    let entry = &json["entries"][0];
    assert!(
        entry["corrected_percentiles_ms"]["p90"].as_f64().unwrap()
            > entry["percentiles_ms"]["p90"].as_f64().unwrap()
    );
}
