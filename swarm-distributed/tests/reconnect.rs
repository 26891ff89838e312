//! Re-connecting with the same identity: after a real Locust master restarts on its
//! port, and when the master asks for it with `reconnect`.

mod common;

use std::time::Duration;

use common::{bounded, free_port, repo_root, Peer};
use swarm_distributed::WorkerState;
use swarm_distributed::{Connection, NodeId, TransportOptions};
use swarm_distributed::{MasterMessage, WorkerHeartbeat, WorkerMessage};

fn start_master(port: u16) -> Peer {
    let locustfile = repo_root().join("peers/locustfiles/dist_two_classes.py");
    Peer::start_with(
        "locust",
        &["-f", locustfile.to_str().expect("utf-8 path"), "--master"],
        &[("MASTER_PORT", &port.to_string())],
    )
}

fn heartbeat() -> WorkerMessage {
    WorkerMessage::Heartbeat(WorkerHeartbeat {
        state: WorkerState::Ready,
        current_cpu_usage: 0.0,
        current_memory_usage: 0,
    })
}

/// Send heartbeats until the master answers one (bounded by the caller).
async fn heartbeat_answered(link: &mut Connection) {
    loop {
        link.send(&heartbeat()).await.expect("heartbeat sent");
        if let Some(m) = link
            .recv_timeout(Duration::from_secs(2))
            .await
            .expect("no transport error")
        {
            if m.message == MasterMessage::Heartbeat {
                return;
            }
        }
    }
}

#[tokio::test]
async fn a_restarted_master_is_rejoined_with_the_same_identity() {
    let port = free_port();
    let first = start_master(port);
    let node_id = NodeId::generate();
    let options = TransportOptions::default()
        .ack(Duration::from_secs(2), 10)
        .connect_timeout(Duration::from_secs(10));
    let mut link = bounded(
        Duration::from_secs(30),
        Connection::connect("127.0.0.1", port, node_id.clone(), options),
    )
    .await
    .expect("reachable");
    bounded(Duration::from_secs(30), async {
        assert_eq!(link.handshake("0.1.0").await.expect("ack").index, Some(0));
        heartbeat_answered(&mut link).await;
    })
    .await;

    first.stop();
    let second = start_master(port);
    bounded(Duration::from_secs(60), async {
        // The transport notices the old master is gone and re-opens the socket; the
        // new master answers only a registered worker, so register again.
        let ack = link.handshake("0.1.0").await.expect("the new master acks");
        assert_eq!(ack.index, Some(0), "index 0 under the new master");
        heartbeat_answered(&mut link).await;
    })
    .await;
    assert!(
        second
            .log()
            .contains(&format!("{node_id} (index 0) reported as ready")),
        "{}",
        second.log()
    );
    link.close().await;
}

#[tokio::test]
async fn the_masters_reconnect_request_is_honoured() {
    let master = start_master(free_port());
    let port = master.master_port();
    let node_id = NodeId::generate();
    bounded(Duration::from_secs(60), async {
        let mut link = Connection::connect(
            "127.0.0.1",
            port,
            node_id.clone(),
            TransportOptions::default(),
        )
        .await
        .expect("reachable");
        link.handshake("2.47.0").await.expect("ack");
        // A well-formed message followed by one stray byte: Locust's master fails to
        // decode it (msgpack ExtraData) and, as the sender is a known worker, asks it
        // to reconnect.
        let mut body = heartbeat().encode(node_id.as_str()).expect("encodes");
        body.push(0xc0);
        link.send_encoded(body).await.expect("sent");
        loop {
            let m = link
                .recv_timeout(Duration::from_secs(10))
                .await
                .expect("no transport error")
                .expect("an answer from the master");
            if m.message == MasterMessage::Reconnect {
                break;
            }
        }
        link.reconnect().await.expect("re-opened");
        // Same identity: the master still knows this worker and answers it.
        heartbeat_answered(&mut link).await;
        link.close().await;
    })
    .await;
    assert!(
        master
            .log()
            .contains(&format!("Will reset client {node_id}")),
        "{}",
        master.log()
    );
}

#[tokio::test]
async fn a_vanished_master_gives_a_clear_error_not_a_hang() {
    let master = start_master(free_port());
    let port = master.master_port();
    let options = TransportOptions::default()
        .connect_timeout(Duration::from_secs(2))
        .send_timeout(Duration::from_secs(5));
    bounded(Duration::from_secs(60), async {
        let mut link = Connection::connect("127.0.0.1", port, NodeId::generate(), options)
            .await
            .expect("reachable");
        link.handshake("0.1.0").await.expect("ack");
        heartbeat_answered(&mut link).await;
        master.stop();
        // Receiving notices the disconnect, tries to re-open, and says why it cannot.
        let err = loop {
            match link.recv_timeout(Duration::from_secs(3)).await {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, swarm_distributed::TransportError::Unreachable { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        // Sending fails the same way, within the time-outs.
        let err = link.send(&heartbeat()).await.expect_err("nobody there");
        assert!(
            matches!(
                err,
                swarm_distributed::TransportError::Unreachable { .. }
                    | swarm_distributed::TransportError::SendTimeout { .. }
            ),
            "{err:?}"
        );
    })
    .await;
}
