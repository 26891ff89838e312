//! didexchange against a real ACA-Py 0.12.8 (`mediator-legacy` with `HANDSHAKE=didexchange`):
//! its invitation offers didexchange/1.0 only, yet it accepts our 1.1 request with a
//! did:peer:2 DID (`"s": "didcomm:transport/queue"`), answers 1.1 with its own did:peer:2
//! (and a `did_rotate~attach` holding the DID string, not a document), grants mediation and
//! answers pings over the WebSocket.

mod common;

use std::time::Duration;

use swarm_aries::{Agent, AgentOptions, HandshakeProtocol, Invitation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn didexchange_against_acapy_0_12() {
    let peer = common::Peer::start_with("mediator-legacy", &[("HANDSHAKE", "didexchange")]);
    common::bounded(Duration::from_secs(90), async {
        let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
        assert_eq!(
            invitation.handshake_protocols,
            [HandshakeProtocol::DidExchange10]
        );
        let mut options = AgentOptions::default();
        options.timeout = Duration::from_secs(20);
        let mut agent = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("didexchange completes");
        assert!(agent.did().starts_with("did:peer:2"), "{}", agent.did());
        assert!(
            agent.on_websocket(),
            "the mediator's did:peer:2 has a ws service"
        );
        let grant = agent.request_mediation().await.expect("mediation granted");
        assert!(!grant.routing_keys.is_empty(), "{grant:?}");
        for _ in 0..3 {
            agent
                .ping()
                .await
                .expect("ping answered over the WebSocket");
        }
        agent.close().await;
    })
    .await;
}
