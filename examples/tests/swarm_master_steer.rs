//! A Swarm master with `--web` and no `-u` (the `distributed` example), one Swarm worker
//! and one real Python Locust worker against the demo target, steered over HTTP with
//! Locust's routes: it waits for the browser; `POST /swarm` with bad values gets a 400
//! and starts nothing; a start spreads the users over both workers as Locust's
//! dispatcher; a higher or lower user count re-dispatches them; the downloads give the
//! CSV, JSON and HTML reports of the master's statistics; `POST /stop` sends the workers back to
//! ready, and the master starts again; SIGTERM ends it and its workers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::locust::{demo, locustfile, serial, swarm_worker, Peer, LIMIT};
use common::{example, free_port, wait_bounded};
use serde_json::Value;

/// One HTTP/1.1 request on loopback (a form body for POST): the status, the head and
/// the body.
fn http(port: u16, method: &str, path: &str, form: &str) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(40))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    // Chunked bodies (axum's streamed answers): keep the chunks' data only.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, head.to_owned(), body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn stats(port: u16) -> Value {
    let (status, _, body) = http(port, "GET", "/stats/requests", "").expect("the web UI answers");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON from /stats/requests")
}

/// Poll `/stats/requests` until `ok` holds (bounded by `LIMIT`); the last answer.
fn until(port: u16, what: &str, log: &dyn Fn() -> String, ok: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let v = stats(port);
        if ok(&v) {
            return v;
        }
        assert!(
            start.elapsed() < LIMIT,
            "never {what}: {v}\nmaster log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The users of each worker, sorted.
fn users(v: &Value) -> Vec<u64> {
    let mut u: Vec<u64> = v["workers"]
        .as_array()
        .map(|w| w.iter().filter_map(|w| w["user_count"].as_u64()).collect())
        .unwrap_or_default();
    u.sort_unstable();
    u
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
fn a_master_is_started_changed_and_stopped_over_http() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("master.log");
    let (port, web) = (free_port(), free_port());
    let master = example("distributed")
        .args([
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &port.to_string(),
            "-H",
            &target.url(),
            "--web",
            "--web-port",
            &web.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .expect("the master starts");
    let pid = master.id().to_string();
    let mut master = Kill(Some(master));
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let start = Instant::now();
    while http(web, "GET", "/stats/requests", "").is_none() {
        assert!(start.elapsed() < LIMIT, "no web UI; log:\n{}", log());
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = stats(web);
    assert_eq!(
        first["read_only"],
        false,
        "a steerable master: {first}\nlog:\n{}",
        log()
    );
    assert_eq!(first["state"], "ready", "{first}\nlog:\n{}", log());
    // Nothing to download before a run, and no start without a worker.
    let (status, _, body) = http(web, "GET", "/stats/requests/csv", "").unwrap();
    assert_eq!(status, 404, "{body}\nlog:\n{}", log());
    let (status, _, body) = http(web, "POST", "/swarm", "user_count=2&spawn_rate=1").unwrap();
    assert_eq!(status, 400, "{body}\nlog:\n{}", log());
    assert!(body.contains("no worker"), "{body}\nlog:\n{}", log());

    let swarm = Kill(Some(swarm_worker(&port.to_string())));
    let python = Peer::start(
        "locust",
        &[
            "-f",
            &locustfile("dist_http.py"),
            "--worker",
            "--master-port",
            &port.to_string(),
        ],
        &[],
    );
    until(web, "two ready workers", &log, |v| {
        v["worker_count"] == 2
            && v["workers"]
                .as_array()
                .is_some_and(|w| w.iter().all(|w| w["state"] == "ready"))
    });
    // Bad values: a 400 naming the field, and no run.
    for (form, needle) in [
        ("user_count=-1&spawn_rate=1", "user_count"),
        ("user_count=3&spawn_rate=abc", "spawn_rate"),
        ("user_count=3&spawn_rate=0", "spawn_rate"),
        ("user_count=3", "missing"),
        ("user_count=3&spawn_rate=1&host=not%20a%20url", "host"),
        ("user_count=3&spawn_rate=1&run_time=soon", "run_time"),
    ] {
        let (status, _, body) = http(web, "POST", "/swarm", form).unwrap();
        assert_eq!(status, 400, "{form}: {body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["success"], false, "{form}: {body}");
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{form}: {body}"
        );
    }
    assert_eq!(
        stats(web)["state"],
        "ready",
        "the bad requests started nothing"
    );

    // Start: 4 users, 2 on each worker.
    let (status, _, body) = http(web, "POST", "/swarm", "user_count=4&spawn_rate=10").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Swarming started"), "{body}");
    until(web, "4 users running, 2 a worker", &log, |v| {
        v["state"] == "running" && users(v) == [2, 2]
    });
    // More users: re-dispatched over both, 3 each.
    let (status, _, body) = http(web, "POST", "/swarm", "user_count=6&spawn_rate=10").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Users changed"), "{body}");
    let v = until(web, "6 users running, 3 a worker", &log, |v| {
        v["state"] == "running" && users(v) == [3, 3] && v["target_user_count"] == 6
    });
    assert_eq!(v["user_count"], 6, "{v}");
    // Both workers' statistics (they report every 3 s), per entry.
    let v = until(web, "rows of both kinds of entry", &log, |v| {
        let rows = v["stats"].as_array().cloned().unwrap_or_default();
        let has = |name: &str| {
            rows.iter()
                .any(|r| r["name"] == name && r["num_requests"].as_u64() > Some(0))
        };
        has("/index.html")
            && has("/fail")
            && has("/status")
            && v["current_rps"].as_f64() > Some(0.0)
    });
    let total_row = v["stats"].as_array().unwrap().last().unwrap();
    assert_eq!(total_row["current_rps"], v["current_rps"], "{v}");
    let total = v["stats"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(total["name"], "Aggregated");
    assert!(total["num_requests"].as_u64().unwrap() <= target.total());

    // Downloads of the statistics so far.
    let (status, head, csv) = http(web, "GET", "/stats/requests/csv", "").unwrap();
    assert_eq!(status, 200, "{csv}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/csv"),
        "{head}"
    );
    assert!(
        csv.starts_with("Type,Name,Request Count,Failure Count"),
        "{csv}"
    );
    assert!(csv.contains("GET,/index.html,"), "{csv}");
    assert!(csv.contains(",Aggregated,"), "{csv}");
    let (status, _, fails) = http(web, "GET", "/stats/failures/csv", "").unwrap();
    assert_eq!(status, 200);
    assert!(
        fails.starts_with("Method,Name,Error,Occurrences"),
        "{fails}"
    );
    assert!(fails.contains("GET,/fail,"), "{fails}");
    let (status, _, exc) = http(web, "GET", "/exceptions/csv", "").unwrap();
    assert_eq!(status, 200);
    assert!(exc.starts_with("Count,Message,Traceback,Nodes"), "{exc}");
    let (status, _, json) = http(web, "GET", "/stats/report.json", "").unwrap();
    assert_eq!(status, 200);
    let report: Value = serde_json::from_str(&json).expect("the JSON report parses");
    assert_eq!(report["live"], true, "{json}");
    let entries = report["entries"].as_array().expect("entries");
    assert!(entries.iter().any(|e| e["name"] == "/index.html"), "{json}");
    let (status, head, html) = http(web, "GET", "/stats/report?download=1", "").unwrap();
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("attachment;filename=swarm_"),
        "{head}"
    );
    assert!(
        html.contains("<html") && html.contains("/index.html"),
        "{html}"
    );

    // A reset empties the statistics; the run goes on.
    let (status, _, body) = http(web, "POST", "/stats/reset", "").unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"));
    let after = stats(web);
    let total = after["stats"].as_array().unwrap().last().unwrap().clone();
    assert!(
        total["num_requests"].as_u64()
            < v["stats"].as_array().unwrap().last().unwrap()["num_requests"].as_u64()
            || total["num_requests"] == 0,
        "{after}"
    );
    assert_eq!(after["state"], "running");
    // Fewer users: the last come go first, 1 left on each worker.
    let (status, _, body) = http(web, "POST", "/swarm", "user_count=2&spawn_rate=10").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Users changed"), "{body}");
    until(web, "2 users running, 1 a worker", &log, |v| {
        v["state"] == "running" && users(v) == [1, 1] && v["target_user_count"] == 2
    });

    // Stop: the workers go back to ready, without users; the master stays up.
    let (status, _, body) = http(web, "POST", "/stop", "").unwrap();
    assert_eq!(status, 200, "{body}");
    until(web, "stopped with two ready workers", &log, |v| {
        v["state"] == "stopped"
            && v["worker_count"] == 2
            && users(v) == [0, 0]
            && v["workers"]
                .as_array()
                .is_some_and(|w| w.iter().all(|w| w["state"] == "ready"))
    });
    // And again: 2 users.
    let (status, _, body) = http(web, "POST", "/swarm", "user_count=2&spawn_rate=10").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Swarming started"), "{body}");
    // A fresh start begins with fresh statistics (as Locust's): wait for a failure of
    // this run, so the exit code says it.
    until(web, "2 users running, 1 a worker, and a /fail", &log, |v| {
        v["state"] == "running"
            && users(v) == [1, 1]
            && v["stats"].as_array().is_some_and(|rows| {
                rows.iter()
                    .any(|r| r["name"] == "/fail" && r["num_failures"].as_u64() > Some(0))
            })
    });

    // SIGTERM: the master stops and quits its workers, writes its report and exits.
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let out = wait_bounded(master.0.take().unwrap(), LIMIT);
    // /fail answers 500: failures, so exit code 1.
    assert_eq!(out.status.code(), Some(1), "{}", log());
    let mut swarm = swarm;
    let o = wait_bounded(swarm.0.take().unwrap(), LIMIT);
    assert_eq!(o.status.code(), Some(0), "the Swarm worker exits 0 on quit");
    assert_eq!(python.wait_exit(LIMIT), 0, "{}", python.log());
    let l = log();
    assert!(l.contains("changing the run from"), "{l}");
    assert!(
        l.contains("the workers are ready for the next start"),
        "{l}"
    );
}
