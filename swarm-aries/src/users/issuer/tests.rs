use super::*;
use crate::issuer::IssuerConfig;

#[test]
fn cred_attr_takes_the_preview_list_or_an_object() {
    let list = parse_cred_attr(
        r#"[{"mime-type": "text/plain", "name": "score", "value": "test"}, {"name": "n", "value": 3}]"#,
    )
    .unwrap();
    assert_eq!(list["score"], "test");
    assert_eq!(list["n"], 3);
    let obj = parse_cred_attr(r#"{"score": "test"}"#).unwrap();
    assert_eq!(obj["score"], "test");
}

#[test]
fn bad_cred_attr_names_the_setting() {
    for bad in [
        "score=test",
        "42",
        r#"[{"value": "x"}]"#,
        r#"[{"name": "x"}]"#,
        r#"{"id": "did:x"}"#,
    ] {
        let e = parse_cred_attr(bad).expect_err(bad).to_string();
        assert!(e.starts_with("CRED_ATTR: "), "{e}");
    }
}

#[test]
fn cred_attrs_keep_the_list_forms_mime_types() {
    let attrs = parse_cred_attrs(
        r#"[{"name": "score", "value": "test", "mime-type": "text/plain"}, {"name": "n", "value": 3}]"#,
    )
    .unwrap();
    assert_eq!(attrs[0].mime_type.as_deref(), Some("text/plain"));
    assert_eq!(attrs[1].mime_type, None);
    for bad in [
        r#"[{"name": "x", "value": "1"}, {"name": "x", "value": "2"}]"#,
        r#"[{"name": "x", "value": "1", "mime-type": 7}]"#,
    ] {
        let e = parse_cred_attrs(bad).expect_err(bad).to_string();
        assert!(e.starts_with("CRED_ATTR: "), "{e}");
    }
}

#[test]
fn the_settings_make_an_indy_preview_with_the_mime_types_or_no_cred_def_offer() {
    use crate::issuer::{CredentialSpec, OfferSpec};
    let config = IssuerConfig::new("http://127.0.0.1:8021").unwrap();
    let attrs = parse_cred_attrs(
        r#"[{"name": "score", "value": "test", "mime-type": "text/plain"}, {"name": "n", "value": 3}]"#,
    )
    .unwrap();
    let ld_proof = IssuerSettings::new(config).cred_attrs(attrs);
    assert_eq!(ld_proof.cred_def_offer().unwrap(), None);
    assert_eq!(
        ld_proof.attributes["n"], 3,
        "the ld_proof subject keeps its JSON"
    );

    let cred_def = "WgWxqztrNooG92RXvxSTWv:3:CL:20:tag";
    let indy =
        ld_proof.credential(CredentialSpec::parse(Some("indy"), Some(cred_def), None).unwrap());
    let offer = indy.cred_def_offer().unwrap().expect("an indy offer");
    assert_eq!(
        offer.filter(),
        serde_json::json!({"indy": {"cred_def_id": cred_def}})
    );
    let preview = offer.credential_preview().unwrap();
    let mut attributes = preview["attributes"].as_array().unwrap().clone();
    attributes.sort_by_key(|a| a["name"].as_str().unwrap().to_owned());
    assert_eq!(
        attributes,
        [
            serde_json::json!({"name": "n", "value": "3"}),
            serde_json::json!({"name": "score", "value": "test", "mime-type": "text/plain"}),
        ]
    );
    // Attributes set without MIME types drop the old ones.
    let mut plain = serde_json::Map::new();
    plain.insert("score".into(), "test".into());
    let offer = indy.attributes(plain).cred_def_offer().unwrap().unwrap();
    assert_eq!(
        offer.credential_preview().unwrap()["attributes"],
        serde_json::json!([{"name": "score", "value": "test"}])
    );
}
