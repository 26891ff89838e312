//! Peers that fail: a mediator that is down at start, and a real mediator (Credo with
//! `CREDO_GRANT=0`) that never grants mediation. Each is a clear error for the agent, a
//! counted failure for the users, and the run goes on to its full report.

mod common;

use std::time::Duration;

use base64::Engine;
use serde_json::json;
use swarm_aries::users::{MediatorPing, MediatorSettings, KIND};
use swarm_aries::{Agent, AgentKey, AgentOptions, AriesError, Invitation};
use swarm_core::{StopReason, Swarm};

/// An out-of-band invitation to a loopback port where nothing listens.
fn invitation_to_nobody() -> (Invitation, u16) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let inv = json!({
        "@type": "https://didcomm.org/out-of-band/1.1/invitation",
        "@id": "0d2a5b9e-6a52-4a4a-9f5c-2f4c1c1f3f10",
        "label": "nobody",
        "handshake_protocols": ["https://didcomm.org/didexchange/1.1"],
        "services": [{
            "id": "#inline",
            "type": "did-communication",
            "recipientKeys": [AgentKey::generate().did_key()],
            "serviceEndpoint": format!("http://127.0.0.1:{port}"),
        }],
    });
    let oob = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(inv.to_string());
    let url = format!("http://127.0.0.1:{port}?oob={oob}");
    (
        Invitation::parse(&url).expect("a well-formed invitation"),
        port,
    )
}

#[tokio::test]
async fn a_mediator_that_is_down_is_a_clear_error() {
    let (invitation, port) = invitation_to_nobody();
    let err = common::bounded(
        Duration::from_secs(30),
        Agent::connect(
            &invitation,
            reqwest::Client::new(),
            &AgentOptions::default(),
        ),
    )
    .await
    .expect_err("nothing listens there");
    assert!(matches!(err, AriesError::Transport(_)), "{err:?}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_that_never_grants_is_a_time_out() {
    let peer = common::Peer::start_with("mediator-credo", &[("CREDO_GRANT", "0")]);
    let invitation = Invitation::parse(peer.var("INVITATION")).unwrap();
    let mut options = AgentOptions::default();
    options.timeout = Duration::from_secs(3);
    common::bounded(Duration::from_secs(60), async {
        let mut agent = Agent::connect(&invitation, reqwest::Client::new(), &options)
            .await
            .expect("the connection itself works");
        let err = agent.request_mediation().await.expect_err("no grant comes");
        assert!(matches!(err, AriesError::Timeout { .. }), "{err:?}");
        assert!(agent.grant().is_none());
        agent
            .ping()
            .await
            .expect("the connection still answers pings");
        agent.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_count_failures_when_the_mediator_is_down() {
    let (invitation, _) = invitation_to_nobody();
    let settings = MediatorSettings::new(invitation).timeout(Duration::from_secs(2));
    let report = common::bounded(
        Duration::from_secs(60),
        Swarm::new()
            .user::<MediatorPing>()
            .setting(settings)
            .users(3)
            .spawn_rate(10.0)
            .run_time(Duration::from_secs(3))
            .run(),
    )
    .await
    .expect("the run itself works");
    assert_eq!(report.reason, StopReason::RunTime, "{report}");
    let connect = report
        .snapshot
        .entry(KIND, "connect")
        .expect("connect attempts are recorded");
    assert!(connect.requests >= 3, "each user tried: {report}");
    assert_eq!(connect.failures, connect.requests, "{report}");
    assert!(
        report.snapshot.entry(KIND, "trust_ping").is_none(),
        "{report}"
    );
    assert!(!report.passed(), "failures fail the run: {report}");
    assert_eq!(report.exit_code(), 1, "{report}");
}
