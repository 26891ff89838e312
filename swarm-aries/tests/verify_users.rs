//! The ready-made `Verify` user against the real ACA-Py issuer peer (`peers/start
//! issuer`), verifier as well: each holder gets one credential issued, then answers the
//! verifier's DIF presentation requests; every presentation reaches `done` with
//! `verified == "true"` on the verifier, and its record is deleted afterwards (the
//! verifier's admin API lists none left). A request for an attribute the credential lacks
//! (`PROOF_ATTR`) is a counted failure naming it, the verifier's record of each ends
//! `abandoned` with the holder's reason (read through its admin API), and the run goes on.

mod common;

use std::time::Duration;

use swarm_aries::issuer::{IssuerClient, IssuerConfig, PresExRecord};
use swarm_aries::users::{IssuerSettings, Verify, VerifySettings, KIND};
use swarm_core::{Swarm, UserContext};

fn settings(issuer: &common::Peer) -> IssuerSettings {
    IssuerSettings::new(IssuerConfig::new(issuer.var("ADMIN_URL")).unwrap())
        .issuer_did(issuer.var("ISSUER_DID"))
        .wait(Duration::from_millis(50), Duration::from_millis(150))
        .timeout(Duration::from_secs(20))
}

/// Every present-proof record the verifier keeps, through its admin API, once none is
/// between states (a holder's last problem report may still be in the verifier's queue
/// when the run ends; bounded).
async fn verifier_records(issuer: &common::Peer) -> Vec<PresExRecord> {
    let ctx = UserContext::detached(None, 1);
    let config = IssuerConfig::new(issuer.var("ADMIN_URL")).unwrap();
    let client = IssuerClient::standalone(&config, ctx.recorder().clone()).unwrap();
    let mut records = Vec::new();
    for _ in 0..50 {
        records = client
            .presentation_records(None)
            .await
            .expect("the verifier lists its records");
        if records
            .iter()
            .all(|r| matches!(r.state.as_str(), "done" | "abandoned"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holders_present_and_every_presentation_is_verified() {
    let issuer = common::Peer::start("issuer");
    let holders = 5;
    let report = common::bounded(
        Duration::from_secs(150),
        Swarm::new()
            .user::<Verify>()
            .setting(settings(&issuer))
            .users(holders)
            .spawn_rate(2.5)
            .run_time(Duration::from_secs(10))
            .stop_timeout(Duration::from_secs(20))
            .run(),
    )
    .await
    .unwrap();
    let s = &report.snapshot;
    let count = |kind: &str, name: &str| s.entry(kind, name).map_or(0, |e| e.requests);
    assert_eq!(report.failures(), 0, "{report}");
    assert_eq!(
        count(KIND, "issue_credential"),
        u64::from(holders),
        "{report}"
    );
    let presented = count(KIND, "present_proof");
    assert!(presented >= u64::from(holders), "{report}");
    assert_eq!(
        count("POST", "/present-proof-2.0/send-request"),
        presented,
        "{report}"
    );
    // Each success read its record done with verified == "true", then deleted it.
    assert!(count("GET", "/present-proof-2.0/records/[id]") >= presented);
    assert_eq!(
        count("DELETE", "/present-proof-2.0/records/[id]"),
        presented,
        "{report}"
    );
    let p50 = s
        .entry(KIND, "present_proof")
        .unwrap()
        .percentile_ms(0.5)
        .unwrap();
    eprintln!("send-request to verified: p50 {p50} ms over {presented} presentations");
    let left = verifier_records(&issuer).await;
    assert!(left.is_empty(), "records not deleted: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_an_attribute_the_credential_lacks_is_a_counted_failure() {
    let issuer = common::Peer::start("issuer");
    let report = common::bounded(
        Duration::from_secs(120),
        Swarm::new()
            .user::<Verify>()
            .setting(settings(&issuer).keep_records(true))
            .setting(VerifySettings::default().attributes(["score", "age"]))
            .users(2)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(5))
            .stop_timeout(Duration::from_secs(20))
            .run(),
    )
    .await
    .unwrap();
    let s = &report.snapshot;
    let entry = s.entry(KIND, "present_proof").expect("presentations tried");
    // Every try failed, each counted, and the holders kept going (no reconnect).
    assert!(entry.requests >= 2, "{report}");
    assert_eq!(entry.failures, entry.requests, "{report}");
    assert_eq!(
        s.entry(KIND, "issue_credential")
            .map(|e| (e.requests, e.failures)),
        Some((2, 0)),
        "{report}"
    );
    assert!(s.entry(KIND, "reconnect").is_none(), "{report}");
    let message = s
        .errors
        .iter()
        .find(|e| e.name == "present_proof")
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("no credential of this holder matches")
            && message.contains("$.credentialSubject.age"),
        "{message}"
    );
    // Records kept: nothing deleted, and the verifier abandoned each exchange with the
    // holder's reason.
    assert!(s
        .entry("DELETE", "/present-proof-2.0/records/[id]")
        .is_none());
    let records = verifier_records(&issuer).await;
    assert_eq!(records.len() as u64, entry.requests, "{records:?}");
    for r in &records {
        assert_eq!(r.state, "abandoned", "{r:?}");
        assert_ne!(r.verified.as_deref(), Some("true"), "{r:?}");
        assert!(
            r.error_msg
                .as_deref()
                .is_some_and(|m| m.contains("$.credentialSubject.age")),
            "{r:?}"
        );
    }
}
