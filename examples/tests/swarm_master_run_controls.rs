//! What a Swarm master (`distributed --master`) takes from a local run's flags, against
//! real Swarm workers and the demo target: a load shape steps the workers' users and
//! ends the test; `--threshold-abort` ends it on a failed threshold, with the thresholds
//! relative to a `--baseline` resolved and the comparison in the report; the open
//! model's flags are refused with a reason.

mod common;

use std::path::Path;

use common::locust::{csv_counts, demo, serial, swarm_worker, worker_totals, LIMIT};
use common::master::{text, Master};
use common::{example, free_port, wait_bounded};

/// The JSON report at `path`.
fn json_report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_shape_on_the_master_steps_the_workers_users_and_ends_the_test() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("shape");
    let json = dir.path().join("r.json");
    // -u and -t are the shape's to override: 2 users, 4 from 3 s, the end at 8 s.
    let master = Master::start_with(
        2,
        1,
        "60s",
        &prefix,
        &target.url(),
        &[
            "--shape",
            "steps:users=2,every=3s,max=4,time=8s",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let w1 = swarm_worker(&master.port());
    let w2 = swarm_worker(&master.port());
    let (o1, o2) = (wait_bounded(w1, LIMIT), wait_bounded(w2, LIMIT));
    let out = master.wait();
    let log = text(&out);
    assert!(log.contains("sending spawn jobs of 2 users"), "{log}");
    assert!(log.contains("changing the run from 2 to 4 users"), "{log}");
    assert!(log.contains("the load shape is done"), "{log}");
    let report = json_report(&json);
    assert_eq!(report["stop_reason"], "shape_done", "{log}");
    let duration = report["duration_secs"].as_f64().unwrap();
    assert!(
        (7.0..20.0).contains(&duration),
        "the shape's 8 s, not -t's 60: {duration}"
    );
    // The workers reported the shape's users: 2, then 4.
    let users: Vec<u64> = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["users"].as_u64().unwrap())
        .collect();
    let first_four = users.iter().position(|&u| u == 4);
    assert!(
        first_four.is_some_and(|i| users[..i].contains(&2)),
        "users per second: {users:?}"
    );
    // The workers' users all went to the target, and the master holds what they did.
    let (r1, f1) = worker_totals(&o1);
    let (r2, f2) = worker_totals(&o2);
    let (requests, failures) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert_eq!((requests, failures), (r1 + r2, f1 + f2), "{log}");
    assert_eq!(requests, target.total());
}

#[test]
fn a_master_aborts_on_a_failed_threshold_and_compares_with_a_baseline() {
    let _serial = serial();
    let (_rt, target) = demo();
    let dir = tempfile::tempdir().unwrap();
    // The baseline: a short local run of the same scenario.
    let baseline = dir.path().join("baseline.json");
    let local = common::run_bounded(
        example("distributed").args([
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "3s",
            "-H",
            &target.url(),
            "--json",
            baseline.to_str().unwrap(),
        ]),
        LIMIT,
    );
    assert!(baseline.exists(), "{}", text(&local));
    let prefix = dir.path().join("abort");
    let json = dir.path().join("r.json");
    // /fail answers 500 (the AdminUser's task): `fail_ratio < 1%` fails once the grace
    // is over, and the run ends long before its 60 s.
    let master = Master::start_with(
        1,
        3,
        "60s",
        &prefix,
        &target.url(),
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--threshold",
            "rps > baseline * 0.01",
            "--threshold",
            "fail_ratio < 1%",
            "--threshold-abort",
            "--threshold-grace",
            "3s",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let worker = swarm_worker(&master.port());
    let worker_out = wait_bounded(worker, LIMIT);
    let out = master.wait();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(99), "{log}");
    assert!(
        log.contains("master: threshold failed (FAIL fail_ratio"),
        "{log}"
    );
    let report = json_report(&json);
    assert_eq!(report["stop_reason"], "threshold_abort", "{log}");
    assert!(report["duration_secs"].as_f64().unwrap() < 30.0);
    // The relative threshold took its limit from the baseline, and held.
    let first = &report["thresholds"][0];
    assert_eq!(first["passed"], true, "{}", report["thresholds"]);
    assert!(
        first["baseline"].as_f64().is_some_and(|b| b > 0.0),
        "{first}"
    );
    assert_eq!(report["thresholds"][1]["passed"], false);
    // The comparison with the baseline is in the report.
    assert!(
        report["baseline"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("baseline.json")),
        "{}",
        report["baseline"]
    );
    let (requests, _) = csv_counts(&prefix, "", "Aggregated").unwrap();
    assert_eq!(requests, worker_totals(&worker_out).0);
}

#[test]
fn the_open_model_on_a_master_is_a_clear_error() {
    let out = common::run_bounded(
        example("distributed").args([
            "--master",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            &free_port().to_string(),
            "--arrival-rate",
            "50",
            "-t",
            "5s",
            "-H",
            "http://127.0.0.1:9",
        ]),
        LIMIT,
    );
    let err = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--arrival-rate"), "{err}");
    assert!(err.contains("not arrival rates"), "{err}");
    assert!(
        !err.contains("listening on"),
        "refused before binding: {err}"
    );
}
