//! Errors of the WebSocket client.

use std::time::Duration;

/// A WebSocket operation that failed. Like [`HttpError`](crate::HttpError), it has
/// already been recorded as a failure under its entry, so returning it from a task with
/// `?` does not count it twice.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The URL cannot be used for a WebSocket (a wrong scheme, no host, `wss://` without
    /// the `tls` feature).
    #[error("invalid WebSocket URL {url:?}: {message}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The connection or the opening handshake failed.
    #[error("{name}: {message}")]
    Connect {
        /// The entry the connect is recorded under.
        name: String,
        /// The HTTP status the server answered the upgrade with, when it answered.
        status: Option<u16>,
        /// What went wrong.
        message: String,
    },
    /// Nothing (or nothing matching) arrived in time.
    #[error("{name}: no reply within {after:?}")]
    Timeout {
        /// The entry the wait is recorded under.
        name: String,
        /// How long it waited.
        after: Duration,
    },
    /// The connection is closed: by the server, by an error, or by [`close`](super::WsClient::close).
    #[error("{name}: {reason}")]
    Closed {
        /// The entry the failed operation is recorded under.
        name: String,
        /// Why it is closed (`closed by the server (1000 bye)`, `connection reset`, ...).
        reason: String,
    },
    /// A client option that cannot be used (a bad header).
    #[error("WebSocket client configuration: {0}")]
    Config(String),
}

impl WsError {
    /// The entry the error was recorded under, when it was recorded under one.
    pub fn name(&self) -> Option<&str> {
        match self {
            WsError::Connect { name, .. }
            | WsError::Timeout { name, .. }
            | WsError::Closed { name, .. } => Some(name),
            WsError::InvalidUrl { .. } | WsError::Config(_) => None,
        }
    }
}

/// The message for a tungstenite error: its kind and innermost cause.
pub(crate) fn describe(e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::ConnectionClosed | E::AlreadyClosed => "connection closed".to_owned(),
        // An inner error (a TLS alert, a refused certificate) says more than the kind.
        E::Io(io) => match io.get_ref() {
            Some(inner) => format!("I/O error: {inner}"),
            None => format!("I/O error: {}", io.kind()),
        },
        E::Http(resp) => format!(
            "upgrade refused: HTTP {}",
            resp.status().as_u16() // the body may be large or random: leave it out
        ),
        other => {
            let mut cause: &dyn std::error::Error = other;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let (outer, inner) = (other.to_string(), cause.to_string());
            if outer.ends_with(&inner) {
                outer
            } else {
                format!("{outer}: {inner}")
            }
        }
    }
}
