//! Invitations: out-of-band 1.x (`?oob=`), connections/1.0 (`?c_i=`), connectionless messages
//! (`?d_m=`), or the invitation's raw JSON.

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::encoding::b64_decode;
use crate::error::{clip, InvitationError, KeyError};
use crate::keys::did_peer::resolve_did_peer_2;
use crate::keys::Verkey;
use crate::message::{MessageType, DIDCOMM_PREFIX, SOV_PREFIX};
use crate::service::Service;

/// What kind of invitation it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvitationKind {
    /// An out-of-band 1.x invitation (`?oob=`).
    OutOfBand,
    /// A connections/1.0 invitation (`?c_i=`).
    Connections,
    /// A connectionless message carrying its own `~service` (`?d_m=`).
    Connectionless,
}

/// A handshake protocol an invitation offers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeProtocol {
    /// `https://didcomm.org/didexchange/1.0`.
    DidExchange10,
    /// `https://didcomm.org/didexchange/1.1`.
    DidExchange11,
    /// `https://didcomm.org/connections/1.0` (dropped by ACA-Py from 1.3 on).
    Connections10,
    /// Another protocol, as written (with the `did:sov:` prefix normalised).
    Other(String),
}

impl HandshakeProtocol {
    /// Parses a protocol URI (`https://didcomm.org/didexchange/1.1`, or with the legacy
    /// `did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/` prefix).
    pub fn parse(text: &str) -> Self {
        let text = text.trim().trim_end_matches('/');
        let normalised = match text.strip_prefix(SOV_PREFIX) {
            Some(rest) => format!("{DIDCOMM_PREFIX}{rest}"),
            None => text.to_owned(),
        };
        match normalised.strip_prefix(DIDCOMM_PREFIX) {
            Some("didexchange/1.0") => Self::DidExchange10,
            Some("didexchange/1.1") => Self::DidExchange11,
            Some("connections/1.0") => Self::Connections10,
            _ => Self::Other(normalised),
        }
    }

    /// The protocol URI.
    pub fn as_str(&self) -> &str {
        match self {
            Self::DidExchange10 => "https://didcomm.org/didexchange/1.0",
            Self::DidExchange11 => "https://didcomm.org/didexchange/1.1",
            Self::Connections10 => "https://didcomm.org/connections/1.0",
            Self::Other(uri) => uri,
        }
    }
}

/// An invitation, whatever its form.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    /// The invitation's `@id`: the `pthid` of the handshake request that answers it.
    pub id: String,
    /// The inviter's label, if any.
    pub label: Option<String>,
    /// What kind of invitation it was.
    pub kind: InvitationKind,
    /// The handshake protocols offered, in the inviter's order of preference (empty for a
    /// connectionless message or an out-of-band invitation without handshake).
    pub handshake_protocols: Vec<HandshakeProtocol>,
    /// Where to answer, in order (never empty).
    pub services: Vec<Service>,
    /// The messages to handle: the payloads of an out-of-band invitation's `requests~attach`
    /// (decoded from `json` or `base64`), or the connectionless message itself.
    pub requests: Vec<Value>,
}

impl Invitation {
    /// Parses an invitation URL (`...?oob=`, `...?c_i=`, `...?d_m=`, base64 URL-safe or
    /// standard, padded or not) or an invitation's raw JSON. Never panics.
    pub fn parse(input: &str) -> Result<Self, InvitationError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(InvitationError::Empty);
        }
        if input.starts_with('{') {
            let value = serde_json::from_str(input).map_err(|e| InvitationError::NotJson {
                param: "invitation",
                reason: e.to_string(),
            })?;
            return Self::from_json(&value);
        }
        let Some((_, query)) = input.split_once('?') else {
            return Err(if input.contains(':') {
                InvitationError::NoParameter
            } else {
                InvitationError::BadUrl(clip(input, 100))
            });
        };
        let query = query.split('#').next().unwrap_or_default();
        let mut found: Option<(&'static str, String)> = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let param = match name.as_ref() {
                "oob" => "oob",
                "c_i" => "c_i",
                "d_m" => "d_m",
                _ => continue,
            };
            // Form decoding turns an unescaped '+' of standard base64 into a space.
            found = Some((param, value.replace(' ', "+")));
            break;
        }
        let (param, encoded) = found.ok_or(InvitationError::NoParameter)?;
        let json = b64_decode(&encoded).ok_or(InvitationError::Base64 { param })?;
        let value: Value = serde_json::from_slice(&json).map_err(|e| InvitationError::NotJson {
            param,
            reason: e.to_string(),
        })?;
        if param == "d_m" {
            let object = as_object(&value, param)?;
            return connectionless(object);
        }
        Self::from_json(&value)
    }

    /// An invitation from its JSON (out-of-band, connections/1.0, or a connectionless message
    /// with a `~service`).
    pub fn from_json(value: &Value) -> Result<Self, InvitationError> {
        let object = as_object(value, "invitation")?;
        let text = object
            .get("@type")
            .and_then(Value::as_str)
            .ok_or(InvitationError::MissingType)?;
        let unknown = || InvitationError::UnknownType(clip(text, 100));
        let msg_type = MessageType::parse(text).map_err(|_| unknown())?;
        if msg_type.is("out-of-band", 1, "invitation") {
            out_of_band(object)
        } else if msg_type.is("connections", 1, "invitation") {
            connections(object)
        } else if object.contains_key("~service") {
            connectionless(object)
        } else {
            Err(unknown())
        }
    }

    /// The first service (where to answer first).
    pub fn service(&self) -> Option<&Service> {
        self.services.first()
    }
}

impl FromStr for Invitation {
    type Err = InvitationError;

    /// Same as [`Invitation::parse`].
    fn from_str(input: &str) -> Result<Self, InvitationError> {
        Self::parse(input)
    }
}

fn as_object<'a>(
    value: &'a Value,
    param: &'static str,
) -> Result<&'a Map<String, Value>, InvitationError> {
    value.as_object().ok_or_else(|| InvitationError::NotJson {
        param,
        reason: "not an object".into(),
    })
}

fn id(object: &Map<String, Value>) -> Result<String, InvitationError> {
    match object.get("@id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(InvitationError::BadField("@id")),
    }
}

fn label(object: &Map<String, Value>) -> Option<String> {
    object
        .get("label")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn out_of_band(object: &Map<String, Value>) -> Result<Invitation, InvitationError> {
    let handshake_protocols = match object.get("handshake_protocols") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(HandshakeProtocol::parse)
                    .ok_or(InvitationError::BadField("handshake_protocols"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(InvitationError::BadField("handshake_protocols")),
    };
    let entries = match object.get("services") {
        None | Some(Value::Null) => return Err(InvitationError::NoService),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(InvitationError::BadField("services")),
    };
    let mut services = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        match entry {
            Value::String(did) => services.extend(did_services(index, did)?),
            Value::Object(service) => services.push(inline_service(index, service)?),
            _ => return Err(InvitationError::BadField("services")),
        }
    }
    if services.is_empty() {
        return Err(InvitationError::NoService);
    }
    let requests = match object.get("requests~attach") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(attachments)) => attachments
            .iter()
            .enumerate()
            .map(|(index, attachment)| attachment_payload(index, attachment))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(InvitationError::BadField("requests~attach")),
    };
    Ok(Invitation {
        id: id(object)?,
        label: label(object),
        kind: InvitationKind::OutOfBand,
        handshake_protocols,
        services,
        requests,
    })
}

fn connections(object: &Map<String, Value>) -> Result<Invitation, InvitationError> {
    let services = match object.get("did").and_then(Value::as_str) {
        Some(did) if !object.contains_key("recipientKeys") => did_services(0, did)?,
        _ => vec![inline_service(0, object)?],
    };
    Ok(Invitation {
        id: id(object)?,
        label: label(object),
        kind: InvitationKind::Connections,
        handshake_protocols: vec![HandshakeProtocol::Connections10],
        services,
        requests: Vec::new(),
    })
}

fn connectionless(object: &Map<String, Value>) -> Result<Invitation, InvitationError> {
    if !object.contains_key("@type") {
        return Err(InvitationError::MissingType);
    }
    let service = match object.get("~service") {
        None | Some(Value::Null) => return Err(InvitationError::NoService),
        Some(Value::Object(service)) => inline_service(0, service)?,
        Some(_) => return Err(InvitationError::BadField("~service")),
    };
    Ok(Invitation {
        id: id(object)?,
        label: label(object),
        kind: InvitationKind::Connectionless,
        handshake_protocols: Vec::new(),
        services: vec![service],
        requests: vec![Value::Object(object.clone())],
    })
}

/// The DIDComm services of a service DID (only `did:peer:2` resolves locally).
fn did_services(index: usize, did: &str) -> Result<Vec<Service>, InvitationError> {
    if !did.starts_with("did:peer:2") {
        return Err(InvitationError::UnsupportedDid(clip(did, 100)));
    }
    let doc = resolve_did_peer_2(did).map_err(|source| InvitationError::BadDid {
        service: index,
        source,
    })?;
    if doc.services.is_empty() {
        return Err(InvitationError::BadDid {
            service: index,
            source: KeyError::DidPeer("no DIDComm v1 service".into()),
        });
    }
    Ok(doc.services)
}

/// An inline service (`recipientKeys`, `routingKeys`, `serviceEndpoint`); keys as `did:key`
/// (URLs) or base58 verkeys.
fn inline_service(index: usize, service: &Map<String, Value>) -> Result<Service, InvitationError> {
    let keys = |field: &'static str| -> Result<Vec<String>, InvitationError> {
        match service.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let text = item.as_str().ok_or(InvitationError::BadField(field))?;
                    Verkey::parse(text)
                        .map(|key| key.to_base58())
                        .map_err(|source| InvitationError::BadKey {
                            service: index,
                            key: clip(text, 100),
                            source,
                        })
                })
                .collect(),
            Some(_) => Err(InvitationError::BadField(field)),
        }
    };
    let recipient_keys = keys("recipientKeys")?;
    if recipient_keys.is_empty() {
        return Err(InvitationError::NoRecipientKey { service: index });
    }
    let routing_keys = keys("routingKeys")?;
    let endpoint = match service.get("serviceEndpoint") {
        Some(Value::String(uri)) if !uri.trim().is_empty() => uri.trim().to_owned(),
        Some(Value::Object(inner)) => match inner.get("uri").and_then(Value::as_str) {
            Some(uri) if !uri.trim().is_empty() => uri.trim().to_owned(),
            _ => return Err(InvitationError::NoEndpoint { service: index }),
        },
        _ => return Err(InvitationError::NoEndpoint { service: index }),
    };
    Ok(Service {
        recipient_keys,
        routing_keys,
        endpoint,
    })
}

/// The payload of an attachment: its `data.json`, or its `data.base64` decoded as JSON.
fn attachment_payload(index: usize, attachment: &Value) -> Result<Value, InvitationError> {
    let data = attachment
        .get("data")
        .ok_or(InvitationError::BadAttachment(index))?;
    if let Some(json) = data.get("json") {
        return Ok(json.clone());
    }
    data.get("base64")
        .and_then(Value::as_str)
        .and_then(b64_decode)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(InvitationError::BadAttachment(index))
}

#[cfg(test)]
mod tests;
