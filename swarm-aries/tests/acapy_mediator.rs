//! Against a real ACA-Py mediator (started through `peers/`): didexchange, mediation
//! grant, keylist update and query, trust pings over the WebSocket, and a basic message from
//! one agent to another through the mediator.

mod common;

use std::time::Duration;

use swarm_aries::{Agent, Invitation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_mediate_ping_and_message_through_acapy() {
    let peer = common::Peer::start("mediator");
    let invitation = Invitation::parse(peer.var("INVITATION")).expect("ACA-Py's invitation parses");
    let http = reqwest::Client::new();

    let mut alice = Agent::connect(
        &invitation,
        http.clone(),
        &common::options(Duration::from_secs(20)),
    )
    .await
    .expect("alice connects");
    assert!(
        alice.on_websocket(),
        "ACA-Py's DID offers its WebSocket endpoint"
    );
    let grant = alice.request_mediation().await.expect("mediation granted");
    assert!(!grant.routing_keys.is_empty(), "{grant:?}");
    let keys = alice.keylist_query(10, 0).await.expect("a keylist");
    let listed: Vec<String> = keys
        .iter()
        .map(|k| swarm_aries::Verkey::parse(k).expect("a key").to_base58())
        .collect();
    assert_eq!(listed, vec![alice.verkey().to_owned()], "{keys:?}");
    for _ in 0..3 {
        alice
            .ping()
            .await
            .expect("ping answered over the WebSocket");
    }

    let mut bob = Agent::connect(
        &invitation,
        http.clone(),
        &common::options(Duration::from_secs(20)),
    )
    .await
    .expect("bob connects");
    bob.request_mediation().await.expect("bob mediated");
    let to_bob = bob.routed_service().unwrap();
    alice
        .send_basic_message(&to_bob, "hello bob")
        .await
        .expect("sent via the mediator");
    // ACA-Py delivers to bob's open, return-routed socket.
    let got = common::next_basic_message(&mut bob).await;
    assert_eq!(got.message["content"], "hello bob");
    assert_eq!(got.sender_verkey.as_deref(), Some(alice.verkey()));
}
