use super::*;
use crate::issuer::LdProofOffer;

const CRED_DEF: &str = "WgWxqztrNooG92RXvxSTWv:3:CL:20:tag";
const SCHEMA: &str = "WgWxqztrNooG92RXvxSTWv:2:score:1.0";

fn attrs() -> Vec<CredAttr> {
    vec![
        CredAttr::new("score", "test").mime_type("text/plain"),
        CredAttr::new("n", 3),
        CredAttr::new("ok", true),
    ]
}

#[test]
fn formats_parse_by_name_and_anything_else_names_the_setting() {
    assert_eq!(
        "ld_proof".parse::<CredFormat>().unwrap(),
        CredFormat::LdProof
    );
    assert_eq!(" INDY ".parse::<CredFormat>().unwrap(), CredFormat::Indy);
    assert_eq!(
        "anoncreds".parse::<CredFormat>().unwrap(),
        CredFormat::AnonCreds
    );
    let e = "jwt".parse::<CredFormat>().unwrap_err().to_string();
    assert!(e.starts_with("CRED_FORMAT: \"jwt\" is not"), "{e}");
    assert_eq!(
        CredentialSpec::parse(None, None, None).unwrap(),
        CredentialSpec::ld_proof()
    );
}

#[test]
fn indy_ids_have_the_shape_aca_py_accepts() {
    for good in [
        CRED_DEF,
        "WgWxqztrNooG92RXvxSTWv:3:CL:20:",
        "WgWxqztrNooG92RXvxSTWv:3:CL:WgWxqztrNooG92RXvxSTWv:2:score:1.0:default",
        "WgWxqztrNooG92RXvxSTWv:3:CL:WgWxqztrNooG92RXvxSTWv:2:a:b:1.0:t:a:g",
    ] {
        assert!(is_indy_cred_def_id(good), "{good}");
    }
    for bad in [
        "",
        "WgWxqztrNooG92RXvxSTWv:3:CL:20",
        "WgWxqztrNooG92RXvxSTWv:3:CL:020:tag",
        "WgWxqztrNooG92RXvxSTWv:3:CL:x:tag",
        "WgWxqztrNooG92RXvxSTW0:3:CL:20:tag",
        "short:3:CL:20:tag",
        "WgWxqztrNooG92RXvxSTWv:2:score:1.0",
        "did:indy:sovrin:WgWxqztrNooG92RXvxSTWv/anoncreds/v0/CLAIM_DEF/20/tag",
    ] {
        assert!(!is_indy_cred_def_id(bad), "{bad}");
    }
    assert!(is_indy_schema_id(SCHEMA));
    assert!(is_indy_schema_id("WgWxqztrNooG92RXvxSTWv:2:a:b:1.0"));
    for bad in [
        "WgWxqztrNooG92RXvxSTWv:2:score:v1",
        "WgWxqztrNooG92RXvxSTWv:2::1.0",
        "WgWxqztrNooG92RXvxSTWv:2:score",
        "score:1.0",
    ] {
        assert!(!is_indy_schema_id(bad), "{bad}");
    }
}

#[test]
fn the_settings_are_checked_together_and_name_the_setting() {
    let spec = CredentialSpec::parse(Some("indy"), Some(CRED_DEF), Some(SCHEMA)).unwrap();
    assert_eq!(spec.format, CredFormat::Indy);
    assert_eq!(spec.cred_def_id.as_deref(), Some(CRED_DEF));
    assert_eq!(spec.schema_id.as_deref(), Some(SCHEMA));
    // anoncreds ids name a registry's objects: any non-empty id.
    let anon = "did:indy:sovrin:WgWxqztrNooG92RXvxSTWv/anoncreds/v0/CLAIM_DEF/20/tag";
    let spec =
        CredentialSpec::parse(Some("anoncreds"), Some(anon), Some("did:web:x/schema")).unwrap();
    assert_eq!(spec.cred_def_id.as_deref(), Some(anon));

    for (format, cred_def, schema, setting, says) in [
        (
            Some("indy"),
            None,
            None,
            "CRED_DEF",
            "CRED_FORMAT=indy needs",
        ),
        (Some("anoncreds"), Some(" "), None, "CRED_DEF", "needs"),
        (
            Some("indy"),
            Some("20"),
            None,
            "CRED_DEF",
            "not an Indy credential definition id",
        ),
        (
            Some("indy"),
            Some(CRED_DEF),
            Some("score:1.0"),
            "SCHEMA",
            "not an Indy schema id",
        ),
        (
            None,
            Some(CRED_DEF),
            None,
            "CRED_DEF",
            "indy or anoncreds only",
        ),
        (
            Some("ld_proof"),
            None,
            Some(SCHEMA),
            "SCHEMA",
            "indy or anoncreds only",
        ),
        (
            Some("bbs"),
            None,
            None,
            "CRED_FORMAT",
            "not a credential format",
        ),
    ] {
        let e = CredentialSpec::parse(format, cred_def, schema).expect_err(says);
        let msg = e.to_string();
        assert!(
            matches!(e, IssuerError::Setting { setting: s, .. } if s == setting),
            "{msg}"
        );
        assert!(
            msg.starts_with(&format!("{setting}: ")) && msg.contains(says),
            "{msg}"
        );
    }
}

#[test]
fn an_indy_send_offer_has_the_cred_def_filter_and_the_preview_list() {
    let spec = CredentialSpec::parse(Some("indy"), Some(CRED_DEF), Some(SCHEMA)).unwrap();
    let offer = spec
        .cred_def_offer(&attrs())
        .unwrap()
        .expect("an indy offer");
    let body = send_offer_body("conn-1", &offer, true);
    assert_eq!(
        body,
        json!({
            "connection_id": "conn-1",
            "auto_issue": true,
            "comment": "swarm",
            "auto_remove": false,
            "filter": {"indy": {"cred_def_id": CRED_DEF, "schema_id": SCHEMA}},
            "credential_preview": {
                "@type": "issue-credential/2.0/credential-preview",
                "attributes": [
                    {"name": "score", "value": "test", "mime-type": "text/plain"},
                    {"name": "n", "value": "3"},
                    {"name": "ok", "value": "true"},
                ],
            },
        })
    );
}

#[test]
fn an_anoncreds_send_offer_is_keyed_anoncreds_and_the_schema_is_optional() {
    let spec = CredentialSpec::parse(Some("anoncreds"), Some("cred-def-1"), None).unwrap();
    let offer = spec
        .cred_def_offer(&[CredAttr::new("score", "test")])
        .unwrap()
        .unwrap()
        .auto_issue(false);
    let body = send_offer_body("conn-1", &offer, false);
    assert_eq!(
        body["filter"],
        json!({"anoncreds": {"cred_def_id": "cred-def-1"}})
    );
    assert_eq!(body["auto_issue"], false);
    assert!(body.get("auto_remove").is_none(), "{body}");
    assert_eq!(
        body["credential_preview"]["attributes"],
        json!([{"name": "score", "value": "test"}])
    );
}

#[test]
fn preview_values_must_be_scalars_and_there_must_be_some() {
    let spec = CredentialSpec::parse(Some("indy"), Some(CRED_DEF), None).unwrap();
    for bad in [
        vec![CredAttr::new("nested", json!({"a": 1}))],
        vec![CredAttr::new("list", json!([1]))],
        vec![CredAttr::new("none", Value::Null)],
        vec![],
    ] {
        let e = spec.cred_def_offer(&bad).expect_err("refused").to_string();
        assert!(e.starts_with("CRED_ATTR: "), "{e}");
    }
    // ld_proof: no cred-def offer, whatever the attributes.
    assert_eq!(
        CredentialSpec::ld_proof().cred_def_offer(&[]).unwrap(),
        None
    );
    let e = CredDefOffer::new(CredFormat::LdProof, CRED_DEF, &attrs()).unwrap_err();
    assert!(e.to_string().starts_with("CRED_FORMAT: "), "{e}");
}

#[test]
fn an_ld_proof_send_offer_is_unchanged() {
    let mut subject = Map::new();
    subject.insert("score".into(), json!("test"));
    let offer = LdProofOffer::new("did:key:z6Mk", subject);
    let body = send_offer_body("conn-1", &offer, false);
    assert_eq!(
        body,
        json!({
            "connection_id": "conn-1",
            "auto_issue": true,
            "comment": "swarm",
            "filter": {"ld_proof": offer.detail()},
        })
    );
}
