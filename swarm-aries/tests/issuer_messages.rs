//! Basic messages from a real ACA-Py issuer's admin API (`peers/start issuer`) to a holder
//! behind a real ACA-Py mediator (`peers/start mediator`) that was offline when they were
//! sent: the mediator queues them (`--enable-undelivered-queue`) and the holder collects
//! them, from the issuer, when it comes back.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use swarm_aries::issuer::{IssuerClient, IssuerConfig};
use swarm_aries::{message, Agent, Invitation};
use swarm_core::UserContext;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_the_holder_was_offline_reach_it_when_it_returns() {
    let mediator = common::Peer::start("mediator");
    let issuer = common::Peer::start("issuer");
    common::bounded(Duration::from_secs(180), async {
        let ctx = UserContext::detached(None, 1);
        let config = IssuerConfig::new(issuer.var("ADMIN_URL")).unwrap();
        let client = IssuerClient::standalone(&config, ctx.recorder().clone()).unwrap();
        let mediation = Invitation::parse(mediator.var("INVITATION")).unwrap();
        let options = common::options(Duration::from_secs(20));
        let mut holder = Agent::connect(&mediation, reqwest::Client::new(), &options)
            .await
            .unwrap();
        holder.request_mediation().await.unwrap();
        let oob = client.create_invitation("issuer").await.unwrap();
        let routed = holder
            .connect_routed(&Invitation::parse(&oob.invitation_url).unwrap(), "holder")
            .await
            .unwrap();
        let conn = client
            .await_connection(
                &oob.invi_msg_id,
                Duration::from_millis(100),
                Duration::from_secs(20),
            )
            .await
            .unwrap();
        let issuer_key = routed.service().recipient_keys[0].clone();

        // Online: the message comes at once, from the issuer.
        client
            .send_message(&conn.connection_id, "hello")
            .await
            .unwrap();
        let m = common::next_basic_message(&mut holder).await;
        assert_eq!(m.message["content"], "hello");
        assert_eq!(m.sender_verkey.as_deref(), Some(issuer_key.as_str()));

        // Offline: the mediator queues what the issuer sends meanwhile.
        holder.close().await;
        let sent: BTreeSet<String> = (1..=2)
            .map(|i| format!("while you were out #{i}"))
            .collect();
        for content in &sent {
            client
                .send_message(&conn.connection_id, content)
                .await
                .unwrap();
        }
        // The issuer posts to the mediator in the background: give it time to land.
        tokio::time::sleep(Duration::from_secs(2)).await;
        holder.reconnect_transport().await.unwrap();
        let collected = holder
            .collect_queued(10, Duration::from_secs(2))
            .await
            .unwrap();
        let mut got = BTreeSet::new();
        for m in &collected {
            let t = message::message_type(&m.message).unwrap();
            assert_eq!(t.family(), "basicmessage", "{}", m.message);
            assert_eq!(m.sender_verkey.as_deref(), Some(issuer_key.as_str()));
            got.insert(m.message["content"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(got, sent, "both queued messages, in any order");
        holder.close().await;
    })
    .await;
}
