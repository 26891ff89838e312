//! Agents without a mediator, all receiving on one shared `InboundListener`, against a real
//! ACA-Py (`peers/start mediator`, whose `--outbound-transport http` POSTs to us): their
//! did:peer:2 advertises the listener's endpoint, their messages ask for no return route, and
//! every reply ACA-Py POSTs back reaches the agent it is for. Then one agent sends a basic
//! message straight to another's service on the same listener. The same over connections/1.0
//! against ACA-Py 0.12.8 (`mediator-legacy`), whose legacy DID doc carries the endpoint.

mod common;

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use swarm_aries::{
    message, resolve_did_peer_2, Agent, AgentOptions, InboundListener, Invitation, Unpacked,
};

const AGENTS: usize = 20;

async fn listener() -> InboundListener {
    InboundListener::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("the listener binds loopback")
}

fn options(listener: &InboundListener) -> AgentOptions {
    let mut o = AgentOptions::default().with_inbound(listener.clone());
    o.timeout = Duration::from_secs(30);
    o
}

/// A trust ping asking for a response, and the response: it must answer this very ping.
async fn ping(agent: &mut Agent) -> Unpacked {
    let id = message::new_id();
    let ping = json!({
        "@type": "https://didcomm.org/trust_ping/1.0/ping",
        "@id": id,
        "response_requested": true,
    });
    let reply = agent
        .request(ping, |t| t.name() == "ping_response")
        .await
        .expect("ACA-Py POSTs the ping response to the listener");
    assert_eq!(message::thread_id(&reply.message), Some(id.as_str()));
    assert_eq!(reply.recipient_verkey, agent.verkey());
    reply
}

/// Waits for the basic message `content` on `agent` (other messages are skipped).
async fn basic_message(agent: &mut Agent, content: &str) -> Unpacked {
    loop {
        let m = agent.receive().await.expect("the message arrives");
        if m.message["content"] == content {
            return m;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_share_one_listener_with_acapy() {
    let peer = common::Peer::start("mediator");
    common::bounded(Duration::from_secs(240), async {
        let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
        let listener = listener().await;
        let options = options(&listener);
        let http = reqwest::Client::new();

        // didexchange 1.1: ACA-Py POSTs each response to the shared endpoint.
        let mut agents: Vec<Agent> = join_all((0..AGENTS).map(|i| {
            let (invitation, http) = (&invitation, http.clone());
            let mut options = options.clone();
            options.label = format!("inbound-{i}");
            async move { Agent::connect(invitation, http, &options).await }
        }))
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("every agent connects");
        assert_eq!(listener.mailboxes(), AGENTS);
        for agent in &agents {
            assert!(!agent.on_websocket());
            let doc = resolve_did_peer_2(agent.did()).expect("a did:peer:2");
            assert_eq!(doc.services.len(), 1, "{doc:?}");
            assert_eq!(doc.services[0].endpoint, listener.endpoint());
            assert_eq!(doc.services[0].recipient_keys, [agent.verkey()]);
        }

        // Every agent pings at once; each response comes back to its own mailbox.
        join_all(agents.iter_mut().map(|agent| async move {
            ping(agent).await;
            agent.ping().await.expect("Agent::ping on the listener");
        }))
        .await;

        // A basic message straight to another agent's service on the same listener.
        let (first, rest) = agents.split_at_mut(1);
        let (alice, bob) = (&mut first[0], &mut rest[0]);
        let to_bob = bob.inbound_service().expect("bob receives on the listener");
        assert_eq!(to_bob.endpoint, listener.endpoint());
        assert_eq!(to_bob.recipient_keys, [bob.verkey()]);
        assert!(to_bob.routing_keys.is_empty());
        alice
            .send_basic_message(&to_bob, "hello, directly")
            .await
            .expect("the listener takes it");
        let got = basic_message(bob, "hello, directly").await;
        assert_eq!(got.sender_verkey.as_deref(), Some(alice.verkey()));

        // One didexchange response and two ping responses per agent, and the basic message.
        let stats = listener.stats();
        assert_eq!(stats.routed, 3 * AGENTS as u64 + 1, "{stats:?}");
        assert_eq!(stats.rejected(), 0, "{stats:?}");

        // A dropped agent takes its key off the listener.
        agents.truncate(AGENTS - 1);
        assert_eq!(listener.mailboxes(), AGENTS - 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_1_0_agents_on_the_listener() {
    let peer = common::Peer::start("mediator-legacy");
    common::bounded(Duration::from_secs(120), async {
        let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
        let listener = listener().await;
        let options = options(&listener);
        let http = reqwest::Client::new();
        let mut alice = Agent::connect(&invitation, http.clone(), &options)
            .await
            .expect("connections/1.0 with the listener's endpoint in the DID doc");
        assert!(!alice.did().starts_with("did:"), "{}", alice.did());
        let mut bob = Agent::connect(&invitation, http, &options)
            .await
            .expect("bob connects");
        ping(&mut alice).await;
        ping(&mut bob).await;
        let to_bob = bob.inbound_service().expect("bob receives on the listener");
        alice
            .send_basic_message(&to_bob, "hello over connections/1.0")
            .await
            .expect("the listener takes it");
        basic_message(&mut bob, "hello over connections/1.0").await;
        let stats = listener.stats();
        assert_eq!(stats.routed, 2 + 2 + 1, "{stats:?}");
        assert_eq!(stats.rejected(), 0, "{stats:?}");
    })
    .await;
}
