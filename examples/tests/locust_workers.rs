//! Swarm workers under a real Locust 2.47.0 master (from `peers/`), against the demo
//! target: what the master's CSV files hold equals what the workers recorded and what the
//! target saw; a Python Locust worker alongside; a worker killed mid-run; a master
//! restarted; stop and quit; a class the worker does not have; a master that is not there.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::locust::{
    csv_counts, demo, failures_csv, last_in_all, locustfile, reported_late, seen_by_target, serial,
    swarm_worker, worker_totals, Peer, LIMIT,
};
use common::{example, wait_bounded};

/// A headless master: `users` users, `run_time`, CSV files under `prefix`.
fn master(
    locustfile: &str,
    workers: u32,
    users: u32,
    run_time: &str,
    prefix: &Path,
    host: &str,
) -> Peer {
    Peer::start(
        "locust",
        &[
            "-f",
            locustfile,
            "--master",
            "--headless",
            "--expect-workers",
            &workers.to_string(),
            "--expect-workers-max-wait",
            "60",
            "-u",
            &users.to_string(),
            "-r",
            &users.to_string(),
            "-t",
            run_time,
            "-H",
            host,
            "--csv",
            prefix.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn two_swarm_workers_report_everything_to_the_master() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("two");
    let m = master(
        &locustfile("dist_two_classes.py"),
        2,
        6,
        "8s",
        &prefix,
        &target.url(),
    );
    let port = m.master_port();
    let w1 = swarm_worker(&port);
    let w2 = swarm_worker(&port);
    let (o1, o2) = (wait_bounded(w1, LIMIT), wait_bounded(w2, LIMIT));
    m.wait_exit(LIMIT);
    for o in [&o1, &o2] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "a worker exits 0 on the master's quit:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let (r1, f1) = worker_totals(&o1);
    let (r2, f2) = worker_totals(&o2);
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").expect("an Aggregated row");
    assert!(requests > 50, "{requests} requests");
    // The workers recorded every request the target saw (in-flight ones finish within
    // the runner's grace at the end) ...
    assert_eq!(
        r1 + r2,
        target.total(),
        "the workers recorded what the target saw"
    );
    assert_eq!(f1 + f2, target.failures_served());
    // ... and the master holds it all, but for what a worker reported after `quit`:
    // Locust's master waits only half a second for the last reports, and on a loaded
    // machine what finished after the quit may come later than that.
    let (l1, lf1) = reported_late(&o1);
    let (l2, lf2) = reported_late(&o2);
    assert!(
        requests <= r1 + r2 && requests >= r1 + r2 - l1 - l2,
        "the master holds {requests}, the workers recorded {} ({} of them reported late)",
        r1 + r2,
        l1 + l2
    );
    assert!(failures <= f1 + f2 && failures >= f1 + f2 - lf1 - lf2);
    assert!(r1 > 0 && r2 > 0, "both workers had users: {r1} and {r2}");
    // Per entry, and the failures with their message.
    let (fails, fails_failed) = csv_counts(&prefix, "GET", "/fail").expect("a /fail row");
    assert_eq!(fails, fails_failed);
    assert_eq!(fails, failures);
    let (status, _) = csv_counts(&prefix, "GET", "/status").expect("a /status row");
    seen_by_target(status, target.hits("/status"), 6);
    let failures_csv = failures_csv(&prefix);
    assert!(
        failures_csv.contains(&format!(
            "GET,/fail,HTTP 500 Internal Server Error,{failures},"
        )),
        "{failures_csv}"
    );
}

#[test]
fn a_swarm_worker_and_a_python_worker_under_one_master() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("mixed");
    let file = locustfile("dist_http.py");
    let m = master(&file, 2, 6, "8s", &prefix, &target.url());
    let port = m.master_port();
    let python = Peer::start(
        "locust",
        &["-f", &file, "--worker", "--master-port", &port],
        &[],
    );
    let swarm = swarm_worker(&port);
    let out = wait_bounded(swarm, LIMIT);
    m.wait_exit(LIMIT);
    assert_eq!(python.wait_exit(LIMIT), 0, "{}", python.log());
    assert_eq!(out.status.code(), Some(0));
    let (swarm_requests, _) = worker_totals(&out);
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").unwrap();
    // The Python worker's last report may miss the half second Locust's master waits
    // after `quit` (on a loaded machine it often does), so only bounds hold for the sum.
    assert!(
        swarm_requests > 0 && swarm_requests < requests,
        "the Swarm worker did {swarm_requests} of {requests}"
    );
    assert!(requests <= target.total() && failures <= target.failures_served());
    // Both user classes ran, and the master shows them under one name each.
    for name in ["/index.html", "/status", "/fail"] {
        assert!(csv_counts(&prefix, "GET", name).is_some(), "no {name} row");
    }
}

#[test]
fn a_killed_worker_goes_missing_and_what_it_reported_stays() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("killed");
    let m = master(
        &locustfile("dist_two_classes.py"),
        2,
        6,
        "14s",
        &prefix,
        &target.url(),
    );
    let port = m.master_port();
    let victim = swarm_worker(&port);
    let survivor = swarm_worker(&port);
    // Let both report a few times, then SIGKILL one.
    m.wait_log("All users spawned", LIMIT);
    std::thread::sleep(Duration::from_secs(5));
    let status = Command::new("kill")
        .args(["-KILL", &victim.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let victim_out = wait_bounded(victim, LIMIT);
    m.wait_log("missing", Duration::from_secs(30));
    let survivor_out = wait_bounded(survivor, LIMIT);
    m.wait_exit(LIMIT);
    assert_eq!(survivor_out.status.code(), Some(0));
    let (victim_reported, _) = last_in_all(&String::from_utf8_lossy(&victim_out.stderr));
    let (survivor_requests, _) = worker_totals(&survivor_out);
    assert!(victim_reported > 0, "the killed worker had reported");
    let (requests, _) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert_eq!(
        requests,
        victim_reported + survivor_requests,
        "the master keeps everything the killed worker reported"
    );
    // Only what the victim did after its last report is missing.
    assert!(target.total() >= requests);
}

#[test]
fn a_worker_rejoins_a_restarted_master_and_runs_the_next_test() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let first = Peer::start(
        "locust",
        &[
            "-f",
            &locustfile("dist_two_classes.py"),
            "--master",
            "--headless",
            "--expect-workers",
            "1",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "60s",
            "-H",
            &target.url(),
        ],
        &[("MASTER_PORT", &port)],
    );
    let worker = swarm_worker(&port);
    first.wait_log("All users spawned", LIMIT);
    // The master dies without a word (no quit to the worker).
    let pid = first.var("PID").to_owned();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    first.wait_exit(LIMIT);
    std::thread::sleep(Duration::from_secs(2));
    let before = target.total();
    let prefix = dir.path().join("second");
    let second = Peer::start(
        "locust",
        &[
            "-f",
            &locustfile("dist_two_classes.py"),
            "--master",
            "--headless",
            "--expect-workers",
            "1",
            "--expect-workers-max-wait",
            "60",
            "-u",
            "3",
            "-r",
            "3",
            "-t",
            "5s",
            "-H",
            &target.url(),
            "--csv",
            prefix.to_str().unwrap(),
        ],
        &[("MASTER_PORT", &port)],
    );
    let out = wait_bounded(worker, LIMIT);
    second.wait_exit(LIMIT);
    eprintln!(
        "{}\n--- second master:\n{}",
        String::from_utf8_lossy(&out.stderr),
        second.log()
    );
    assert_eq!(out.status.code(), Some(0));
    let (requests, _) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert!(requests > 0, "the second master's test ran on the worker");
    assert!(target.total() - before >= requests);
}

#[test]
fn stop_then_quit_from_the_master() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("stop");
    // Web UI mode: --autostart runs 4 s, then the master sends stop, then quit 3 s later.
    let m = Peer::start(
        "locust",
        &[
            "-f",
            &locustfile("dist_two_classes.py"),
            "--master",
            "--autostart",
            "--autoquit",
            "3",
            "-u",
            "3",
            "-r",
            "3",
            "-t",
            "4s",
            "-H",
            &target.url(),
            "--csv",
            prefix.to_str().unwrap(),
        ],
        &[],
    );
    let port = m.master_port();
    let worker = swarm_worker(&port);
    let out = wait_bounded(worker, LIMIT);
    m.wait_exit(LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        m.log().contains("reported that it has stopped"),
        "{}",
        m.log()
    );
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").unwrap();
    let (worker_requests, worker_failures) = worker_totals(&out);
    assert_eq!((requests, failures), (worker_requests, worker_failures));
    seen_by_target(requests, target.total(), 3);
}

#[test]
fn a_class_the_worker_lacks_is_an_exception_on_the_master() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("ghost");
    let m = master(
        &locustfile("dist_ghost.py"),
        1,
        4,
        "5s",
        &prefix,
        &target.url(),
    );
    let worker = swarm_worker(&m.master_port());
    let out = wait_bounded(worker, LIMIT);
    m.wait_exit(LIMIT);
    assert_eq!(out.status.code(), Some(0));
    let exceptions =
        std::fs::read_to_string(format!("{}_exceptions.csv", prefix.display())).unwrap();
    assert!(
        exceptions.contains("no user type named GhostUser"),
        "{exceptions}"
    );
    // The classes it has still ran.
    assert!(csv_counts(&prefix, "GET", "/index.html").is_some_and(|(n, _)| n > 0));
}

#[test]
fn no_master_is_a_clear_error() {
    let _serial = serial();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let out = wait_bounded(
        example("distributed")
            .args(["--worker", "--master-port", &port])
            .spawn()
            .unwrap(),
        LIMIT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("Locust master 127.0.0.1:{port}")),
        "{err}"
    );
}
