//! Error types, one per concern. All are `#[non_exhaustive]`: match them with a wildcard arm.

/// A key, `did:key` or `did:peer:2` that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not base58 (bitcoin alphabet).
    #[error("not base58: {0:?}")]
    Base58(String),
    /// The key has the wrong number of bytes.
    #[error("a key is {expected} bytes, this one is {found}")]
    Length {
        /// The size expected.
        expected: usize,
        /// The size found.
        found: usize,
    },
    /// The 32 bytes are not a point of the Ed25519 curve.
    #[error("not a valid Ed25519 public key")]
    InvalidPoint,
    /// The key is a point of small order: it cannot protect anything.
    #[error("weak (small-order) Ed25519 public key")]
    WeakKey,
    /// The text is not a `did:key` (nor a base58 verkey where either is accepted).
    #[error("not a did:key: {0:?}")]
    NotDidKey(String),
    /// The multibase value is not base58btc (it lacks the `z` prefix).
    #[error("the multibase key {0:?} is not base58btc (no 'z' prefix)")]
    NotBase58Btc(String),
    /// The multicodec prefix is not the one expected (ed25519-pub `0xed01`).
    #[error("unsupported multicodec prefix 0x{found:04x} (expected 0x{expected:04x})")]
    UnsupportedCodec {
        /// The two-byte prefix expected.
        expected: u16,
        /// The two-byte prefix found.
        found: u16,
    },
    /// An Ed25519 signature does not verify (or is not 64 bytes).
    #[error("the signature does not verify")]
    BadSignature,
    /// A `did:peer:2` is malformed.
    #[error("invalid did:peer:2: {0}")]
    DidPeer(String),
}

/// A DIDComm v1 envelope that cannot be packed or unpacked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Packing needs at least one recipient key.
    #[error("no recipient keys to pack for")]
    NoRecipients,
    /// A recipient, routing or sender key is invalid.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The message to pack does not serialize to JSON.
    #[error("the message does not serialize to JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The input is not a JWE envelope (`protected`, `iv`, `ciphertext`, `tag`).
    #[error("not a DIDComm v1 envelope: {0}")]
    NotAnEnvelope(#[source] serde_json::Error),
    /// A field is not base64 (URL-safe or standard, padded or not).
    #[error("the {field} field is not base64")]
    Base64 {
        /// The field (`protected`, `iv`, `encrypted_key`, ...).
        field: &'static str,
    },
    /// The decoded `protected` header is not the JSON of a DIDComm v1 header.
    #[error("the protected header is invalid: {0}")]
    ProtectedHeader(#[source] serde_json::Error),
    /// The `alg` is neither `Authcrypt` nor `Anoncrypt`.
    #[error("unsupported alg {0:?} (expected Authcrypt or Anoncrypt)")]
    UnsupportedAlg(String),
    /// The `enc` is not a ChaCha20-Poly1305 content cipher.
    #[error("unsupported enc {0:?} (expected xchacha20poly1305_ietf or chacha20poly1305_ietf)")]
    UnsupportedEnc(String),
    /// None of the envelope's recipients (`kid`s) is a key we hold.
    #[error("none of the {recipients} recipient(s) of the envelope is a key we hold")]
    NoMatchingRecipient {
        /// How many recipients the envelope names.
        recipients: usize,
    },
    /// An authcrypt recipient lacks its `sender` or `iv` header.
    #[error("the authcrypt recipient header lacks {0:?}")]
    MissingHeader(&'static str),
    /// A decoded field has the wrong size.
    #[error("the {field} is {found} bytes, expected {expected}")]
    Length {
        /// The field (`iv`, `tag`, `content key`, ...).
        field: &'static str,
        /// The size (or sizes) expected.
        expected: &'static str,
        /// The size found.
        found: usize,
    },
    /// Authenticated decryption failed: wrong key, or the envelope was tampered with.
    #[error("cannot decrypt the {0}: wrong key or tampered envelope")]
    Decrypt(&'static str),
    /// Encryption failed (should not happen with valid keys).
    #[error("cannot encrypt the {0}")]
    Encrypt(&'static str),
    /// The decrypted `sender` is not a base58 verkey.
    #[error("the sender is not a base58 verkey")]
    BadSender,
    /// The decrypted plaintext is not JSON.
    #[error("the decrypted message is not JSON: {0}")]
    PlaintextNotJson(#[source] serde_json::Error),
}

/// An invitation (URL or JSON) that cannot be used. The message says what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// The input is empty (or only white space).
    #[error("the invitation is empty")]
    Empty,
    /// The input is neither a URL nor a JSON object.
    #[error("the invitation is neither a URL nor JSON: {0}")]
    BadUrl(String),
    /// The URL has none of the `oob`, `c_i` or `d_m` query parameters.
    #[error("the URL has no oob, c_i or d_m parameter")]
    NoParameter,
    /// The parameter's value is not base64 (URL-safe or standard, padded or not).
    #[error("the {param} parameter is not base64")]
    Base64 {
        /// The query parameter (`oob`, `c_i`, `d_m`).
        param: &'static str,
    },
    /// The decoded parameter (or the raw input) is not a JSON object.
    #[error("the {param} is not a JSON object: {reason}")]
    NotJson {
        /// The query parameter, or `invitation` for raw JSON.
        param: &'static str,
        /// Why (the JSON parser's message).
        reason: String,
    },
    /// The invitation has no `@type`.
    #[error("the invitation has no @type")]
    MissingType,
    /// The `@type` is not an invitation type this crate knows.
    #[error("unknown invitation type {0:?}")]
    UnknownType(String),
    /// A required field is missing or has the wrong JSON type.
    #[error("the invitation's {0} is missing or not of the expected type")]
    BadField(&'static str),
    /// The invitation has no service.
    #[error("the invitation has no service")]
    NoService,
    /// A service has no recipient key.
    #[error("service {service} has no recipient key")]
    NoRecipientKey {
        /// The service's index in the invitation.
        service: usize,
    },
    /// A service has no endpoint.
    #[error("service {service} has no serviceEndpoint")]
    NoEndpoint {
        /// The service's index in the invitation.
        service: usize,
    },
    /// A key (did:key or base58 verkey) is invalid.
    #[error("service {service} has an invalid key {key:?}: {source}")]
    BadKey {
        /// The service's index in the invitation.
        service: usize,
        /// The key as written (cut to 100 characters).
        key: String,
        /// What is wrong with it.
        source: KeyError,
    },
    /// A service is a DID this crate cannot resolve locally (anything but `did:peer:2`).
    #[error("service DID {0:?} is not supported (only did:peer:2 resolves locally)")]
    UnsupportedDid(String),
    /// A service DID is a `did:peer:2` that does not resolve.
    #[error("service {service}: {source}")]
    BadDid {
        /// The service's index in the invitation.
        service: usize,
        /// Why it does not resolve.
        source: KeyError,
    },
    /// An attachment (`requests~attach`) has neither usable `json` nor `base64` data.
    #[error("attachment {0} has no usable json or base64 data")]
    BadAttachment(usize),
}

/// A message `@type` that is missing or not `<doc-uri><family>/<version>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageTypeError {
    /// The `@type` is not of the form `<doc-uri><family>/<major>.<minor>/<name>`.
    #[error("malformed message type {0:?} (expected <prefix><family>/<major>.<minor>/<name>)")]
    Malformed(String),
    /// The message has no `@type` string.
    #[error("the message has no @type")]
    Missing,
}

/// Cuts an input to `max` characters for an error message (inputs may be huge).
pub(crate) fn clip(input: &str, max: usize) -> String {
    match input.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &input[..at]),
        None => input.to_owned(),
    }
}

/// The shared inbound HTTP listener cannot be set up, or a key cannot be registered on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboundError {
    /// The address is not a loopback one: load goes to loopback only.
    #[error("the inbound listener binds loopback addresses only (127.0.0.0/8, ::1), not {0}")]
    NotLoopback(std::net::SocketAddr),
    /// The address cannot be bound (in use, no permission, ...).
    #[error("cannot bind the inbound listener to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Another live mailbox already receives for this key.
    #[error("the key {0} already has a mailbox on this listener")]
    AlreadyRegistered(String),
}

/// TLS that cannot be set up, or a TLS handshake that failed (`https://`, `wss://`): the
/// error of the TLS all Swarm transports share.
pub use swarm_http::tls::TlsError;
