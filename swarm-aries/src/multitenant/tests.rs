use super::*;

const MEDIATOR_OOB: &str = r##"{"@type": "https://didcomm.org/out-of-band/1.1/invitation", "@id": "d36f5038-e259-46a6-9683-1d2d2f76d05d", "label": "mediator", "handshake_protocols": ["https://didcomm.org/didexchange/1.0"], "services": [{"id": "#inline", "type": "did-communication", "recipientKeys": ["did:key:z6MkmDwH6NzQS1pu59xLnC3AMSpPf1hsLV4p77JrBZhrG1ii#z6MkmDwH6NzQS1pu59xLnC3AMSpPf1hsLV4p77JrBZhrG1ii"], "serviceEndpoint": "http://127.0.0.1:32965"}]}"##;

#[test]
fn the_invitation_message_comes_from_an_oob_url_or_json() {
    let expected: Value = serde_json::from_str(MEDIATOR_OOB).unwrap();
    let url = format!(
        "http://127.0.0.1:32965?oob={}",
        crate::encoding::b64_encode(MEDIATOR_OOB.as_bytes())
    );
    assert_eq!(oob_invitation_message(&url).unwrap(), expected);
    assert_eq!(oob_invitation_message(MEDIATOR_OOB).unwrap(), expected);
}

#[test]
fn other_invitations_name_mediation_url() {
    let connections = r#"{"@type": "https://didcomm.org/connections/1.0/invitation", "@id": "x", "recipientKeys": ["8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K"], "serviceEndpoint": "http://127.0.0.1:1"}"#;
    for bad in ["", "not an invitation", "http://x?oob=!!!", connections] {
        let err = oob_invitation_message(bad).expect_err(bad);
        assert!(
            matches!(
                err,
                IssuerError::Setting {
                    setting: "MEDIATION_URL",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn a_tenant_config_adds_its_bearer_token_and_hides_it() {
    let base = IssuerConfig::new("http://127.0.0.1:1").unwrap().headers(
        crate::issuer::IssuerHeaders::parse(r#"{"X-API-Key": "k", "authorization": "old"}"#)
            .unwrap(),
    );
    let wallet = TenantWallet {
        wallet_id: "w".to_owned(),
        token: "secret-token".to_owned(),
    };
    let config = wallet.config(&base).unwrap();
    let names: Vec<&str> = config.headers.names().collect();
    assert_eq!(names, ["X-API-Key", "Authorization"]);
    assert!(!format!("{wallet:?} {config:?}").contains("secret-token"));
    assert!(wallet.token.len() > 5);
}

#[test]
fn raw_wallet_keys_are_32_bytes_of_base58() {
    let k = raw_wallet_key();
    assert_eq!(bs58::decode(&k).into_vec().unwrap().len(), 32);
    assert_ne!(k, raw_wallet_key());
}
