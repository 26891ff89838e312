//! Runs the `web_demo` example binary as a user would and reads its startup lines.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The built `web_demo` example (`cargo test` builds a package's examples beside its
/// tests).
pub fn web_demo_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("web_demo");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p swarm-web --examples`",
        path.display()
    );
    path
}

/// A running `web_demo`, stopped by PID (SIGTERM, then SIGKILL) when dropped.
pub struct Proc {
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Start `web_demo` with these arguments.
    pub fn start(args: &[&str]) -> Proc {
        Self::start_with(args, &[])
    }

    /// Start it with extra environment variables.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(web_demo_path());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("web_demo starts");
        let err = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Proc {
            child: Some(child),
            stderr,
        }
    }

    /// Everything it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The URL after `prefix` on a stderr line (`web UI: `, `metrics: `), waiting at
    /// most 60 s; the test fails if the process exits or never prints it.
    pub fn url(&mut self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if let Some(line) = text.lines().find(|l| l.starts_with(prefix)) {
                let url = line[prefix.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_owned();
                return url.trim_end_matches('/').to_owned();
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("web_demo exited ({status}) before printing {prefix:?}:\n{text}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no {prefix:?} line within 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for it to exit by itself (at most `limit`).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                panic!("web_demo did not exit within {limit:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM by PID, then wait for the exit (SIGKILL after 20 s).
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.wait(Duration::from_secs(20))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Run `peers/report-check/check.py ARGS` (installed by `peers/install report-check`)
/// with `stdin`; `Ok(stdout)` or `Err(stderr)` when it refuses the input.
pub fn report_check(args: &[&str], stdin: &str) -> Result<String, String> {
    use std::io::Write as _;
    let root = repo_root();
    let python = root.join(".peers/report-check/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `peers/install report-check`",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(root.join("peers/report-check/check.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the checker runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("Traceback"), "the checker failed:\n{err}");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(err)
    }
}

/// A client for loopback (no proxy from the environment).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `GET url` as JSON.
pub async fn get_json(c: &reqwest::Client, url: &str) -> serde_json::Value {
    let res = c.get(url).send().await.unwrap();
    assert!(res.status().is_success(), "GET {url}: {}", res.status());
    res.json().await.unwrap()
}

/// `GET url` as text.
pub async fn get_text(c: &reqwest::Client, url: &str) -> String {
    let res = c.get(url).send().await.unwrap();
    assert!(res.status().is_success(), "GET {url}: {}", res.status());
    res.text().await.unwrap()
}

/// Poll `GET base/stats/requests` until `cond` holds (at most 60 s, 300 polls).
pub async fn wait_stats(
    c: &reqwest::Client,
    base: &str,
    what: &str,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        last = get_json(c, &format!("{base}/stats/requests")).await;
        if cond(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not reached; last /stats/requests: {last}");
}

/// The row of `/stats/requests` with this method and name, if any.
pub fn try_row<'a>(
    stats: &'a serde_json::Value,
    method: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    stats["stats"]
        .as_array()?
        .iter()
        .find(|r| r["method"] == method && r["name"] == name)
}

/// The row of `/stats/requests` with this method and name.
pub fn row<'a>(stats: &'a serde_json::Value, method: &str, name: &str) -> &'a serde_json::Value {
    try_row(stats, method, name).unwrap_or_else(|| panic!("no row {method} {name} in {stats}"))
}

/// A number of a row, 0 when the row is not there yet.
pub fn count(stats: &serde_json::Value, method: &str, name: &str, field: &str) -> u64 {
    try_row(stats, method, name)
        .and_then(|r| r[field].as_u64())
        .unwrap_or(0)
}
