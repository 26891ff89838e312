//! `--metrics-bind` beside a Swarm master (the `distributed` example, headless): the
//! Prometheus endpoint serves what its workers reported. The worker is a real Python
//! Locust worker whose request names need escaping in the text format (a double quote,
//! backslashes, a newline: `peers/locustfiles/dist_odd_names.py`); the scrape goes
//! through the Prometheus project's own parser (`prometheus_client`, `peers/install
//! report-check`), which must give back every name as the worker wrote it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::locust::{demo, locustfile, serial, Peer, LIMIT};
use common::{example, free_port, repo_root, wait_bounded};
use serde_json::Value;

/// The names `dist_odd_names.py` gives its requests.
const NAMES: [&str; 3] = ["say \"hi\"", "C:\\load\\test\\", "first line\nsecond line"];

/// A child killed by PID when dropped (a failed test leaves no master behind).
struct Kill(Option<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `GET /metrics`: the status and the body.
fn scrape(port: u16) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
}

/// The text through `prometheus_client`'s parser: its families as JSON, or why it
/// refused the text.
fn prometheus_client(text: &str) -> Result<Vec<Value>, String> {
    let root = repo_root();
    let python = root.join(".peers/report-check/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `peers/install report-check`",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(root.join("peers/report-check/check.py"))
        .arg("prometheus")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the checker runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = wait_bounded(child, LIMIT);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("Traceback"), "the checker failed:\n{err}");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the checker prints JSON"))
    } else {
        Err(err)
    }
}

/// The value of `metric`'s sample whose `name` label is `name`.
fn sample(families: &[Value], metric: &str, name: &str) -> Option<f64> {
    families
        .iter()
        .flat_map(|f| f["samples"].as_array().cloned().unwrap_or_default())
        .find(|s| s["name"] == metric && s["labels"]["name"] == name)
        .and_then(|s| s["value"].as_f64())
}

#[test]
fn a_masters_metrics_carry_its_workers_statistics_and_escaped_names() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("master.log");
    let (port, metrics) = (free_port(), free_port());
    let master = example("distributed")
        .args([
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &port.to_string(),
            "--expect-workers",
            "1",
            "--expect-workers-max-wait",
            "60",
            "-u",
            "3",
            "-r",
            "3",
            "-t",
            "90s",
            "-H",
            &target.url(),
            "--metrics-bind",
            &format!("127.0.0.1:{metrics}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .expect("the master starts");
    let pid = master.id().to_string();
    let mut master = Kill(Some(master));
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let python = Peer::start(
        "locust",
        &[
            "-f",
            &locustfile("dist_odd_names.py"),
            "--worker",
            "--master-port",
            &port.to_string(),
        ],
        &[],
    );
    // Scrape until every odd name has requests (the worker reports every 3 s).
    let start = Instant::now();
    let (text, families) = loop {
        if let Some((status, text)) = scrape(metrics) {
            assert_eq!(status, 200, "{text}");
            let families = prometheus_client(&text)
                .unwrap_or_else(|e| panic!("prometheus_client refused the scrape: {e}\n{text}"));
            let all = NAMES
                .iter()
                .all(|n| sample(&families, "swarm_requests_total", n).is_some_and(|v| v > 0.0));
            if all {
                break (text, families);
            }
        }
        assert!(
            start.elapsed() < LIMIT,
            "the names never all came through /metrics; master log:\n{}\n--- python:\n{}",
            log(),
            python.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    // Escaped in the text, whole again after the parser.
    assert!(text.contains(r#"name="say \"hi\"""#), "{text}");
    assert!(text.contains(r#"name="C:\\load\\test\\""#), "{text}");
    assert!(text.contains(r#"name="first line\nsecond line""#), "{text}");
    for name in NAMES {
        assert_eq!(
            sample(&families, "swarm_failures_total", name),
            Some(0.0),
            "{name:?}"
        );
        assert!(
            sample(&families, "swarm_response_time_seconds_count", name).is_some_and(|v| v > 0.0),
            "{name:?}"
        );
    }
    // The users the worker runs, all and per type.
    let users = families
        .iter()
        .find(|f| f["name"] == "swarm_users")
        .and_then(|f| f["samples"][0]["value"].as_f64());
    assert_eq!(users, Some(3.0), "{text}");
    let per_type = |t: &str| {
        families
            .iter()
            .flat_map(|f| f["samples"].as_array().cloned().unwrap_or_default())
            .find(|s| s["name"] == "swarm_user_type_users" && s["labels"]["user_type"] == t)
            .and_then(|s| s["value"].as_f64())
    };
    assert_eq!(per_type("WebsiteUser"), Some(2.0), "{text}");
    assert_eq!(per_type("AdminUser"), Some(1.0), "{text}");
    // Requests the worker reported: at most what the target served.
    let reported: f64 = NAMES
        .iter()
        .filter_map(|n| sample(&families, "swarm_requests_total", n))
        .sum();
    assert!(
        reported <= target.total() as f64,
        "{reported} > {}",
        target.total()
    );

    // SIGTERM ends the run early as ever: the workers quit, the report is written.
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let out = wait_bounded(master.0.take().unwrap(), LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", log());
    assert_eq!(python.wait_exit(LIMIT), 0, "{}", python.log());
}
