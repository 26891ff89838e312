//! Two user types for a Locust master to drive: run this binary as Swarm workers of a
//! real Locust master (`--worker`), or alone like any other scenario.
//!
//! ```text
//! # a Locust master that knows the class names (its workers run the users), and two
//! # Swarm workers on this machine:
//! locust -f peers/locustfiles/dist_two_classes.py --master --headless --expect-workers 2 \
//!     -u 30 -r 10 -t 1m -H http://127.0.0.1:8080 --csv out
//! cargo run --release --example distributed -- --worker --master-host 127.0.0.1 &
//! cargo run --release --example distributed -- --worker --master-host 127.0.0.1 &
//! ```
//!
//!
//! Or a Swarm master of Swarm workers and Python Locust workers alike (the Python twin of
//! these types is `peers/locustfiles/dist_http.py`):
//!
//! ```text
//! cargo run --release --example distributed -- --master --expect-workers 2 \
//!     -u 30 -r 10 -t 1m -H http://127.0.0.1:8080 --csv out
//! cargo run --release --example distributed -- --worker &
//! locust -f peers/locustfiles/dist_http.py --worker &
//! ```
//!
//! Add `--web` to the master to steer it from <http://127.0.0.1:8089> as Locust's master
//! UI: without `-u` it waits for a start from the browser (Locust's `POST /swarm`, `POST
//! /stop`, `POST /stats/reset`), the page lists its workers (`GET /stats/requests`
//! carries Locust's `workers` list) and offers the downloads; `--metrics-bind` serves the
//! workers' statistics to Prometheus.
//!
//! `WebsiteUser` (weight 2) reads pages and now and then hits `/fail` (a counted
//! failure); `AdminUser` (weight 1) checks `/status`. The Locust master matches its user
//! classes to these types by name.
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_distributed::{MasterCommand, MasterHandle, MasterPhase};
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
        Tasks::new()
            .weighted("index", 9, Self::index)
            .task("fail", Self::fail)
    }
    fn wait_time(&self) -> Wait {
        Wait::between(Duration::from_millis(50), Duration::from_millis(150))
    }
    fn weight() -> u32 {
        2
    }
}

impl WebsiteUser {
    async fn index(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/index.html").send().await?;
        Ok(())
    }
    async fn fail(&mut self, _ctx: &mut UserContext) -> TaskResult {
        // The demo target answers 500: a failure of "GET /fail", in the master's
        // _failures.csv too.
        self.http.get("/fail").send().await?;
        Ok(())
    }
}

struct AdminUser {
    http: HttpClient,
}

#[async_trait]
impl User for AdminUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(AdminUser {
            http: HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("status", Self::status)
    }
    fn wait_time(&self) -> Wait {
        Wait::between(Duration::from_millis(50), Duration::from_millis(150))
    }
}

impl AdminUser {
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/status").send().await?;
        Ok(())
    }
}

swarm_core::register_user!(WebsiteUser, AdminUser);

/// The master's state as the web UI shows it (Locust's names).
fn master_view(handle: &MasterHandle) -> swarm_web::MasterView {
    let status = handle.status();
    let state = match status.phase {
        MasterPhase::Spawning => "spawning",
        MasterPhase::Running => "running",
        MasterPhase::Stopping => "stopping",
        MasterPhase::Stopped => "stopped",
        _ => "ready",
    };
    let live: Vec<_> = status.workers.iter().filter(|w| !w.quit).collect();
    let mut user_counts = std::collections::BTreeMap::new();
    for w in &live {
        for (class, n) in &w.user_classes_count {
            *user_counts.entry(class.clone()).or_default() += n;
        }
    }
    let workers: Vec<swarm_web::WorkerRow> = live
        .iter()
        .map(|w| swarm_web::WorkerRow {
            id: w.id.clone(),
            state: w.state.to_string(),
            user_count: w.users(),
            cpu_usage: w.cpu_percent,
            memory_usage: w.memory_bytes,
        })
        .collect();
    swarm_web::MasterView {
        state: state.to_owned(),
        user_count: workers.iter().map(|w| w.user_count).sum(),
        target_user_count: status.target_users,
        requests: status.requests,
        failures: status.failures,
        workers,
        snapshot: handle.snapshot(),
        user_counts,
    }
}

/// The web UI's link to the master: its view, its commands, its report so far.
struct Link(MasterHandle);

impl swarm_web::MasterLink for Link {
    fn view(&self) -> swarm_web::MasterView {
        master_view(&self.0)
    }

    fn connect(&self) -> bool {
        self.0.steer();
        true
    }

    fn command(
        &self,
        command: swarm_web::MasterCommand,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> {
        let command = match command {
            swarm_web::MasterCommand::Start {
                users,
                spawn_rate,
                host,
                run_time,
            } => MasterCommand::Start {
                users: u64::from(users),
                spawn_rate,
                host,
                run_time,
            },
            swarm_web::MasterCommand::Stop => MasterCommand::Stop,
            swarm_web::MasterCommand::ResetStats => MasterCommand::ResetStats,
            other => return Box::pin(async move { Err(format!("not taken: {other:?}")) }),
        };
        let handle = self.0.clone();
        Box::pin(async move { handle.command(command).await.map_err(|e| e.to_string()) })
    }

    fn report(&self) -> Option<(swarm_core::Report, bool)> {
        self.0.report()
    }
}

fn main() -> std::process::ExitCode {
    let master = swarm_distributed::LocustMaster::new();
    let handle = master.handle();
    swarm_http::app()
        .mode(swarm_distributed::LocustWorker::new())
        // `--master --web`: the master's run, steered and watched from the browser.
        .mode(swarm_web::WebUi::new().beside_master(master, Link(handle)))
        .main()
}
