//! Socket.IO binary events and acknowledgements against the real python-socketio peer
//! (`peers/start socketio`): bytes go up in a binary event and come back in a binary
//! ack, a server push with two attachments arrives whole, and malformed attachments
//! (one missing, a placeholder past the count, a frame no packet announced) are counted
//! protocol failures after which the client reads on.

mod common;

use std::time::Duration;

use serde_json::json;
use swarm_core::prelude::*;
use swarm_http::socketio::{SioClient, SioError, SioPayload, KIND};

struct Binary {
    done: bool,
}

#[async_trait]
impl User for Binary {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Binary { done: false })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("once", Self::once)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(50))
    }
}

impl Binary {
    async fn once(&mut self, ctx: &mut UserContext) -> TaskResult {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let mut sio = SioClient::connect(ctx, "/queue")
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap();

        // Up: a binary event with a placeholder inside an object; back: a binary ack.
        let sent: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let mut up = SioPayload::new();
        let data = up.attach(sent.clone());
        let up = up.arg(json!({"name": "a.bin", "data": data})).unwrap();
        let ack = sio.emit_binary_ack("blob", up).await.unwrap();
        let sum: u64 = sent.iter().map(|b| u64::from(*b)).sum();
        assert_eq!(
            ack.args()[0],
            json!({"name": "a.bin", "size": 3000, "sum": sum})
        );
        let back = ack
            .binary_at("/1")
            .expect("the ack's second argument is binary");
        let reversed: Vec<u8> = sent.iter().rev().copied().collect();
        assert_eq!(back.as_ref(), reversed.as_slice());

        // A binary argument of its own (not inside an object) is not `data`: refused.
        let ack = sio
            .emit_binary_ack("blob", SioPayload::new().bytes(vec![1u8, 2]))
            .await
            .unwrap();
        assert_eq!(ack.args()[0], json!({"error": "data is not binary"}));

        // Down: a server push with two attachments.
        sio.emit_ack("blob_push", json!({"size": 1000, "event": "blob"}))
            .await
            .unwrap();
        let pushed = sio
            .wait_event_binary("blob", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(pushed.args()[0]["size"], 1000);
        assert_eq!(pushed.attachments().len(), 2);
        let expect: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            pushed.binary_at("/0/data").unwrap().as_ref(),
            expect.as_slice()
        );
        assert_eq!(pushed.binary_at("/0/tail").unwrap().as_ref(), b"end");

        // The plain wait takes a binary event too and leaves the placeholders in.
        sio.emit_ack("blob_push", json!({"size": 3, "event": "small"}))
            .await
            .unwrap();
        let plain = sio
            .wait_event("small", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(plain[0]["data"], json!({"_placeholder": true, "num": 0}));

        // Two attachments announced, one sent, then a text event: a protocol failure
        // of the wait, and the text event after it is still delivered.
        sio.emit("bad_binary", json!({"mode": "short"}))
            .await
            .unwrap();
        let e = sio
            .wait_event("bad", Duration::from_secs(5))
            .await
            .unwrap_err();
        match &e {
            SioError::Protocol { name, message } => {
                assert_eq!(name, "bad");
                assert!(
                    message.contains("announced 2 attachments, but a text frame came after 1"),
                    "{message}"
                );
            }
            other => panic!("expected a protocol error, got {other:?}"),
        }
        assert_eq!(
            sio.wait_event("after_bad", Duration::from_secs(5))
                .await
                .unwrap(),
            vec![json!(1)]
        );

        // A placeholder that refers past the attachments.
        sio.emit("bad_binary", json!({"mode": "num"}))
            .await
            .unwrap();
        let e = sio
            .wait_event("bad", Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("refers to attachment 5, but the packet has 1"),
            "{e}"
        );

        // A binary frame that no packet announced fails the ack waiting for it to pass.
        let e = sio
            .emit_ack("bad_binary", json!({"mode": "stray"}))
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("a binary frame (5 bytes) that no binary packet announced"),
            "{e}"
        );

        // The connection is still usable.
        let back = sio.emit_ack("echo", json!("still here")).await.unwrap();
        assert_eq!(back, vec![json!("still here")]);
        sio.disconnect().await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_events_and_acks_round_trip_and_bad_attachments_fail_clearly() {
    let peer = common::Peer::start("socketio");
    let report = Swarm::new()
        .user::<Binary>()
        .users(1)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(1))
        .stop_timeout(Duration::from_secs(30))
        .host(peer.var("URL"))
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    assert!(
        s.entry(swarm_core::TASK_KIND, "Binary.once").is_none(),
        "the task's assertions held: {report}"
    );
    let blob = s.entry(KIND, "blob").unwrap();
    assert_eq!((blob.requests, blob.failures), (3, 0), "{report}");
    let bad = s.entry(KIND, "bad").unwrap();
    assert_eq!((bad.requests, bad.failures), (2, 2), "{report}");
    let stray = s.entry(KIND, "bad_binary").unwrap();
    assert_eq!((stray.requests, stray.failures), (1, 1), "{report}");
    let echo = s.entry(KIND, "echo").unwrap();
    assert_eq!((echo.requests, echo.failures), (1, 0), "{report}");
}
