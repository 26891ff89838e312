//! What the issuer's admin API answers, as the flows read it.

use serde::Deserialize;
use serde_json::{json, Value};

/// A new out-of-band invitation (`POST /out-of-band/create-invitation`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct OobInvitation {
    /// The invitation as a URL (`...?oob=...`).
    pub invitation_url: String,
    /// The invitation message's `@id`: finds the connection made from it.
    pub invi_msg_id: String,
    /// The out-of-band record's id.
    #[serde(default)]
    pub oob_id: String,
}

/// A connection record (`GET /connections...`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ConnectionRecord {
    /// Its id: what offers and messages are sent on.
    pub connection_id: String,
    /// Its state: `invitation`, `request`, `response`, `active`, `completed`, ...
    #[serde(default)]
    pub state: String,
    /// The other side's label.
    #[serde(default)]
    pub their_label: Option<String>,
}

impl ConnectionRecord {
    /// Whether offers and messages can go on it (`active` or `completed`).
    pub fn is_ready(&self) -> bool {
        matches!(self.state.as_str(), "active" | "completed")
    }
}

/// A credential exchange record, issuer side (`issue-credential-2.0`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CredExRecord {
    /// Its id.
    pub cred_ex_id: String,
    /// The exchange's thread id (the offer's `@id`).
    #[serde(default)]
    pub thread_id: String,
    /// Its state: `offer-sent`, `request-received`, `credential-issued`, `done`,
    /// `abandoned`, ...
    #[serde(default)]
    pub state: String,
    /// The connection it runs on.
    #[serde(default)]
    pub connection_id: Option<String>,
    /// Why it failed, when it did.
    #[serde(default)]
    pub error_msg: Option<String>,
}

/// ACA-Py's `/status`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct IssuerStatus {
    /// Its version, e.g. `1.7.0`.
    #[serde(default)]
    pub version: String,
    /// Its label.
    #[serde(default)]
    pub label: Option<String>,
}

/// An ld_proof credential to offer: what goes into the offer's `filter.ld_proof`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LdProofOffer {
    /// The issuer's DID (a `did:key` from `POST /wallet/did/create {"method": "key"}`).
    pub issuer_did: String,
    /// The credential subject's attributes (`CRED_ATTR`).
    pub attributes: serde_json::Map<String, Value>,
    /// The proof type: `Ed25519Signature2018` (default) or `Ed25519Signature2020`.
    pub proof_type: String,
    /// Whether the issuer issues as soon as the holder's request comes (`auto_issue`,
    /// default true); without it the exchange waits at `request-received` for an admin
    /// call this client does not make (the holder then never gets the credential).
    pub auto_issue: bool,
}

impl LdProofOffer {
    /// An offer from `issuer_did` with these subject attributes, signed with
    /// `Ed25519Signature2018`.
    pub fn new(issuer_did: impl Into<String>, attributes: serde_json::Map<String, Value>) -> Self {
        LdProofOffer {
            issuer_did: issuer_did.into(),
            attributes,
            proof_type: "Ed25519Signature2018".to_owned(),
            auto_issue: true,
        }
    }

    /// Set whether the issuer issues as soon as the request comes.
    #[must_use]
    pub fn auto_issue(mut self, auto_issue: bool) -> Self {
        self.auto_issue = auto_issue;
        self
    }

    /// The `filter.ld_proof` detail: a W3C credential with an inline context (ACA-Py
    /// fetches no contexts it does not cache, so the vocabulary is `urn:example:vocab#`).
    pub fn detail(&self) -> Value {
        json!({
            "credential": {
                "@context": [
                    "https://www.w3.org/2018/credentials/v1",
                    {"@vocab": "urn:example:vocab#"},
                ],
                "type": ["VerifiableCredential"],
                "issuer": self.issuer_did,
                "issuanceDate": "2026-01-01T00:00:00Z",
                "credentialSubject": self.attributes,
            },
            "options": {"proofType": self.proof_type},
        })
    }
}
