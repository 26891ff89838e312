//! Bad input around a real ACA-Py issuer (`peers/start issuer`): an issuer that is down,
//! wrong `ISSUER_HEADERS` against an issuer that wants an API key, an offer in a format
//! the holder does not take, and an issuer that never sends the credential. Each is a clear, typed error or a counted failure, and the
//! run goes on.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use swarm_aries::issuer::{IssuerClient, IssuerConfig, IssuerError, IssuerHeaders, LdProofOffer};
use swarm_aries::users::{IssuerSettings, Liveness};
use swarm_aries::{
    Agent, AriesError, CredentialError, CredentialFormat, InboundListener, Invitation,
};
use swarm_core::{Swarm, UserContext};

fn client(url: &str, headers: &str) -> IssuerClient {
    let ctx = UserContext::detached(None, 1);
    let config = IssuerConfig::new(url)
        .unwrap()
        .headers(IssuerHeaders::parse(headers).unwrap())
        .timeout(Duration::from_secs(10));
    IssuerClient::standalone(&config, ctx.recorder().clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_is_down_is_a_counted_failure() {
    // A port nothing listens on.
    let url = format!("http://127.0.0.1:{}", common::free_port());
    let err = client(&url, "").status().await.expect_err("nothing there");
    assert!(matches!(err, IssuerError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("GET /status: no answer"), "{err}");

    let settings = IssuerSettings::new(IssuerConfig::new(&url).unwrap())
        .wait(Duration::from_millis(100), Duration::from_millis(200));
    let report = common::bounded(
        Duration::from_secs(60),
        Swarm::new()
            .user::<Liveness>()
            .setting(settings)
            .users(2)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(2))
            .run(),
    )
    .await
    .unwrap();
    let status = report.snapshot.entry("GET", "/status").expect("counted");
    assert!(status.requests >= 4, "{report}");
    assert_eq!(status.failures, status.requests, "{report}");
    assert!(
        report
            .snapshot
            .errors
            .iter()
            .any(|e| e.name == "/status" && e.message.contains("connection")),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_issuer_headers_are_not_authorized() {
    let issuer = common::Peer::start_with("issuer", &[("ISSUER_API_KEY", "right-key")]);
    let url = issuer.var("ADMIN_URL");
    for headers in ["", r#"{"X-API-Key": "wrong-key"}"#] {
        let err = client(url, headers).status().await.expect_err(headers);
        assert!(
            matches!(err, IssuerError::Unauthorized { status: 401, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("check ISSUER_HEADERS"), "{msg}");
        assert!(!msg.contains("wrong-key"), "{msg}");
    }
    let ok = client(url, r#"{"X-API-Key": "right-key"}"#).status().await;
    assert_eq!(ok.expect("the right key").version, "1.7.0");

    // In a run: counted failures, the run goes on.
    let config = IssuerConfig::new(url)
        .unwrap()
        .headers(IssuerHeaders::parse(r#"{"X-API-Key": "wrong-key"}"#).unwrap());
    let settings =
        IssuerSettings::new(config).wait(Duration::from_millis(100), Duration::from_millis(200));
    let report = common::bounded(
        Duration::from_secs(60),
        Swarm::new()
            .user::<Liveness>()
            .setting(settings)
            .users(2)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(2))
            .run(),
    )
    .await
    .unwrap();
    let status = report.snapshot.entry("GET", "/status").expect("counted");
    assert!(status.requests >= 4, "{report}");
    assert_eq!(status.failures, status.requests, "{report}");
    assert_eq!(status.codes.get("401").copied(), Some(status.requests));
}

/// A holder format that takes only Indy offers (it never gets to build a request here).
#[derive(Debug)]
struct IndyOnly;

impl CredentialFormat for IndyOnly {
    fn name(&self) -> &'static str {
        "indy"
    }
    fn takes(&self, format: &str) -> bool {
        format.starts_with("hlindy/")
    }
    fn request(&self, _: &Value, _: &str) -> Result<(String, Value), CredentialError> {
        unreachable!("no Indy offer comes from an issuer without a ledger")
    }
    fn check(&self, _: &Value, _: &str, _: &Value) -> Result<(), CredentialError> {
        unreachable!("no Indy credential comes from an issuer without a ledger")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_in_a_format_the_holder_does_not_take_is_refused_and_abandoned() {
    let issuer = common::Peer::start("issuer");
    common::bounded(Duration::from_secs(120), async {
        let client = client(issuer.var("ADMIN_URL"), "");
        let oob = client.create_invitation("issuer").await.unwrap();
        let invitation = Invitation::parse(&oob.invitation_url).unwrap();
        let listener = InboundListener::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let options = common::options(Duration::from_secs(20)).with_inbound(listener);
        let mut holder = Agent::connect(&invitation, reqwest::Client::new(), &options)
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
        let mut attrs = serde_json::Map::new();
        attrs.insert("score".into(), json!("test"));
        let offer = LdProofOffer::new(issuer.var("ISSUER_DID"), attrs);
        let record = client
            .send_offer(&conn.connection_id, &offer, true)
            .await
            .unwrap();
        let received = holder.receive_offer().await.unwrap();
        let err = holder
            .accept_offer_with(&received, None, &[&IndyOnly])
            .await
            .expect_err("no format in common");
        assert!(
            matches!(
                err,
                AriesError::Credential(CredentialError::UnsupportedFormat { .. })
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "offer in format aries/ld-proof-vc-detail@v1.0: this holder speaks indy only"
        );
        assert_eq!(holder.credentials_received(), 0);
        // The holder's problem report abandons the exchange on the issuer.
        let mut state = String::new();
        for _ in 0..100 {
            state = client
                .credential_record(&record.cred_ex_id)
                .await
                .unwrap()
                .state;
            if state == "abandoned" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(state, "abandoned");

        // The same holder still takes the next offer in a format it does take.
        client
            .send_offer(&conn.connection_id, &offer, true)
            .await
            .unwrap();
        let received = holder.receive_offer().await.unwrap();
        holder
            .accept_offer(&received, None)
            .await
            .expect("ld_proof works");
        assert_eq!(holder.credentials_received(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_that_never_sends_the_credential_is_a_time_out() {
    let issuer = common::Peer::start("issuer");
    common::bounded(Duration::from_secs(120), async {
        let client = client(issuer.var("ADMIN_URL"), "");
        let oob = client.create_invitation("issuer").await.unwrap();
        let invitation = Invitation::parse(&oob.invitation_url).unwrap();
        let listener = InboundListener::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let options = common::options(Duration::from_secs(3)).with_inbound(listener);
        let mut holder = Agent::connect(&invitation, reqwest::Client::new(), &options)
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
        let mut attrs = serde_json::Map::new();
        attrs.insert("score".into(), json!("test"));
        // Without auto_issue the issuer waits for an admin call that never comes.
        let offer = LdProofOffer::new(issuer.var("ISSUER_DID"), attrs).auto_issue(false);
        let record = client
            .send_offer(&conn.connection_id, &offer, true)
            .await
            .unwrap();
        let received = holder.receive_offer().await.unwrap();
        let err = holder
            .accept_offer(&received, None)
            .await
            .expect_err("no credential comes");
        assert!(matches!(err, AriesError::Timeout { .. }), "{err:?}");
        assert_eq!(holder.credentials_received(), 0);
        let state = client
            .credential_record(&record.cred_ex_id)
            .await
            .unwrap()
            .state;
        assert_eq!(state, "request-received");
    })
    .await;
}
