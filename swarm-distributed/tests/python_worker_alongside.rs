//! A protocol-level Swarm worker and a real Python Locust worker under one real
//! Locust master (headless, two user classes): the master splits the users between
//! them, and its CSV holds what the Swarm worker reported.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{bounded, csv_records, repo_root, Peer};
use swarm_distributed::{
    epoch_now, Connection, Directive, EntryDelta, MasterMessage, NodeId, TransportOptions,
    WorkerSession, HEARTBEAT_INTERVAL, WORKER_REPORT_INTERVAL,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_splits_users_between_a_swarm_and_a_python_worker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("mixed");
    let locustfile = repo_root().join("peers/locustfiles/dist_two_classes.py");
    let locustfile = locustfile.to_str().expect("utf-8 path");
    let master = Peer::start(
        "locust",
        &[
            "-f",
            locustfile,
            "--master",
            "--headless",
            "--expect-workers",
            "2",
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "8s",
            "--csv",
            prefix.to_str().expect("utf-8 path"),
        ],
    );
    let port = master.master_port();
    let python = Peer::start(
        "locust",
        &[
            "-f",
            locustfile,
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            &port.to_string(),
        ],
    );

    let node_id = NodeId::generate();
    let (spawned, quit) = bounded(Duration::from_secs(90), async {
        let mut link = Connection::connect("127.0.0.1", port, node_id, TransportOptions::default())
            .await
            .expect("reachable");
        let mut session = WorkerSession::new(env!("CARGO_PKG_VERSION"));
        link.handshake(session.version()).await.expect("ack");
        let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
        let mut report = tokio::time::interval(WORKER_REPORT_INTERVAL);
        let mut running: BTreeMap<String, u64> = BTreeMap::new();
        let mut to_send = Some({
            let mut d = EntryDelta::new("GET", "/swarm-only");
            for i in 0..25u64 {
                d.record(4_000 + i * 1_000, 10, i % 5 == 0, epoch_now());
            }
            d
        });
        let mut spawned = BTreeMap::new();
        loop {
            tokio::select! {
                _ = heartbeat.tick() => {
                    let hb = session.heartbeat();
                    link.send(&hb).await.expect("sent");
                }
                _ = report.tick() => {
                    let deltas: Vec<EntryDelta> = if running.is_empty() {
                        vec![]
                    } else {
                        to_send.take().into_iter().collect()
                    };
                    let stats = session.stats(&deltas, [], running.clone());
                    link.send(&stats).await.expect("sent");
                }
                msg = link.recv() => {
                    let msg = msg.expect("a message");
                    let is_quit = msg.message == MasterMessage::Quit;
                    let handled = session.on_message(msg);
                    for m in &handled.send {
                        link.send(m).await.expect("sent");
                    }
                    match handled.directive {
                        Directive::Spawn { user_classes_count, .. } => {
                            spawned = user_classes_count.clone();
                            running = user_classes_count.clone();
                            let done = session.spawning_complete(user_classes_count);
                            link.send(&done).await.expect("sent");
                        }
                        Directive::Quit => {
                            assert!(is_quit);
                            let last = session.stats(&[], [], BTreeMap::new());
                            link.send(&last).await.expect("sent");
                            link.send(&session.quit()).await.expect("sent");
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        link.close().await;
        (spawned, true)
    })
    .await;

    assert!(quit);
    assert_eq!(
        spawned.values().sum::<u64>(),
        2,
        "half of 4 users: {spawned:?}"
    );
    assert!(
        spawned
            .keys()
            .all(|k| k == "WebsiteUser" || k == "AdminUser"),
        "{spawned:?}"
    );
    assert!(
        master.wait_exit(Duration::from_secs(30)).is_some(),
        "{}",
        master.log()
    );
    let log = master.log();
    assert!(log.contains("2 workers connected"), "{log}");
    // The Python worker got the master's quit too.
    assert!(
        python.wait_exit(Duration::from_secs(30)) == Some(0),
        "{}",
        python.log()
    );
    assert!(
        python.log().contains("Got quit message from master"),
        "{}",
        python.log()
    );

    let rows = csv_records(&dir.path().join("mixed_stats.csv"));
    let row = rows
        .iter()
        .find(|r| r["Name"] == "/swarm-only")
        .unwrap_or_else(|| panic!("{rows:?}\n{log}"));
    assert_eq!(row["Request Count"], "25", "{row:?}");
    assert_eq!(row["Failure Count"], "5", "{row:?}");
    assert_eq!(row["Min Response Time"], "4.0", "{row:?}");
    assert_eq!(row["Max Response Time"], "28.0", "{row:?}");
    assert_eq!(row["50%"], "16", "{row:?}");
}
