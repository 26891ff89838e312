//! Start and stop real peers through `peers/` (by PID).
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A running peer; stopped by PID when dropped.
pub struct Peer {
    pub name: String,
    pub vars: HashMap<String, String>,
}

impl Peer {
    /// `peers/start NAME`: fails loudly when the peer is not installed or does not start.
    pub fn start(name: &str) -> Peer {
        Peer::start_with(name, &[])
    }

    /// `peers/start NAME` with extra environment.
    pub fn start_with(name: &str, env: &[(&str, &str)]) -> Peer {
        let root = repo_root();
        let out = Command::new(root.join("peers/start"))
            .arg(name)
            .envs(env.iter().copied())
            .current_dir(&root)
            .output()
            .expect("peers/start runs");
        assert!(
            out.status.success(),
            "peer {name} did not start (run `peers/install {name}`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Peer {
            name: name.to_owned(),
            vars,
        }
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("peers/start {} printed no {key}=", self.name))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(pid) = self.vars.get("PID") {
            let _ = Command::new(repo_root().join("peers/stop"))
                .args([&self.name, pid])
                .output();
        }
    }
}

/// The body [`run_once`] runs: borrows the user's context for as long as it runs.
pub type OnceFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = swarm_core::TaskResult> + Send + 'a>>;

type OnceFn = dyn for<'a> Fn(&'a mut swarm_core::UserContext) -> OnceFuture<'a> + Send + Sync;

struct OnceBody(Box<OnceFn>);

/// A user that runs the run's [`OnceBody`] in its first task, then idles.
pub struct Once {
    done: bool,
}

#[swarm_core::async_trait]
impl swarm_core::User for Once {
    async fn on_start(_ctx: &mut swarm_core::UserContext) -> Result<Self, swarm_core::TaskError> {
        Ok(Once { done: false })
    }
    fn tasks() -> swarm_core::Tasks<Self> {
        swarm_core::Tasks::new().task("once", Self::once)
    }
    fn wait_time(&self) -> swarm_core::Wait {
        swarm_core::Wait::constant(std::time::Duration::from_millis(50))
    }
}

impl Once {
    async fn once(&mut self, ctx: &mut swarm_core::UserContext) -> swarm_core::TaskResult {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let body = ctx.setting::<OnceBody>().expect("run_once set the body");
        (body.0)(ctx).await
    }
}

/// Run `body` once as the task of one user against `host`, in a one-second run that
/// waits up to 30 s for it to finish; fails the test when the body failed or panicked
/// (its assertions), and returns the report for the counts.
pub async fn run_once(
    host: &str,
    body: impl for<'a> Fn(&'a mut swarm_core::UserContext) -> OnceFuture<'a> + Send + Sync + 'static,
) -> swarm_core::Report {
    let report = swarm_core::Swarm::new()
        .user::<Once>()
        .setting(OnceBody(Box::new(body)))
        .users(1)
        .spawn_rate(10.0)
        .run_time(std::time::Duration::from_secs(1))
        .stop_timeout(std::time::Duration::from_secs(30))
        .host(host)
        .run()
        .await
        .expect("the run starts");
    assert!(
        report
            .snapshot
            .entry(swarm_core::TASK_KIND, "Once.once")
            .is_none(),
        "the body's assertions held: {report}"
    );
    report
}

/// A user that fetches `/status` every 50 ms on its own client (the run's options).
pub struct StatusUser {
    http: swarm_http::HttpClient,
}

#[swarm_core::async_trait]
impl swarm_core::User for StatusUser {
    async fn on_start(ctx: &mut swarm_core::UserContext) -> Result<Self, swarm_core::TaskError> {
        Ok(StatusUser {
            http: swarm_http::HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> swarm_core::Tasks<Self> {
        swarm_core::Tasks::new().task("status", Self::status)
    }
    fn wait_time(&self) -> swarm_core::Wait {
        swarm_core::Wait::constant(std::time::Duration::from_millis(50))
    }
}

impl StatusUser {
    async fn status(&mut self, _ctx: &mut swarm_core::UserContext) -> swarm_core::TaskResult {
        self.http.get("/status").send().await?;
        Ok(())
    }
}
