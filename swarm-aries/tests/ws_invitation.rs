//! A mediator whose invitation offers only a WebSocket endpoint (ACA-Py publishing its
//! `ws://` endpoint first, as many deployed mediators do): the handshake, mediation and
//! pings go over that socket, and a message to a mediated agent goes to the mediator's
//! `ws://` endpoint on a socket of its own. (Before, every connect failed with
//! `POST ws://...: builder error`.)

mod common;

use std::time::Duration;

use swarm_aries::{Agent, Invitation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_invitation_onboards_mediates_and_pings() {
    let peer = common::Peer::start_with("mediator", &[("ENDPOINTS", "ws http")]);
    let invitation = Invitation::parse(peer.var("INVITATION")).expect("an invitation");
    let ws = peer.var("WS");
    assert_eq!(
        invitation.service().expect("a service").endpoint,
        ws,
        "the invitation offers the WebSocket endpoint"
    );
    let options = common::options(Duration::from_secs(20));
    common::bounded(Duration::from_secs(120), async {
        let mut alice = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("the handshake goes over ws://");
        assert!(alice.on_websocket());
        assert_eq!(alice.endpoint(), ws);
        let grant = alice.request_mediation().await.expect("mediation granted");
        assert_eq!(grant.endpoint, ws, "routed messages go to the ws endpoint");
        alice.ping().await.expect("a trust ping over ws://");

        let mut bob = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("bob connects over ws://");
        bob.send_basic_message(&alice.routed_service().unwrap(), "hello over ws")
            .await
            .expect("bob sends to the ws endpoint");
        let got = common::next_basic_message(&mut alice).await;
        assert_eq!(got.message["content"], "hello over ws");
        assert_eq!(got.sender_verkey.as_deref(), Some(bob.verkey()));
        alice.close().await;
        bob.close().await;
    })
    .await;
}
