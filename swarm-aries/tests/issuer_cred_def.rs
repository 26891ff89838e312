//! The credential definition settings against real ACA-Py 1.7.0 issuers with no ledger
//! (`peers/start issuer`, `--no-ledger`): with `CRED_FORMAT=indy` or `anoncreds` and a
//! well-formed `CRED_DEF`, the issuer refuses every send-offer, since it has no such
//! credential definition (none can exist without a ledger or an AnonCreds registry). Each
//! refusal is a counted failure of the iteration that carries the issuer's reason, the
//! holders stay connected (no reconnect), the users beside them go on, and the run ends
//! normally. Issuing indy/anoncreds credentials end to end needs a ledger, which no test
//! machine here runs.

mod common;

use std::time::Duration;

use swarm_aries::issuer::{CredAttr, CredFormat, CredentialSpec, IssuerConfig};
use swarm_aries::users::{Issue, IssueMessage, IssuerSettings, KIND};
use swarm_core::{Report, Swarm};

const CRED_DEF: &str = "WgWxqztrNooG92RXvxSTWv:3:CL:20:tag";
const SCHEMA: &str = "WgWxqztrNooG92RXvxSTWv:2:score:1.0";
const SEND_OFFER: &str = "/issue-credential-2.0/send-offer";

/// Two `Issue` and two `IssueMessage` users for 4 s, offering `format` credentials from
/// [`CRED_DEF`] and [`SCHEMA`].
async fn run(issuer: &common::Peer, format: CredFormat) -> Report {
    let config = IssuerConfig::new(issuer.var("ADMIN_URL")).unwrap();
    let settings = IssuerSettings::new(config)
        .wait(Duration::from_millis(200), Duration::from_millis(400))
        .timeout(Duration::from_secs(20))
        .cred_attrs(vec![CredAttr::new("score", "test").mime_type("text/plain")])
        .credential(CredentialSpec::new(format, Some(CRED_DEF), Some(SCHEMA)).unwrap());
    common::bounded(
        Duration::from_secs(120),
        Swarm::new()
            .user::<Issue>()
            .user::<IssueMessage>()
            .setting(settings)
            .users(4)
            .spawn_rate(4.0)
            .run_time(Duration::from_secs(4))
            .stop_timeout(Duration::from_secs(20))
            .run(),
    )
    .await
    .expect("the run ends normally")
}

/// Every offer of the run was refused with HTTP `status` and counted as a failed
/// iteration whose message has each of `says`; nothing else failed, the holders were kept
/// and the issuer's messages still arrived.
fn assert_refused(report: &Report, status: u16, says: &[&str]) {
    let s = &report.snapshot;
    let offers = s.entry("POST", SEND_OFFER).expect("offers sent");
    assert!(offers.requests >= 2, "{report}");
    assert_eq!(offers.failures, offers.requests, "{report}");
    assert_eq!(
        offers.codes.get(&status.to_string()).copied(),
        Some(offers.requests),
        "{report}"
    );
    let issued = s.entry(KIND, "issue_credential").expect("iterations");
    assert_eq!(issued.requests, offers.requests, "{report}");
    assert_eq!(issued.failures, issued.requests, "{report}");
    let error = s
        .errors
        .iter()
        .find(|e| e.kind == KIND && e.name == "issue_credential")
        .expect("the failure's message");
    let want = format!("issuer admin POST {SEND_OFFER}: HTTP {status}: ");
    assert!(error.message.starts_with(&want), "{}", error.message);
    for part in says {
        assert!(error.message.contains(part), "{part}: {}", error.message);
    }
    // Only the offers failed: the holders were kept and the messages arrived.
    assert_eq!(report.failures(), offers.failures * 2, "{report}");
    let messages = s.entry(KIND, "issuer_message").expect("messages");
    assert!(messages.requests >= 2, "{report}");
    assert_eq!(s.entry(KIND, "connect_issuer").unwrap().requests, 4);
    assert!(s.entry(KIND, "reconnect").is_none(), "{report}");
    // A credential definition's offer needs no did:key.
    assert!(s.entry("POST", "/wallet/did/create").is_none(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_askar_issuer_without_a_ledger_refuses_indy_and_anoncreds_offers() {
    let issuer = common::Peer::start("issuer");
    // Its reason: no credential definition in its wallet matches the offer's filter.
    let report = run(&issuer, CredFormat::Indy).await;
    assert_refused(
        &report,
        400,
        &[
            "Issuer has no operable cred def for proposal spec",
            CRED_DEF,
            SCHEMA,
        ],
    );
    // An anoncreds offer needs an askar-anoncreds wallet: ACA-Py 1.7.0 fails on it with a
    // bare 500 (its log: "AnonCreds interface requires AskarAnonCreds or KanonAnonCreds
    // profile"), so the failure says what that means.
    let report = run(&issuer, CredFormat::AnonCreds).await;
    assert_refused(
        &report,
        500,
        &["(CRED_FORMAT=anoncreds: an ACA-Py issuer answers 500 when its wallet is not askar-anoncreds)"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anoncreds_issuer_without_a_registry_refuses_anoncreds_and_indy_offers() {
    let issuer =
        common::Peer::start_with_args("issuer", &[], &["--wallet-type", "askar-anoncreds"]);
    // Its reason: the schema cannot be resolved (no registry answers for it).
    let report = run(&issuer, CredFormat::AnonCreds).await;
    assert_refused(&report, 400, &["Could not determine schema attributes"]);
    let report = run(&issuer, CredFormat::Indy).await;
    assert_refused(
        &report,
        400,
        &["This issuer is anoncreds capable. Please use the anoncreds format."],
    );
}
