//! The throughput benchmark's scenario: GET `/` with no wait at all.
//!
//! ```text
//! cargo run --release --example http_max -- -H http://127.0.0.1:8080 -u 50 -r 50 -t 20s
//! ```
use swarm_core::prelude::*;
use swarm_http::HttpClient;

struct MaxUser {
    http: HttpClient,
}

#[async_trait]
impl User for MaxUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(MaxUser {
            http: HttpClient::new(ctx)?,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("root", Self::root)
    }
}

impl MaxUser {
    async fn root(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/").send().await?;
        Ok(())
    }
}

swarm_core::register_user!(MaxUser);

fn main() -> std::process::ExitCode {
    swarm_http::app()
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new())
        .main()
}
