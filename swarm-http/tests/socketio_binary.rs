//! Socket.IO binary events and acknowledgements against the real python-socketio peer
//! (`peers/start socketio`): bytes go up in a binary event and come back in a binary
//! ack, a server push with two attachments arrives whole, and malformed attachments
//! (one missing, a placeholder past the count, too many announced, a frame no packet
//! announced) are counted protocol failures after which the client reads on.

mod common;

use std::time::Duration;

use serde_json::json;
use swarm_http::socketio::{SioClient, SioError, SioPayload, KIND};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_events_and_acks_round_trip_and_bad_attachments_fail_clearly() {
    let peer = common::Peer::start("socketio");
    let report = common::run_once(peer.var("URL"), |ctx| {
        Box::pin(async move {
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

            // Two attachments announced, one sent, then a text event; a placeholder that
            // refers past the attachments; more attachments announced than are read:
            // each a protocol failure of the wait.
            for (mode, expect) in [
                (
                    "short",
                    "announced 2 attachments, but a text frame came after 1",
                ),
                ("num", "refers to attachment 5, but the packet has 1"),
                (
                    "many",
                    "announcing 2000 attachments (at most 1024 are read)",
                ),
            ] {
                sio.emit("bad_binary", json!({"mode": mode})).await.unwrap();
                let e = sio
                    .wait_event("bad", Duration::from_secs(5))
                    .await
                    .unwrap_err();
                assert!(
                    matches!(&e, SioError::Protocol { name, .. } if name == "bad"),
                    "{e:?}"
                );
                assert!(e.to_string().contains(expect), "{mode}: {e}");
            }
            // The text event that cut the short packet is still delivered.
            assert_eq!(
                sio.wait_event("after_bad", Duration::from_secs(5))
                    .await
                    .unwrap(),
                vec![json!(1)]
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
        })
    })
    .await;
    let s = &report.snapshot;
    let blob = s.entry(KIND, "blob").unwrap();
    assert_eq!((blob.requests, blob.failures), (3, 0), "{report}");
    let bad = s.entry(KIND, "bad").unwrap();
    assert_eq!((bad.requests, bad.failures), (3, 3), "{report}");
    let stray = s.entry(KIND, "bad_binary").unwrap();
    assert_eq!((stray.requests, stray.failures), (1, 1), "{report}");
    let echo = s.entry(KIND, "echo").unwrap();
    assert_eq!((echo.requests, echo.failures), (1, 0), "{report}");
}
