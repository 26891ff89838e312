//! Messages sent to an agent while it was offline wait at a real ACA-Py mediator
//! (`--enable-undelivered-queue`) and are collected when it comes back. ACA-Py has no pickup
//! protocol: it hands out one queued message per inbound message that produced no reply of
//! its own, on a return-routed session, so `Agent::collect_queued` sends trust pings with
//! `response_requested: false` until nothing more comes.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use swarm_aries::{message, Agent, AgentOptions, Invitation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_queued_while_offline_are_collected() {
    let peer = common::Peer::start("mediator");
    common::bounded(Duration::from_secs(120), async {
        let invitation = Invitation::parse(peer.var("INVITATION")).expect("the invitation parses");
        let http = reqwest::Client::new();
        let mut options = AgentOptions::default();
        options.timeout = Duration::from_secs(20);
        let mut alice = Agent::connect(&invitation, http.clone(), &options)
            .await
            .expect("alice connects");
        let mut bob = Agent::connect(&invitation, http.clone(), &options)
            .await
            .expect("bob connects");
        bob.request_mediation().await.expect("bob mediated");
        let to_bob = bob.routed_service().expect("bob is mediated");

        // Bob goes offline; alice writes to him through the mediator meanwhile.
        bob.close().await;
        let sent: BTreeSet<String> = (1..=3)
            .map(|i| format!("while you were out #{i}"))
            .collect();
        for content in &sent {
            alice
                .send_basic_message(&to_bob, content)
                .await
                .expect("the mediator takes the message");
        }

        // Bob comes back on a new socket with the same keys and collects.
        bob.reconnect_transport().await.expect("bob reconnects");
        let collected = bob
            .collect_queued(10, Duration::from_secs(2))
            .await
            .expect("bob collects");
        let mut got = BTreeSet::new();
        for m in &collected {
            let t = message::message_type(&m.message).expect("typed message");
            assert_eq!(t.family(), "basicmessage", "{}", m.message);
            assert_eq!(m.sender_verkey.as_deref(), Some(alice.verkey()));
            got.insert(m.message["content"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(collected.len(), 3, "exactly the three queued messages");
        assert_eq!(got, sent, "in any order");

        // Nothing left, and the connection still works.
        let again = bob
            .collect_queued(10, Duration::from_millis(500))
            .await
            .expect("bob asks again");
        assert!(again.is_empty(), "{again:?}");
        bob.ping().await.expect("bob's connection still works");
        alice.close().await;
        bob.close().await;
    })
    .await;
}
