//! A Socket.IO client (Socket.IO v5 over Engine.IO v4, WebSocket transport only, as
//! Artillery's socketio engine runs it), on the [WebSocket client](crate::ws).
//!
//! Recorded under kind [`KIND`]:
//!
//! | operation | entry | time |
//! |---|---|---|
//! | [`SioConnect::connect`] | `connect <namespace>` | WebSocket connect, Engine.IO open and the namespace's connect answer |
//! | [`SioClient::emit_ack`] | the event name | from the emit to its acknowledgement |
//! | [`SioClient::wait_event`] | the event name | from the call to the event's arrival |
//! | [`SioClient::emit`] | nothing on success; `emit <event>` when the connection is closed | |
//!
//! The WebSocket's own connect and close are recorded by the WebSocket client as well
//! (kind `WSCONNECT`, and `WS` `close /socket.io/`). Engine.IO pings are answered by the
//! socket's task, so an idle user stays connected past the server's ping time-out. A
//! server-side disconnect of the namespace fails the operation waiting at that moment.
//! A client holds one namespace (open another client for another namespace).
//!
//! Binary events and acknowledgements (packet types 5 and 6) go both ways: a
//! [`SioPayload`] carries the arguments with their attachments
//! ([`SioClient::emit_binary`], [`SioClient::emit_binary_ack`],
//! [`SioClient::wait_event_binary`]); the plain methods accept binary packets too and
//! return their arguments with the placeholders left in. A binary packet whose
//! attachments do not arrive as announced (a text frame where an attachment belongs, a
//! placeholder past the count, a binary frame no packet announced, more than
//! 1024 attachments) fails the operation waiting at that moment with
//! [`SioError::Protocol`], and the client reads on.
//!
//! Why not the `rust_socketio` crate: its 0.6 release is built on reqwest 0.12,
//! tokio-tungstenite 0.21 and native-tls (a second HTTP and WebSocket stack, and
//! OpenSSL), and its callback API cannot await one event with a time-out in a task's
//! sequence or time an acknowledgement per emit. The framing is small enough to keep
//! here.

mod client;
mod connect;
mod packet;
mod payload;

use std::time::Duration;

pub use client::SioClient;
pub use connect::SioConnect;
pub use payload::SioPayload;

use crate::ws::WsError;

/// The kind Socket.IO operations are recorded under.
pub const KIND: &str = "SOCKETIO";

/// A Socket.IO operation that failed; already recorded under its entry.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SioError {
    /// The WebSocket could not be opened (recorded by the WebSocket client and as
    /// `connect <namespace>`).
    #[error(transparent)]
    Ws(#[from] WsError),
    /// The server refused the namespace (a connect error packet).
    #[error("{namespace}: connect refused: {message}")]
    Refused {
        /// The namespace.
        namespace: String,
        /// The server's message.
        message: String,
    },
    /// Nothing in time.
    #[error("{name}: no answer within {after:?}")]
    Timeout {
        /// The entry.
        name: String,
        /// How long it waited.
        after: Duration,
    },
    /// The connection or the namespace is closed.
    #[error("{name}: {reason}")]
    Closed {
        /// The entry.
        name: String,
        /// Why.
        reason: String,
    },
    /// The server sent something this client cannot read.
    #[error("{name}: {message}")]
    Protocol {
        /// The entry.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Arguments that do not serialize.
    #[error("Socket.IO client: {0}")]
    Config(String),
}

fn normalize(namespace: &str) -> String {
    if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    }
}
