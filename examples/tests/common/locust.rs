//! Helpers for the tests that run Locust and the `distributed` example together: peers
//! from `peers/start` stopped by PID, Swarm workers, the demo target, the CSV files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use swarm_http::demo::DemoServer;

use super::{example, key_values, repo_root};

/// A peer started with `peers/start`, stopped by PID when dropped.
pub struct Peer {
    name: &'static str,
    vars: HashMap<String, String>,
}

impl Peer {
    pub fn start(name: &'static str, args: &[&str], env: &[(&str, &str)]) -> Peer {
        let out = Command::new(repo_root().join("peers/start"))
            .arg(name)
            .args(args)
            .envs(env.iter().copied())
            .stderr(Stdio::inherit())
            .output()
            .expect("peers/start runs");
        assert!(
            out.status.success(),
            "peers/start {name} failed (is Locust installed? peers/install locust)"
        );
        Peer {
            name,
            vars: key_values(&String::from_utf8_lossy(&out.stdout)),
        }
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars.get(key).map_or("", String::as_str)
    }

    pub fn master_port(&self) -> String {
        let master = self.var("MASTER");
        master.rsplit(':').next().unwrap_or_default().to_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.var("LOG")).unwrap_or_default()
    }

    /// Wait (bounded) until the peer exits; its exit code.
    pub fn wait_exit(&self, limit: Duration) -> i32 {
        let start = Instant::now();
        let path = PathBuf::from(self.var("EXIT"));
        loop {
            if let Ok(code) = std::fs::read_to_string(&path) {
                if let Ok(code) = code.trim().parse() {
                    return code;
                }
            }
            assert!(
                start.elapsed() < limit,
                "{} did not exit within {limit:?}; log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_log(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                start.elapsed() < limit,
                "{} never logged {needle:?}; log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("peers/stop"))
            .arg(self.name)
            .arg(self.var("PID"))
            .output();
    }
}

/// The path of a locustfile of `peers/locustfiles`.
pub fn locustfile(name: &str) -> String {
    repo_root()
        .join("peers/locustfiles")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A Swarm worker (the `distributed` example) of the master at `port`.
pub fn swarm_worker(port: &str) -> Child {
    example("distributed")
        .args(["--worker", "--master-port", port, "-L", "info"])
        .spawn()
        .expect("the worker starts")
}

/// `(requests, failures)` a Swarm worker says it recorded and reported, from its
/// closing line, or else from its last report line (a killed worker).
pub fn worker_totals(out: &Output) -> (u64, u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    if let Some(line) = err
        .lines()
        .rev()
        .find(|l| l.starts_with("worker: recorded "))
    {
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        return (nums[0], nums[1]);
    }
    panic!("no totals in the worker's output:\n{err}");
}

/// `(requests, failures)` a Swarm worker says finished after the master's `quit` and
/// went out late (none when it says nothing).
pub fn reported_late(out: &Output) -> (u64, u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .find(|l| l.contains("after the master's quit"))
        .map_or((0, 0), |line| {
            let nums: Vec<u64> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|w| w.parse().ok())
                .collect();
            (nums[0], nums[1])
        })
}
/// The last "in all N requests, F failures" a worker logged.
pub fn last_in_all(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.split_once("in all ").map(|(_, r)| r.to_owned()))
        .unwrap_or_default();
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (
        nums.first().copied().unwrap_or(0),
        nums.get(1).copied().unwrap_or(0),
    )
}

/// `(requests, failures)` of a row of the master's `_stats.csv`.
pub fn csv_counts(prefix: &Path, method: &str, name: &str) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("{}_stats.csv", prefix.display())).ok()?;
    text.lines().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split(',').collect();
        (cols.first() == Some(&method) && cols.get(1) == Some(&name))
            .then(|| (cols[2].parse().unwrap(), cols[3].parse().unwrap()))
    })
}

/// The master's `_failures.csv`.
pub fn failures_csv(prefix: &Path) -> String {
    std::fs::read_to_string(format!("{}_failures.csv", prefix.display())).unwrap_or_default()
}

/// The in-process demo target, counting what it serves, on a runtime of its own.
pub fn demo() -> (tokio::runtime::Runtime, DemoServer) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(DemoServer::start()).unwrap();
    (runtime, server)
}

/// How long any process of these tests may take.
pub const LIMIT: Duration = Duration::from_secs(120);

/// One test at a time: each starts a master and workers, and Locust's master gives a
/// worker only half a second for its last report after `quit`; on two cores, tests
/// running side by side would measure the machine, not the worker.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Hold it for the whole test.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The master's count against the target's: equal, but for requests in flight when the
/// users were cancelled at the end (stop timeout 0, Locust's default), at most one per
/// user. The target saw those; no client recorded them (the HTTP client's end of run is
/// issue 10's "nothing lost at the end").
pub fn seen_by_target(recorded: u64, seen: u64, users: u64) {
    assert!(
        seen >= recorded && seen - recorded <= users,
        "the master holds {recorded}, the target saw {seen} ({users} users)"
    );
}
