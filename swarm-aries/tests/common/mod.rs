//! Start and stop real peers through `peers/` (by PID), for the Aries tests.
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

    /// `peers/start NAME` with extra environment (`PORT`, `WS_PORT`, `HANDSHAKE`, ...).
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

impl Peer {
    /// The peer's process id.
    pub fn pid(&self) -> &str {
        self.var("PID")
    }

    /// The port of a printed URL (`URL`, `WS`, `ADMIN`).
    pub fn port_of(&self, key: &str) -> &str {
        let url = self.var(key);
        url.rsplit(':').next().unwrap_or(url).trim_end_matches('/')
    }

    /// Stop the peer now (by PID), waiting until it is gone.
    pub fn stop(self) {
        drop(self);
    }

    /// Send a signal to the peer's process (by PID), e.g. `STOP` or `CONT`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), self.pid()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }
}

/// Run `body`, failing the test if it takes longer than `limit`.
pub async fn bounded<F: std::future::Future>(limit: std::time::Duration, body: F) -> F::Output {
    tokio::time::timeout(limit, body)
        .await
        .unwrap_or_else(|_| panic!("the test took longer than {limit:?}"))
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(pid) = self.vars.get("PID") {
            let _ = Command::new(repo_root().join("peers/stop"))
                .args([&self.name, pid])
                .status();
        }
    }
}

/// Agent options with this reply time-out.
pub fn options(timeout: std::time::Duration) -> swarm_aries::AgentOptions {
    let mut o = swarm_aries::AgentOptions::default();
    o.timeout = timeout;
    o
}

/// The next basic message `agent` receives (other messages are skipped).
pub async fn next_basic_message(agent: &mut swarm_aries::Agent) -> swarm_aries::Unpacked {
    loop {
        let m = agent.receive().await.expect("the agent receives");
        if swarm_aries::message::message_type(&m.message)
            .is_ok_and(|t| t.family() == "basicmessage")
        {
            return m;
        }
    }
}
