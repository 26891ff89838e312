//! messagepickup 2.0 (polling and live mode) and 1.0 (batch pickup) against a real Credo
//! mediator (`peers/start mediator-credo`): messages sent through it to an agent that was
//! offline are collected when it comes back, and live mode hands new ones over the socket.
//!
//! `CREDO_STRATEGY` picks Credo's forwarding strategy: `QueueOnly` queues everything (so
//! every message needs a pickup), `QueueAndLiveModeDelivery` also sends to a live session.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use swarm_aries::users::{MediatorMessage, MediatorSettings, Pickup, KIND};
use swarm_aries::{message, Agent, Invitation, Service, Unpacked};
use swarm_core::Swarm;

/// A mediated recipient, its routed service, and a sender, both connected to `peer`.
async fn recipient_and_sender(peer: &common::Peer) -> (Agent, Service, Agent) {
    let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
    let http = reqwest::Client::new();
    let mut bob = Agent::connect(
        &invitation,
        http.clone(),
        &common::options(Duration::from_secs(20)),
    )
    .await
    .expect("bob connects to Credo");
    assert!(bob.on_websocket(), "Credo's DID doc offers a WebSocket");
    let grant = bob
        .request_mediation()
        .await
        .expect("Credo grants mediation");
    assert!(!grant.endpoint.is_empty(), "{grant:?}");
    let to_bob = bob.routed_service().expect("bob is mediated");
    let alice = Agent::connect(&invitation, http, &common::options(Duration::from_secs(20)))
        .await
        .expect("alice connects to Credo");
    (bob, to_bob, alice)
}

/// Sends `n` basic messages from `from` to `to`; returns their contents.
async fn send_some(from: &mut Agent, to: &Service, tag: &str, n: usize) -> BTreeSet<String> {
    let mut sent = BTreeSet::new();
    for i in 1..=n {
        let content = format!("{tag} #{i}");
        from.send_basic_message(to, &content)
            .await
            .expect("the mediator takes the message");
        sent.insert(content);
    }
    sent
}

/// Asks for the status until `want` messages wait (Credo queues as it processes; bounded).
async fn await_count(agent: &mut Agent, want: u64) {
    let mut last = None;
    for _ in 0..100 {
        let status = agent.pickup_status().await.expect("a status");
        if status.message_count == want {
            return;
        }
        last = Some(status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the queue never held {want} messages: last status {last:?}");
}

/// The contents of basic messages from `sender`; anything else fails the test.
fn contents(got: &[Unpacked], sender: &str) -> BTreeSet<String> {
    got.iter()
        .map(|m| {
            let t = message::message_type(&m.message).expect("typed message");
            assert_eq!(t.family(), "basicmessage", "{}", m.message);
            assert_eq!(m.sender_verkey.as_deref(), Some(sender));
            m.message["content"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_v2_collects_messages_queued_while_offline() {
    let peer = common::Peer::start_with("mediator-credo", &[("CREDO_STRATEGY", "QueueOnly")]);
    common::bounded(
        Duration::from_secs(120),
        Box::pin(async {
            let (mut bob, to_bob, mut alice) = recipient_and_sender(&peer).await;
            bob.ping()
                .await
                .expect("Credo answers a trust ping on the socket");

            bob.close().await;
            let sent = send_some(&mut alice, &to_bob, "while you were out", 3).await;
            bob.reconnect_transport().await.expect("bob reconnects");

            await_count(&mut bob, 3).await;
            // Two at a time: the limit is honoured and the rest stays queued.
            let first = bob.pickup(2).await.expect("a delivery");
            assert_eq!(first.len(), 2, "{first:?}");
            let status = bob.pickup_status().await.expect("a status");
            assert_eq!(
                status.message_count, 1,
                "acknowledged messages leave the queue"
            );
            let rest = bob.pickup(10).await.expect("a delivery");
            assert_eq!(rest.len(), 1, "{rest:?}");
            let got: BTreeSet<String> = contents(&first, alice.verkey())
                .union(&contents(&rest, alice.verkey()))
                .cloned()
                .collect();
            assert_eq!(got, sent);

            assert_eq!(bob.pickup_status().await.unwrap().message_count, 0);
            assert!(bob.pickup(10).await.expect("an empty status").is_empty());
            bob.ping().await.expect("the connection still works");
            alice.close().await;
            bob.close().await;
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_v1_batches_messages_queued_while_offline() {
    let peer = common::Peer::start_with("mediator-credo", &[("CREDO_STRATEGY", "QueueOnly")]);
    common::bounded(
        Duration::from_secs(120),
        Box::pin(async {
            let (mut bob, to_bob, mut alice) = recipient_and_sender(&peer).await;
            bob.close().await;
            let sent = send_some(&mut alice, &to_bob, "batch", 3).await;
            bob.reconnect_transport().await.expect("bob reconnects");
            await_count(&mut bob, 3).await;

            let got = bob.batch_pickup(10).await.expect("a batch");
            assert_eq!(got.len(), 3, "{got:?}");
            assert_eq!(contents(&got, alice.verkey()), sent);
            // 1.0 has no acknowledgement: what was sent is gone.
            assert!(bob
                .batch_pickup(10)
                .await
                .expect("an empty batch")
                .is_empty());
            alice.close().await;
            bob.close().await;
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_mode_hands_new_messages_over_the_socket() {
    let peer = common::Peer::start_with(
        "mediator-credo",
        &[("CREDO_STRATEGY", "QueueAndLiveModeDelivery")],
    );
    common::bounded(
        Duration::from_secs(120),
        Box::pin(async {
            let (mut bob, to_bob, mut alice) = recipient_and_sender(&peer).await;

            // One message while bob is away: queued, counted when he turns live mode on.
            bob.close().await;
            let early = send_some(&mut alice, &to_bob, "before live mode", 1).await;
            bob.reconnect_transport().await.expect("bob reconnects");
            await_count(&mut bob, 1).await;
            let status = bob.set_live_delivery(true).await.expect("live mode on");
            assert_eq!(status.message_count, 1, "{status:?}");
            let queued = bob.pickup(10).await.expect("the queued one");
            assert_eq!(contents(&queued, alice.verkey()), early);

            // New messages come by themselves; receive() opens and acknowledges deliveries.
            let sent = send_some(&mut alice, &to_bob, "live", 3).await;
            let mut got = Vec::new();
            while got.len() < sent.len() {
                got.push(bob.receive().await.expect("a live delivery"));
            }
            assert_eq!(contents(&got, alice.verkey()), sent);
            await_count(&mut bob, 0).await;

            let status = bob.set_live_delivery(false).await.expect("live mode off");
            assert_eq!(status.live_delivery, Some(false), "{status:?}");
            alice.close().await;
            bob.close().await;
        }),
    )
    .await;
}

#[tokio::test]
async fn live_mode_needs_a_websocket() {
    // An agent that stays on HTTP (no return-routed socket to deliver on).
    let peer = common::Peer::start("mediator-credo");
    let invitation = Invitation::parse(peer.var("INVITATION")).unwrap();
    let mut options = common::options(Duration::from_secs(20));
    options.websocket = false;
    let mut agent = Agent::connect(&invitation, reqwest::Client::new(), &options)
        .await
        .expect("connects over HTTP");
    let err = agent.set_live_delivery(true).await.unwrap_err();
    assert!(err.to_string().contains("WebSocket"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediator_message_users_poll_a_credo_mediator() {
    let peer = common::Peer::start_with("mediator-credo", &[("CREDO_STRATEGY", "QueueOnly")]);
    let invitation = Invitation::parse(peer.var("INVITATION")).unwrap();
    let settings = MediatorSettings::new(invitation)
        .wait(Duration::from_millis(100), Duration::from_millis(200))
        .timeout(Duration::from_secs(20))
        .pickup(Pickup::Poll, Duration::from_millis(50));
    let report = Swarm::new()
        .user::<MediatorMessage>()
        .setting(settings)
        .users(2)
        .spawn_rate(2.0)
        .run_time(Duration::from_secs(5))
        .stop_timeout(Duration::from_secs(10))
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    let count = |name: &str| s.entry(KIND, name).map_or(0, |e| e.requests);
    assert_eq!(count("mediate"), 4, "two agents per user: {report}");
    assert!(count("basic_message") >= 5, "{report}");
    assert_eq!(report.failures(), 0, "{report}");
}
