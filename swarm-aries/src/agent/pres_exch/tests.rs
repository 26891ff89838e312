use std::collections::VecDeque;

use serde_json::{json, Value};

use super::*;

fn credential(subject: &Value) -> StoredCredential {
    StoredCredential {
        thread_id: "t".to_owned(),
        format: "ld_proof",
        credential: json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", {"@vocab": "urn:example:vocab#"}],
            "type": ["VerifiableCredential"],
            "issuer": "did:key:z6MkIssuer",
            "issuanceDate": "2026-01-01T00:00:00Z",
            "credentialSubject": subject,
            "proof": {"type": "Ed25519Signature2018", "jws": "..."},
        }),
    }
}

fn request(fields: &Value) -> Value {
    json!({
        "options": {"challenge": "c-1", "domain": "swarm"},
        "presentation_definition": {
            "id": "pd-1",
            "format": {"ldp_vp": {"proof_type": ["Ed25519Signature2018"]}},
            "input_descriptors": [{
                "id": "score",
                "schema": [{"uri": "https://www.w3.org/2018/credentials#VerifiableCredential"}],
                "constraints": {"fields": fields},
            }],
        },
    })
}

fn held(subjects: &[Value]) -> VecDeque<StoredCredential> {
    subjects.iter().map(credential).collect()
}

#[test]
fn the_newest_matching_credential_is_presented_with_its_submission() {
    let creds = held(&[
        json!({"score": "old"}),
        json!({"score": "new"}),
        json!({"x": 1}),
    ]);
    let req = request(&json!([{"path": ["$.credentialSubject.score"]}]));
    let dif = DifRequest::parse(&req).unwrap();
    assert_eq!((dif.challenge, dif.domain), (Some("c-1"), Some("swarm")));
    let vp = dif.presentation(&creds).unwrap();
    assert_eq!(vp["verifiableCredential"].as_array().unwrap().len(), 1);
    assert_eq!(
        vp["verifiableCredential"][0]["credentialSubject"]["score"],
        "new"
    );
    assert_eq!(vp["presentation_submission"]["definition_id"], "pd-1");
    assert_eq!(
        vp["presentation_submission"]["descriptor_map"],
        json!([{"id": "score", "format": "ldp_vc", "path": "$.verifiableCredential[0]"}])
    );
    assert_eq!(
        vp["type"],
        json!(["VerifiablePresentation", "PresentationSubmission"])
    );
}

#[test]
fn filters_pick_among_credentials() {
    let creds = held(&[json!({"score": "a"}), json!({"score": "b"})]);
    for (filter, want) in [
        (json!({"const": "a"}), Some("a")),
        (json!({"enum": ["b", "c"]}), Some("b")),
        (json!({"type": "string", "minLength": 1}), Some("b")),
        (json!({"type": "number"}), None),
        (json!({"const": "z"}), None),
    ] {
        let req = request(&json!([{"path": ["$.credentialSubject.score"], "filter": filter}]));
        let got = DifRequest::parse(&req).unwrap().presentation(&creds);
        match want {
            Some(w) => assert_eq!(
                got.unwrap()["verifiableCredential"][0]["credentialSubject"]["score"],
                w,
                "{filter}"
            ),
            None => assert!(
                matches!(got, Err(PresentationError::NoMatchingCredential { .. })),
                "{filter}: {got:?}"
            ),
        }
    }
}

#[test]
fn a_missing_attribute_names_the_descriptor_and_the_path() {
    let creds = held(&[json!({"score": "a"})]);
    let req = request(&json!([{"path": ["$.credentialSubject.age"]}]));
    let e = DifRequest::parse(&req)
        .unwrap()
        .presentation(&creds)
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("\"score\"") && text.contains("$.credentialSubject.age"),
        "{text}"
    );
    // An optional field may be missing.
    let req = request(&json!([{"path": ["$.credentialSubject.age"], "optional": true}]));
    DifRequest::parse(&req)
        .unwrap()
        .presentation(&creds)
        .unwrap();
    // No credential at all.
    let e = DifRequest::parse(&request(&json!([])))
        .unwrap()
        .presentation(&VecDeque::new())
        .unwrap_err();
    assert!(e.to_string().contains("no ld_proof credential"), "{e}");
}

#[test]
fn another_schema_does_not_match() {
    let creds = held(&[json!({"score": "a"})]);
    let mut req = request(&json!([]));
    req["presentation_definition"]["input_descriptors"][0]["schema"] =
        json!([{"uri": "https://example.org/DriverLicense"}]);
    let e = DifRequest::parse(&req)
        .unwrap()
        .presentation(&creds)
        .unwrap_err();
    assert!(
        e.to_string().contains("https://example.org/DriverLicense"),
        "{e}"
    );
}

#[test]
fn json_paths_of_the_subset() {
    let doc = json!({"a": {"b c": [10, {"d": true}]}});
    assert_eq!(json_path(&doc, "$").ok().flatten(), Some(&doc));
    assert_eq!(
        json_path(&doc, "$.a['b c'][0]").ok().flatten(),
        Some(&json!(10))
    );
    assert_eq!(
        json_path(&doc, "$[\"a\"]['b c'][1].d").ok().flatten(),
        Some(&json!(true))
    );
    assert!(matches!(json_path(&doc, "$.a.x"), Ok(None)));
    assert!(matches!(json_path(&doc, "$.a['b c'][5]"), Ok(None)));
    for bad in ["$..d", "$.a[*]", "a.b", "$.a[?(@.d)]", "$.a["] {
        assert!(
            matches!(json_path(&doc, bad), Err(Mismatch::Unsupported(_))),
            "{bad}"
        );
    }
}

#[test]
fn malformed_and_unsupported_definitions_are_refused() {
    for (bad, want) in [
        (json!({}), "presentation_definition"),
        (
            json!({"presentation_definition": {"input_descriptors": [{}]}}),
            "no id",
        ),
        (
            json!({"presentation_definition": {"id": "x", "input_descriptors": []}}),
            "input_descriptors",
        ),
    ] {
        let e = DifRequest::parse(&bad).unwrap_err();
        assert!(
            matches!(e, PresentationError::Malformed { .. }) && e.to_string().contains(want),
            "{e}"
        );
    }
    let mut req = request(&json!([]));
    req["presentation_definition"]["submission_requirements"] = json!([]);
    assert!(matches!(
        DifRequest::parse(&req),
        Err(PresentationError::Unsupported(_))
    ));
    let mut req = request(&json!([]));
    req["presentation_definition"]["format"] =
        json!({"ldp_vp": {"proof_type": ["BbsBlsSignature2020"]}});
    assert!(matches!(
        DifRequest::parse(&req),
        Err(PresentationError::Unsupported(_))
    ));
    let mut req = request(&json!([]));
    req["presentation_definition"]["format"] = json!({"jwt_vp": {"alg": ["EdDSA"]}});
    assert!(matches!(
        DifRequest::parse(&req),
        Err(PresentationError::Unsupported(_))
    ));
    // Selective disclosure is said to be unsupported, not "no credential".
    let mut req = request(&json!([]));
    req["presentation_definition"]["input_descriptors"][0]["constraints"]["limit_disclosure"] =
        json!("required");
    let e = DifRequest::parse(&req)
        .unwrap()
        .presentation(&held(&[json!({"score": "a"})]))
        .unwrap_err();
    assert!(e.to_string().contains("limit_disclosure"), "{e}");
}
