//! The issuer users' settings and the parsing of `CRED_ATTR`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value};
use swarm_core::prelude::*;

use crate::invitation::Invitation;
use crate::issuer::{CredAttr, CredDefOffer, CredentialSpec, IssuerConfig, IssuerError};

/// Settings of the issuer users ([`Issue`](super::Issue),
/// [`MediatorIssue`](super::MediatorIssue), [`IssueMessage`](super::IssueMessage),
/// [`MediatorIssueMessage`](super::MediatorIssueMessage), [`Liveness`](super::Liveness),
/// [`Verify`](super::Verify)), handed to the run with `Swarm::setting` or `App::setting`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuerSettings {
    /// The issuer's admin API (`ISSUER_URL`, `ISSUER_HEADERS`).
    pub issuer: IssuerConfig,
    /// The issuer's DID for ld_proof credentials (`ISSUER_DID`); `None`: the first user
    /// creates a `did:key` through the admin API (`POST /wallet/did/create`), once a run.
    pub issuer_did: Option<String>,
    /// The credential's attributes (`CRED_ATTR`): with ld_proof the credential subject,
    /// with indy/anoncreds the credential preview.
    pub attributes: Map<String, Value>,
    /// The MIME types `CRED_ATTR`'s list form gave its attributes (`"mime-type"`), sent in
    /// the indy/anoncreds credential preview.
    pub mime_types: BTreeMap<String, String>,
    /// The credentials' format and, for indy/anoncreds, their credential definition and
    /// schema (`CRED_FORMAT`, `CRED_DEF`, `SCHEMA`); default ld_proof.
    pub credential: CredentialSpec,
    /// The mediator's invitation (`MEDIATION_URL`), for
    /// [`MediatorIssue`](super::MediatorIssue) and
    /// [`MediatorIssueMessage`](super::MediatorIssueMessage).
    pub mediation: Option<Invitation>,
    /// Shortest wait between iterations (`LOCUST_MIN_WAIT`).
    pub min_wait: Duration,
    /// Longest wait between iterations (`LOCUST_MAX_WAIT`).
    pub max_wait: Duration,
    /// How long a holder waits for each message (offer, credential, basic message).
    pub timeout: Duration,
    /// Keep the issuer's exchange records once `done` (`"auto_remove": false`), e.g. to
    /// check them afterwards; default off (the issuer's own setting decides).
    pub keep_records: bool,
    /// Where the holders' shared inbound listener binds ([`Issue`](super::Issue),
    /// [`IssueMessage`](super::IssueMessage));
    /// default `127.0.0.1:0`. The issuer must be able to reach it.
    pub inbound: SocketAddr,
}

impl IssuerSettings {
    /// Settings for this issuer: a new `did:key` per run, `CRED_ATTR` `{"score": "test"}`,
    /// 1 to 2 s between iterations, 30 s time-out.
    pub fn new(issuer: IssuerConfig) -> Self {
        let mut attributes = Map::new();
        attributes.insert("score".to_owned(), Value::String("test".to_owned()));
        IssuerSettings {
            issuer,
            issuer_did: None,
            attributes,
            mime_types: BTreeMap::new(),
            credential: CredentialSpec::ld_proof(),
            mediation: None,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
            keep_records: false,
            inbound: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// Set the mediator's invitation.
    #[must_use]
    pub fn mediation(mut self, invitation: Invitation) -> Self {
        self.mediation = Some(invitation);
        self
    }

    /// Set the credential's attributes (no MIME types).
    #[must_use]
    pub fn attributes(mut self, attributes: Map<String, Value>) -> Self {
        self.attributes = attributes;
        self.mime_types.clear();
        self
    }

    /// Set the credential's attributes with their MIME types, as [`parse_cred_attrs`]
    /// reads `CRED_ATTR`.
    #[must_use]
    pub fn cred_attrs(mut self, attributes: Vec<CredAttr>) -> Self {
        self.attributes.clear();
        self.mime_types.clear();
        for a in attributes {
            if let Some(m) = a.mime_type {
                self.mime_types.insert(a.name.clone(), m);
            }
            self.attributes.insert(a.name, a.value);
        }
        self
    }

    /// Set the credentials' format, credential definition and schema (checked by
    /// [`CredentialSpec::new`]).
    #[must_use]
    pub fn credential(mut self, credential: CredentialSpec) -> Self {
        self.credential = credential;
        self
    }

    /// The indy/anoncreds offer of these settings (`None` with ld_proof): see
    /// [`CredentialSpec::cred_def_offer`].
    pub fn cred_def_offer(&self) -> Result<Option<CredDefOffer>, IssuerError> {
        let attributes: Vec<CredAttr> = self
            .attributes
            .iter()
            .map(|(name, value)| {
                let a = CredAttr::new(name.clone(), value.clone());
                match self.mime_types.get(name) {
                    Some(m) => a.mime_type(m.clone()),
                    None => a,
                }
            })
            .collect();
        self.credential.cred_def_offer(&attributes)
    }

    /// Set the issuer's DID.
    #[must_use]
    pub fn issuer_did(mut self, did: impl Into<String>) -> Self {
        self.issuer_did = Some(did.into());
        self
    }

    /// Set the wait between iterations.
    #[must_use]
    pub fn wait(mut self, min: Duration, max: Duration) -> Self {
        self.min_wait = min;
        self.max_wait = max;
        self
    }

    /// Set the holders' time-out.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Keep (or not) the issuer's exchange records once `done`.
    #[must_use]
    pub fn keep_records(mut self, keep: bool) -> Self {
        self.keep_records = keep;
        self
    }

    /// Set where the shared inbound listener binds.
    #[must_use]
    pub fn inbound(mut self, addr: SocketAddr) -> Self {
        self.inbound = addr;
        self
    }

    pub(super) fn wait_time(&self) -> Wait {
        Wait::between(self.min_wait, self.max_wait)
    }
}

/// Parses `CRED_ATTR`: the credential preview's attribute list as the Aries load tests
/// write it (`[{"name": "score", "value": "test", "mime-type": "text/plain"}]`), or a JSON
/// object of names to values (`{"score": "test"}`). With ld_proof they become the
/// credential subject's attributes; with indy/anoncreds the credential preview (with their
/// MIME types). Anything else (a name twice, or `id`, the holder's DID in an ld_proof
/// subject) is an [`IssuerError::Setting`] naming `CRED_ATTR`.
pub fn parse_cred_attrs(text: &str) -> Result<Vec<CredAttr>, IssuerError> {
    let bad = |reason: String| IssuerError::Setting {
        setting: "CRED_ATTR",
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not JSON ({e}): expected [{{\"name\": \"score\", \"value\": \"test\"}}] or {{\"score\": \"test\"}}"
        ))
    })?;
    let attrs: Vec<CredAttr> = match value {
        Value::Object(m) => m.into_iter().map(|(k, v)| CredAttr::new(k, v)).collect(),
        Value::Array(items) => {
            let mut attrs: Vec<CredAttr> = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let name = item["name"]
                    .as_str()
                    .ok_or_else(|| bad(format!("attribute {i} has no \"name\" string")))?;
                let value = item
                    .get("value")
                    .cloned()
                    .ok_or_else(|| bad(format!("attribute {name:?} has no \"value\"")))?;
                if attrs.iter().any(|a| a.name == name) {
                    return Err(bad(format!("attribute {name:?} is given twice")));
                }
                let mut attr = CredAttr::new(name, value);
                match item.get("mime-type") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(m)) => attr = attr.mime_type(m.clone()),
                    Some(_) => {
                        return Err(bad(format!(
                            "the \"mime-type\" of {name:?} is not a string"
                        )))
                    }
                }
                attrs.push(attr);
            }
            attrs
        }
        _ => {
            return Err(bad(
                "expected a list of {\"name\", \"value\"} or an object of names to values"
                    .to_owned(),
            ))
        }
    };
    if attrs.iter().any(|a| a.name == "id") {
        return Err(bad(
            "\"id\" is the holder's DID, filled in by the holder; choose another name".to_owned(),
        ));
    }
    Ok(attrs)
}

/// [`parse_cred_attrs`] as a JSON object of names to values (the ld_proof credential
/// subject), without the MIME types.
pub fn parse_cred_attr(text: &str) -> Result<Map<String, Value>, IssuerError> {
    Ok(parse_cred_attrs(text)?
        .into_iter()
        .map(|a| (a.name, a.value))
        .collect())
}
