//! Routing through mediators: `https://didcomm.org/routing/1.0/forward`.

use serde::Serialize;

use super::{pack, pack_bytes};
use crate::error::EnvelopeError;
use crate::keys::{AgentKey, Verkey};
use crate::message::new_id;
use crate::service::Service;

/// The `@type` of a routing `forward` message.
pub const FORWARD_TYPE: &str = "https://didcomm.org/routing/1.0/forward";

/// Wraps a packed envelope for delivery through mediators: one anoncrypted `forward` per
/// routing key, the first key nearest the recipient (as a service lists them, and as ACA-Py
/// wraps them). Send the result to the endpoint of the service.
///
/// `to` is the recipient key the envelope was packed for; the `to` of each forward is written
/// as a raw base58 verkey (ACA-Py drops a forward whose `to` is a `did:key`), whatever form the
/// keys are given in. `msg` is the inner envelope as JSON. With no routing keys, the envelope
/// is returned unchanged.
pub fn forward<K: AsRef<str>>(
    envelope: &[u8],
    to: &str,
    routing_keys: &[K],
) -> Result<Vec<u8>, EnvelopeError> {
    // The inner envelope is embedded as JSON: it must be an object.
    serde_json::from_slice::<serde::de::IgnoredAny>(envelope)
        .map_err(EnvelopeError::NotAnEnvelope)?;
    let envelope = envelope.trim_ascii();
    if !envelope.starts_with(b"{") {
        return Err(EnvelopeError::NotAnEnvelope(serde::de::Error::custom(
            "the envelope is not a JSON object",
        )));
    }
    let routing_keys = routing_keys
        .iter()
        .map(|key| Verkey::parse(key.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut to = Verkey::parse(to)?;
    let mut current = envelope.to_vec();
    for key in routing_keys {
        let message = forward_message(&to, &current);
        current = pack_bytes(&message, &[key], None)?;
        to = key;
    }
    Ok(current)
}

/// `{"@type": forward, "@id", "to", "msg": <envelope>}`, with the envelope's bytes inlined.
/// The id (a UUID) and `to` (base58) need no JSON escaping.
fn forward_message(to: &Verkey, envelope: &[u8]) -> Vec<u8> {
    let head = format!(
        r#"{{"@type":"{FORWARD_TYPE}","@id":"{}","to":"{}","msg":"#,
        new_id(),
        to.to_base58()
    );
    let mut message = Vec::with_capacity(head.len() + envelope.len() + 1);
    message.extend_from_slice(head.as_bytes());
    message.extend_from_slice(envelope);
    message.push(b'}');
    message
}

/// Packs a message for a service and routes it through the service's mediators: the bytes to
/// send to `service.endpoint`. Authcrypt from `sender` when given, anoncrypt otherwise.
pub fn pack_for_service<M: Serialize + ?Sized>(
    message: &M,
    service: &Service,
    sender: Option<&AgentKey>,
) -> Result<Vec<u8>, EnvelopeError> {
    let envelope = pack(message, &service.recipient_keys, sender)?;
    match service.recipient_keys.first() {
        Some(to) if !service.routing_keys.is_empty() => {
            forward(&envelope, to, &service.routing_keys)
        }
        _ => Ok(envelope),
    }
}
