//! Errors of the JSON-RPC client.

use std::fmt;
use std::time::Duration;

/// A JSON-RPC error object, as a server sent it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RpcErrorObject {
    /// The error code (`-32601` method not found, `-32000` server error, ...).
    pub code: i64,
    /// The message.
    pub message: String,
    /// Extra data, when the server sent some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl fmt::Display for RpcErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)
    }
}

/// A JSON-RPC call that failed. It has already been recorded as a failure under its
/// method, so returning it from a task with `?` does not count it twice.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The server answered with an error object.
    #[error("{method}: {error}")]
    Rpc {
        /// The method (or the batch's name).
        method: String,
        /// The error object.
        error: RpcErrorObject,
    },
    /// The answer is not a valid JSON-RPC 2.0 response for the request: not JSON, cut
    /// short, another id, neither `result` nor `error`, a result of the wrong shape.
    #[error("{method}: {message}")]
    InvalidResponse {
        /// The method.
        method: String,
        /// What is wrong with it.
        message: String,
    },
    /// No answer: the connection failed or closed, or HTTP answered with an error
    /// status and no JSON-RPC error.
    #[error("{method}: {message}")]
    Transport {
        /// The method.
        method: String,
        /// What went wrong.
        message: String,
    },
    /// No answer in time.
    #[error("{method}: no response within {after:?}")]
    Timeout {
        /// The method.
        method: String,
        /// How long it waited.
        after: Duration,
    },
    /// A client option or call that cannot be used (a subscription over HTTP, a bad URL,
    /// parameters that do not serialize). Not recorded.
    #[error("JSON-RPC client: {0}")]
    Config(String),
}

impl RpcError {
    /// The server's error object, when it sent one.
    pub fn error_object(&self) -> Option<&RpcErrorObject> {
        match self {
            RpcError::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<crate::HttpError> for RpcError {
    /// A client that could not be built (the HTTP client's configuration error).
    fn from(e: crate::HttpError) -> Self {
        RpcError::Config(e.to_string())
    }
}
