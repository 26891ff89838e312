//! What a real Locust 2.47.0 master does with a worker that reports another version:
//! it acks and registers it, and only logs. Swarm workers send their own version.

mod common;

use std::time::Duration;

use common::{bounded, repo_root, Peer};
use swarm_distributed::{Connection, NodeId, TransportOptions};

/// Poll the master's log (bounded) until it holds `needle`.
async fn log_shows(master: &Peer, needle: &str) -> bool {
    for _ in 0..50 {
        if master.log().contains(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn another_version_is_acked_with_a_warning_only() {
    let locustfile = repo_root().join("peers/locustfiles/dist_two_classes.py");
    let master = Peer::start(
        "locust",
        &["-f", locustfile.to_str().expect("utf-8 path"), "--master"],
    );
    let port = master.master_port();
    bounded(Duration::from_secs(60), async {
        // A Swarm worker's own version: a different major/minor than the master.
        let swarm = NodeId::generate();
        let mut link = Connection::connect("127.0.0.1", port, swarm.clone(), TransportOptions::default())
            .await
            .expect("reachable");
        let ack = link.handshake("0.1.0").await.expect("acked despite the version");
        assert_eq!(ack.index, Some(0));
        let warning = format!(
            "A worker ({swarm}) running a different version (0.1.0) connected, master version is 2.47.0"
        );
        assert!(log_shows(&master, &warning).await, "no warning in:\n{}", master.log());
        assert!(
            log_shows(&master, &format!("{swarm} (index 0) reported as ready. 1 workers connected.")).await,
            "not registered:\n{}",
            master.log()
        );

        // Same first four characters ("2.47"): only a DEBUG line, so nothing at INFO.
        let patch = NodeId::generate();
        let mut link2 = Connection::connect("127.0.0.1", port, patch.clone(), TransportOptions::default())
            .await
            .expect("reachable");
        assert_eq!(link2.handshake("2.47.9").await.expect("acked").index, Some(1));
        assert!(log_shows(&master, &format!("{patch} (index 1) reported as ready")).await);
        assert!(!master.log().contains("running a different version (2.47.9)"), "{}", master.log());
        link.close().await;
        link2.close().await;
    })
    .await;
}
