//! DIDComm v1 message helpers: `@type`, `@id`, `~thread` and `~transport`.
//!
//! Messages are `serde_json::Value` objects; the helpers read and write their reserved fields.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{clip, MessageTypeError};

/// The message-type prefix ACA-Py (and every current Aries agent) writes.
pub const DIDCOMM_PREFIX: &str = "https://didcomm.org/";
/// The legacy message-type prefix, still accepted by ACA-Py; normalised to [`DIDCOMM_PREFIX`].
pub const SOV_PREFIX: &str = "did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/";

/// A message `@type`: `<doc-uri><family>/<version>/<name>`, with the legacy `did:sov:` prefix
/// normalised to `https://didcomm.org/`.
///
/// ```
/// use swarm_aries::MessageType;
///
/// let t = MessageType::parse("did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/trust_ping/1.0/ping")?;
/// assert_eq!(t.as_str(), "https://didcomm.org/trust_ping/1.0/ping");
/// assert_eq!((t.family(), t.version(), t.name()), ("trust_ping", "1.0", "ping"));
/// assert!(t.is("trust_ping", 1, "ping"));
/// # Ok::<(), swarm_aries::MessageTypeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MessageType {
    /// The normalised type.
    full: String,
    /// Where the family starts (the doc URI is `full[..family]`).
    family: usize,
    /// Where the version starts.
    version: usize,
    /// Where the name starts.
    name: usize,
}

impl MessageType {
    /// Parses and normalises a message type.
    pub fn parse(text: &str) -> Result<Self, MessageTypeError> {
        let malformed = || MessageTypeError::Malformed(clip(text, 100));
        let trimmed = text.trim();
        let full = match trimmed.strip_prefix(SOV_PREFIX) {
            Some(rest) => format!("{DIDCOMM_PREFIX}{rest}"),
            None => trimmed.to_owned(),
        };
        let mut parts = full.rsplitn(4, '/');
        let (Some(name), Some(version), Some(family), Some(doc)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let version_ok = version.starts_with(|c: char| c.is_ascii_digit())
            && version.chars().all(|c| c.is_ascii_digit() || c == '.');
        if doc.is_empty() || family.is_empty() || name.is_empty() || !version_ok {
            return Err(malformed());
        }
        let name_at = full.len() - name.len();
        let version_at = name_at - 1 - version.len();
        let family_at = version_at - 1 - family.len();
        Ok(Self {
            family: family_at,
            version: version_at,
            name: name_at,
            full,
        })
    }

    /// The normalised type.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The doc URI, with its trailing `/` (`https://didcomm.org/`).
    pub fn doc_uri(&self) -> &str {
        &self.full[..self.family]
    }

    /// The protocol family (`didexchange`).
    pub fn family(&self) -> &str {
        &self.full[self.family..self.version - 1]
    }

    /// The protocol version (`1.1`).
    pub fn version(&self) -> &str {
        &self.full[self.version..self.name - 1]
    }

    /// The major version, if it is a number.
    pub fn major(&self) -> Option<u32> {
        self.version().split('.').next()?.parse().ok()
    }

    /// The minor version, if there is one and it is a number.
    pub fn minor(&self) -> Option<u32> {
        self.version().split('.').nth(1)?.parse().ok()
    }

    /// The message name (`request`).
    pub fn name(&self) -> &str {
        &self.full[self.name..]
    }

    /// The protocol URI, without the name (`https://didcomm.org/didexchange/1.1`).
    pub fn protocol(&self) -> &str {
        &self.full[..self.name - 1]
    }

    /// Whether this is message `name` of `family`, major version `major` (any minor version,
    /// as DIDComm's version rules want), under any doc URI.
    pub fn is(&self, family: &str, major: u32, name: &str) -> bool {
        self.family() == family && self.major() == Some(major) && self.name() == name
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageType({})", self.full)
    }
}

impl FromStr for MessageType {
    type Err = MessageTypeError;

    fn from_str(text: &str) -> Result<Self, MessageTypeError> {
        Self::parse(text)
    }
}

impl Serialize for MessageType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.full)
    }
}

impl<'de> Deserialize<'de> for MessageType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The `@type` of a message, parsed and normalised.
pub fn message_type(message: &Value) -> Result<MessageType, MessageTypeError> {
    match message.get("@type").and_then(Value::as_str) {
        Some(text) => MessageType::parse(text),
        None => Err(MessageTypeError::Missing),
    }
}

/// A new message `@id` (a random UUID).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new message: `{"@type": msg_type, "@id": <new id>}`. Add its fields by indexing, e.g.
/// `message["label"] = "alice".into()`.
pub fn new_message(msg_type: &str) -> Value {
    let mut message = serde_json::Map::with_capacity(4);
    message.insert("@type".into(), msg_type.into());
    message.insert("@id".into(), new_id().into());
    Value::Object(message)
}

/// The `@id` of a message.
pub fn message_id(message: &Value) -> Option<&str> {
    message.get("@id")?.as_str()
}

/// The thread a message belongs to: its `~thread.thid`, or else its own `@id` (a message that
/// starts a thread has no `~thread`).
pub fn thread_id(message: &Value) -> Option<&str> {
    message
        .get("~thread")
        .and_then(|thread| thread.get("thid"))
        .and_then(Value::as_str)
        .or_else(|| message_id(message))
}

/// The parent thread of a message (`~thread.pthid`), e.g. the invitation a DID exchange
/// request answers.
pub fn parent_thread_id(message: &Value) -> Option<&str> {
    message.get("~thread")?.get("pthid")?.as_str()
}

/// The `~thread` decorator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    /// The thread id: the `@id` of the message that started the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thid: Option<String>,
    /// The parent thread id (for example the invitation's `@id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pthid: Option<String>,
}

impl Thread {
    /// A reply in thread `thid`.
    pub fn reply(thid: impl Into<String>) -> Self {
        Self {
            thid: Some(thid.into()),
            pthid: None,
        }
    }

    /// The same thread, with a parent thread.
    #[must_use]
    pub fn with_parent(mut self, pthid: impl Into<String>) -> Self {
        self.pthid = Some(pthid.into());
        self
    }
}

/// Sets a message's `~thread`. Does nothing to a value that is not an object.
pub fn set_thread(message: &mut Value, thread: &Thread) {
    if let Some(message) = message.as_object_mut() {
        let thread = serde_json::to_value(thread).unwrap_or_default();
        message.insert("~thread".into(), thread);
    }
}

/// Sets `"~transport": {"return_route": "all"}`: the peer answers on the same connection
/// (HTTP response or WebSocket). ACA-Py resets the mode with every inbound message, so on a
/// WebSocket *every* message needs it. Does nothing to a value that is not an object.
pub fn set_return_route(message: &mut Value) {
    if let Some(message) = message.as_object_mut() {
        message.insert(
            "~transport".into(),
            serde_json::json!({ "return_route": "all" }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_normalises() {
        for text in [
            "https://didcomm.org/didexchange/1.1/request",
            "did:sov:BzCbsNYhMrjHiqZDTUASHg;spec/didexchange/1.1/request",
            "  https://didcomm.org/didexchange/1.1/request ",
        ] {
            let t = MessageType::parse(text).unwrap();
            assert_eq!(t.as_str(), "https://didcomm.org/didexchange/1.1/request");
            assert_eq!(t.doc_uri(), DIDCOMM_PREFIX);
            assert_eq!(t.family(), "didexchange");
            assert_eq!(t.version(), "1.1");
            assert_eq!((t.major(), t.minor()), (Some(1), Some(1)));
            assert_eq!(t.name(), "request");
            assert_eq!(t.protocol(), "https://didcomm.org/didexchange/1.1");
            assert!(t.is("didexchange", 1, "request"));
            assert!(!t.is("didexchange", 2, "request"));
            assert_eq!(t, text.parse().unwrap());
        }
        let other = MessageType::parse("https://example.org/x/proto/2.0/msg").unwrap();
        assert_eq!(other.doc_uri(), "https://example.org/x/");
        assert_eq!(other.protocol(), "https://example.org/x/proto/2.0");
        let json = serde_json::to_string(&other).unwrap();
        assert_eq!(serde_json::from_str::<MessageType>(&json).unwrap(), other);
    }

    #[test]
    fn rejects_malformed() {
        for text in [
            "",
            "ping",
            "trust_ping/1.0/ping",
            "https://didcomm.org/trust_ping/1.0/",
            "https://didcomm.org//1.0/ping",
            "https://didcomm.org/trust_ping/v1/ping",
            "https://didcomm.org/trust_ping/1.0",
            "/trust_ping/1.0/ping",
        ] {
            assert!(MessageType::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(message_type(&json!({})), Err(MessageTypeError::Missing));
        assert!(message_type(&json!({"@type": 5})).is_err());
    }

    #[test]
    fn decorators() {
        let mut message = new_message("https://didcomm.org/trust_ping/1.0/ping");
        message["response_requested"] = true.into();
        let id = message_id(&message).unwrap().to_owned();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
        assert_eq!(thread_id(&message), Some(id.as_str()));
        assert_eq!(parent_thread_id(&message), None);

        set_thread(&mut message, &Thread::reply("t-1").with_parent("inv-1"));
        set_return_route(&mut message);
        assert_eq!(message["~thread"], json!({"thid": "t-1", "pthid": "inv-1"}));
        assert_eq!(message["~transport"], json!({"return_route": "all"}));
        assert_eq!(thread_id(&message), Some("t-1"));
        assert_eq!(parent_thread_id(&message), Some("inv-1"));
        assert_eq!(
            message_type(&message).unwrap().as_str(),
            "https://didcomm.org/trust_ping/1.0/ping"
        );

        let mut not_an_object = json!([1]);
        set_thread(&mut not_an_object, &Thread::default());
        set_return_route(&mut not_an_object);
        assert_eq!(not_an_object, json!([1]));
        set_thread(&mut message, &Thread::default());
        assert_eq!(message["~thread"], json!({}));
    }
}
