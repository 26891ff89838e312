use serde_json::{json, Value};

use super::*;

/// A presentation signed by ACA-Py 1.7.0's own `Ed25519Signature2018` suite
/// (`sign_presentation`, seed 1..=32, challenge `c-1`, domain `swarm`): see
/// `testdata/make_fixture.py`.
fn acapy_signed() -> Value {
    serde_json::from_str(include_str!("testdata/acapy_signed_vp.json")).unwrap()
}

#[test]
fn the_canonical_form_is_pylds() {
    let mut vp = acapy_signed();
    vp.as_object_mut().unwrap().remove("proof");
    // pyld's URDNA2015 N-Quads of the same presentation, with ACA-Py's cached contexts.
    assert_eq!(canonicalize(&vp).unwrap(), include_str!("testdata/vp.nq"));
}

#[test]
fn a_presentation_signed_by_acapy_verifies() {
    verify_ed25519_2018(&acapy_signed()).unwrap();
}

#[test]
fn a_tampered_presentation_does_not_verify() {
    let mut vp = acapy_signed();
    vp["verifiableCredential"][0]["credentialSubject"]["score"] = json!("other");
    assert!(verify_ed25519_2018(&vp).is_err());
    let mut vp = acapy_signed();
    vp["proof"]["challenge"] = json!("c-2");
    assert!(verify_ed25519_2018(&vp).is_err());
}

#[test]
fn signed_here_verifies_and_matches_the_key() {
    let key = AgentKey::from_seed(&std::array::from_fn(|i| i as u8 + 1));
    let mut vp = acapy_signed();
    let acapy_proof = vp.as_object_mut().unwrap().remove("proof").unwrap();
    let mut options = serde_json::Map::new();
    for k in ["created", "proofPurpose", "challenge", "domain"] {
        options.insert(k.to_owned(), acapy_proof[k].clone());
    }
    let proof = sign_ed25519_2018(&vp, options, &key).unwrap();
    assert_eq!(
        proof["verificationMethod"],
        acapy_proof["verificationMethod"]
    );
    assert_eq!(proof["type"], "Ed25519Signature2018");
    vp["proof"] = proof;
    verify_ed25519_2018(&vp).unwrap();
}

#[test]
fn an_unknown_remote_context_is_an_error_not_a_fetch() {
    let doc = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://example.invalid/ctx/v1"],
        "type": ["VerifiablePresentation"],
    });
    let e = canonicalize(&doc).unwrap_err();
    assert!(e.to_string().contains("expansion failed"), "{e}");
}

#[test]
fn types_expand_through_the_contexts() {
    let vc = &acapy_signed()["verifiableCredential"][0];
    assert_eq!(
        expanded_types(vc).unwrap(),
        ["https://www.w3.org/2018/credentials#VerifiableCredential"]
    );
    let custom = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", {"@vocab": "urn:example:vocab#"}],
        "type": ["VerifiableCredential", "Score", "https://example.org/Abs"],
    });
    let mut types = expanded_types(&custom).unwrap();
    types.sort();
    assert_eq!(
        types,
        [
            "https://example.org/Abs",
            "https://www.w3.org/2018/credentials#VerifiableCredential",
            "urn:example:vocab#Score",
        ]
    );
}
