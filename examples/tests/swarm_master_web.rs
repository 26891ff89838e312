//! A Swarm master with `--web` (the `distributed` example, started with -u and -t) and
//! two real Swarm workers against the demo target: the web UI's `GET /stats/requests`
//! lists both workers in Locust's shape (`id`, `state`, `user_count`, `cpu_usage`,
//! `memory_usage`, and `worker_count`) and the workers' statistics per entry while the
//! run goes on; with `-u` the run starts by itself and ends with its run time, as
//! headless. (Steering from the web UI: `swarm_master_steer.rs`.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::locust::{demo, serial, swarm_worker, LIMIT};
use common::{example, free_port, wait_bounded};
use serde_json::Value;

/// One HTTP/1.1 request to the web UI on loopback: the status and the body.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn stats(port: u16) -> Option<Value> {
    let (status, body) = http(port, "GET", "/stats/requests")?;
    (status == 200).then(|| serde_json::from_str(&body).expect("JSON from /stats/requests"))
}

struct Kill(Option<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_master_with_web_lists_its_workers() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("master.log");
    let (port, web) = (free_port(), free_port());
    let master = example("distributed")
        .args([
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &port.to_string(),
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "60",
            "-u",
            "6",
            "-r",
            "6",
            "-t",
            "20s",
            "-H",
            &target.url(),
            "--web",
            "--web-port",
            &web.to_string(),
        ])
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .expect("the master starts");
    let mut master = Kill(Some(master));
    let master_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // The page is up before any worker came: no workers yet.
    let start = Instant::now();
    let first = loop {
        if let Some(v) = stats(web) {
            break v;
        }
        assert!(start.elapsed() < LIMIT, "no web UI; log:\n{}", master_log());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(first["workers"], Value::Array(vec![]), "{first}");
    assert_eq!(first["read_only"], false, "the page steers the master");
    let page = http(web, "GET", "/").unwrap().1;
    assert!(
        page.contains("workers-table"),
        "the page has a Workers table"
    );
    let w1 = Kill(Some(swarm_worker(&port.to_string())));
    let w2 = Kill(Some(swarm_worker(&port.to_string())));
    // Both workers, running their share of the 6 users (3 each, Locust's dispatcher),
    // with their memory use.
    let start = Instant::now();
    let seen = loop {
        let v = stats(web).expect("/stats/requests answers during the run");
        let workers = v["workers"].as_array().cloned().unwrap_or_default();
        let users: Vec<u64> = workers
            .iter()
            .filter_map(|w| w["user_count"].as_u64())
            .collect();
        // Memory comes with the heartbeats once the worker sampled it (every 5 s).
        let sampled = workers
            .iter()
            .all(|w| w["memory_usage"].as_u64().is_some_and(|m| m > 0));
        if workers.len() == 2 && users == [3, 3] && v["state"] == "running" && sampled {
            break v;
        }
        assert!(
            start.elapsed() < LIMIT,
            "never two running workers with 3 users each and their memory: {v}\nlog:\n{}",
            master_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let workers = seen["workers"].as_array().unwrap();
    assert_eq!(seen["worker_count"], 2, "{seen}");
    assert_eq!(seen["user_count"], 6, "{seen}");
    assert_ne!(workers[0]["id"], workers[1]["id"]);
    for w in workers {
        assert!(w["id"].as_str().is_some_and(|id| !id.is_empty()), "{w}");
        assert!(
            ["running", "spawning"].contains(&w["state"].as_str().unwrap_or("")),
            "{w}"
        );
        assert!(w["cpu_usage"].as_f64().is_some(), "{w}");
    }
    // The workers' statistics, per entry as in a local run's /stats/requests (they
    // report every 3 s): what they reported, at most what the target served so far.
    let start = Instant::now();
    let v = loop {
        let v = stats(web).expect("/stats/requests answers during the run");
        let rows = v["stats"].as_array().cloned().unwrap_or_default();
        let has = |name: &str| {
            rows.iter().any(|r| {
                r["method"] == "GET" && r["name"] == name && r["num_requests"].as_u64() > Some(0)
            })
        };
        if has("/index.html") && has("/status") && has("/fail") {
            break v;
        }
        assert!(start.elapsed() < LIMIT, "no per-entry rows: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let rows = v["stats"].as_array().unwrap();
    let total = rows.last().unwrap();
    assert_eq!(total["name"], "Aggregated", "{v}");
    let reported = total["num_requests"].as_u64().unwrap();
    let served = target.total();
    assert!(
        reported > 0 && reported <= served,
        "{reported} reported, {served} served"
    );
    let fail = rows.iter().find(|r| r["name"] == "/fail").unwrap();
    assert_eq!(
        fail["num_failures"], fail["num_requests"],
        "/fail always fails: {fail}"
    );
    assert!(
        v["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["name"] == "/fail")),
        "{v}"
    );
    // A bad start is refused, and the run goes on.
    let (status, body) = http(web, "POST", "/swarm").unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("missing user_count"), "{body}");
    let out = wait_bounded(master.0.take().unwrap(), LIMIT);
    // /fail answers 500: failures, so exit code 1, as without --web.
    assert_eq!(out.status.code(), Some(1), "{}", master_log());
    for mut w in [w1, w2] {
        let o = wait_bounded(w.0.take().unwrap(), LIMIT);
        assert_eq!(o.status.code(), Some(0), "a worker exits 0 on quit");
    }
    assert!(target.total() > 0);
}

/// `--master --web` keeps the web UI's rules: no non-loopback bind without credentials,
/// and with credentials every route needs them.
#[test]
fn a_master_with_web_refuses_bad_setups_and_checks_credentials() {
    let _serial = serial();
    let port = free_port().to_string();
    let base = [
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        &port,
        "--expect-workers-max-wait",
        "5",
        "-u",
        "1",
        "-t",
        "1s",
        "-H",
        "http://127.0.0.1:9",
        "--web",
    ];
    let run = |extra: &[&str]| {
        let child = example("distributed")
            .args(base)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the master starts");
        let out = wait_bounded(child, LIMIT);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--web-host", "0.0.0.0", "--web-port", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("without credentials"), "{err}");

    // With credentials: 401 without them, the JSON with them; no worker comes, so the
    // master gives up after --expect-workers-max-wait (exit 3).
    let web = free_port();
    let child = example("distributed")
        .args(base)
        .args(["--web-port", &web.to_string(), "--web-auth", "ops:s3cret"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the master starts");
    let start = Instant::now();
    let status = loop {
        if let Some((status, _)) = http(web, "GET", "/stats/requests") {
            break status;
        }
        assert!(start.elapsed() < LIMIT, "no web UI");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status, 401);
    let mut s = TcpStream::connect(("127.0.0.1", web)).unwrap();
    // base64("ops:s3cret")
    write!(
        s,
        "GET /stats/requests HTTP/1.1\r\nHost: 127.0.0.1:{web}\r\nAuthorization: Basic b3BzOnMzY3JldA==\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("\"workers\":[]"), "{raw}");
    let out = wait_bounded(child, LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        !err.contains("s3cret"),
        "the password is never logged:\n{err}"
    );
}
