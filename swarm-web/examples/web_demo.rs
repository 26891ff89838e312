//! A small scenario for the web UI's tests and for trying it: GET `/` (three times in
//! four) and `/fail` (a 500, on purpose) on the demo target, 0.05 s apart.
//!
//! ```text
//! cargo run -p swarm-web --example web_demo -- --web          # then open http://127.0.0.1:8089
//! ```
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::HttpClient;

struct Visitor {
    http: HttpClient,
}

#[async_trait]
impl User for Visitor {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Visitor {
            http: HttpClient::new(ctx)?,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .weighted("index", 3, Self::index)
            .weighted("fail", 1, Self::fail)
    }

    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(50))
    }
}

impl Visitor {
    async fn index(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/").send().await?;
        Ok(())
    }

    async fn fail(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/fail").send().await?;
        Ok(())
    }
}

swarm_core::register_user!(Visitor);

fn main() -> std::process::ExitCode {
    swarm_http::app().mode(swarm_web::WebUi::new()).main()
}
