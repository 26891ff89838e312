//! The throughput benchmark's scenario: GET `/` with no wait at all.
//!
//! `HTTP_MAX_PATH` names another path to GET (`/status`, say: the open model's benchmark
//! asks nginx for a response it makes without opening a file, so that nginx is not the
//! limit of the rate).
//!
//! With a feeder named `rows` (`--feed rows=users.csv:unique`, columns `user,password`),
//! each request first draws a row: `benches/feeder.sh` measures what a draw costs.
//!
//! ```text
//! cargo run --release --example http_max -- -H http://127.0.0.1:8080 -u 50 -r 50 -t 20s
//! ```
use swarm_core::prelude::*;
use swarm_core::FeedError;
use swarm_http::HttpClient;

/// A row of the `rows` feeder.
#[derive(Clone, serde::Deserialize)]
struct Row {
    user: String,
    password: String,
}

struct MaxUser {
    http: HttpClient,
    /// Whether the run has a `rows` feeder to draw from.
    feed: bool,
    /// The path to GET.
    path: String,
}

#[async_trait]
impl User for MaxUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let feed = match ctx.feed::<Row>("rows") {
            Ok(_) => true,
            Err(FeedError::Unknown { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        let path = std::env::var("HTTP_MAX_PATH").unwrap_or_else(|_| "/".to_owned());
        if !path.starts_with('/') {
            return Err(TaskError::new(format!(
                "HTTP_MAX_PATH must start with '/', got {path:?}"
            )));
        }
        Ok(MaxUser {
            http: HttpClient::new(ctx)?,
            feed,
            path,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("root", Self::root)
    }
}

impl MaxUser {
    async fn root(&mut self, ctx: &mut UserContext) -> TaskResult {
        if self.feed {
            let row = ctx.feed::<Row>("rows")?;
            std::hint::black_box((&row.user, &row.password));
        }
        self.http.get(&self.path).send().await?;
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
