use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use super::*;
use crate::keys::did_peer::did_peer_2;
use crate::keys::AgentKey;

fn key(seed: u8) -> Verkey {
    AgentKey::from_seed(&[seed; 32]).verkey()
}

/// An out-of-band invitation shaped like ACA-Py 1.x's `POST /out-of-band/create-invitation`.
fn acapy_oob() -> Value {
    json!({
        "@type": "https://didcomm.org/out-of-band/1.1/invitation",
        "@id": "1b5ac0e3-5d4d-4b5e-8f3b-3bd1a1f5a9a1",
        "label": "mediator",
        "handshake_protocols": ["https://didcomm.org/didexchange/1.0",
                                "https://didcomm.org/didexchange/1.1"],
        "accept": ["didcomm/aip1", "didcomm/aip2;env=rfc19"],
        "services": [{
            "id": "#inline",
            "type": "did-communication",
            "recipientKeys": [key(1).to_did_key_id()],
            "serviceEndpoint": "http://127.0.0.1:8020",
        }],
    })
}

/// A connections/1.0 invitation with the legacy prefix and raw base58 keys.
fn connections_invitation() -> Value {
    json!({
        "@type": "did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/connections/1.0/invitation",
        "@id": "8e8b1c5a-2f9e-4c54-a3f5-0c5c1a9a0d10",
        "label": "Faber Agent",
        "recipientKeys": [key(2).to_base58()],
        "routingKeys": [key(3).to_base58()],
        "serviceEndpoint": "http://127.0.0.1:8030",
    })
}

/// A connectionless proof request with its own `~service`.
fn connectionless_request() -> Value {
    json!({
        "@type": "https://didcomm.org/present-proof/2.0/request-presentation",
        "@id": "0f2b7f35-35b4-4bd7-9d5e-3f5b7c9e2c11",
        "will_confirm": true,
        "formats": [],
        "request_presentations~attach": [],
        "~service": {
            "recipientKeys": [key(4).to_base58()],
            "routingKeys": [key(5).to_did_key()],
            "serviceEndpoint": "https://verifier.example/didcomm",
        },
    })
}

fn url(param: &str, json: &Value, engine: &impl base64::Engine) -> String {
    format!(
        "https://agent.example/invite?{param}={}",
        engine.encode(json.to_string())
    )
}

#[test]
fn out_of_band_url() {
    let want_service = Service::new("http://127.0.0.1:8020", vec![key(1).to_base58()], vec![]);
    let oob = acapy_oob();
    for input in [
        // ACA-Py's form: `http://host:port?oob=<base64url, unpadded>`.
        format!(
            "http://127.0.0.1:8020?oob={}",
            URL_SAFE_NO_PAD.encode(oob.to_string())
        ),
        url("oob", &oob, &URL_SAFE),
        url("oob", &oob, &STANDARD),
        format!(
            "didcomm://invite?oob={}",
            URL_SAFE_NO_PAD.encode(oob.to_string())
        ),
        format!(
            "  https://x.example/?a=1&oob={}&b=2#top  ",
            URL_SAFE_NO_PAD.encode(oob.to_string())
        ),
        oob.to_string(),
        serde_json::to_string_pretty(&oob).unwrap(),
    ] {
        let invitation = Invitation::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(invitation.kind, InvitationKind::OutOfBand);
        assert_eq!(invitation.id, "1b5ac0e3-5d4d-4b5e-8f3b-3bd1a1f5a9a1");
        assert_eq!(invitation.label.as_deref(), Some("mediator"));
        assert_eq!(
            invitation.handshake_protocols,
            [
                HandshakeProtocol::DidExchange10,
                HandshakeProtocol::DidExchange11
            ]
        );
        assert_eq!(invitation.services, std::slice::from_ref(&want_service));
        assert_eq!(invitation.service(), Some(&want_service));
        assert!(invitation.requests.is_empty());
    }
}

#[test]
fn standard_base64_with_plus_and_slash() {
    // A label chosen so that standard base64 has '+' and '/', sent unescaped and escaped.
    let mut oob = acapy_oob();
    oob["label"] = "~~~>>>???".into();
    let encoded = STANDARD.encode(oob.to_string());
    assert!(encoded.contains('+') && encoded.contains('/'), "{encoded}");
    let escaped = encoded
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    for input in [
        format!("http://h?oob={encoded}"),
        format!("http://h?oob={escaped}"),
    ] {
        let invitation = Invitation::parse(&input).unwrap();
        assert_eq!(invitation.label.as_deref(), Some("~~~>>>???"));
    }
}

#[test]
fn connections_url() {
    let invitation = connections_invitation();
    for input in [url("c_i", &invitation, &URL_SAFE), invitation.to_string()] {
        let parsed = Invitation::parse(&input).unwrap();
        assert_eq!(parsed.kind, InvitationKind::Connections);
        assert_eq!(parsed.id, "8e8b1c5a-2f9e-4c54-a3f5-0c5c1a9a0d10");
        assert_eq!(parsed.label.as_deref(), Some("Faber Agent"));
        assert_eq!(
            parsed.handshake_protocols,
            [HandshakeProtocol::Connections10]
        );
        assert_eq!(
            parsed.services,
            [Service::new(
                "http://127.0.0.1:8030",
                vec![key(2).to_base58()],
                vec![key(3).to_base58()]
            )]
        );
    }
    let public_did = json!({"@type": "https://didcomm.org/connections/1.0/invitation",
                            "@id": "x", "label": "L", "did": "did:sov:WgWxqztrNooG92RXvxSTWv"});
    assert!(matches!(
        Invitation::from_json(&public_did),
        Err(InvitationError::UnsupportedDid(_))
    ));
}

#[test]
fn connectionless_url() {
    let request = connectionless_request();
    for input in [url("d_m", &request, &URL_SAFE_NO_PAD), request.to_string()] {
        let parsed = Invitation::parse(&input).unwrap();
        assert_eq!(parsed.kind, InvitationKind::Connectionless);
        assert_eq!(parsed.id, "0f2b7f35-35b4-4bd7-9d5e-3f5b7c9e2c11");
        assert!(parsed.handshake_protocols.is_empty());
        assert_eq!(
            parsed.services,
            [Service::new(
                "https://verifier.example/didcomm",
                vec![key(4).to_base58()],
                vec![key(5).to_base58()]
            )]
        );
        assert_eq!(parsed.requests, std::slice::from_ref(&request));
    }
}

#[test]
fn did_peer_2_services_and_attachments() {
    let did = did_peer_2(&key(6), "ws://127.0.0.1:8021", &[key(7).to_did_key_id()]).unwrap();
    let request = json!({"@type": "https://didcomm.org/trust_ping/1.0/ping", "@id": "p"});
    let oob = json!({
        "@type": "did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/out-of-band/1.0/invitation",
        "@id": "inv-1",
        "services": [did, {"recipientKeys": [key(8).to_did_key()],
                           "serviceEndpoint": {"uri": "http://h/2"}}],
        "handshake_protocols": ["did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/connections/1.0",
                                "https://didcomm.org/didexchange/2.0"],
        "requests~attach": [
            {"@id": "a", "mime-type": "application/json", "data": {"json": request}},
            {"@id": "b", "data": {"base64": STANDARD.encode(request.to_string())}},
        ],
    });
    let parsed = Invitation::from_json(&oob).unwrap();
    assert_eq!(parsed.label, None);
    assert_eq!(
        parsed.handshake_protocols,
        [
            HandshakeProtocol::Connections10,
            HandshakeProtocol::Other("https://didcomm.org/didexchange/2.0".into())
        ]
    );
    assert_eq!(
        parsed.services,
        [
            Service::new(
                "ws://127.0.0.1:8021",
                vec![key(6).to_base58()],
                vec![key(7).to_base58()]
            ),
            Service::new("http://h/2", vec![key(8).to_base58()], vec![]),
        ]
    );
    assert_eq!(parsed.requests, [request.clone(), request]);
}

#[test]
fn handshake_protocol_names() {
    for protocol in [
        HandshakeProtocol::DidExchange10,
        HandshakeProtocol::DidExchange11,
        HandshakeProtocol::Connections10,
    ] {
        assert_eq!(HandshakeProtocol::parse(protocol.as_str()), protocol);
        let sov = protocol.as_str().replace(DIDCOMM_PREFIX, SOV_PREFIX);
        assert_eq!(HandshakeProtocol::parse(&sov), protocol);
    }
    assert_eq!(
        HandshakeProtocol::parse("https://didcomm.org/didexchange/1.1/"),
        HandshakeProtocol::DidExchange11
    );
}

fn oob_with(edit: impl FnOnce(&mut Value)) -> String {
    let mut oob = acapy_oob();
    edit(&mut oob);
    url("oob", &oob, &URL_SAFE_NO_PAD)
}

#[test]
fn bad_invitations_say_what_is_wrong() {
    let b64 = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("   ".into(), "empty"),
        ("hello".into(), "neither a URL nor JSON"),
        ("http://h/invite".into(), "no oob, c_i or d_m"),
        ("http://h/?x=1&oobx=2".into(), "no oob, c_i or d_m"),
        ("http://h/?oob=***".into(), "oob parameter is not base64"),
        ("http://h/?c_i=%%%".into(), "c_i parameter is not base64"),
        (
            format!("http://h/?oob={}", b64("not json")),
            "oob is not a JSON object",
        ),
        (format!("http://h/?oob={}", b64("[1]")), "not a JSON object"),
        (
            format!("http://h/?d_m={}", b64("\"s\"")),
            "d_m is not a JSON object",
        ),
        ("{not json".into(), "invitation is not a JSON object"),
        ("{}".into(), "no @type"),
        (r#"{"@type": 5}"#.into(), "no @type"),
        (
            r#"{"@type": "nonsense"}"#.into(),
            "unknown invitation type \"nonsense\"",
        ),
        (
            r#"{"@type": "https://didcomm.org/out-of-band/2.0/invitation"}"#.into(),
            "unknown invitation type",
        ),
        (
            r#"{"@type": "https://didcomm.org/trust_ping/1.0/ping", "@id": "x"}"#.into(),
            "unknown invitation type",
        ),
        (
            format!("http://h/?d_m={}", b64(r#"{"@id": "x"}"#)),
            "no @type",
        ),
        (
            format!(
                "http://h/?d_m={}",
                b64(r#"{"@type": "https://didcomm.org/a/1.0/b"}"#)
            ),
            "no service",
        ),
        (oob_with(|o| o["services"] = json!([])), "no service"),
        (
            oob_with(|o| {
                o.as_object_mut().unwrap().remove("services");
            }),
            "no service",
        ),
        (
            oob_with(|o| o["services"] = json!("x")),
            "services is missing or not",
        ),
        (
            oob_with(|o| o["services"] = json!([7])),
            "services is missing or not",
        ),
        (
            oob_with(|o| o["services"][0]["recipientKeys"] = json!([])),
            "service 0 has no recipient key",
        ),
        (
            oob_with(|o| o["services"][0]["recipientKeys"] = json!([1])),
            "recipientKeys is missing",
        ),
        (
            oob_with(|o| o["services"][0]["recipientKeys"] = json!("k")),
            "recipientKeys is missing",
        ),
        (
            oob_with(|o| o["services"][0]["recipientKeys"] = json!(["did:key:z6MkBAD"])),
            "service 0 has an invalid key \"did:key:z6MkBAD\"",
        ),
        (
            oob_with(|o| o["services"][0]["routingKeys"] = json!(["did:key:zQ3s"])),
            "invalid key",
        ),
        (
            oob_with(|o| o["services"][0]["serviceEndpoint"] = json!("")),
            "service 0 has no serviceEndpoint",
        ),
        (
            oob_with(|o| o["services"][0]["serviceEndpoint"] = json!({})),
            "no serviceEndpoint",
        ),
        (
            oob_with(|o| o["services"] = json!(["did:sov:abc"])),
            "not supported",
        ),
        (
            oob_with(|o| o["services"] = json!(["did:peer:4zQm"])),
            "not supported",
        ),
        (
            oob_with(|o| o["services"] = json!(["did:peer:2.Vz6Mk"])),
            "service 0: invalid did:peer:2",
        ),
        (oob_with(|o| o["@id"] = json!(null)), "@id is missing"),
        (
            oob_with(|o| o["handshake_protocols"] = json!("x")),
            "handshake_protocols is missing",
        ),
        (
            oob_with(|o| o["handshake_protocols"] = json!([1])),
            "handshake_protocols is missing",
        ),
        (
            oob_with(|o| o["requests~attach"] = json!({})),
            "requests~attach is missing",
        ),
        (
            oob_with(|o| o["requests~attach"] = json!([{"data": {}}])),
            "attachment 0 has no usable",
        ),
        (
            oob_with(|o| {
                o["requests~attach"] = json!([{"data": {"json": 1}}, {"data": {"base64": "!"}}]);
            }),
            "attachment 1",
        ),
    ];
    for (input, check) in cases {
        let err = Invitation::parse(&input).unwrap_err().to_string();
        assert!(err.contains(check), "{input:?}: {err:?} lacks {check:?}");
    }
}

#[test]
fn garbage_never_panics() {
    let valid = [
        url("oob", &acapy_oob(), &URL_SAFE_NO_PAD),
        url("c_i", &connections_invitation(), &STANDARD),
        url("d_m", &connectionless_request(), &URL_SAFE),
        acapy_oob().to_string(),
    ];
    for input in &valid {
        assert!(Invitation::parse(input).is_ok(), "{input}");
        // Every prefix and every single-character change.
        for (at, c) in input.char_indices() {
            let _ = Invitation::parse(&input[..at]);
            let mut changed = input.clone();
            changed.replace_range(at..at + c.len_utf8(), "%");
            let _ = Invitation::parse(&changed);
        }
    }
    for input in [
        "?",
        "?oob",
        "?oob=",
        "?oob=&c_i=",
        "{",
        "{\"@type\":null}",
        "\u{0}?oob=\u{0}",
        "?oob=🦀",
    ] {
        assert!(Invitation::parse(input).is_err(), "{input:?}");
    }
}
