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
