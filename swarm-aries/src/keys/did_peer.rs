//! `did:peer:2` (peer DID method 2): keys and services inlined in the DID itself.
//!
//! `did:peer:2` + `.`-separated elements: a purpose code (`V` authentication, `E` key
//! agreement, `A`, `I`, `D`) followed by a multibase multicodec key, or `S` followed by the
//! base64url (unpadded) JSON of a service, with the spec's abbreviations (`t` type, `s`
//! serviceEndpoint, `r` routingKeys, `a` accept, `dm` DIDCommMessaging). Keys are numbered
//! `#key-1`, `#key-2`, ... in the order they appear.

use serde::Serialize;
use serde_json::{Map, Value};

use super::did_key::{decode_multikey, multikey, ED25519_CODEC, X25519_CODEC};
use super::{Verkey, KEY_LEN};
use crate::encoding::{b64_decode, b64_encode};
use crate::error::{clip, KeyError};
use crate::service::Service;

/// The `serviceEndpoint` of an agent that has no inbound endpoint: it receives over a
/// return-routed session (or its mediator's queue). ACA-Py accepts it in a `did:peer:2`.
pub const QUEUE_ENDPOINT: &str = "didcomm:transport/queue";

/// The `accept` of the services this crate writes: DIDComm v1 envelopes (RFC 0019).
const ACCEPT_RFC19: &str = "didcomm/aip2;env=rfc19";

const PREFIX: &str = "did:peer:2";

/// The service of a `did:peer:2` we create, abbreviated, in ACA-Py's field order.
#[derive(Serialize)]
struct AbbreviatedService<'a> {
    id: &'a str,
    t: &'a str,
    priority: u32,
    #[serde(rename = "recipientKeys")]
    recipient_keys: [&'a str; 1],
    r: Vec<String>,
    s: &'a str,
    a: [&'a str; 1],
}

/// Creates a `did:peer:2` for an agent: its verkey for authentication (`.V`, `#key-1`), the
/// key's X25519 twin for key agreement (`.E`, `#key-2`), and one DIDComm v1 service (`.S`).
///
/// The service is the one ACA-Py writes in its own `did:peer:2` (type `did-communication`,
/// `recipientKeys: ["#key-1"]`, the routing keys as `did:key` key ids) plus
/// `accept: ["didcomm/aip2;env=rfc19"]`: ACA-Py only uses services that carry
/// `recipientKeys`. `endpoint` is the agent's inbound URL, its mediator's endpoint, or
/// [`QUEUE_ENDPOINT`]; `routing_keys` are the mediator's keys in any form [`Verkey::parse`]
/// accepts.
pub fn did_peer_2<S: AsRef<str>>(
    verkey: &Verkey,
    endpoint: &str,
    routing_keys: &[S],
) -> Result<String, KeyError> {
    if endpoint.trim().is_empty() {
        return Err(KeyError::DidPeer("the service endpoint is empty".into()));
    }
    let routing_keys = routing_keys
        .iter()
        .map(|key| Verkey::parse(key.as_ref()).map(|key| key.to_did_key_id()))
        .collect::<Result<Vec<_>, _>>()?;
    let service = AbbreviatedService {
        id: "#didcomm-0",
        t: "did-communication",
        priority: 0,
        recipient_keys: ["#key-1"],
        r: routing_keys,
        s: endpoint,
        a: [ACCEPT_RFC19],
    };
    let json = serde_json::to_vec(&service).map_err(|e| KeyError::DidPeer(e.to_string()))?;
    Ok(format!(
        "{PREFIX}.V{}.E{}.S{}",
        verkey.fingerprint(),
        multikey(X25519_CODEC, &verkey.to_x25519()),
        b64_encode(&json)
    ))
}

/// What a `did:peer:2` says: its keys and its DIDComm v1 services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerDidDoc {
    /// The DID.
    pub did: String,
    /// The Ed25519 authentication keys (`.V`), base58.
    pub authentication: Vec<String>,
    /// The X25519 key-agreement keys (`.E`), base58.
    pub key_agreement: Vec<String>,
    /// The DIDComm v1 services (`did-communication`, `IndyAgent`, or `DIDCommMessaging` that
    /// accepts DIDComm v1), in order. Services of other types are left out.
    pub services: Vec<Service>,
}

/// A key of the DID, in order of appearance (`#key-N` is `keys[N-1]`).
enum Key {
    Ed25519(Verkey),
    X25519([u8; KEY_LEN]),
    Other,
}

/// Resolves a `did:peer:2` locally (a fragment such as `#key-1` is ignored).
///
/// Recipient keys of a service are dereferenced: `#key-N`, `#<fingerprint>`, a full DID URL of
/// this DID, a `did:key` or a base58 verkey. A service without `recipientKeys` gets the DID's
/// authentication keys.
pub fn resolve_did_peer_2(did: &str) -> Result<PeerDidDoc, KeyError> {
    let did = did.trim();
    let did = did.split(['#', '?']).next().unwrap_or_default();
    let Some(rest) = did.strip_prefix(PREFIX) else {
        return Err(bad(format!(
            "{:?} does not start with did:peer:2",
            clip(did, 40)
        )));
    };
    let Some(rest) = rest.strip_prefix('.') else {
        return Err(bad("no elements after did:peer:2".into()));
    };
    let mut keys = Vec::new();
    let mut encoded_services = Vec::new();
    for element in rest.split('.') {
        let mut chars = element.chars();
        let purpose = chars.next().ok_or_else(|| bad("empty element".into()))?;
        let body = chars.as_str();
        match purpose {
            'V' | 'E' | 'A' | 'I' | 'D' => keys.push((purpose, decode_key(body)?)),
            'S' => encoded_services.push(body),
            other => return Err(bad(format!("unknown purpose code {other:?}"))),
        }
    }

    let mut doc = PeerDidDoc {
        did: did.to_owned(),
        authentication: Vec::new(),
        key_agreement: Vec::new(),
        services: Vec::new(),
    };
    for (purpose, key) in &keys {
        match (purpose, key) {
            ('V', Key::Ed25519(key)) => doc.authentication.push(key.to_base58()),
            ('E', Key::X25519(key)) => doc.key_agreement.push(bs58::encode(key).into_string()),
            _ => {}
        }
    }
    for encoded in encoded_services {
        let json = b64_decode(encoded).ok_or_else(|| bad("a service is not base64url".into()))?;
        let value: Value = serde_json::from_slice(&json)
            .map_err(|e| bad(format!("a service is not JSON: {e}")))?;
        let services = match value {
            Value::Array(services) => services,
            service => vec![service],
        };
        for service in services {
            let Value::Object(service) = service else {
                return Err(bad("a service is not a JSON object".into()));
            };
            if let Some(service) = didcomm_v1_service(did, &keys, &expand(service))? {
                doc.services.push(service);
            }
        }
    }
    Ok(doc)
}

fn bad(reason: String) -> KeyError {
    KeyError::DidPeer(reason)
}

fn decode_key(body: &str) -> Result<Key, KeyError> {
    let Some(b58) = body.strip_prefix('z') else {
        return Err(KeyError::NotBase58Btc(clip(body, 100)));
    };
    let raw = bs58::decode(b58)
        .into_vec()
        .map_err(|_| KeyError::Base58(clip(b58, 100)))?;
    match raw.get(..2) {
        Some(codec) if codec == ED25519_CODEC => Ok(Key::Ed25519(Verkey::from_bytes(&raw[2..])?)),
        Some(codec) if codec == X25519_CODEC => {
            Ok(Key::X25519(decode_multikey(body, X25519_CODEC)?))
        }
        _ => Ok(Key::Other),
    }
}

/// Replaces the spec's abbreviations (`t`, `s`, `r`, `a`, `dm`), recursively.
fn expand(service: Map<String, Value>) -> Map<String, Value> {
    service
        .into_iter()
        .map(|(key, value)| {
            let key = match key.as_str() {
                "t" => "type".to_owned(),
                "s" => "serviceEndpoint".to_owned(),
                "r" => "routingKeys".to_owned(),
                "a" => "accept".to_owned(),
                _ => key,
            };
            let value = match value {
                Value::String(s) if key == "type" && s == "dm" => "DIDCommMessaging".into(),
                Value::Object(inner) => Value::Object(expand(inner)),
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|item| match item {
                            Value::Object(inner) => Value::Object(expand(inner)),
                            other => other,
                        })
                        .collect(),
                ),
                other => other,
            };
            (key, value)
        })
        .collect()
}

/// The DIDComm v1 service of an expanded service object, or `None` for other services.
fn didcomm_v1_service(
    did: &str,
    keys: &[(char, Key)],
    service: &Map<String, Value>,
) -> Result<Option<Service>, KeyError> {
    let kind = service.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "did-communication" | "IndyAgent" | "DIDCommMessaging") {
        return Ok(None);
    }
    // The endpoint: a string, an object (DIDComm v2 style: uri, accept, routingKeys), or a
    // list of either (the first one counts).
    let mut endpoint_value = service.get("serviceEndpoint");
    if let Some(Value::Array(items)) = endpoint_value {
        endpoint_value = items.first();
    }
    let (endpoint, inner) = match endpoint_value {
        Some(Value::String(uri)) => (uri.clone(), None),
        Some(Value::Object(inner)) => match inner.get("uri").and_then(Value::as_str) {
            Some(uri) => (uri.to_owned(), Some(inner)),
            None => return Err(bad("a service endpoint object has no uri".into())),
        },
        _ => return Err(bad("a DIDComm service has no serviceEndpoint".into())),
    };
    if endpoint.trim().is_empty() {
        return Err(bad("a DIDComm service has an empty serviceEndpoint".into()));
    }
    let field = |name: &str| {
        service
            .get(name)
            .or_else(|| inner.and_then(|i| i.get(name)))
    };
    if let Some(Value::Array(accept)) = field("accept") {
        let v1 = accept
            .iter()
            .filter_map(Value::as_str)
            .any(|a| a.starts_with("didcomm/aip1") || a.starts_with("didcomm/aip2;env=rfc19"));
        if !v1 {
            return Ok(None);
        }
    }
    let dereference = |list: Option<&Value>| -> Result<Vec<String>, KeyError> {
        match list {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(reference) => dereference(did, keys, reference),
                    _ => Err(bad("a key reference is not a string".into())),
                })
                .collect(),
            Some(_) => Err(bad("a key list is not an array".into())),
        }
    };
    let mut recipient_keys = dereference(field("recipientKeys"))?;
    if recipient_keys.is_empty() {
        recipient_keys = keys
            .iter()
            .filter_map(|(purpose, key)| match (purpose, key) {
                ('V', Key::Ed25519(key)) => Some(key.to_base58()),
                _ => None,
            })
            .collect();
    }
    if recipient_keys.is_empty() {
        return Err(bad("a DIDComm service has no recipient key".into()));
    }
    Ok(Some(Service {
        recipient_keys,
        routing_keys: dereference(field("routingKeys"))?,
        endpoint,
    }))
}

/// A key reference of a service, as a base58 verkey.
fn dereference(did: &str, keys: &[(char, Key)], reference: &str) -> Result<String, KeyError> {
    let fragment = if let Some(fragment) = reference.strip_prefix('#') {
        Some(fragment)
    } else if let Some((base, fragment)) = reference.split_once('#') {
        (base == did).then_some(fragment)
    } else {
        None
    };
    let Some(fragment) = fragment else {
        // A did:key (URL) or a raw base58 verkey.
        return Ok(Verkey::parse(reference)?.to_base58());
    };
    let by_number = fragment
        .strip_prefix("key-")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| keys.get(i));
    let found = by_number.or_else(|| {
        keys.iter().find(|(_, key)| match key {
            Key::Ed25519(key) => {
                let fingerprint = key.fingerprint();
                fingerprint == fragment || fingerprint.get(1..) == Some(fragment)
            }
            _ => false,
        })
    });
    match found {
        Some((_, Key::Ed25519(key))) => Ok(key.to_base58()),
        Some(_) => Err(bad(format!(
            "#{} is not an Ed25519 key",
            clip(fragment, 40)
        ))),
        None => Err(bad(format!("no key #{} in the DID", clip(fragment, 40)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::AgentKey;

    #[test]
    fn round_trip_with_routing_keys() {
        let key = AgentKey::generate();
        let mediator = AgentKey::generate();
        let did = did_peer_2(
            &key.verkey(),
            "http://127.0.0.1:8020",
            &[mediator.verkey().to_did_key_id()],
        )
        .unwrap();
        assert!(did.starts_with("did:peer:2.Vz6Mk"), "{did}");
        assert!(did.contains(".Ez6LS"), "{did}");
        assert!(!did.contains('='), "{did}");
        let doc = resolve_did_peer_2(&did).unwrap();
        assert_eq!(doc.did, did);
        assert_eq!(doc.authentication, [key.verkey_base58()]);
        assert_eq!(
            doc.key_agreement,
            [bs58::encode(key.x25519_public()).into_string()]
        );
        assert_eq!(
            doc.services,
            [Service::new(
                "http://127.0.0.1:8020",
                vec![key.verkey_base58().to_owned()],
                vec![mediator.verkey_base58().to_owned()],
            )]
        );
    }

    #[test]
    fn a_blank_endpoint_is_refused() {
        let v = AgentKey::from_seed(&[5; 32]).verkey().fingerprint();
        for s in [r#""""#, r#"" ""#, r#"{"uri": " "}"#] {
            let service =
                format!(r##"{{"t":"did-communication","s":{s},"recipientKeys":["#key-1"]}}"##);
            let did = format!("did:peer:2.V{v}.S{}", b64_encode(service.as_bytes()));
            let err = resolve_did_peer_2(&did).expect_err(&did);
            assert!(err.to_string().contains("empty serviceEndpoint"), "{err}");
        }
    }

    #[test]
    fn service_json_is_what_acapy_reads() {
        let key = AgentKey::from_seed(&[1; 32]);
        let did = did_peer_2::<&str>(&key.verkey(), QUEUE_ENDPOINT, &[]).unwrap();
        let encoded = did.rsplit_once(".S").unwrap().1;
        let json: Value = serde_json::from_slice(&b64_decode(encoded).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "#didcomm-0",
                "t": "did-communication",
                "priority": 0,
                "recipientKeys": ["#key-1"],
                "r": [],
                "s": "didcomm:transport/queue",
                "a": ["didcomm/aip2;env=rfc19"],
            })
        );
        let doc = resolve_did_peer_2(&format!("{did}#key-1")).unwrap();
        assert_eq!(doc.services[0].endpoint, QUEUE_ENDPOINT);
    }

    /// A did:peer:2 as the spec and Credo write it: `dm` type, an endpoint object, services
    /// in an array, recipient keys by fingerprint, and padded base64.
    #[test]
    fn resolves_other_writers_forms() {
        let key = AgentKey::from_seed(&[2; 32]).verkey();
        let router = AgentKey::from_seed(&[3; 32]).verkey();
        let services = serde_json::json!([
            {"t": "dm", "s": {"uri": "https://m.example/a", "a": ["didcomm/aip2;env=rfc19"],
                              "r": [router.to_did_key_id()]}},
            {"t": "dm", "s": {"uri": "https://m.example/v2", "a": ["didcomm/v2"]}},
            {"type": "did-communication", "serviceEndpoint": "ws://m.example",
             "recipientKeys": [format!("#{}", &key.fingerprint()[1..])],
             "routingKeys": [router.to_base58()]},
            {"type": "LinkedDomains", "serviceEndpoint": "https://example.com"},
        ]);
        // Padded, as some writers leave it.
        let mut json = serde_json::to_vec(&services).unwrap();
        if json.len() % 3 == 0 {
            json.push(b' ');
        }
        let encoded = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, &json);
        assert!(encoded.ends_with('='));
        let did = format!(
            "did:peer:2.E{}.V{}.S{encoded}",
            multikey(X25519_CODEC, &[7; 32]),
            key.fingerprint()
        );
        let doc = resolve_did_peer_2(&did).unwrap();
        let want_routing = vec![router.to_base58()];
        assert_eq!(
            doc.services,
            [
                Service::new(
                    "https://m.example/a",
                    vec![key.to_base58()],
                    want_routing.clone()
                ),
                Service::new("ws://m.example", vec![key.to_base58()], want_routing),
            ]
        );
        assert_eq!(doc.key_agreement.len(), 1);
    }

    #[test]
    fn key_references() {
        let key = AgentKey::from_seed(&[4; 32]).verkey();
        let x = multikey(X25519_CODEC, &key.to_x25519());
        let make = |reference: &str| {
            let service = serde_json::json!({"t": "did-communication", "s": "http://a",
                                             "recipientKeys": [reference]});
            format!(
                "did:peer:2.E{x}.V{}.S{}",
                key.fingerprint(),
                b64_encode(&serde_json::to_vec(&service).unwrap())
            )
        };
        let did = make("#key-2");
        assert_eq!(
            resolve_did_peer_2(&did).unwrap().services[0].recipient_keys,
            [key.to_base58()]
        );
        for (reference, check) in [
            ("#key-1", "not an Ed25519 key"),
            ("#key-3", "no key #key-3"),
            ("#key-0", "no key #key-0"),
            ("did:peer:2.Vz6Mkother#key-2", "not a did:key"),
        ] {
            let err = resolve_did_peer_2(&make(reference))
                .unwrap_err()
                .to_string();
            assert!(err.contains(check), "{reference}: {err}");
        }
        assert!(resolve_did_peer_2(&make(&key.to_did_key())).is_ok());
        assert!(resolve_did_peer_2(&make(&key.to_base58())).is_ok());
    }

    #[test]
    fn rejects_malformed() {
        let key = AgentKey::from_seed(&[5; 32]).verkey();
        let v = key.fingerprint();
        for (did, check) in [
            ("did:peer:1abc".to_owned(), "does not start"),
            ("did:peer:2".to_owned(), "no elements"),
            (format!("did:peer:2.V{v}."), "empty element"),
            (format!("did:peer:2.X{v}"), "unknown purpose"),
            ("did:peer:2.Vabc".to_owned(), "base58btc"),
            ("did:peer:2.Vz0OIl".to_owned(), "base58"),
            (format!("did:peer:2.V{v}.S!!!"), "not base64url"),
            (
                format!("did:peer:2.V{v}.S{}", b64_encode(b"nope")),
                "not JSON",
            ),
            (
                format!("did:peer:2.V{v}.S{}", b64_encode(b"[1]")),
                "not a JSON object",
            ),
            (
                format!("did:peer:2.V{v}.S{}", b64_encode(br#"{"t":"dm"}"#)),
                "no serviceEndpoint",
            ),
            (
                format!(
                    "did:peer:2.S{}",
                    b64_encode(br#"{"t":"dm","s":"http://a"}"#)
                ),
                "no recipient key",
            ),
        ] {
            let err = resolve_did_peer_2(&did).unwrap_err().to_string();
            assert!(err.contains(check), "{did}: {err}");
        }
        assert!(did_peer_2::<&str>(&key, " ", &[]).is_err());
        assert!(did_peer_2(&key, "http://a", &["nope"]).is_err());
    }
}
