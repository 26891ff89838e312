//! A JSON-RPC 2.0 client over HTTP or a WebSocket.
//!
//! Any method name goes (`eth_`, `net_`, Klaytn/Kaia's `klay_`, your own). Each call is
//! recorded under kind [`KIND`] and its method (or a name you give), timed from the
//! request to its response:
//!
//! - a response with `result`: a success (over HTTP with the HTTP status as its code);
//! - a response with an `error` object: a failure grouped by the error's code and
//!   message (`JSON-RPC error -32601: Method not found`), with the JSON-RPC code as the
//!   sample's code;
//! - an answer that is not a valid JSON-RPC 2.0 response for the request (not JSON, cut
//!   short, another id, neither `result` nor `error`): a failure saying so;
//! - no answer (connection failed or closed, an HTTP error status, a time-out): a failure.
//!
//! Over a WebSocket, answers are matched to calls by id; an answer that is not JSON, or
//! carries another id, matches no call, so the call fails by its time-out (the message
//! is kept, not lost). Over HTTP such an answer is the call's failure at once.
//!
//! A batch is one sample under its name; it fails when any of its calls failed.
//! Subscriptions (`eth_subscribe`) need a WebSocket: [`RpcClient::next_notification`]
//! records the wait for a notification, [`RpcClient::next_head`] the time from a new
//! head's block timestamp to its arrival.

mod client;
mod error;
mod transport;
mod wire;

use serde::Serialize;
use serde_json::Value;

pub use client::RpcClient;
pub use error::{RpcError, RpcErrorObject};

/// The kind JSON-RPC calls are recorded under.
pub const KIND: &str = "JSONRPC";

/// A subscription made with [`RpcClient::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    id: String,
    name: String,
}

impl Subscription {
    /// The id the server gave it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name its notifications are recorded under.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Calls and notifications sent together as one JSON-RPC batch
/// ([`RpcClient::batch`]).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    items: Vec<(bool, String, Value)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a call; its answer comes back in the order calls were added.
    pub fn call(mut self, method: &str, params: impl Serialize) -> Result<Self, RpcError> {
        self.items
            .push((true, method.to_owned(), to_params(params)?));
        Ok(self)
    }

    /// Add a notification (no answer).
    pub fn notify(mut self, method: &str, params: impl Serialize) -> Result<Self, RpcError> {
        self.items
            .push((false, method.to_owned(), to_params(params)?));
        Ok(self)
    }

    /// How many calls and notifications it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn to_params(params: impl Serialize) -> Result<Value, RpcError> {
    let v = serde_json::to_value(params)
        .map_err(|e| RpcError::Config(format!("parameters do not serialize: {e}")))?;
    match v {
        Value::Null | Value::Array(_) | Value::Object(_) => Ok(v),
        other => Ok(Value::Array(vec![other])),
    }
}
