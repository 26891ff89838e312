//! A Socket.IO client pointed at something that is not a Socket.IO server (the demo
//! target): a WebSocket that never sends Engine.IO's open packet, and a path with no
//! WebSocket at all, are counted connect failures within the time-out, never a hang.

mod common;

use std::time::Duration;

use swarm_http::demo::DemoServer;
use swarm_http::socketio::{SioClient, SioError, KIND};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_socketio_fails_the_connect() {
    let server = DemoServer::start().await.unwrap();
    let report = common::run_once(&server.url(), |ctx| {
        Box::pin(async move {
            // The echo endpoint upgrades, then says nothing until spoken to.
            let e = SioClient::connect_path(ctx, "/ws/echo", "/")
                .timeout(Duration::from_millis(500))
                .connect()
                .await
                .unwrap_err();
            match &e {
                SioError::Closed { name, reason } => {
                    assert_eq!(name, "connect /");
                    assert!(reason.contains("timed out"), "{reason}");
                }
                other => panic!("expected a time-out, got {other:?}"),
            }
            // No WebSocket at /socket.io/ on the demo target: the upgrade is refused.
            let e = SioClient::connect(ctx, "/queue")
                .timeout(Duration::from_secs(5))
                .connect()
                .await
                .unwrap_err();
            assert!(matches!(e, SioError::Ws(_)), "{e:?}");
            assert!(e.to_string().contains("404"), "{e}");
            Ok(())
        })
    })
    .await;
    let s = &report.snapshot;
    let root = s.entry(KIND, "connect /").unwrap();
    assert_eq!((root.requests, root.failures), (1, 1), "{report}");
    let queue = s.entry(KIND, "connect /queue").unwrap();
    assert_eq!((queue.requests, queue.failures), (1, 1), "{report}");
    let refused = s.entry("WSCONNECT", "/socket.io/").unwrap();
    assert_eq!(refused.codes.get("404"), Some(&1), "{report}");
}
