#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod agent;
mod encoding;
mod envelope;
mod error;
mod inbound;
mod invitation;
pub mod issuer;
mod keys;
mod ld_proof;
pub mod message;
pub mod multitenant;
mod service;
pub mod users;

pub use crate::agent::{
    resolve_their_service, Agent, AgentOptions, AriesError, Connection, CredentialError,
    CredentialFormat, CredentialOffer, Grant, LdProof, PickupStatus, PresentationAck,
    PresentationError, PresentationRequest, StoredCredential, MAX_STORED_CREDENTIALS, OFFER_TYPE,
    PRESENTATION_REQUEST_TYPE,
};
pub use crate::envelope::{
    forward, pack, pack_bytes, pack_for_service, unpack, Keyring, Unpacked, FORWARD_TYPE,
};
pub use crate::error::{
    EnvelopeError, InboundError, InvitationError, KeyError, MessageTypeError, TlsError,
};
pub use crate::inbound::{
    InboundListener, InboundStats, Mailbox, MAILBOX_CAPACITY, MAX_ENVELOPE_BYTES,
};
pub use crate::invitation::{HandshakeProtocol, Invitation, InvitationKind};
pub use crate::keys::did_peer::{did_peer_2, resolve_did_peer_2, PeerDidDoc, QUEUE_ENDPOINT};
pub use crate::keys::{AgentKey, Verkey};
pub use crate::message::{MessageType, Thread};
pub use crate::service::Service;

/// Everything an Aries user needs, in one import.
pub mod prelude {
    pub use crate::message::{self, MessageType, Thread};
    pub use crate::{
        pack, pack_for_service, unpack, AgentKey, EnvelopeError, Invitation, InvitationError,
        Keyring, Service, Unpacked, Verkey,
    };
}
