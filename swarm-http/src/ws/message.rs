//! WebSocket data messages.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// A data message: text or binary. Control frames (ping, pong, close) are handled by the
/// client and never appear as messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsMessage {
    data: Bytes,
    text: bool,
}

impl WsMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        WsMessage {
            data: Bytes::from(text.into()),
            text: true,
        }
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        WsMessage {
            data: data.into(),
            text: false,
        }
    }

    /// A text message holding `value` as JSON.
    pub fn json(value: &impl serde::Serialize) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(WsMessage::text)
    }

    /// Whether it is a text message.
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The text of a text message; `None` for a binary one.
    pub fn as_text(&self) -> Option<&str> {
        if self.text {
            // Text messages hold valid UTF-8: built from a `String` or checked on receipt.
            std::str::from_utf8(&self.data).ok()
        } else {
            None
        }
    }

    /// The payload, text or binary.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// The payload size in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The payload (text or binary) parsed as JSON.
    pub fn parse_json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.data)
    }

    /// The tungstenite message to send; `None` for a text message that is not UTF-8
    /// (which cannot be built through this type's constructors).
    pub(crate) fn into_frame(self) -> Option<Message> {
        if self.text {
            Utf8Bytes::try_from(self.data).ok().map(Message::Text)
        } else {
            Some(Message::Binary(self.data))
        }
    }

    /// The data message of a received frame; `None` for control frames.
    pub(crate) fn from_frame(m: Message) -> Option<Self> {
        match m {
            Message::Text(t) => Some(WsMessage {
                data: Bytes::from(t),
                text: true,
            }),
            Message::Binary(b) => Some(WsMessage::binary(b)),
            _ => None,
        }
    }
}

impl From<String> for WsMessage {
    fn from(s: String) -> Self {
        WsMessage::text(s)
    }
}

impl From<&str> for WsMessage {
    fn from(s: &str) -> Self {
        WsMessage::text(s)
    }
}

impl From<&String> for WsMessage {
    fn from(s: &String) -> Self {
        WsMessage::text(s.as_str())
    }
}

impl From<serde_json::Value> for WsMessage {
    fn from(v: serde_json::Value) -> Self {
        WsMessage::text(v.to_string())
    }
}

impl From<Vec<u8>> for WsMessage {
    fn from(b: Vec<u8>) -> Self {
        WsMessage::binary(b)
    }
}

impl From<&[u8]> for WsMessage {
    fn from(b: &[u8]) -> Self {
        WsMessage::binary(Bytes::copy_from_slice(b))
    }
}

impl From<Bytes> for WsMessage {
    fn from(b: Bytes) -> Self {
        WsMessage::binary(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_round_trip_through_frames() {
        let t = WsMessage::from("héllo");
        assert!(t.is_text());
        assert_eq!(t.as_text(), Some("héllo"));
        let back = WsMessage::from_frame(t.clone().into_frame().unwrap()).unwrap();
        assert_eq!(back, t);

        let b = WsMessage::from(vec![0u8, 159, 146, 150]);
        assert!(!b.is_text());
        assert_eq!(b.as_text(), None);
        assert_eq!(b.len(), 4);
        let back = WsMessage::from_frame(b.clone().into_frame().unwrap()).unwrap();
        assert_eq!(back, b);

        assert_eq!(WsMessage::from_frame(Message::Ping(Bytes::new())), None);
    }
}
