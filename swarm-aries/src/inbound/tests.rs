//! The listener on loopback, driven over real HTTP.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::{pack, unpack, AgentKey};

async fn listener() -> InboundListener {
    InboundListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("binds loopback")
}

fn envelope_for(key: &AgentKey, text: &str) -> Vec<u8> {
    let msg = serde_json::json!({"@type": "https://didcomm.org/basicmessage/1.0/message", "content": text});
    pack(&msg, &[key.verkey_base58()], None).unwrap()
}

/// POST `body`; the status and the response text.
async fn post(to: &InboundListener, path: &str, body: Vec<u8>) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", to.endpoint()))
        .header("content-type", "application/didcomm-envelope-enc")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the listener answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn routes_each_envelope_to_its_recipients_mailbox() {
    let l = listener().await;
    assert!(l.endpoint().starts_with("http://127.0.0.1:"), "{l:?}");
    assert!(l.endpoint().ends_with('/'));
    assert_eq!(l.endpoint(), format!("http://{}/", l.local_addr()));
    let (alice, bob) = (AgentKey::generate(), AgentKey::generate());
    let mut to_alice = l.register(alice.verkey_base58()).unwrap();
    // A did:key registers the same base58 key.
    let mut to_bob = l.register(&bob.verkey().to_did_key()).unwrap();
    assert_eq!(to_bob.verkey(), bob.verkey_base58());
    assert_eq!(l.mailboxes(), 2);

    assert_eq!(post(&l, "", envelope_for(&bob, "for bob")).await.0, 202);
    assert_eq!(
        post(&l, "any/path?x=1", envelope_for(&alice, "for alice"))
            .await
            .0,
        202
    );
    let got = unpack(&to_bob.recv().await.unwrap(), &bob).unwrap();
    assert_eq!(got.message["content"], "for bob");
    let got = unpack(&to_alice.recv().await.unwrap(), &alice).unwrap();
    assert_eq!(got.message["content"], "for alice");
    assert!(to_alice.try_recv().is_none());

    // Several recipients: the first registered one gets it.
    let stranger = AgentKey::generate();
    let msg = serde_json::json!({"content": "both"});
    let env = pack(
        &msg,
        &[stranger.verkey_base58(), bob.verkey_base58()],
        Some(&alice),
    )
    .unwrap();
    assert_eq!(post(&l, "", env).await.0, 202);
    assert!(unpack(&to_bob.recv().await.unwrap(), &bob).is_ok());
    assert_eq!(l.stats().routed, 3);
    assert_eq!(l.stats().rejected(), 0);
}

#[tokio::test]
async fn unknown_recipient_is_404() {
    let l = listener().await;
    let _other = l.register(AgentKey::generate().verkey_base58()).unwrap();
    let (status, text) = post(&l, "", envelope_for(&AgentKey::generate(), "lost")).await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("recipient"), "{text}");
    assert_eq!(l.stats().unknown_recipient, 1);
}

#[tokio::test]
async fn what_is_not_an_envelope_is_400_naming_the_problem() {
    let l = listener().await;
    let key = AgentKey::generate();
    let _mailbox = l.register(key.verkey_base58()).unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&envelope_for(&key, "x")).unwrap();
    let with_protected = |p: &str| {
        let mut e = envelope.clone();
        e["protected"] = p.into();
        e.to_string().into_bytes()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"garbage \xff\x00".to_vec(), "not a DIDComm v1 envelope"),
        (Vec::new(), "not a DIDComm v1 envelope"),
        (b"{\"protected\": 1}".to_vec(), "not a DIDComm v1 envelope"),
        (with_protected("***"), "protected field is not base64"),
        (
            with_protected(&crate::encoding::b64_encode(b"[1,2]")),
            "protected header is invalid",
        ),
        (
            with_protected(&crate::encoding::b64_encode(
                br#"{"enc":"xchacha20poly1305_ietf","alg":"Anoncrypt","recipients":[]}"#,
            )),
            "names no recipient",
        ),
    ];
    let n = cases.len() as u64;
    for (body, why) in cases {
        let (status, text) = post(&l, "", body).await;
        assert_eq!(status, 400, "{why}: {text}");
        assert!(text.contains(why), "expected {why:?} in {text:?}");
    }
    let get = reqwest::get(l.endpoint()).await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(l.stats().bad_request, n + 1);
    assert_eq!(l.stats().routed, 0);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let l = listener().await;
    // The declared length alone is refused, before any body byte is sent.
    let mut tcp = tokio::net::TcpStream::connect(l.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n\r\n",
        l.local_addr(),
        MAX_ENVELOPE_BYTES + 1
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 1024];
    let n = tcp.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(&MAX_ENVELOPE_BYTES.to_string()), "{answer}");

    // A chunked body (no declared length) is cut at the cap.
    let mut tcp = tokio::net::TcpStream::connect(l.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {}\r\ntransfer-encoding: chunked\r\n\r\n",
        l.local_addr()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'a'; MAX_ENVELOPE_BYTES + 1];
    tcp.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
        .await
        .unwrap();
    // The server stops reading at the cap and answers; the rest of the write may fail.
    let _ = tcp.write_all(&chunk).await;
    let mut answer = vec![0; 1024];
    let n = tcp.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(l.stats().too_large, 2);
}

#[tokio::test]
async fn a_dropped_mailbox_unregisters_its_key() {
    let l = listener().await;
    let key = AgentKey::generate();
    let mailbox = l.register(key.verkey_base58()).unwrap();
    let again = l.register(key.verkey_base58()).unwrap_err();
    assert!(
        matches!(
            again,
            AriesError::Inbound(InboundError::AlreadyRegistered(_))
        ),
        "{again}"
    );
    assert_eq!(post(&l, "", envelope_for(&key, "1")).await.0, 202);
    drop(mailbox);
    assert_eq!(l.mailboxes(), 0);
    assert_eq!(post(&l, "", envelope_for(&key, "2")).await.0, 404);
    // The key can be registered again, and only the new mailbox gets what follows.
    let mut mailbox = l.register(key.verkey_base58()).unwrap();
    assert_eq!(post(&l, "", envelope_for(&key, "3")).await.0, 202);
    let got = unpack(&mailbox.recv().await.unwrap(), &key).unwrap();
    assert_eq!(got.message["content"], "3");
}

#[tokio::test]
async fn a_full_mailbox_answers_503_until_it_is_read() {
    let l = listener().await;
    let key = AgentKey::generate();
    let mut mailbox = l.register(key.verkey_base58()).unwrap();
    let envelope = envelope_for(&key, "x");
    for _ in 0..MAILBOX_CAPACITY {
        assert_eq!(post(&l, "", envelope.clone()).await.0, 202);
    }
    let resp = reqwest::Client::new()
        .post(l.endpoint())
        .body(envelope.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert!(mailbox.recv().await.is_some());
    assert_eq!(post(&l, "", envelope).await.0, 202);
    let s = l.stats();
    assert_eq!((s.routed, s.busy), (MAILBOX_CAPACITY as u64 + 1, 1));
}

#[tokio::test]
async fn bad_keys_and_non_loopback_addresses_are_refused() {
    for addr in ["0.0.0.0:0", "192.0.2.1:8080", "[::]:0"] {
        let err = InboundListener::bind(addr.parse().unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, AriesError::Inbound(InboundError::NotLoopback(_))),
            "{addr}: {err}"
        );
        assert!(err.to_string().contains("loopback"), "{err}");
    }
    let l = listener().await;
    assert!(matches!(
        l.register("not a key").unwrap_err(),
        AriesError::Key(_)
    ));
    assert_eq!(l.mailboxes(), 0);
}

#[tokio::test]
async fn mailboxes_see_the_end_when_the_last_listener_clone_is_dropped() {
    let l = listener().await;
    let addr = l.local_addr();
    let clone = l.clone();
    let mut mailbox = l.register(AgentKey::generate().verkey_base58()).unwrap();
    drop(l);
    assert_eq!(clone.mailboxes(), 1, "a clone keeps the listener alive");
    drop(clone);
    assert_eq!(mailbox.recv().await, None);
    // The port is closed once the server has ended (connection refused, not a hang).
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the listener still accepts on {addr}");
}
