//! Start and stop a real Locust master through `peers/` (by PID), and read its CSVs.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_owned()
}

/// A running peer; stopped by PID when dropped.
pub struct Peer {
    pub name: String,
    pub vars: HashMap<String, String>,
}

impl Peer {
    /// `peers/start NAME ARGS...`: fails loudly when the peer is not installed or
    /// does not start.
    pub fn start(name: &str, args: &[&str]) -> Peer {
        Peer::start_with(name, args, &[])
    }

    /// `peers/start NAME ARGS...` with extra environment (`MASTER_PORT`, ...).
    pub fn start_with(name: &str, args: &[&str], env: &[(&str, &str)]) -> Peer {
        let root = repo_root();
        let out = Command::new(root.join("peers/start"))
            .arg(name)
            .args(args)
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

    /// The master's ZeroMQ port (`MASTER=127.0.0.1:PORT`).
    pub fn master_port(&self) -> u16 {
        let m = self.var("MASTER");
        m.rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("MASTER={m} has no port"))
    }

    /// Stop the peer now (by PID), waiting until it is gone.
    pub fn stop(self) {
        drop(self);
    }

    /// The peer's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.var("LOG")).unwrap_or_default()
    }

    /// Wait until the process has exited by itself (bounded); its exit code.
    pub fn wait_exit(&self, limit: Duration) -> Option<i32> {
        let exit = PathBuf::from(self.var("EXIT"));
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(code) = std::fs::read_to_string(&exit) {
                if let Ok(code) = code.trim().parse() {
                    return Some(code);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
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

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Run `body`, failing the test if it takes longer than `limit`.
pub async fn bounded<F: std::future::Future>(limit: Duration, body: F) -> F::Output {
    tokio::time::timeout(limit, body)
        .await
        .unwrap_or_else(|_| panic!("the test took longer than {limit:?}"))
}

/// A CSV file as rows of fields (Locust's CSVs quote only fields holding commas or
/// quotes; the tests' names and errors hold neither).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

/// The rows of a CSV as header -> value maps.
pub fn csv_records(path: &Path) -> Vec<HashMap<String, String>> {
    let rows = read_csv(path);
    let (header, rest) = rows.split_first().expect("a header row");
    rest.iter()
        .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

/// `GET url` (plain `http://host:port/path`) over HTTP/1.0; the body.
pub async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {authority}: {e}"));
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .expect("response read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    body.to_owned()
}
