//! The ready-made issuer users against real ACA-Py peers (`peers/start issuer`, and
//! `peers/start mediator` for the mediated ones): `Issue` and `MediatorIssue` issue ld_proof
//! credentials that reach `done` on the issuer (read through its admin API), `IssueMessage`
//! and `MediatorIssueMessage` deliver the issuer's basic messages to the holder they are
//! for, and `Liveness` reads `/status`; every admin call is its own stats entry.

mod common;

use std::time::Duration;

use swarm_aries::issuer::{IssuerClient, IssuerConfig};
use swarm_aries::users::{
    Issue, IssueMessage, IssuerSettings, Liveness, MediatorIssue, MediatorIssueMessage, KIND,
};
use swarm_aries::Invitation;
use swarm_core::{Swarm, UserContext};

fn settings(issuer: &common::Peer, mediator: Option<&common::Peer>) -> IssuerSettings {
    let config = IssuerConfig::new(issuer.var("ADMIN_URL")).unwrap();
    let mut s = IssuerSettings::new(config)
        .wait(Duration::from_millis(100), Duration::from_millis(300))
        .timeout(Duration::from_secs(20))
        .keep_records(true);
    if let Some(m) = mediator {
        s = s.mediation(Invitation::parse(m.var("INVITATION")).unwrap());
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_issued_directly_and_through_the_mediator() {
    let mediator = common::Peer::start("mediator");
    let issuer = common::Peer::start("issuer");
    let report = common::bounded(
        Duration::from_secs(120),
        Swarm::new()
            .user::<Issue>()
            .user::<MediatorIssue>()
            .setting(settings(&issuer, Some(&mediator)))
            .users(4)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(8))
            .stop_timeout(Duration::from_secs(20))
            .run(),
    )
    .await
    .unwrap();
    let s = &report.snapshot;
    let count = |kind: &str, name: &str| s.entry(kind, name).map_or(0, |e| e.requests);
    assert_eq!(report.failures(), 0, "{report}");
    // Two direct holders (connect_issuer only) and two mediated ones (connect, mediate,
    // connect_issuer).
    assert_eq!(count(KIND, "connect_issuer"), 4, "{report}");
    assert_eq!(count(KIND, "mediate"), 2, "{report}");
    let issued = count(KIND, "issue_credential");
    assert!(issued >= 8, "{report}");
    assert_eq!(
        count("POST", "/issue-credential-2.0/send-offer"),
        issued,
        "{report}"
    );
    assert_eq!(count("POST", "/out-of-band/create-invitation"), 4);
    assert_eq!(count("POST", "/wallet/did/create"), 1, "one did:key a run");
    assert!(count("GET", "/connections?invitation_msg_id=[id]") >= 4);

    // Every credential the holders acked is done on the issuer.
    let ctx = UserContext::detached(None, 1);
    let client = IssuerClient::standalone(
        &IssuerConfig::new(issuer.var("ADMIN_URL")).unwrap(),
        ctx.recorder().clone(),
    )
    .unwrap();
    // The holder counts an iteration once its ack is sent; the issuer marks the record
    // done when it has read the ack: a few bounded looks for the last ones.
    let mut done = 0;
    for _ in 0..50 {
        done = client.credential_records("done").await.unwrap().len() as u64;
        if done >= issued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done, issued, "{report}");
    let p50 = s
        .entry(KIND, "issue_credential")
        .unwrap()
        .percentile_ms(0.5)
        .unwrap();
    eprintln!("offer to ack: p50 {p50} ms over {issued} credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuers_messages_reach_their_holders_directly_and_through_the_mediator() {
    let mediator = common::Peer::start("mediator");
    let issuer = common::Peer::start("issuer");
    let report = common::bounded(
        Duration::from_secs(120),
        Swarm::new()
            .user::<IssueMessage>()
            .user::<MediatorIssueMessage>()
            .setting(settings(&issuer, Some(&mediator)))
            .users(4)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(6))
            .stop_timeout(Duration::from_secs(20))
            .run(),
    )
    .await
    .unwrap();
    let s = &report.snapshot;
    let count = |kind: &str, name: &str| s.entry(kind, name).map_or(0, |e| e.requests);
    assert_eq!(report.failures(), 0, "{report}");
    // Each holder waits for its own message (a unique content): one that went elsewhere
    // would be a time-out.
    let messages = count(KIND, "issuer_message");
    assert!(messages >= 8, "{report}");
    assert_eq!(
        count("POST", "/connections/[id]/send-message"),
        messages,
        "{report}"
    );
    assert_eq!(count(KIND, "mediate"), 2, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_reads_the_issuers_status() {
    let issuer = common::Peer::start("issuer");
    let report = common::bounded(
        Duration::from_secs(60),
        Swarm::new()
            .user::<Liveness>()
            .setting(settings(&issuer, None))
            .users(2)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(3))
            .run(),
    )
    .await
    .unwrap();
    let status = report
        .snapshot
        .entry("GET", "/status")
        .expect("a /status entry");
    assert!(status.requests >= 4, "{report}");
    assert_eq!(report.failures(), 0, "{report}");
}
