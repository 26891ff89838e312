//! A Swarm master (`distributed --master`) driving real peers against the demo target:
//! two Swarm workers, a Swarm worker beside a Python Locust 2.47.0 worker (from
//! `peers/`), a worker killed mid-run, Ctrl-C, and peers that speak another version or
//! garbage. What the master's CSV files hold equals what the workers recorded and what
//! the target saw; the users are split by weight as Locust's master splits them. Shapes,
//! thresholds and baselines on a master: swarm_master_run_controls.rs.

mod common;

use std::process::Command;
use std::time::Duration;

use common::locust::{
    csv_counts, demo, failures_csv, last_in_all, locustfile, seen_by_target, serial, swarm_worker,
    worker_totals, Peer, LIMIT,
};
use common::master::{text, Master};
use common::{example, free_port, wait_bounded};

/// The users per class a master logged once all were spawned (the counts the workers
/// reported in `spawning_complete`).
fn spawned(log: &str) -> String {
    log.lines()
        .find_map(|l| {
            l.split_once("All users spawned: ")
                .map(|(_, r)| r.to_owned())
        })
        .unwrap_or_else(|| panic!("no 'All users spawned' line:\n{log}"))
}

fn kill(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_swarm_master_drives_two_swarm_workers() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("two");
    let master = Master::start(2, 6, "6s", &prefix, &target.url());
    let w1 = swarm_worker(&master.port());
    let w2 = swarm_worker(&master.port());
    let (o1, o2) = (wait_bounded(w1, LIMIT), wait_bounded(w2, LIMIT));
    let out = master.wait();
    let log = text(&out);
    // /fail answers 500: failed requests, so exit code 1 (--exit-code-on-error).
    assert_eq!(out.status.code(), Some(1), "{log}");
    for o in [&o1, &o2] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "a worker exits 0 on quit:\n{}",
            text(o)
        );
    }
    // Locust's dispatcher: weights 2 and 1, three users on each worker.
    assert_eq!(
        spawned(&log),
        r#"{"AdminUser": 2, "WebsiteUser": 4} (total 6 users)"#
    );
    let (r1, f1) = worker_totals(&o1);
    let (r2, f2) = worker_totals(&o2);
    assert!(r1 > 0 && r2 > 0, "both workers had users: {r1} and {r2}");
    // The master stops the workers and waits for their last reports: it holds exactly
    // what they recorded, which is what the target saw (in-flight requests finish within
    // the runner's grace at the stop).
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").expect("an Aggregated row");
    assert!(requests > 50, "{requests} requests");
    assert_eq!((requests, failures), (r1 + r2, f1 + f2), "{log}");
    assert_eq!(requests, target.total());
    assert_eq!(failures, target.failures_served());
    let (fails, fails_failed) = csv_counts(&prefix, "GET", "/fail").expect("a /fail row");
    assert_eq!((fails, fails_failed), (failures, failures));
    let (status, _) = csv_counts(&prefix, "GET", "/status").expect("a /status row");
    assert_eq!(status, target.hits("/status"));
    assert!(
        failures_csv(&prefix).contains(&format!(
            "GET,/fail,HTTP 500 Internal Server Error,{failures},"
        )),
        "{}",
        failures_csv(&prefix)
    );
    // Both said quit after their last report, and the console summary was printed.
    assert_eq!(log.matches(") quit").count(), 2, "{log}");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("Aggregated"), "{summary}");
    assert!(summary.contains("ended: run time over"), "{summary}");
}

#[test]
fn a_swarm_master_drives_a_python_locust_worker_beside_a_swarm_worker() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("mixed");
    // Two ramp-up steps (3 users, then 6, a second apart): both workers get two spawns.
    let master = Master::start_with(2, 6, "7s", &prefix, &target.url(), &["-r", "3"]);
    let python = Peer::start(
        "locust",
        &[
            "-f",
            &locustfile("dist_http.py"),
            "--worker",
            "--master-port",
            &master.port(),
        ],
        &[],
    );
    let swarm = swarm_worker(&master.port());
    let swarm_out = wait_bounded(swarm, LIMIT);
    let out = master.wait();
    let log = text(&out);
    assert_eq!(python.wait_exit(LIMIT), 0, "{}", python.log());
    assert_eq!(swarm_out.status.code(), Some(0), "{}", text(&swarm_out));
    assert!(
        python.log().contains("Got quit message from master"),
        "{}",
        python.log()
    );
    // The Python worker took its users from the spawn (the class names of dist_http.py).
    assert_eq!(
        spawned(&log),
        r#"{"AdminUser": 2, "WebsiteUser": 4} (total 6 users)"#,
        "{log}\n--- python:\n{}",
        python.log()
    );
    for users in [3, 6] {
        assert!(
            log.contains(&format!("dispatch step: {users} users over 2 workers")),
            "{log}"
        );
    }
    assert!(
        !python.log().contains("Discard spawn message"),
        "{}",
        python.log()
    );
    let (swarm_requests, _) = worker_totals(&swarm_out);
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert!(
        swarm_requests > 0 && swarm_requests < requests,
        "the Swarm worker did {swarm_requests} of {requests}"
    );
    // Every request the target saw is in the master's report, but for the Python
    // worker's requests in flight when its users were killed at the stop (gevent kills
    // them; at most one per user: 3).
    seen_by_target(requests, target.total(), 3);
    assert!(
        failures <= target.failures_served() && failures > 0,
        "{failures} failures, the target served {}\n{}",
        target.failures_served(),
        failures_csv(&prefix)
    );
    for name in ["/index.html", "/status", "/fail"] {
        assert!(csv_counts(&prefix, "GET", name).is_some(), "no {name} row");
    }
    // Both workers quit after their final reports.
    assert_eq!(log.matches(") quit").count(), 2, "{log}");
}

#[test]
fn a_killed_worker_goes_missing_and_the_test_goes_on() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("killed");
    let master = Master::start(2, 6, "14s", &prefix, &target.url());
    let victim = swarm_worker(&master.port());
    let survivor = swarm_worker(&master.port());
    master.wait_log("All users spawned", LIMIT);
    // Let both report (every 3 s), then SIGKILL one.
    std::thread::sleep(Duration::from_secs(4));
    kill(victim.id(), "-KILL");
    let victim_out = wait_bounded(victim, LIMIT);
    master.wait_log("setting state to missing", Duration::from_secs(30));
    let survivor_out = wait_bounded(survivor, LIMIT);
    let out = master.wait();
    let log = text(&out);
    assert_eq!(survivor_out.status.code(), Some(0));
    // The test ran to its end with the survivor.
    assert!(log.contains("run time over"), "{log}");
    assert!(!log.contains("no worker is left"), "{log}");
    let (victim_reported, _) = last_in_all(&String::from_utf8_lossy(&victim_out.stderr));
    let (survivor_requests, _) = worker_totals(&survivor_out);
    assert!(victim_reported > 0, "the killed worker had reported");
    let (requests, _) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert_eq!(
        requests,
        victim_reported + survivor_requests,
        "the master keeps everything the killed worker reported\n{log}"
    );
    // Only what the victim did after its last report is missing.
    assert!(target.total() >= requests);
}

#[test]
fn ctrl_c_on_the_master_still_writes_every_report() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("sigint");
    let json = dir.path().join("r.json");
    let html = dir.path().join("r.html");
    let junit = dir.path().join("r.xml");
    let master = Master::start_with(
        1,
        3,
        "60s",
        &prefix,
        &target.url(),
        &[
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--threshold",
            "GET /status: fail_ratio < 1%",
            "--threshold",
            "rps > 100000",
        ],
    );
    let worker = swarm_worker(&master.port());
    master.wait_log("All users spawned", LIMIT);
    std::thread::sleep(Duration::from_secs(4));
    kill(master.pid(), "-INT");
    let worker_out = wait_bounded(worker, LIMIT);
    let out = master.wait();
    let log = text(&out);
    assert_eq!(worker_out.status.code(), Some(0), "{}", text(&worker_out));
    assert!(log.contains("stopping (signal)"), "{log}");
    let (worker_requests, worker_failures) = worker_totals(&worker_out);
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert!(requests > 0);
    assert_eq!((requests, failures), (worker_requests, worker_failures));
    assert_eq!(requests, target.total());
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("ended: stopped"), "{summary}");
    // The thresholds are evaluated on the workers' numbers: one holds, one fails (99).
    assert_eq!(out.status.code(), Some(99), "{summary}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["total"]["requests"], requests);
    assert_eq!(report["total"]["failures"], failures);
    assert_eq!(report["stop_reason"], "stopped");
    let held: Vec<bool> = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(held, [true, false], "{}", report["thresholds"]);
    assert!(report["history"].as_array().is_some_and(|h| !h.is_empty()));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    assert!(std::fs::read_to_string(&junit)
        .unwrap()
        .contains("<testsuite"));
}

#[test]
fn another_protocol_version_and_garbage_are_logged_and_the_test_goes_on() {
    use swarm_distributed::{Connection, NodeId, TransportOptions, WorkerMessage};

    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("bad");
    let master = Master::start(1, 3, "8s", &prefix, &target.url());
    let worker = swarm_worker(&master.port());
    master.wait_log("All users spawned", LIMIT);
    let port = master.port;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let opts = || TransportOptions::default().connect_timeout(Duration::from_secs(5));
        // A worker of another protocol version: acked and registered, with a warning.
        let mut old = Connection::connect("127.0.0.1", port, NodeId::generate(), opts())
            .await
            .unwrap();
        let ack = old.handshake("1.4.0").await.expect("the master acks it");
        assert_eq!(ack.index, Some(1));
        // Garbage, a 2-array, and a heartbeat with a mistyped field.
        let mut bad = Connection::connect("127.0.0.1", port, NodeId::generate(), opts())
            .await
            .unwrap();
        let id = bad.node_id().to_string();
        for body in [
            b"\x93\xa9heart".to_vec(),
            vec![0x92, 0xa4, b'q', b'u', b'i', b't', 0xc0],
            rmp_body(&id),
        ] {
            bad.send_encoded(body).await.unwrap();
        }
        // And a well-formed message after it all: the master still listens.
        bad.send(&WorkerMessage::ClientReady {
            version: swarm_distributed::LOCUST_VERSION.to_owned(),
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        old.close().await;
        bad.close().await;
    });
    let worker_out = wait_bounded(worker, LIMIT);
    let out = master.wait();
    let log = text(&out);
    assert!(
        log.contains("runs a different version (1.4.0)"),
        "a clear warning for the other version:\n{log}"
    );
    assert!(
        log.contains("cannot read (not a msgpack message:"),
        "garbage is named:\n{log}"
    );
    assert!(log.contains("got an array of 2"), "{log}");
    assert!(log.contains("bad data in a \"heartbeat\" message"), "{log}");
    assert!(log.contains("(index 2) reported as ready"), "{log}");
    // The test went on: the real worker's numbers are all in the report.
    assert_eq!(worker_out.status.code(), Some(0));
    let (worker_requests, _) = worker_totals(&worker_out);
    let (requests, _) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert!(requests > 0);
    assert_eq!(requests, worker_requests, "{log}");
    assert!(log.contains("run time over"), "{log}");
}

/// `["heartbeat", {"state": 5, ...}, id]`: a well-formed envelope with bad data.
fn rmp_body(id: &str) -> Vec<u8> {
    let mut out = vec![0x93, 0xa9];
    out.extend_from_slice(b"heartbeat");
    out.extend_from_slice(&[0x81, 0xa5]);
    out.extend_from_slice(b"state");
    out.push(0x05);
    let len = u8::try_from(id.len()).unwrap();
    out.extend_from_slice(&[0xd9, len]);
    out.extend_from_slice(id.as_bytes());
    out
}

#[test]
fn no_workers_within_the_max_wait_is_a_clear_error() {
    let out = common::run_bounded(
        example("distributed").args([
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &free_port().to_string(),
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "1",
            "-u",
            "2",
            "-t",
            "5s",
            "-H",
            "http://127.0.0.1:9",
        ]),
        LIMIT,
    );
    let err = text(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("gave up waiting for workers to connect: 0 of 2"),
        "{err}"
    );
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = common::run_bounded(
        example("distributed").args([
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &port,
            "-H",
            "http://127.0.0.1:9",
        ]),
        LIMIT,
    );
    let err = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "cannot bind the master's ZeroMQ socket to tcp://127.0.0.1:{port}"
        )),
        "{err}"
    );
}
