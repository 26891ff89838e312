//! A Swarm master (the `distributed` example with `--master`) as the tests start it.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use super::locust::LIMIT;
use super::{example, free_port, wait_bounded};

/// A Swarm master (the `distributed` example with `--master`) on a free loopback port,
/// its stderr in a file the test reads while it runs.
pub struct Master {
    child: Option<Child>,
    /// The port it listens on for workers.
    pub port: u16,
    log: PathBuf,
}

impl Master {
    /// `--expect-workers workers -u users -r users -t run_time`, CSV files under `prefix`.
    pub fn start(workers: u32, users: u32, run_time: &str, prefix: &Path, host: &str) -> Master {
        Self::start_with(workers, users, run_time, prefix, host, &[])
    }

    /// As [`Master::start`], with more flags (`-r` among them sets another spawn rate).
    pub fn start_with(
        workers: u32,
        users: u32,
        run_time: &str,
        prefix: &Path,
        host: &str,
        extra: &[&str],
    ) -> Master {
        let rate = users.to_string();
        let rate = if extra.contains(&"-r") {
            None
        } else {
            Some(rate.as_str())
        };
        let port = free_port();
        let log = prefix.with_extension("master.log");
        let child = example("distributed")
            .args([
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                &port.to_string(),
                "--expect-workers",
                &workers.to_string(),
                "--expect-workers-max-wait",
                "60",
                "-u",
                &users.to_string(),
                "-t",
                run_time,
                "-H",
                host,
                "--csv",
                prefix.to_str().unwrap(),
                "-L",
                "info",
            ])
            .args(rate.map(|r| ["-r", r]).into_iter().flatten())
            .args(extra)
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .expect("the master starts");
        let master = Master {
            child: Some(child),
            port,
            log,
        };
        master.wait_log("listening on", LIMIT);
        master
    }

    pub fn port(&self) -> String {
        self.port.to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_log(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                start.elapsed() < limit,
                "the master never logged {needle:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Wait (bounded) for the master to exit; its output, with the log as stderr.
    pub fn wait(mut self) -> Output {
        let child = self.child.take().unwrap();
        let mut out = wait_bounded(child, LIMIT);
        out.stderr = self.log().into_bytes();
        out
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A process's stderr as text.
pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
