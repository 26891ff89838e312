//! The staircase of the multi-tenant mediator test: add 10 users every 30 s, up to 100
//! users, for 10 minutes; each user acts on average every other second, so about half
//! of the users act in any given second.
//!
//! ```text
//! cargo run --release --example step_shape                                  # the demo target, 10 min
//! cargo run --release --example step_shape -- --shape steps:users=10,every=5s,max=30,time=20s
//! ```
use swarm_core::prelude::*;
use swarm_http::HttpClient;

/// The staircase, unless `--shape` says otherwise.
const STAIRCASE: &str = "steps:users=10,every=30s,max=100,time=10m";

struct Tenant {
    http: HttpClient,
}

#[async_trait]
impl User for Tenant {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Tenant {
            http: HttpClient::new(ctx)?,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("status", Self::status)
    }

    fn wait_time(&self) -> Wait {
        Wait::between_secs(1.0, 3.0)
    }
}

impl Tenant {
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/status").send().await?;
        Ok(())
    }
}

swarm_core::register_user!(Tenant);

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    if !args
        .iter()
        .any(|a| a == "--shape" || a.starts_with("--shape="))
    {
        args.extend(["--shape".to_owned(), STAIRCASE.to_owned()]);
    }
    // As a Locust worker (--worker), the master's spawns set the users instead.
    swarm_http::app()
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new())
        .main_from(args)
}
