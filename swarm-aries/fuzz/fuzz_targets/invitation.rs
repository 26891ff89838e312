//! Any text given to `Invitation::parse` yields an invitation or an error, never a panic.
//!
//! The input is parsed three ways: as written (a URL or raw JSON), and base64-encoded into
//! `?oob=` (URL-safe, unpadded) and `?d_m=` (standard, padded) URLs, so that mutated JSON reaches
//! the decoded-message paths (out-of-band, connections/1.0 and connectionless) without the
//! fuzzer having to discover base64. Checks, beyond "no panic":
//! - an `?oob=` URL of a JSON object parses exactly as that raw JSON does;
//! - every invitation parsed has an `@id`, at least one service, and every service has at least
//!   one recipient key and base58 verkeys only;
//! - a `?d_m=` message is connectionless, with one service (inline: a trimmed, non-empty
//!   endpoint) and the message as its one request. (Endpoints of services resolved from a
//!   `did:peer:2` are taken as the DID writes them, so the endpoint check is for inline ones.)
#![no_main]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use swarm_aries::{Invitation, InvitationKind, Verkey};

fn check(invitation: &Invitation, input: &str) {
    assert!(!invitation.id.is_empty(), "empty @id from {input:?}");
    assert!(!invitation.services.is_empty(), "no service from {input:?}");
    for service in &invitation.services {
        assert!(!service.recipient_keys.is_empty(), "no key from {input:?}");
        for key in service.recipient_keys.iter().chain(&service.routing_keys) {
            let verkey = Verkey::from_base58(key)
                .unwrap_or_else(|e| panic!("key {key:?} from {input:?}: {e}"));
            assert_eq!(&verkey.to_base58(), key, "from {input:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let raw = Invitation::parse(text);
    if let Ok(invitation) = &raw {
        check(invitation, text);
    }

    let oob = format!(
        "https://agent.example/?oob={}",
        URL_SAFE_NO_PAD.encode(data)
    );
    let from_oob = Invitation::parse(&oob);
    if let Ok(invitation) = &from_oob {
        check(invitation, text);
    }
    // Raw JSON and its `?oob=` URL are the same invitation (when the raw input is taken as
    // JSON: it starts with '{' and has no white space around it for `trim` to remove).
    if text.starts_with('{') && text.trim() == text {
        match (&raw, &from_oob) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("raw {a:?} but oob {b:?} for {text:?}"),
        }
    }

    let d_m = format!("didcomm://invite?d_m={}", STANDARD.encode(data));
    if let Ok(invitation) = Invitation::parse(&d_m) {
        check(&invitation, text);
        assert_eq!(invitation.kind, InvitationKind::Connectionless, "{text:?}");
        assert_eq!(invitation.services.len(), 1, "{text:?}");
        assert_eq!(invitation.requests.len(), 1, "{text:?}");
        let endpoint = &invitation.services[0].endpoint;
        assert!(
            !endpoint.is_empty() && endpoint.trim() == endpoint,
            "endpoint {endpoint:?} from {text:?}"
        );
    }
});
