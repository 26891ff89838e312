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

/// The DIDComm v1 service of a DID document (first one with recipient keys).
fn service_of_doc(doc: &Value) -> Option<Service> {
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
    // Prefer a WebSocket endpoint when the peer has one.
    best.sort_by_key(|s| !(s.endpoint.starts_with("ws://") || s.endpoint.starts_with("wss://")));
    best.into_iter().next()
}

fn attachment_json(att: &Value) -> Option<Value> {
    let data = att.get("data")?;
    if let Some(j) = data.get("json") {
        return Some(j.clone());
    }
    let b64 = data.get("base64")?.as_str()?;
    let bytes = crate::encoding::b64_decode(b64)?;
    serde_json::from_slice(&bytes).ok()
}

/// The service to reach the peer that sent a handshake response (didexchange or
/// connections/1.0).
pub fn resolve_their_service(response: &Value) -> Result<Service, AriesError> {
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
        return service_of_doc(&conn["DIDDoc"]).ok_or_else(|| no_service(&conn));
    }
    for att_key in ["did_doc~attach", "did_rotate~attach"] {
        if let Some(doc) = response.get(att_key).and_then(attachment_json) {
            if let Some(s) = service_of_doc(&doc) {
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
            .min_by_key(|s| !(s.endpoint.starts_with("ws://") || s.endpoint.starts_with("wss://")))
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
        return service_of_doc(&did4_doc(doc)).ok_or_else(|| no_service(response));
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

/// A legacy (connections/1.0) DID document for an agent without an inbound endpoint.
pub(super) fn legacy_doc(did: &str, verkey: &str) -> Value {
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
            "serviceEndpoint": crate::QUEUE_ENDPOINT,
        }],
    })
}
