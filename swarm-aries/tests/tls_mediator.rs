//! A mediator as deployed: a real ACA-Py reached only through a TLS-terminating proxy
//! (nginx, `peers/start tls-proxy`) on loopback, publishing `https://` and `wss://`
//! endpoints with a certificate from a test CA. Onboarding, mediation, trust pings and a
//! message forwarded between two agents go over TLS when the agent trusts the CA or is
//! `insecure`; without either, connecting is a clear certificate error naming the host.

mod common;

use std::time::Duration;

use common::TlsMediator;
use swarm_aries::{Agent, AgentOptions, AriesError, TlsError};

fn options() -> AgentOptions {
    common::options(Duration::from_secs(20))
}

/// Onboard, get mediation, ping; then a second agent sends the first a basic message to
/// its routed (https) endpoint, and the first receives it on its wss socket.
async fn onboard_ping_and_forward(m: &TlsMediator, options: &AgentOptions) {
    let invitation = m.invitation();
    let https = m.proxy.var("URL");
    let wss = m.proxy.var("WS");
    assert_eq!(
        invitation.service().expect("a service").endpoint,
        https,
        "the invitation names the proxy"
    );
    let http = options.http_client().expect("an HTTP client");
    let mut alice = Agent::connect(&invitation, http.clone(), options)
        .await
        .expect("alice connects over https");
    assert!(alice.on_websocket(), "alice moved to the wss endpoint");
    assert_eq!(alice.endpoint(), wss);
    let grant = alice.request_mediation().await.expect("mediation over wss");
    assert_eq!(grant.endpoint, https, "routed messages go to the proxy");
    alice.ping().await.expect("a trust ping over wss");

    let mut bob = Agent::connect(&invitation, http, options)
        .await
        .expect("bob connects over https");
    let to = alice.routed_service().expect("alice is mediated");
    bob.send_basic_message(&to, "hello over TLS")
        .await
        .expect("bob posts to the mediator over https");
    let got = common::next_basic_message(&mut alice).await;
    assert_eq!(got.message["content"], "hello over TLS");
    assert_eq!(got.sender_verkey.as_deref(), Some(bob.verkey()));
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_with_the_test_ca() {
    let m = TlsMediator::start(&["https", "wss"]);
    let options = options().ca_file(m.certs.ca());
    common::bounded(
        Duration::from_secs(120),
        onboard_ping_and_forward(&m, &options),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_wss_when_insecure() {
    let m = TlsMediator::start(&["https", "wss"]);
    let options = options().insecure(true);
    common::bounded(
        Duration::from_secs(120),
        onboard_ping_and_forward(&m, &options),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_only_when_websockets_are_off() {
    let m = TlsMediator::start(&["https", "wss"]);
    let mut options = options().ca_file(m.certs.ca());
    options.websocket = false;
    common::bounded(Duration::from_secs(120), async {
        let invitation = m.invitation();
        let mut agent = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("connects over https");
        assert!(!agent.on_websocket());
        assert!(agent.endpoint().starts_with("https://"), "{agent:?}");
        agent
            .request_mediation()
            .await
            .expect("mediation over https");
        agent.ping().await.expect("a trust ping over https");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_invitation_works() {
    let m = TlsMediator::start(&["wss"]);
    let options = options().ca_file(m.certs.ca());
    common::bounded(Duration::from_secs(120), async {
        let invitation = m.invitation();
        let wss = m.proxy.var("WS");
        assert_eq!(invitation.service().unwrap().endpoint, wss);
        let mut alice = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("the handshake goes over wss");
        assert!(alice.on_websocket());
        assert_eq!(alice.endpoint(), wss);
        let grant = alice.request_mediation().await.expect("mediation over wss");
        assert_eq!(grant.endpoint, wss);
        alice.ping().await.expect("a trust ping over wss");
        // A message to alice's routed endpoint goes over a wss socket of its own.
        let mut bob = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("bob connects over wss");
        bob.send_basic_message(&alice.routed_service().unwrap(), "hello over wss")
            .await
            .expect("bob sends over wss");
        let got = common::next_basic_message(&mut alice).await;
        assert_eq!(got.message["content"], "hello over wss");
    })
    .await;
}

/// The certificate error of a connect without the CA and without `insecure`: typed, it
/// names the proxy's `host:port`, and it comes at once (no hang).
fn assert_untrusted(err: &AriesError, port: &str) {
    match err {
        AriesError::Tls(TlsError::Certificate { host, reason }) => {
            assert_eq!(host, &format!("127.0.0.1:{port}"), "{err}");
            assert!(!reason.is_empty(), "{err}");
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
    let text = err.to_string();
    eprintln!("the error: {text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(text.contains(port), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_certificate_is_a_clear_error() {
    let https = TlsMediator::start(&["https", "wss"]);
    let wss = TlsMediator::start(&["wss"]);
    common::bounded(Duration::from_secs(60), async {
        let err = Agent::connect(&https.invitation(), reqwest::Client::new(), &options())
            .await
            .expect_err("the test CA is not trusted");
        assert_untrusted(&err, https.proxy.port_of("URL"));
        let err = Agent::connect(&wss.invitation(), reqwest::Client::new(), &options())
            .await
            .expect_err("the test CA is not trusted");
        assert_untrusted(&err, wss.proxy.port_of("WS"));
    })
    .await;
}

#[tokio::test]
async fn a_ca_file_that_is_not_a_certificate_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not PEM at all\n").unwrap();
    let err = options()
        .ca_file(&path)
        .http_client()
        .expect_err("no certificate in the file");
    assert!(
        matches!(err, AriesError::Tls(TlsError::CaFile { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}
