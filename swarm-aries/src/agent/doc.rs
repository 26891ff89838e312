//! Reading the peer's DID from a handshake response: did:peer:2, did:peer:4, or an
//! attached (legacy) DID document.

use serde_json::{json, Value};

use super::AriesError;
use crate::keys::did_peer::resolve_did_peer_2;
use crate::service::Service;
use crate::Verkey;

fn key_of(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    Verkey::parse(s.split('#').next_back().unwrap_or(s))
        .or_else(|_| Verkey::parse(s))
        .ok()
        .map(|k| k.to_base58())
}

/// Which of the peer's endpoints to use when it offers several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prefer {
    /// A WebSocket endpoint (return-routed replies on one socket).
    WebSocket,
    /// An HTTP(S) endpoint (plain POSTs, replies on our own endpoint).
    Http,
}

impl Prefer {
    /// The sort key of an endpoint: smaller is better.
    fn rank(self, endpoint: &str) -> u8 {
        let ws = endpoint.starts_with("ws://") || endpoint.starts_with("wss://");
        let http = endpoint.starts_with("http://") || endpoint.starts_with("https://");
        match self {
            Prefer::WebSocket => u8::from(!ws),
            Prefer::Http => u8::from(!http),
        }
    }
}

/// The DIDComm v1 service of a DID document (first one with recipient keys, of those on the
/// preferred kind of endpoint).
fn service_of_doc(doc: &Value, prefer: Prefer) -> Option<Service> {
    let services = doc.get("service")?.as_array()?;
    let mut keys_by_id = std::collections::HashMap::new();
    for k in doc
        .get("publicKey")
        .or_else(|| doc.get("verificationMethod"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(id), Some(b58)) = (k["id"].as_str(), k["publicKeyBase58"].as_str()) {
            keys_by_id.insert(id.to_owned(), b58.to_owned());
            if let Some(frag) = id.split('#').nth(1) {
                keys_by_id.insert(format!("#{frag}"), b58.to_owned());
            }
        }
    }
    let resolve = |v: &Value| -> Option<String> {
        let s = v.as_str()?;
        keys_by_id.get(s).cloned().or_else(|| key_of(v))
    };
    let mut best: Vec<Service> = services
        .iter()
        .filter_map(|s| {
            let recipient_keys: Vec<String> = s["recipientKeys"]
                .as_array()?
                .iter()
                .filter_map(resolve)
                .collect();
            if recipient_keys.is_empty() {
                return None;
            }
            let routing_keys = s["routingKeys"]
                .as_array()
                .map_or_else(Vec::new, |a| a.iter().filter_map(resolve).collect());
            let endpoint = match &s["serviceEndpoint"] {
                Value::String(e) => e.clone(),
                Value::Object(o) => o.get("uri")?.as_str()?.to_owned(),
                _ => return None,
            };
            Some(Service::new(endpoint, recipient_keys, routing_keys))
        })
        .collect();
    best.sort_by_key(|s| prefer.rank(&s.endpoint));
    best.into_iter().next()
}

pub(super) fn attachment_json(att: &Value) -> Option<Value> {
    let data = att.get("data")?;
    if let Some(j) = data.get("json") {
        return Some(j.clone());
    }
    let b64 = data.get("base64")?.as_str()?;
    let bytes = crate::encoding::b64_decode(b64)?;
    serde_json::from_slice(&bytes).ok()
}

/// Checks a connections/1.0 response's `connection~sig`: an `ed25519Sha512_single` signature
/// by one of `signers` (the invitation's recipient keys, base58) over `sig_data` (8 bytes of
/// big-endian timestamp, then the connection JSON).
pub(super) fn verify_connection_sig(
    response: &Value,
    signers: &[String],
) -> Result<(), AriesError> {
    let sig = response
        .get("connection~sig")
        .ok_or_else(|| AriesError::Protocol("the connection response is not signed".to_owned()))?;
    let field = |name: &str| {
        sig[name]
            .as_str()
            .ok_or_else(|| AriesError::Protocol(format!("connection~sig has no {name}")))
    };
    let signer = field("signer")?;
    if !signers.iter().any(|k| k == signer) {
        return Err(AriesError::Protocol(format!(
            "connection~sig signed by {signer}, not by the invitation's key"
        )));
    }
    let data = crate::encoding::b64_decode(field("sig_data")?)
        .filter(|d| d.len() > 8)
        .ok_or_else(|| {
            AriesError::Protocol("connection~sig has no readable sig_data".to_owned())
        })?;
    let signature = crate::encoding::b64_decode(field("signature")?).ok_or_else(|| {
        AriesError::Protocol("connection~sig has no readable signature".to_owned())
    })?;
    Verkey::from_base58(signer)?
        .verify(&data, &signature)
        .map_err(|_| {
            AriesError::Protocol("connection~sig: the signature does not verify".to_owned())
        })
}

/// The service to reach the peer that sent a handshake response (didexchange or
/// connections/1.0); of several, a WebSocket one.
pub fn resolve_their_service(response: &Value) -> Result<Service, AriesError> {
    resolve_service(response, Prefer::WebSocket)
}

/// The service to reach the peer that sent a handshake response; of several, one on the
/// `prefer`red kind of endpoint.
pub(super) fn resolve_service(response: &Value, prefer: Prefer) -> Result<Service, AriesError> {
    // connections/1.0: the DID doc is in `connection~sig` (signed) or `connection`.
    if let Some(sig) = response.get("connection~sig") {
        let data = sig["sig_data"]
            .as_str()
            .and_then(crate::encoding::b64_decode)
            .ok_or_else(|| {
                AriesError::Protocol("connection~sig has no readable sig_data".to_owned())
            })?;
        // 8 bytes of timestamp, then the connection JSON.
        let conn: Value = serde_json::from_slice(data.get(8..).unwrap_or_default())
            .map_err(|e| AriesError::Protocol(format!("connection~sig: {e}")))?;
        return service_of_doc(&conn["DIDDoc"], prefer).ok_or_else(|| no_service(&conn));
    }
    for att_key in ["did_doc~attach", "did_rotate~attach"] {
        if let Some(doc) = response.get(att_key).and_then(attachment_json) {
            if let Some(s) = service_of_doc(&doc, prefer) {
                return Ok(s);
            }
        }
    }
    let did = response["did"].as_str().unwrap_or_default();
    if did.starts_with("did:peer:2") {
        let doc = resolve_did_peer_2(did)?;
        return doc
            .services
            .into_iter()
            .min_by_key(|s| prefer.rank(&s.endpoint))
            .ok_or_else(|| no_service(response));
    }
    if let Some(long) = did
        .strip_prefix("did:peer:4")
        .and_then(|r| r.split_once(':'))
        .map(|(_, l)| l)
    {
        let bytes = long
            .strip_prefix('z')
            .and_then(|b| bs58::decode(b).into_vec().ok())
            .filter(|b| b.len() > 2 && b[0] == 0x80 && b[1] == 0x04)
            .ok_or_else(|| AriesError::Protocol(format!("cannot decode did:peer:4 {did:.60}")))?;
        let doc: Value = serde_json::from_slice(&bytes[2..])
            .map_err(|e| AriesError::Protocol(format!("did:peer:4 document: {e}")))?;
        return service_of_doc(&did4_doc(doc), prefer).ok_or_else(|| no_service(response));
    }
    Err(no_service(response))
}

/// did:peer:4 documents use multibase keys: add publicKeyBase58 for the lookup.
fn did4_doc(mut doc: Value) -> Value {
    if let Some(vms) = doc
        .get_mut("verificationMethod")
        .and_then(Value::as_array_mut)
    {
        for vm in vms {
            if let Some(mb) = vm["publicKeyMultibase"].as_str() {
                if let Ok(k) = Verkey::parse(&format!("did:key:{mb}")) {
                    vm["publicKeyBase58"] = json!(k.to_base58());
                }
            }
        }
    }
    doc
}

fn no_service(msg: &Value) -> AriesError {
    AriesError::Protocol(format!(
        "the peer's answer has no usable DIDComm service: {:.300}",
        msg.to_string()
    ))
}

/// A legacy (connections/1.0) DID document: the agent's inbound `endpoint`, or
/// [`QUEUE_ENDPOINT`](crate::QUEUE_ENDPOINT) for an agent without one.
pub(super) fn legacy_doc(did: &str, verkey: &str, endpoint: &str) -> Value {
    json!({
        "@context": "https://w3id.org/did/v1",
        "id": format!("did:sov:{did}"),
        "publicKey": [{
            "id": format!("did:sov:{did}#1"),
            "type": "Ed25519VerificationKey2018",
            "controller": format!("did:sov:{did}"),
            "publicKeyBase58": verkey,
        }],
        "authentication": [{
            "type": "Ed25519SignatureAuthentication2018",
            "publicKey": format!("did:sov:{did}#1"),
        }],
        "service": [{
            "id": format!("did:sov:{did};indy"),
            "type": "IndyAgent",
            "priority": 0,
            "recipientKeys": [verkey],
            "routingKeys": [],
            "serviceEndpoint": endpoint,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connections/1.0 response from aries-cloudagent 0.12.8 (`peers/start
    /// mediator-legacy`), answering an out-of-band invitation whose key was
    /// `did:key:z6MkpWmsEEzpt3u8XXdkzP6sowekFy6RgugMr326jwHqJpqM` (base58 below).
    const ACAPY_0_12_RESPONSE: &str = r#"{"@id":"ce844646-36d9-4823-b66a-5098dd175ed5","@type":"https://didcomm.org/connections/1.0/response","connection~sig":{"@type":"https://didcomm.org/signature/1.0/ed25519Sha512_single","sig_data":"AAAAAGsFYkh7IkRJRCI6ICJHVDhRV2lUb2h6eExNU1VjOGtWQVRNIiwgIkRJRERvYyI6IHsiQGNvbnRleHQiOiAiaHR0cHM6Ly93M2lkLm9yZy9kaWQvdjEiLCAiaWQiOiAiZGlkOnNvdjpHVDhRV2lUb2h6eExNU1VjOGtWQVRNIiwgInB1YmxpY0tleSI6IFt7ImlkIjogImRpZDpzb3Y6R1Q4UVdpVG9oenhMTVNVYzhrVkFUTSMxIiwgInR5cGUiOiAiRWQyNTUxOVZlcmlmaWNhdGlvbktleTIwMTgiLCAiY29udHJvbGxlciI6ICJkaWQ6c292OkdUOFFXaVRvaHp4TE1TVWM4a1ZBVE0iLCAicHVibGljS2V5QmFzZTU4IjogIjlSUk4yY2RtclVqZDF1WFAyaUxYMlNkbmREQXFZcTdGZVlBWUN3WmV2dDJzIn1dLCAiYXV0aGVudGljYXRpb24iOiBbeyJ0eXBlIjogIkVkMjU1MTlTaWduYXR1cmVBdXRoZW50aWNhdGlvbjIwMTgiLCAicHVibGljS2V5IjogImRpZDpzb3Y6R1Q4UVdpVG9oenhMTVNVYzhrVkFUTSMxIn1dLCAic2VydmljZSI6IFt7ImlkIjogImRpZDpzb3Y6R1Q4UVdpVG9oenhMTVNVYzhrVkFUTTtpbmR5IiwgInR5cGUiOiAiSW5keUFnZW50IiwgInByaW9yaXR5IjogMCwgInJlY2lwaWVudEtleXMiOiBbIjlSUk4yY2RtclVqZDF1WFAyaUxYMlNkbmREQXFZcTdGZVlBWUN3WmV2dDJzIl0sICJzZXJ2aWNlRW5kcG9pbnQiOiAiaHR0cDovLzEyNy4wLjAuMTo0MDg4NSJ9LCB7ImlkIjogImRpZDpzb3Y6R1Q4UVdpVG9oenhMTVNVYzhrVkFUTTtpbmR5MSIsICJ0eXBlIjogIkluZHlBZ2VudCIsICJwcmlvcml0eSI6IDAsICJyZWNpcGllbnRLZXlzIjogWyI5UlJOMmNkbXJVamQxdVhQMmlMWDJTZG5kREFxWXE3RmVZQVlDd1pldnQycyJdLCAic2VydmljZUVuZHBvaW50IjogIndzOi8vMTI3LjAuMC4xOjM0ODY3In1dfX0=","signature":"jrD4sK2JpclESsYwDjRauQMX_uLTl9S3lWqR3WDmZy5G4w3ioGaQuSL7JGzlP2f-6iDVhyiJg1tJewbolYlGCQ==","signer":"B4WpdzkPYWQfR2o4Jp92xr6kSPpaH2S1A27AufKpPc3y"},"~thread":{"thid":"c082e917-df24-46d3-9d9a-b15e7d08da1b"}}"#;
    const INVITATION_KEY: &str = "B4WpdzkPYWQfR2o4Jp92xr6kSPpaH2S1A27AufKpPc3y";

    fn response() -> Value {
        serde_json::from_str(ACAPY_0_12_RESPONSE).unwrap()
    }

    #[test]
    fn reads_and_verifies_a_real_connection_sig() {
        let response = response();
        verify_connection_sig(&response, &[INVITATION_KEY.to_owned()]).unwrap();
        // Of its two IndyAgent services, the WebSocket one; or the HTTP one when asked.
        let key = vec!["9RRN2cdmrUjd1uXP2iLX2SdndDAqYq7FeYAYCwZevt2s".to_owned()];
        assert_eq!(
            resolve_their_service(&response).unwrap(),
            Service::new("ws://127.0.0.1:34867", key.clone(), vec![])
        );
        assert_eq!(
            resolve_service(&response, Prefer::Http).unwrap(),
            Service::new("http://127.0.0.1:40885", key, vec![])
        );
    }

    #[test]
    fn rejects_a_connection_sig_that_does_not_hold() {
        let keys = [INVITATION_KEY.to_owned()];
        let other = crate::AgentKey::from_seed(&[9; 32])
            .verkey_base58()
            .to_owned();
        let err = verify_connection_sig(&response(), &[other]).unwrap_err();
        assert!(
            err.to_string().contains("not by the invitation's key"),
            "{err}"
        );

        // One byte of the signed connection changed.
        let mut tampered = response();
        let data = tampered["connection~sig"]["sig_data"].as_str().unwrap();
        let mut bytes = crate::encoding::b64_decode(data).unwrap();
        let at = bytes.len() - 10;
        bytes[at] ^= 1;
        tampered["connection~sig"]["sig_data"] = crate::encoding::b64_encode(&bytes).into();
        let err = verify_connection_sig(&tampered, &keys).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");

        let mut unsigned = response();
        unsigned.as_object_mut().unwrap().remove("connection~sig");
        assert!(verify_connection_sig(&unsigned, &keys).is_err());
        let mut short = response();
        short["connection~sig"]["sig_data"] = "AAAA".into();
        assert!(verify_connection_sig(&short, &keys).is_err());
    }

    #[test]
    fn legacy_doc_is_read_back() {
        let key = crate::AgentKey::from_seed(&[3; 32]);
        let doc = legacy_doc("did123", key.verkey_base58(), crate::QUEUE_ENDPOINT);
        assert_eq!(
            service_of_doc(&doc, Prefer::WebSocket),
            Some(Service::new(
                crate::QUEUE_ENDPOINT,
                vec![key.verkey_base58().to_owned()],
                vec![]
            ))
        );
        let doc = legacy_doc("did123", key.verkey_base58(), "http://127.0.0.1:9/");
        assert_eq!(
            service_of_doc(&doc, Prefer::Http).map(|s| s.endpoint),
            Some("http://127.0.0.1:9/".to_owned())
        );
    }
}
