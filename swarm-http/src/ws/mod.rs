//! The per-user WebSocket client.
//!
//! A [`WsClient`] is one open WebSocket. A task of its own reads from the socket all the
//! time, so pings are answered and a server's close is noticed while the user waits
//! between tasks; the user sends, receives and makes round trips through it.
//!
//! What is recorded (kind [`KIND`] unless said):
//!
//! | operation | entry | time |
//! |---|---|---|
//! | [`WsConnect::connect`] | kind [`CONNECT_KIND`], the connection's name | TCP (and TLS) connect and the opening handshake; code 101, or the HTTP status of a refused upgrade |
//! | [`WsClient::request`] | the name given | from the send to the reply whose correlation key matches |
//! | [`WsClient::recv`], [`WsClient::recv_key`] | the name given | from the call to the message |
//! | [`WsClient::close`] | `close <connection name>` | from the close frame to the server's answer |
//! | [`WsClient::send`] | nothing on success; `send <connection name>` when the socket is closed | |
//!
//! A server that closes the connection, a socket error and a time-out are failures of
//! the entry whose operation they interrupt; the close code, when there is one, is the
//! sample's code.

mod client;
mod connect;
mod error;
mod message;
pub(crate) mod socket;
#[cfg(feature = "tls")]
mod tls;

pub(crate) use client::Next;
pub use client::WsClient;
pub use connect::WsConnect;
pub use error::WsError;
pub use message::WsMessage;
pub(crate) use socket::Intercept;

/// The kind WebSocket messages, round trips and closes are recorded under.
pub const KIND: &str = "WS";
/// The kind WebSocket connects are recorded under, apart from the messages.
pub const CONNECT_KIND: &str = "WSCONNECT";

/// How many received messages that no one asked for yet are kept (the oldest go first).
const MAX_PENDING: usize = 4096;
/// Messages the socket task may hold for the user before it stops reading.
const INBOX: usize = 64;

/// A function giving the correlation key of a message, if it has one.
type Correlator = dyn Fn(&WsMessage) -> Option<String> + Send + Sync;
