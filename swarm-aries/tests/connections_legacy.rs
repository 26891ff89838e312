//! connections/1.0 (RFC 0160) against a real ACA-Py 0.12.8 (`mediator-legacy`), the last
//! line that answers it (1.3 and later drop such requests without a reply): the handshake
//! from its out-of-band invitation and from a `?c_i=` invitation, the signed
//! `connection~sig` response, then mediation, trust pings over the WebSocket and a basic
//! message routed through the mediator.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use swarm_aries::{Agent, HandshakeProtocol, Invitation, InvitationKind};

/// Connect, get mediation and ping three times; the agent's DID is a legacy (unqualified) one.
async fn onboard(invitation: &Invitation, http: &reqwest::Client) -> Agent {
    let mut agent = Agent::connect(
        invitation,
        http.clone(),
        &common::options(Duration::from_secs(20)),
    )
    .await
    .expect("connections/1.0 completes");
    assert!(
        !agent.did().starts_with("did:"),
        "connections/1.0 uses an unqualified DID, got {}",
        agent.did()
    );
    assert!(
        agent.on_websocket(),
        "the mediator's legacy DID doc offers its WebSocket endpoint"
    );
    let grant = agent.request_mediation().await.expect("mediation granted");
    assert!(!grant.routing_keys.is_empty(), "{grant:?}");
    for _ in 0..3 {
        agent
            .ping()
            .await
            .expect("ping answered over the WebSocket");
    }
    agent
}

/// A `?c_i=` invitation from the admin API (gone from ACA-Py 1.x: HTTP 405 there).
async fn connections_invitation(http: &reqwest::Client, admin: &str) -> String {
    let answer: Value = http
        .post(format!(
            "{admin}/connections/create-invitation?multi_use=true"
        ))
        .json(&json!({"my_label": "mediator"}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("admin API answers")
        .error_for_status()
        .expect("create-invitation succeeds")
        .json()
        .await
        .expect("JSON answer");
    answer["invitation_url"]
        .as_str()
        .expect("an invitation_url")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_1_0_against_acapy_0_12() {
    let peer = common::Peer::start("mediator-legacy");
    common::bounded(
        Duration::from_secs(120),
        Box::pin(async {
            let http = reqwest::Client::new();

            // The out-of-band invitation offering only connections/1.0.
            let oob = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
            assert_eq!(oob.kind, InvitationKind::OutOfBand);
            assert_eq!(oob.handshake_protocols, [HandshakeProtocol::Connections10]);
            let mut alice = onboard(&oob, &http).await;

            // A connections/1.0 invitation (`?c_i=`).
            let url = connections_invitation(&http, peer.var("ADMIN")).await;
            let c_i = Invitation::parse(&url).expect("the c_i invitation parses");
            assert_eq!(c_i.kind, InvitationKind::Connections, "{url}");
            let mut bob = onboard(&c_i, &http).await;

            // A basic message from alice to bob, through the mediator, delivered on bob's socket.
            let to_bob = bob.routed_service().expect("bob is mediated");
            alice
                .send_basic_message(&to_bob, "hello over connections/1.0")
                .await
                .expect("sent via the mediator");
            let got = common::next_basic_message(&mut bob).await;
            assert_eq!(got.message["content"], "hello over connections/1.0");
            assert_eq!(got.sender_verkey.as_deref(), Some(alice.verkey()));
            alice.close().await;
            bob.close().await;
        }),
    )
    .await;
}
