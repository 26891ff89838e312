use std::collections::HashMap;

use serde_json::{json, Value};

use super::*;
use crate::message::new_message;
use crate::service::Service;

fn ping() -> Value {
    let mut message = new_message("https://didcomm.org/trust_ping/1.0/ping");
    message["response_requested"] = true.into();
    message
}

fn protected_header(envelope: &[u8]) -> Value {
    let envelope: Value = serde_json::from_slice(envelope).unwrap();
    let protected = b64_decode(envelope["protected"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&protected).unwrap()
}

#[test]
fn authcrypt_round_trip() {
    let alice = AgentKey::generate();
    let bob = AgentKey::generate();
    let message = ping();
    let envelope = pack(&message, &[bob.verkey_base58()], Some(&alice)).unwrap();

    let unpacked = unpack(&envelope, &bob).unwrap();
    assert_eq!(unpacked.message, message);
    assert_eq!(
        unpacked.sender_verkey.as_deref(),
        Some(alice.verkey_base58())
    );
    assert_eq!(unpacked.recipient_verkey, bob.verkey_base58());

    // The wire format ACA-Py reads.
    let text = std::str::from_utf8(&envelope).unwrap();
    assert!(!text.contains('='), "{text}");
    let outer: Value = serde_json::from_slice(&envelope).unwrap();
    let keys: Vec<_> = outer.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["ciphertext", "iv", "protected", "tag"]);
    assert_eq!(b64_decode(outer["iv"].as_str().unwrap()).unwrap().len(), 12);
    assert_eq!(
        b64_decode(outer["tag"].as_str().unwrap()).unwrap().len(),
        16
    );
    let header = protected_header(&envelope);
    assert_eq!(header["enc"], "xchacha20poly1305_ietf");
    assert_eq!(header["typ"], "JWM/1.0");
    assert_eq!(header["alg"], "Authcrypt");
    let recipient = &header["recipients"][0]["header"];
    assert_eq!(recipient["kid"], bob.verkey_base58());
    let iv = b64_decode(recipient["iv"].as_str().unwrap()).unwrap();
    assert_eq!(iv.len(), 24);
    // The sender is the sealed box of the base58 verkey string.
    let sealed = b64_decode(recipient["sender"].as_str().unwrap()).unwrap();
    let sender = bob.x25519_secret().unseal(&sealed).unwrap();
    assert_eq!(sender, alice.verkey_base58().as_bytes());

    // Not for a third party, nor for the sender.
    let eve = AgentKey::generate();
    assert!(matches!(
        unpack(&envelope, &eve),
        Err(EnvelopeError::NoMatchingRecipient { recipients: 1 })
    ));
}

#[test]
fn anoncrypt_round_trip() {
    let bob = AgentKey::generate();
    let message = json!({"@type": "https://didcomm.org/basicmessage/1.0/message", "@id": "1",
                         "content": "héllo ✓"});
    let envelope = pack(&message, &[bob.did_key()], None).unwrap();
    let header = protected_header(&envelope);
    assert_eq!(header["alg"], "Anoncrypt");
    let recipient = header["recipients"][0]["header"].as_object().unwrap();
    assert_eq!(recipient.len(), 1, "{recipient:?}");
    assert_eq!(recipient["kid"], bob.verkey_base58());

    let unpacked = unpack(&envelope, &bob).unwrap();
    assert_eq!(unpacked.message, message);
    assert_eq!(unpacked.sender_verkey, None);
}

#[test]
fn multiple_recipients_and_keyrings() {
    let alice = AgentKey::generate();
    let bobs: Vec<AgentKey> = (0..3).map(|_| AgentKey::generate()).collect();
    let kids: Vec<&str> = bobs.iter().map(AgentKey::verkey_base58).collect();
    let message = ping();
    let envelope = pack(&message, &kids, Some(&alice)).unwrap();
    assert_eq!(
        protected_header(&envelope)["recipients"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    for bob in &bobs {
        let unpacked = unpack(&envelope, bob).unwrap();
        assert_eq!(unpacked.message, message);
        assert_eq!(unpacked.recipient_verkey, bob.verkey_base58());
    }
    // We hold several keys, only the last of which is a recipient.
    let ours = vec![AgentKey::generate(), AgentKey::generate(), bobs[2].clone()];
    assert_eq!(unpack(&envelope, &ours).unwrap().recipient_verkey, kids[2]);
    assert_eq!(
        unpack(&envelope, ours.as_slice()).unwrap().recipient_verkey,
        kids[2]
    );
    let map: HashMap<String, AgentKey> = ours
        .into_iter()
        .map(|key| (key.verkey_base58().to_owned(), key))
        .collect();
    assert_eq!(unpack(&envelope, &map).unwrap().recipient_verkey, kids[2]);
}

#[test]
fn xchacha_iv_is_accepted() {
    let alice = AgentKey::generate();
    let bob = AgentKey::generate();
    let message = ping();
    for sender in [Some(&alice), None] {
        let plaintext = serde_json::to_vec(&message).unwrap();
        let envelope = pack_with(
            &plaintext,
            &[bob.verkey()],
            sender,
            Cipher::XChaCha20Poly1305,
        )
        .unwrap();
        let outer: Value = serde_json::from_slice(&envelope).unwrap();
        assert_eq!(b64_decode(outer["iv"].as_str().unwrap()).unwrap().len(), 24);
        let unpacked = unpack(&envelope, &bob).unwrap();
        assert_eq!(unpacked.message, message);
        assert_eq!(
            unpacked.sender_verkey.as_deref(),
            sender.map(AgentKey::verkey_base58)
        );
    }
}

/// Envelopes packed by libsodium (PyNaCl 1.6.2) with a reference DIDComm v1 packer:
/// authcrypt and anoncrypt, IETF (12-byte) and XChaCha (24-byte) ivs, padded base64, and
/// several recipients. Recipient seed: 32 × 0x11; sender seed: 32 × 0x22.
#[test]
fn unpacks_libsodium_envelopes() {
    let fixtures: Value = serde_json::from_str(include_str!("testdata/libsodium.json")).unwrap();
    let bob = AgentKey::from_seed(&[0x11; 32]);
    let alice = AgentKey::from_seed(&[0x22; 32]);
    assert_eq!(fixtures["recipient_verkey"], bob.verkey_base58());
    assert_eq!(fixtures["sender_verkey"], alice.verkey_base58());
    let want = json!({"@type": "https://didcomm.org/trust_ping/1.0/ping", "@id": "5f1c0d4e-ping",
                      "response_requested": true});
    for (name, sender) in [
        ("authcrypt_ietf_padded", Some(alice.verkey_base58())),
        ("authcrypt_xchacha", Some(alice.verkey_base58())),
        ("anoncrypt_xchacha", None),
        ("anoncrypt_ietf", None),
    ] {
        let envelope = fixtures[name].as_str().unwrap();
        let unpacked = unpack(envelope.as_bytes(), &bob).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(unpacked.message, want, "{name}");
        assert_eq!(unpacked.sender_verkey.as_deref(), sender, "{name}");
    }
    assert!(fixtures["authcrypt_ietf_padded"]
        .as_str()
        .unwrap()
        .contains('='));
}

#[test]
fn forward_nesting() {
    let alice = AgentKey::generate();
    let bob = AgentKey::generate();
    let near = AgentKey::generate(); // bob's mediator
    let far = AgentKey::generate(); // the mediator's own mediator, reached first
    let message = ping();
    let service = Service::new(
        "http://127.0.0.1:1",
        vec![bob.verkey_base58().to_owned()],
        vec![
            near.verkey().to_did_key_id(),
            far.verkey_base58().to_owned(),
        ],
    );
    let envelope = pack_for_service(&message, &service, Some(&alice)).unwrap();

    // The outermost envelope is for the last routing key.
    let hop = unpack(&envelope, &far).unwrap();
    assert_eq!(hop.sender_verkey, None);
    assert_eq!(hop.message["@type"], FORWARD_TYPE);
    assert!(hop.message["@id"].is_string());
    assert_eq!(hop.message["to"], near.verkey_base58());
    let inner = serde_json::to_vec(&hop.message["msg"]).unwrap();

    let hop = unpack(&inner, &near).unwrap();
    assert_eq!(hop.message["@type"], FORWARD_TYPE);
    assert_eq!(hop.message["to"], bob.verkey_base58());
    let inner = serde_json::to_vec(&hop.message["msg"]).unwrap();

    let unpacked = unpack(&inner, &bob).unwrap();
    assert_eq!(unpacked.message, message);
    assert_eq!(
        unpacked.sender_verkey.as_deref(),
        Some(alice.verkey_base58())
    );
}

#[test]
fn forward_edge_cases() {
    let bob = AgentKey::generate();
    let envelope = pack(&ping(), &[bob.verkey_base58()], None).unwrap();
    // No routing keys: unchanged.
    let same = forward::<&str>(&envelope, bob.verkey_base58(), &[]).unwrap();
    assert_eq!(same, envelope);
    let service = Service::new("ws://x", vec![bob.verkey_base58().to_owned()], vec![]);
    assert!(unpack(&pack_for_service(&ping(), &service, None).unwrap(), &bob).is_ok());
    // `to` given as a did:key is written as base58.
    let mediator = AgentKey::generate();
    let wrapped = forward(&envelope, &bob.did_key(), &[mediator.did_key()]).unwrap();
    let hop = unpack(&wrapped, &mediator).unwrap();
    assert_eq!(hop.message["to"], bob.verkey_base58());
    // Not an envelope, bad keys.
    for input in [&b"[1, 2]"[..], b"nope", b"", b"  \"x\""] {
        assert!(matches!(
            forward(input, bob.verkey_base58(), &[mediator.did_key()]),
            Err(EnvelopeError::NotAnEnvelope(_))
        ));
    }
    assert!(matches!(
        forward(&envelope, "bad", &[mediator.did_key()]),
        Err(EnvelopeError::Key(_))
    ));
    assert!(forward(&envelope, bob.verkey_base58(), &["did:key:bad"]).is_err());
}

#[test]
fn pack_errors() {
    let bob = AgentKey::generate();
    assert!(matches!(
        pack::<_, &str>(&ping(), &[], None),
        Err(EnvelopeError::NoRecipients)
    ));
    assert!(matches!(
        pack(&ping(), &["not-a-key"], None),
        Err(EnvelopeError::Key(_))
    ));
    let empty = Service::new("http://x", vec![], vec![bob.did_key()]);
    assert!(matches!(
        pack_for_service(&ping(), &empty, None),
        Err(EnvelopeError::NoRecipients)
    ));
}

/// Rebuilds an envelope's JSON after `edit` changes one of its fields or its header.
fn tampered(envelope: &[u8], edit: impl FnOnce(&mut Value, &mut Value)) -> Vec<u8> {
    let mut outer: Value = serde_json::from_slice(envelope).unwrap();
    let mut header = protected_header(envelope);
    let before = header.clone();
    edit(&mut outer, &mut header);
    if header != before {
        outer["protected"] = b64_encode(&serde_json::to_vec(&header).unwrap()).into();
    }
    serde_json::to_vec(&outer).unwrap()
}

#[test]
fn unpack_rejects_bad_envelopes() {
    let alice = AgentKey::generate();
    let bob = AgentKey::generate();
    let envelope = pack(&ping(), &[bob.verkey_base58()], Some(&alice)).unwrap();
    let flip = |field: &str, outer: &mut Value| {
        let mut bytes = b64_decode(outer[field].as_str().unwrap()).unwrap();
        bytes[0] ^= 1;
        outer[field] = b64_encode(&bytes).into();
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "not a DIDComm v1 envelope"),
        (b"{}".to_vec(), "not a DIDComm v1 envelope"),
        (b"{\"@type\": \"x\"}".to_vec(), "not a DIDComm v1 envelope"),
        (
            tampered(&envelope, |o, _| o["protected"] = "***".into()),
            "protected field is not base64",
        ),
        (
            tampered(&envelope, |o, _| o["protected"] = b64_encode(b"[]").into()),
            "protected header",
        ),
        (
            tampered(&envelope, |_, h| h["alg"] = "ECDH-1PU".into()),
            "unsupported alg",
        ),
        (
            tampered(&envelope, |_, h| h["enc"] = "A256GCM".into()),
            "unsupported enc",
        ),
        (
            tampered(&envelope, |_, h| {
                h["recipients"][0]["header"]["sender"] = Value::Null;
            }),
            "lacks \"sender\"",
        ),
        (
            tampered(&envelope, |_, h| {
                h["recipients"][0]["header"]["iv"] = "AAAA".into();
            }),
            "recipient iv is 3 bytes",
        ),
        (
            tampered(&envelope, |_, h| {
                h["recipients"][0]["header"]["sender"] = "AAAA".into();
            }),
            "cannot decrypt the sender",
        ),
        (
            tampered(&envelope, |_, h| {
                h["recipients"][0]["encrypted_key"] = "AAAA".into();
            }),
            "cannot decrypt the content key",
        ),
        (
            tampered(&envelope, |o, _| o["iv"] = "AAAA".into()),
            "iv is 3 bytes",
        ),
        (
            tampered(&envelope, |o, _| o["tag"] = "AAAA".into()),
            "tag is 3 bytes",
        ),
        (
            tampered(&envelope, |o, _| flip("tag", o)),
            "cannot decrypt the message",
        ),
        (
            tampered(&envelope, |o, _| flip("ciphertext", o)),
            "cannot decrypt the message",
        ),
        (
            tampered(&envelope, |o, _| flip("iv", o)),
            "cannot decrypt the message",
        ),
    ];
    for (input, check) in cases {
        let err = unpack(&input, &bob).unwrap_err().to_string();
        assert!(err.contains(check), "{check:?}: {err}");
    }
}

#[test]
fn unpack_rejects_a_non_json_plaintext() {
    let bob = AgentKey::generate();
    let envelope = pack_bytes(b"not json", &[bob.verkey()], None).unwrap();
    assert!(matches!(
        unpack(&envelope, &bob),
        Err(EnvelopeError::PlaintextNotJson(_))
    ));
}

#[test]
fn unpack_never_panics_on_garbage() {
    let bob = AgentKey::generate();
    let envelope = pack(&ping(), &[bob.verkey_base58()], Some(&bob)).unwrap();
    // Every prefix, and every single-byte corruption of a valid envelope.
    for end in 0..envelope.len() {
        let _ = unpack(&envelope[..end], &bob);
    }
    for at in 0..envelope.len() {
        let mut bytes = envelope.clone();
        bytes[at] = bytes[at].wrapping_add(1);
        let _ = unpack(&bytes, &bob);
    }
}
