//! The multi-tenant platform against real peers: an ACA-Py multi-tenant agent
//! (`peers/start multitenant`, its admin API behind a key) whose sub-wallets, created by
//! `MultitenantMediator` users, connect to a real ACA-Py mediator (`peers/start mediator`)
//! and are granted mediation; wrong `ISSUER_HEADERS` against it give the clear error.

mod common;

use std::time::Duration;

use serde_json::Value;
use swarm_aries::issuer::{IssuerClient, IssuerConfig, IssuerError, IssuerHeaders};
use swarm_aries::users::{Issue, IssuerSettings, MultitenantMediator, MultitenantSettings};
use swarm_core::{Swarm, UserContext};

const KEY: &str = "base-wallet-key";

fn config(url: &str, headers: &str) -> IssuerConfig {
    IssuerConfig::new(url)
        .unwrap()
        .headers(IssuerHeaders::parse(headers).unwrap())
        .timeout(Duration::from_secs(30))
}

/// A GET or POST on the admin API with these headers; the JSON answer.
async fn admin(method: &str, url: &str, headers: &[(&str, &str)]) -> Value {
    let http = reqwest::Client::new();
    let mut req = if method == "POST" {
        http.post(url).json(&serde_json::json!({}))
    } else {
        http.get(url)
    };
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the admin API answers");
    assert!(
        resp.status().is_success(),
        "{method} {url}: {}",
        resp.status()
    );
    resp.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_created_connected_and_granted_mediation() {
    let platform = common::Peer::start_with("multitenant", &[("ISSUER_API_KEY", KEY)]);
    let mediator = common::Peer::start_with("mediator", &[("MEDIATOR_RAW_KEY", "1")]);
    let url = platform.var("ADMIN_URL").to_owned();
    const TENANTS: u64 = 3;
    let settings = MultitenantSettings::new(
        config(&url, &format!(r#"{{"X-API-Key": "{KEY}"}}"#)),
        mediator.var("INVITATION"),
    )
    .unwrap()
    .wait(Duration::from_millis(200), Duration::from_millis(400));
    let report = common::bounded(
        Duration::from_secs(240),
        Swarm::new()
            .user::<MultitenantMediator>()
            .setting(settings)
            .users(TENANTS as u32)
            .spawn_rate(1.0)
            .run_time(Duration::from_secs(8))
            .run(),
    )
    .await
    .unwrap();
    let entry = |kind: &str, name: &str| {
        report
            .snapshot
            .entry(kind, name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {report}"))
    };
    for (kind, name) in [
        ("POST", "/multitenancy/wallet"),
        ("POST", "/out-of-band/receive-invitation"),
        ("POST", "/mediation/request/[id]"),
        ("DIDCOMM", "tenant_connect"),
        ("DIDCOMM", "tenant_mediate"),
        ("DIDCOMM", "tenant_onboard"),
    ] {
        let e = entry(kind, name);
        assert_eq!(e.requests, TENANTS, "{kind} {name}: {report}");
        assert_eq!(e.failures, 0, "{kind} {name}: {report}");
    }
    let pings = entry("POST", "/connections/[id]/send-ping");
    assert!(pings.requests >= TENANTS, "{report}");
    assert_eq!(pings.failures, 0, "{report}");
    assert!(
        entry("GET", "/connections/[id]").requests >= TENANTS,
        "{report}"
    );
    assert!(
        entry("GET", "/mediation/requests/[id]").requests >= TENANTS,
        "{report}"
    );

    // Through the admin API: each sub-wallet, with its own token, has an active connection
    // to the mediator and a granted mediation.
    let key = [("X-API-Key", KEY)];
    let wallets = admin("GET", &format!("{url}/multitenancy/wallets"), &key).await;
    let wallets = wallets["results"].as_array().expect("results");
    assert_eq!(wallets.len() as u64, TENANTS, "{wallets:?}");
    for w in wallets {
        let id = w["wallet_id"].as_str().expect("wallet_id");
        let name = w["settings"]["wallet.name"].as_str().unwrap_or_default();
        assert!(name.starts_with("swarm-"), "{w}");
        let token = admin(
            "POST",
            &format!("{url}/multitenancy/wallet/{id}/token"),
            &key,
        )
        .await;
        let bearer = format!("Bearer {}", token["token"].as_str().expect("a token"));
        let tenant = [("X-API-Key", KEY), ("Authorization", bearer.as_str())];
        let conns = admin("GET", &format!("{url}/connections"), &tenant).await;
        let conns = conns["results"].as_array().expect("connections");
        assert_eq!(conns.len(), 1, "{conns:?}");
        assert_eq!(conns[0]["state"], "active", "{conns:?}");
        assert_eq!(conns[0]["their_label"], "mediator", "{conns:?}");
        let med = admin("GET", &format!("{url}/mediation/requests"), &tenant).await;
        let med = med["results"].as_array().expect("mediation records");
        assert_eq!(med.len(), 1, "{med:?}");
        assert_eq!(med[0]["state"], "granted", "{med:?}");
        assert_eq!(
            med[0]["connection_id"], conns[0]["connection_id"],
            "{med:?}"
        );
        assert!(
            !med[0]["routing_keys"].as_array().unwrap().is_empty(),
            "{med:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_issuer_headers_against_the_multitenant_agent_name_the_setting() {
    let platform = common::Peer::start_with("multitenant", &[("ISSUER_API_KEY", KEY)]);
    let mediator_oob = r##"{"@type": "https://didcomm.org/out-of-band/1.1/invitation", "@id": "x", "handshake_protocols": ["https://didcomm.org/didexchange/1.0"], "services": [{"id": "#inline", "type": "did-communication", "recipientKeys": ["did:key:z6MkmDwH6NzQS1pu59xLnC3AMSpPf1hsLV4p77JrBZhrG1ii"], "serviceEndpoint": "http://127.0.0.1:1"}]}"##;
    let url = platform.var("ADMIN_URL").to_owned();
    let recorder = UserContext::detached(None, 1).recorder().clone();

    // A wrong base-wallet key, and a tenant token the agent never issued.
    for headers in [
        r#"{"X-API-Key": "wrong-key"}"#.to_owned(),
        format!(r#"{{"X-API-Key": "{KEY}", "Authorization": "Bearer wrong-token"}}"#),
    ] {
        let client = IssuerClient::standalone(&config(&url, &headers), recorder.clone()).unwrap();
        let err = if headers.contains("Bearer") {
            client.send_ping("no-such-connection").await
        } else {
            client
                .create_wallet("swarm-bad", "bad")
                .await
                .map(|w| w.wallet_id)
        }
        .expect_err(&headers);
        assert!(
            matches!(err, IssuerError::Unauthorized { status: 401, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("check ISSUER_HEADERS"), "{msg}");
        assert!(!msg.contains("wrong-"), "{msg}");
    }

    // In runs: counted failures that name ISSUER_HEADERS, and the run goes on: tenants with
    // a wrong base-wallet key, and an issuer user holding a wrong tenant token.
    let settings =
        MultitenantSettings::new(config(&url, r#"{"X-API-Key": "wrong-key"}"#), mediator_oob)
            .unwrap();
    let issuer = IssuerSettings::new(config(
        &url,
        &format!(r#"{{"X-API-Key": "{KEY}", "Authorization": "Bearer wrong-token"}}"#),
    ));
    let report = common::bounded(
        Duration::from_secs(90),
        Swarm::new()
            .user::<MultitenantMediator>()
            .user::<Issue>()
            .setting(settings)
            .setting(issuer)
            .users(2)
            .spawn_rate(2.0)
            .run_time(Duration::from_secs(3))
            .run(),
    )
    .await
    .unwrap();
    for (kind, name) in [
        ("POST", "/multitenancy/wallet"),
        ("POST", "/out-of-band/create-invitation"),
    ] {
        let e = report
            .snapshot
            .entry(kind, name)
            .unwrap_or_else(|| panic!("no {kind} {name}: {report}"));
        assert!(e.requests >= 1, "{report}");
        assert_eq!(e.failures, e.requests, "{report}");
        assert_eq!(e.codes.get("401").copied(), Some(e.requests), "{report}");
        assert!(
            report
                .snapshot
                .errors
                .iter()
                .any(|x| x.name == name && x.message.contains("check ISSUER_HEADERS")),
            "{report}"
        );
    }
    assert!(
        report.snapshot.entry("DIDCOMM", "tenant_onboard").is_none(),
        "{report}"
    );
}
