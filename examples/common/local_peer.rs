//! A peer from `peers/` that an example starts on loopback when it is given no address of
//! its own (a mediator, ganache, the Socket.IO server), stopped by PID when dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

/// A running peer and the `KEY=VALUE` lines `peers/start` printed for it.
pub(crate) struct LocalPeer {
    name: &'static str,
    vars: HashMap<String, String>,
}

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../peers")
}

impl LocalPeer {
    /// `peers/start NAME`; the error says `missing` (what was not given) and how to
    /// install the peer.
    pub(crate) fn start(name: &'static str, missing: &str) -> Result<LocalPeer, String> {
        let out = Command::new(peers_dir().join("start"))
            .arg(name)
            .output()
            .map_err(|e| format!("cannot run peers/start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{missing} and no local {name} could start (install it with `peers/install {name}`):\n{}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let peer = LocalPeer { name, vars };
        peer.var("PID")?;
        eprintln!("{missing}: started a local {name} (pid {})", peer.pid());
        Ok(peer)
    }

    /// A value `peers/start` printed.
    pub(crate) fn var(&self, key: &str) -> Result<String, String> {
        self.vars
            .get(key)
            .cloned()
            .ok_or_else(|| format!("peers/start {} printed no {key}", self.name))
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> &str {
        self.vars.get("PID").map_or("", String::as_str)
    }
}

impl Drop for LocalPeer {
    fn drop(&mut self) {
        let _ = Command::new(peers_dir().join("stop"))
            .args([self.name, self.pid()])
            .output();
    }
}
