//! A protocol-level worker against a real Locust 2.47.0 master (`peers/start locust
//! --master`): handshake, heartbeats, spawn, stats with real entries and errors,
//! stop and quit; then the master's CSV files must show exactly what was sent.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{bounded, csv_records, http_get, repo_root, Peer};
use swarm_distributed::MasterMessage;
use swarm_distributed::{Connection, NodeId, TransportOptions};
use swarm_distributed::{Directive, WorkerSession};
use swarm_distributed::{EntryDelta, StatsEntry, StatsError, AGGREGATED};
use swarm_distributed::{WorkerState, HEARTBEAT_INTERVAL, WORKER_REPORT_INTERVAL};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

fn delta(method: &str, name: &str, times_us: &[u64], failures: usize, at: f64) -> EntryDelta {
    let mut d = EntryDelta::new(method, name);
    for (i, &t) in times_us.iter().enumerate() {
        d.record(t, 100, i < failures, at + i as f64 * 0.01);
    }
    d
}

fn error(method: &str, name: &str, text: &str, n: u64, at: f64) -> StatsError {
    StatsError {
        name: name.into(),
        method: method.into(),
        error: text.into(),
        occurrences: n,
        first_seen: Some(at),
        last_seen: Some(at + 0.5),
    }
}

/// What the worker saw from the master.
#[derive(Debug, Default)]
struct Seen {
    ack_index: Option<i64>,
    master_heartbeats: u32,
    spawns: Vec<BTreeMap<String, u64>>,
    spawning_complete: Option<u64>,
    stops: u32,
    acks_after_stop: u32,
    /// This worker as the master's web UI lists it while running.
    web_ui_view: Option<serde_json::Value>,
    quit: bool,
    reports_with_data: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_session_lands_in_the_masters_csv_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("run");
    let locustfile = repo_root().join("peers/locustfiles/dist_two_classes.py");
    let master = Peer::start(
        "locust",
        &[
            "-f",
            locustfile.to_str().expect("utf-8 path"),
            "--master",
            "--autostart",
            "--expect-workers",
            "1",
            "-u",
            "3",
            "-r",
            "3",
            "-t",
            "10s",
            "--autoquit",
            "2",
            "--csv",
            prefix.to_str().expect("utf-8 path"),
        ],
    );
    let port = master.master_port();

    // The numbers this worker ships, in two reports.
    let t0 = now();
    let batch1 = vec![
        delta(
            "GET",
            "/a",
            &[1_500, 2_500, 9_800, 10_400, 120_000, 145_000, 1_050_000],
            0,
            t0,
        ),
        delta("POST", "/b", &[50_000, 50_000, 50_000], 2, t0),
    ];
    let errors1 = vec![error("POST", "/b", "HTTP 500 Internal Server Error", 2, t0)];
    let batch2 = vec![delta("GET", "/a", &[3_000, 250_000], 1, t0 + 3.0)];
    let errors2 = vec![error("GET", "/a", "read timed out", 1, t0 + 3.0)];
    let mut pending = vec![(batch1.clone(), errors1), (batch2.clone(), errors2)];
    pending.reverse();

    let node_id = NodeId::generate();
    let seen = bounded(Duration::from_secs(90), async {
        let mut link = Connection::connect("127.0.0.1", port, node_id.clone(), TransportOptions::default())
            .await
            .expect("the master is reachable");
        assert_eq!(link.node_id(), &node_id);
        let mut seen = Seen::default();
        let ack = link.handshake("2.47.0").await.expect("the master acks");
        seen.ack_index = ack.index;

        // The glue a runner needs, in miniature: a session decides, this loop does I/O.
        let mut session = WorkerSession::new("2.47.0");
        let mut users: BTreeMap<String, u64> = BTreeMap::new();
        let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
        let mut report = tokio::time::interval(WORKER_REPORT_INTERVAL);
        loop {
            tokio::select! {
                _ = heartbeat.tick() => {
                    let hb = session.heartbeat();
                    link.send(&hb).await.expect("heartbeat sent");
                    assert!(!session.master_gone());
                }
                _ = report.tick() => {
                    let (deltas, errors) = if session.state() == WorkerState::Running {
                        pending.pop().unwrap_or_default()
                    } else {
                        Default::default()
                    };
                    if !deltas.is_empty() {
                        seen.reports_with_data += 1;
                    }
                    if seen.reports_with_data == 2 && seen.web_ui_view.is_none() {
                        // Heartbeats and reports have reached the master by now: ask
                        // its web UI how it sees this worker.
                        let body = http_get(&format!("{}/stats/requests", master.var("URL"))).await;
                        let report: serde_json::Value = serde_json::from_str(&body).expect("JSON");
                        seen.web_ui_view = report["workers"]
                            .as_array()
                            .and_then(|ws| ws.iter().find(|w| w["id"] == node_id.as_str()))
                            .cloned();
                    }
                    let stats = session.stats(&deltas, errors, users.clone());
                    link.send(&stats).await.expect("stats sent");
                }
                msg = link.recv() => {
                    let msg = msg.expect("a message from the master");
                    assert_eq!(msg.node_id, node_id.as_str(), "the master echoes our node id");
                    match &msg.message {
                        MasterMessage::Heartbeat => seen.master_heartbeats += 1,
                        // The answer to the client_ready sent after a stop.
                        MasterMessage::Ack(a) => {
                            assert_eq!(a.index, Some(0), "the same index for the same node id");
                            seen.acks_after_stop += 1;
                        }
                        _ => {}
                    }
                    let handled = session.on_message(msg);
                    for m in &handled.send {
                        link.send(m).await.expect("answer sent");
                    }
                    match handled.directive {
                        Directive::Nothing => {}
                        Directive::Spawn { user_classes_count, .. } => {
                            seen.spawns.push(user_classes_count.clone());
                            if let Some(e) = WorkerSession::unknown_classes(
                                user_classes_count.keys(),
                                &["WebsiteUser", "AdminUser"],
                            ) {
                                panic!("{e:?}");
                            }
                            // The runner would start the users here.
                            users = user_classes_count.clone();
                            let done = session.spawning_complete(user_classes_count);
                            link.send(&done).await.expect("sent");
                            if seen.spawns.len() == 1 {
                                let exc = WorkerSession::exception(
                                    "task failed: boom",
                                    "  in task index of WebsiteUser",
                                );
                                link.send(&exc).await.expect("exception sent");
                            }
                        }
                        Directive::AllSpawned { user_count } => seen.spawning_complete = Some(user_count),
                        Directive::Stop => {
                            seen.stops += 1;
                            users.clear();
                            for m in session.stopped() {
                                link.send(&m).await.expect("sent");
                            }
                        }
                        Directive::Quit => {
                            seen.quit = true;
                            let last = session.stats(&[], [], BTreeMap::new());
                            link.send(&last).await.expect("sent");
                            link.send(&session.quit()).await.expect("sent");
                            break;
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
        }
        link.close().await;
        seen
    })
    .await;

    assert_eq!(seen.ack_index, Some(0), "{seen:?}");
    assert!(seen.master_heartbeats >= 3, "{seen:?}");
    assert_eq!(
        seen.spawns.last().cloned().unwrap_or_default(),
        BTreeMap::from([("AdminUser".to_owned(), 1), ("WebsiteUser".to_owned(), 2)]),
        "{seen:?}"
    );
    assert_eq!(seen.spawning_complete, Some(3), "{seen:?}");
    assert_eq!(seen.stops, 1, "{seen:?}");
    assert_eq!(seen.acks_after_stop, 1, "{seen:?}");
    assert!(seen.quit, "{seen:?}");
    assert_eq!(seen.reports_with_data, 2, "{seen:?}");
    let view = seen.web_ui_view.expect("the master lists this worker");
    assert_eq!(view["state"], "running", "{view}");
    assert_eq!(view["user_count"], 3, "{view}");
    assert!(
        view["cpu_usage"].is_number() && view["memory_usage"].is_u64(),
        "{view}"
    );

    let code = master.wait_exit(Duration::from_secs(30));
    assert!(code.is_some(), "the master did not exit:\n{}", master.log());

    // What the master must show: the merge of everything sent.
    let mut want: BTreeMap<(String, String), StatsEntry> = BTreeMap::new();
    let mut total = StatsEntry::empty(AGGREGATED, "", t0);
    for d in batch1.iter().chain(&batch2) {
        let e = StatsEntry::from_delta(d, t0);
        total.extend(&e);
        want.entry((d.method.clone(), d.name.clone()))
            .and_modify(|w| w.extend(&e))
            .or_insert(e);
    }
    assert_eq!(want[&("GET".into(), "/a".into())].num_requests, 9);
    let rows = csv_records(&dir.path().join("run_stats.csv"));
    let log = master.log();
    for expected in want.values().chain([&total]) {
        let row = rows
            .iter()
            .find(|r| r["Type"] == expected.method && r["Name"] == expected.name)
            .unwrap_or_else(|| {
                panic!(
                    "no row for {} {} in {rows:?}\n{log}",
                    expected.method, expected.name
                )
            });
        check_row(row, expected);
    }

    let failures = csv_records(&dir.path().join("run_failures.csv"));
    let find = |m: &str, n: &str| {
        failures
            .iter()
            .find(|r| r["Method"] == m && r["Name"] == n)
            .unwrap_or_else(|| panic!("no failure row for {m} {n}: {failures:?}"))
            .clone()
    };
    let b = find("POST", "/b");
    assert_eq!(b["Error"], "HTTP 500 Internal Server Error");
    assert_eq!(b["Occurrences"], "2");
    let a = find("GET", "/a");
    assert_eq!(a["Error"], "read timed out");
    assert_eq!(a["Occurrences"], "1");
    assert_eq!(failures.len(), 2, "{failures:?}");

    let exceptions = csv_records(&dir.path().join("run_exceptions.csv"));
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    assert_eq!(exceptions[0]["Count"], "1");
    assert_eq!(exceptions[0]["Message"], "task failed: boom");
    assert_eq!(exceptions[0]["Nodes"], node_id.as_str());

    // The master saw a worker of its own version: no version warning.
    assert!(!log.contains("running a different version"), "{log}");
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} is not a number in {row:?}"))
}

fn check_row(row: &HashMap<String, String>, e: &StatsEntry) {
    let ctx = format!("{} {}: {row:?}", e.method, e.name);
    assert_eq!(num(row, "Request Count") as u64, e.num_requests, "{ctx}");
    assert_eq!(num(row, "Failure Count") as u64, e.num_failures, "{ctx}");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    assert!(
        close(
            num(row, "Min Response Time"),
            e.min_response_time.unwrap_or(0.0)
        ),
        "{ctx}"
    );
    assert!(
        close(num(row, "Max Response Time"), e.max_response_time),
        "{ctx}"
    );
    let avg = e.total_response_time / e.num_requests as f64;
    assert!(close(num(row, "Average Response Time"), avg), "{ctx}");
    assert!(
        close(
            num(row, "Average Content Size"),
            e.total_content_length as f64 / e.num_requests as f64
        ),
        "{ctx}"
    );
    // Percentiles from the buckets, with Locust's algorithm; the median clamped to
    // the raw min and max as Locust clamps it.
    let median = (e.percentile(0.5) as f64)
        .min(e.max_response_time)
        .max(e.min_response_time.unwrap_or(0.0));
    assert!(close(num(row, "Median Response Time"), median), "{ctx}");
    for (col, p) in [
        ("50%", 0.5),
        ("66%", 0.66),
        ("75%", 0.75),
        ("80%", 0.8),
        ("90%", 0.9),
        ("95%", 0.95),
        ("98%", 0.98),
        ("99%", 0.99),
        ("99.9%", 0.999),
        ("99.99%", 0.9999),
        ("100%", 1.0),
    ] {
        assert_eq!(num(row, col) as u64, e.percentile(p), "{col} of {ctx}");
    }
}
