use super::*;

#[test]
fn headers_parse_and_hide_their_values() {
    let h = IssuerHeaders::parse(r#"{"Authorization": "Bearer s3cret", "X-N": 5}"#).unwrap();
    assert_eq!(h.names().collect::<Vec<_>>(), ["Authorization", "X-N"]);
    let shown = format!("{h:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("Authorization"), "{shown}");
    assert_eq!(IssuerHeaders::parse("  ").unwrap(), IssuerHeaders::none());
}

#[test]
fn bad_headers_name_the_setting_and_quote_no_value() {
    for bad in [
        r#"{"Authorization": "Bearer s3cret""#,
        r#"["Authorization", "Bearer s3cret"]"#,
        r#"{"Authorization": {"token": "s3cret"}}"#,
        r#"{"Bad Name": "s3cret"}"#,
        "{\"X\": \"s3cret\\r\\nInjected: 1\"}",
    ] {
        let e = IssuerHeaders::parse(bad).expect_err(bad);
        let msg = e.to_string();
        assert!(msg.starts_with("ISSUER_HEADERS: "), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
    }
}

#[test]
fn the_url_must_be_http() {
    assert!(IssuerConfig::new("http://127.0.0.1:8021/").is_ok());
    assert_eq!(
        IssuerConfig::new("http://127.0.0.1:8021/").unwrap().url,
        "http://127.0.0.1:8021"
    );
    for bad in ["127.0.0.1:8021", "ws://127.0.0.1:1", "not a url"] {
        let e = IssuerConfig::new(bad).expect_err(bad).to_string();
        assert!(e.starts_with("ISSUER_URL: "), "{e}");
    }
}

#[test]
fn the_offer_detail_carries_the_attributes_and_the_inline_context() {
    let mut attrs = serde_json::Map::new();
    attrs.insert("score".into(), json!("test"));
    let d = LdProofOffer::new("did:key:z6Mk", attrs).detail();
    assert_eq!(d["credential"]["credentialSubject"]["score"], "test");
    assert_eq!(d["credential"]["issuer"], "did:key:z6Mk");
    assert_eq!(
        d["credential"]["@context"][1]["@vocab"],
        "urn:example:vocab#"
    );
    assert_eq!(d["options"]["proofType"], "Ed25519Signature2018");
}
