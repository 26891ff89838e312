use super::*;

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
