//! Pointing a worker at something that is not a Locust master gives a clear error,
//! bounded in time.

mod common;

use std::time::Duration;

use common::{bounded, repo_root, Peer};
use swarm_distributed::{Connection, NodeId, TransportError, TransportOptions};

#[tokio::test]
async fn an_http_port_is_not_taken_for_a_master() {
    // Locust's own web UI: a real server that does not speak ZeroMQ.
    let locustfile = repo_root().join("peers/locustfiles/dist_two_classes.py");
    let web = Peer::start("locust", &["-f", locustfile.to_str().expect("utf-8 path")]);
    let port: u16 = web.var("PORT").parse().expect("a port");
    let options = TransportOptions::default().connect_timeout(Duration::from_secs(3));
    let err = bounded(
        Duration::from_secs(30),
        Connection::connect("127.0.0.1", port, NodeId::generate(), options),
    )
    .await
    .expect_err("not a ZeroMQ peer");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("no ZeroMQ handshake"), "{err}");
}
