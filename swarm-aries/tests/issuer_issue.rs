//! issue-credential 2.0 with the ld_proof format against a real ACA-Py issuer
//! (`peers/start issuer`, acapy-agent 1.7.0, no ledger): a holder on the shared inbound
//! listener connects directly, and one behind a real ACA-Py mediator (`peers/start
//! mediator`) connects through it, so the offer and the credential arrive forwarded. Each
//! receives the offer, requests, stores the credential and acks; the issuer's record
//! reaches `done` (read through its admin API).

mod common;

use std::time::Duration;

use serde_json::json;
use swarm_aries::issuer::{IssuerClient, IssuerConfig, LdProofOffer};
use swarm_aries::{Agent, AgentOptions, InboundListener, Invitation};
use swarm_core::UserContext;

fn attributes() -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("score".into(), json!("test"));
    m.insert("name".into(), json!("Alice"));
    m
}

/// Waits until the issuer's record of `cred_ex_id` is `done` (bounded), and returns the
/// states seen.
async fn until_done(client: &IssuerClient, cred_ex_id: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..100 {
        let r = client
            .credential_record(cred_ex_id)
            .await
            .expect("the record");
        if seen.last() != Some(&r.state) {
            seen.push(r.state.clone());
        }
        if r.state == "done" {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the issuer's record never reached done: {seen:?}");
}

/// Offers a credential on `connection_id`, lets `holder` take it (`via` its routed
/// connection when it has one), and checks both sides.
async fn issue_one(
    client: &IssuerClient,
    issuer_did: &str,
    connection_id: &str,
    holder: &mut Agent,
    via: Option<&swarm_aries::Connection>,
) {
    let offer = LdProofOffer::new(issuer_did, attributes());
    let record = client
        .send_offer(connection_id, &offer, true)
        .await
        .expect("the issuer sends the offer");
    assert_eq!(record.state, "offer-sent");
    let received = holder.receive_offer().await.expect("the offer arrives");
    assert_eq!(received.thread_id(), Some(record.thread_id.as_str()));
    assert_eq!(received.formats(), ["aries/ld-proof-vc-detail@v1.0"]);
    let stored = holder
        .accept_offer(&received, via)
        .await
        .expect("the holder requests, receives and acks the credential");
    let vc = &stored.credential;
    assert_eq!(vc["issuer"], issuer_did);
    assert_eq!(vc["credentialSubject"]["score"], "test");
    assert_eq!(vc["credentialSubject"]["name"], "Alice");
    let holder_did = swarm_aries::Verkey::from_base58(holder.verkey())
        .expect("a verkey")
        .to_did_key();
    assert_eq!(vc["credentialSubject"]["id"], holder_did.as_str());
    assert_eq!(vc["proof"]["type"], "Ed25519Signature2018");
    assert!(vc["proof"]["verificationMethod"]
        .as_str()
        .is_some_and(|m| m.starts_with(issuer_did)));
    assert_eq!(stored.thread_id, record.thread_id);
    let states = until_done(client, &record.cred_ex_id).await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("done"),
        "{states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_on_the_inbound_listener_receives_an_ld_proof_credential() {
    let issuer = common::Peer::start("issuer");
    common::bounded(Duration::from_secs(180), async {
        let ctx = UserContext::detached(None, 1);
        let config = IssuerConfig::new(issuer.var("ADMIN_URL")).expect("the admin URL");
        let client = IssuerClient::standalone(&config, ctx.recorder().clone()).unwrap();
        let status = client.status().await.expect("/status answers");
        assert_eq!(status.version, "1.7.0");

        let oob = client
            .create_invitation("issuer")
            .await
            .expect("an invitation");
        let invitation = Invitation::parse(&oob.invitation_url).expect("it parses");
        let listener = InboundListener::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let options = common::options(Duration::from_secs(20)).with_inbound(listener.clone());
        let mut holder = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("the holder connects to the issuer directly");
        let conn = client
            .await_connection(
                &oob.invi_msg_id,
                Duration::from_millis(100),
                Duration::from_secs(20),
            )
            .await
            .expect("the issuer's connection is ready");

        for _ in 0..2 {
            issue_one(
                &client,
                issuer.var("ISSUER_DID"),
                &conn.connection_id,
                &mut holder,
                None,
            )
            .await;
        }
        assert_eq!(holder.credentials_received(), 2);
        assert_eq!(holder.credentials().len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_behind_a_mediator_receives_the_credential_forwarded() {
    let mediator = common::Peer::start("mediator");
    let issuer = common::Peer::start("issuer");
    common::bounded(Duration::from_secs(180), async {
        let ctx = UserContext::detached(None, 1);
        let config = IssuerConfig::new(issuer.var("ADMIN_URL")).expect("the admin URL");
        let client = IssuerClient::standalone(&config, ctx.recorder().clone()).unwrap();

        let mediation = Invitation::parse(mediator.var("INVITATION")).unwrap();
        let options: AgentOptions = common::options(Duration::from_secs(20));
        let mut holder = Agent::connect(&mediation, reqwest::Client::new(), &options)
            .await
            .expect("the holder connects to the mediator");
        holder.request_mediation().await.expect("mediation granted");
        assert!(holder.on_websocket());

        let oob = client
            .create_invitation("issuer")
            .await
            .expect("an invitation");
        let invitation = Invitation::parse(&oob.invitation_url).unwrap();
        let routed = holder
            .connect_routed(&invitation, "mediated-holder")
            .await
            .expect("the holder connects to the issuer through the mediator");
        assert!(routed.did().starts_with("did:peer:2"));
        let conn = client
            .await_connection(
                &oob.invi_msg_id,
                Duration::from_millis(100),
                Duration::from_secs(20),
            )
            .await
            .expect("the issuer's connection is ready");
        issue_one(
            &client,
            issuer.var("ISSUER_DID"),
            &conn.connection_id,
            &mut holder,
            Some(&routed),
        )
        .await;
        assert_eq!(holder.credentials_received(), 1);
        // The mediator connection still works.
        holder.ping().await.expect("the mediator still answers");
    })
    .await;
}
