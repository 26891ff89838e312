//! The first load test: GET `/index.html?ok=<random>`, grouped as
//! `/index.html?ok=[random]`, with a 0.1 s wait between requests.
//!
//! ```text
//! cargo run --example http_basic -- -u 10 -r 10 -t 10s            # the demo target
//! cargo run --example http_basic -- -H http://127.0.0.1:8080 -u 50 -t 1m --csv out
//! ```
use swarm_core::prelude::*;
use swarm_http::HttpClient;

struct WebsiteUser {
    http: HttpClient,
}

#[async_trait]
impl User for WebsiteUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(WebsiteUser {
            http: HttpClient::new(ctx)?,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("index", Self::index)
    }

    fn wait_time(&self) -> Wait {
        Wait::between_secs(0.1, 0.1)
    }
}

impl WebsiteUser {
    async fn index(&mut self, ctx: &mut UserContext) -> TaskResult {
        let ok: u32 = ctx.rng().random_range(0..1_000_000);
        self.http
            .get(&format!("/index.html?ok={ok}"))
            .name("/index.html?ok=[random]")
            .send()
            .await?;
        Ok(())
    }
}

swarm_core::register_user!(WebsiteUser);

fn main() -> std::process::ExitCode {
    swarm_http::app()
        .mode(swarm_distributed::LocustWorker::new())
        .main()
}
