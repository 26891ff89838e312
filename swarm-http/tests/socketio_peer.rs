//! The Socket.IO client against the real python-socketio peer (`peers/start socketio`):
//! connects, acknowledged emits and server pushes counted in a run; an idle user
//! outlives the server's ping time-out; a refused connect, a server-side disconnect and
//! a missing event are clear failures.

mod common;

use std::time::Duration;

use serde_json::json;
use swarm_core::prelude::*;
use swarm_http::socketio::{SioClient, SioError, KIND};

struct QueueUser {
    sio: Option<SioClient>,
}

#[async_trait]
impl User for QueueUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let mut sio = SioClient::connect(ctx, "/queue")
            .auth(json!({"token": "user"}))
            .timeout(Duration::from_secs(5))
            .connect()
            .await?;
        let joined = sio.emit_ack("join", json!({"room": "main"})).await?;
        assert_eq!(joined[0]["joined"], "main");
        Ok(QueueUser { sio: Some(sio) })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("ticket", Self::ticket)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(20))
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        if let Some(sio) = self.sio.take() {
            sio.disconnect().await?;
        }
        Ok(())
    }
}

impl QueueUser {
    async fn ticket(&mut self, _ctx: &mut UserContext) -> TaskResult {
        let sio = self.sio.as_mut().expect("connected");
        let t = sio
            .emit_ack("take_ticket", json!({"queue": "main"}))
            .await?;
        assert!(t[0]["ticket"].as_u64().is_some(), "{t:?}");
        // Every take_ticket in the room pushes a queue_update to all its members.
        let u = sio
            .wait_event("queue_update", Duration::from_secs(5))
            .await?;
        assert_eq!(u[0]["queue"], "main");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_acks_and_pushes_are_counted() {
    let peer = common::Peer::start("socketio");
    let report = Swarm::new()
        .user::<QueueUser>()
        .users(3)
        .spawn_rate(50.0)
        .run_time(Duration::from_secs(2))
        .stop_timeout(Duration::from_secs(5))
        .host(peer.var("URL"))
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    assert_eq!(s.total_failures(), 0, "{report}");
    let connect = s.entry(KIND, "connect /queue").unwrap();
    assert_eq!(connect.requests, 3);
    assert_eq!(s.entry(KIND, "join").unwrap().requests, 3);
    let acks = s.entry(KIND, "take_ticket").unwrap().requests;
    let pushes = s.entry(KIND, "queue_update").unwrap().requests;
    assert!(acks > 0, "{report}");
    assert_eq!(pushes, acks, "one awaited push per ticket: {report}");
    assert_eq!(s.entry("WSCONNECT", "/socket.io/").unwrap().requests, 3);
    assert_eq!(s.entry("WS", "close /socket.io/").unwrap().requests, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_user_outlives_the_ping_timeout_and_failures_are_clear() {
    let peer = common::Peer::start_with(
        "socketio",
        &[
            ("SOCKETIO_PING_INTERVAL", "0.3"),
            ("SOCKETIO_PING_TIMEOUT", "0.3"),
        ],
    );
    let url = peer.var("URL").to_owned();
    let ctx = UserContext::detached(None, 1);
    let rec = ctx.recorder().clone();
    let connect =
        |ns: &str| SioClient::standalone(&url, ns, rec.clone()).timeout(Duration::from_secs(5));
    tokio::time::timeout(Duration::from_secs(60), async {
        let mut sio = connect("/").connect().await.unwrap();
        // Idle for ten ping intervals: the socket's task answers every ping.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let back = sio
            .emit_ack("echo", json!({"still": "here"}))
            .await
            .unwrap();
        assert_eq!(back, vec![json!({"still": "here"})]);

        // A delayed push arrives; one that never comes times out.
        sio.emit_ack(
            "push_me",
            json!({"event": "later", "data": 7, "delay_ms": 200}),
        )
        .await
        .unwrap();
        assert_eq!(
            sio.wait_event("later", Duration::from_secs(5))
                .await
                .unwrap(),
            vec![json!(7)]
        );
        let e = sio
            .wait_event("never", Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(e, SioError::Timeout { .. }), "{e:?}");

        // The server disconnects us: the next acknowledged emit fails and says why.
        sio.emit("kick", json!(null)).await.unwrap();
        let e = sio.emit_ack("echo", json!(1)).await.unwrap_err();
        match &e {
            SioError::Closed { name, reason } => {
                assert_eq!(name, "echo");
                assert!(
                    reason.contains("disconnected by the server") || reason.contains("closed"),
                    "{reason}"
                );
            }
            other => panic!("expected a disconnect, got {other:?}"),
        }

        // A refused namespace connect.
        let e = connect("/queue")
            .auth(json!({"token": "deny"}))
            .connect()
            .await
            .unwrap_err();
        match &e {
            SioError::Refused { namespace, message } => {
                assert_eq!(namespace, "/queue");
                assert_eq!(message, "token refused");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    })
    .await
    .expect("bounded");
}
