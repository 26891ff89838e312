//! Where and how to send a DIDComm v1 message to someone.

use serde::{Deserialize, Serialize};

/// A DIDComm v1 service: the keys to pack for, the mediators to route through, and the URL to
/// post the envelope to.
///
/// All keys are base58 verkeys (converted from `did:key` where the source had that form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// The recipients' verkeys: pack the message for these (at least one).
    pub recipient_keys: Vec<String>,
    /// The mediators' verkeys, nearest the recipient first: wrap the packed message in one
    /// `forward` per key (see [`forward`](crate::forward)).
    pub routing_keys: Vec<String>,
    /// Where to send the outermost envelope (HTTP(S) or WS(S) URL, or
    /// [`QUEUE_ENDPOINT`](crate::QUEUE_ENDPOINT) for an agent without an inbound endpoint).
    pub endpoint: String,
}

impl Service {
    /// A service from its parts.
    pub fn new(
        endpoint: impl Into<String>,
        recipient_keys: Vec<String>,
        routing_keys: Vec<String>,
    ) -> Self {
        Self {
            recipient_keys,
            routing_keys,
            endpoint: endpoint.into(),
        }
    }
}
