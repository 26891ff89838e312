//! What an issue-credential 2.0 offer asks the issuer for, by format: the credential
//! settings (`CRED_FORMAT`, `CRED_DEF`, `SCHEMA`, `CRED_ATTR`), checked before any load,
//! and the `filter` and `credential_preview` of `POST /issue-credential-2.0/send-offer`.
//!
//! `ld_proof` ([`LdProofOffer`](super::LdProofOffer)) needs no ledger and is the format
//! tested here. `indy` and `anoncreds` ([`CredDefOffer`]) are offers from a credential
//! definition: the body is built as ACA-Py 1.7.0 reads it (its
//! `protocols/issue_credential/v2_0/routes.py`), but such an issuer needs an Indy ledger
//! (or an AnonCreds registry) for its schema and credential definition, which no test
//! machine of this project runs, so they are never issued end to end here.

use std::fmt;
use std::str::FromStr;

use serde_json::{json, Map, Value};

use super::IssuerError;

/// The `@type` of a credential preview in an issue-credential 2.0 admin call.
pub const CRED_PREVIEW_TYPE: &str = "issue-credential/2.0/credential-preview";

/// The credential format of the offers (`CRED_FORMAT`), as ACA-Py's admin API names it in
/// the offer's `filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CredFormat {
    /// W3C verifiable credentials with linked-data proofs (`ld_proof`, the default): no
    /// ledger, `CRED_ATTR` is the credential subject.
    #[default]
    LdProof,
    /// Hyperledger Indy credentials (`indy`): from the credential definition `CRED_DEF`,
    /// `CRED_ATTR` as the credential preview. Needs a ledger.
    Indy,
    /// AnonCreds credentials (`anoncreds`, an issuer with an `askar-anoncreds` wallet):
    /// as `indy`. Needs an AnonCreds registry.
    AnonCreds,
}

impl CredFormat {
    /// The name, as `CRED_FORMAT` and ACA-Py's `filter` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CredFormat::LdProof => "ld_proof",
            CredFormat::Indy => "indy",
            CredFormat::AnonCreds => "anoncreds",
        }
    }

    /// Whether offers in this format come from a credential definition (`CRED_DEF`).
    pub fn needs_cred_def(self) -> bool {
        !matches!(self, CredFormat::LdProof)
    }
}

impl fmt::Display for CredFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredFormat {
    type Err = IssuerError;

    /// `ld_proof`, `indy` or `anoncreds` (any case; `ld-proof` too); anything else is an
    /// [`IssuerError::Setting`] naming `CRED_FORMAT`.
    fn from_str(s: &str) -> Result<Self, IssuerError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ld_proof" | "ld-proof" => Ok(CredFormat::LdProof),
            "indy" => Ok(CredFormat::Indy),
            "anoncreds" => Ok(CredFormat::AnonCreds),
            _ => Err(IssuerError::Setting {
                setting: "CRED_FORMAT",
                reason: format!(
                    "{s:?} is not a credential format: expected ld_proof, indy or anoncreds"
                ),
            }),
        }
    }
}

/// One attribute of `CRED_ATTR`: its name, value and (from the list form) MIME type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CredAttr {
    /// The attribute's name.
    pub name: String,
    /// Its value (with ld_proof any JSON; indy/anoncreds previews send it as a string).
    pub value: Value,
    /// Its `mime-type`, when the list form gave one.
    pub mime_type: Option<String>,
}

impl CredAttr {
    /// An attribute with no MIME type.
    pub fn new(name: impl Into<String>, value: impl Into<Value>) -> Self {
        CredAttr {
            name: name.into(),
            value: value.into(),
            mime_type: None,
        }
    }

    /// Set its MIME type.
    #[must_use]
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }
}

/// The credential settings of a run (`CRED_FORMAT`, `CRED_DEF`, `SCHEMA`), checked
/// together: indy/anoncreds need a credential definition id, and `CRED_DEF`/`SCHEMA` mean
/// nothing to ld_proof.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialSpec {
    /// The offers' format.
    pub format: CredFormat,
    /// The credential definition id (`CRED_DEF`), for indy/anoncreds.
    pub cred_def_id: Option<String>,
    /// The schema id (`SCHEMA`), for indy/anoncreds; optional.
    pub schema_id: Option<String>,
}

impl CredentialSpec {
    /// ld_proof credentials (the default).
    pub fn ld_proof() -> Self {
        CredentialSpec::default()
    }

    /// Checks the settings: indy needs `CRED_DEF` as an Indy credential definition id
    /// (`DID:3:CL:SEQ_NO_OR_SCHEMA_ID:TAG`) and takes `SCHEMA` as an Indy schema id
    /// (`DID:2:NAME:VERSION`); anoncreds takes any non-empty ids (they name the registry's
    /// objects, `did:indy:...`, `did:web:...`); with ld_proof, `CRED_DEF` and `SCHEMA` are
    /// refused. Each problem is an [`IssuerError::Setting`] naming the setting.
    pub fn new(
        format: CredFormat,
        cred_def_id: Option<&str>,
        schema_id: Option<&str>,
    ) -> Result<Self, IssuerError> {
        let cred_def_id = cred_def_id.map(str::trim).filter(|s| !s.is_empty());
        let schema_id = schema_id.map(str::trim).filter(|s| !s.is_empty());
        if !format.needs_cred_def() {
            for (setting, given) in [("CRED_DEF", cred_def_id), ("SCHEMA", schema_id)] {
                if given.is_some() {
                    return Err(IssuerError::Setting {
                        setting,
                        reason: format!(
                            "applies to CRED_FORMAT=indy or anoncreds only, not {format} \
                             (ld_proof credentials need no credential definition)"
                        ),
                    });
                }
            }
            return Ok(CredentialSpec::ld_proof());
        }
        let Some(cred_def) = cred_def_id else {
            return Err(IssuerError::Setting {
                setting: "CRED_DEF",
                reason: format!(
                    "CRED_FORMAT={format} needs a credential definition id, e.g. {}",
                    match format {
                        CredFormat::Indy => "WgWxqztrNooG92RXvxSTWv:3:CL:20:tag",
                        _ => "did:indy:sovrin:WgWxqztrNooG92RXvxSTWv/anoncreds/v0/CLAIM_DEF/20/tag",
                    }
                ),
            });
        };
        if format == CredFormat::Indy {
            if !is_indy_cred_def_id(cred_def) {
                return Err(IssuerError::Setting {
                    setting: "CRED_DEF",
                    reason: format!(
                        "{cred_def:?} is not an Indy credential definition id \
                         (DID:3:CL:SEQ_NO_OR_SCHEMA_ID:TAG, e.g. WgWxqztrNooG92RXvxSTWv:3:CL:20:tag)"
                    ),
                });
            }
            if let Some(schema) = schema_id.filter(|s| !is_indy_schema_id(s)) {
                return Err(IssuerError::Setting {
                    setting: "SCHEMA",
                    reason: format!(
                        "{schema:?} is not an Indy schema id \
                         (DID:2:NAME:VERSION, e.g. WgWxqztrNooG92RXvxSTWv:2:score:1.0)"
                    ),
                });
            }
        }
        Ok(CredentialSpec {
            format,
            cred_def_id: Some(cred_def.to_owned()),
            schema_id: schema_id.map(str::to_owned),
        })
    }

    /// [`CredentialSpec::new`] with the format as text (`CRED_FORMAT`; `None`: ld_proof).
    pub fn parse(
        format: Option<&str>,
        cred_def_id: Option<&str>,
        schema_id: Option<&str>,
    ) -> Result<Self, IssuerError> {
        let format = match format.map(str::trim).filter(|s| !s.is_empty()) {
            Some(f) => f.parse()?,
            None => CredFormat::LdProof,
        };
        Self::new(format, cred_def_id, schema_id)
    }

    /// The offer for these settings with these attributes: `None` for ld_proof (its offer
    /// needs the issuer's DID: [`LdProofOffer`](super::LdProofOffer)), else a
    /// [`CredDefOffer`] (see [`CredDefOffer::new`] for what is refused).
    pub fn cred_def_offer(
        &self,
        attributes: &[CredAttr],
    ) -> Result<Option<CredDefOffer>, IssuerError> {
        let Some(cred_def) = self
            .cred_def_id
            .as_deref()
            .filter(|_| self.format.needs_cred_def())
        else {
            return Ok(None);
        };
        let mut offer = CredDefOffer::new(self.format, cred_def, attributes)?;
        offer.schema_id.clone_from(&self.schema_id);
        Ok(Some(offer))
    }
}

/// Indy's DIDs: 21 or 22 base58 characters (16 bytes).
fn is_indy_did(s: &str) -> bool {
    const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    (21..=22).contains(&s.len()) && s.chars().all(|c| B58.contains(c))
}

/// `DID:2:NAME:VERSION`, as ACA-Py's `IndySchemaId` (the name may hold colons; the
/// version is digits and dots).
fn is_indy_schema_id(s: &str) -> bool {
    let Some((did, rest)) = s.split_once(":2:") else {
        return false;
    };
    let Some((name, version)) = rest.rsplit_once(':') else {
        return false;
    };
    is_indy_did(did)
        && !name.is_empty()
        && !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// `DID:3:CL:SEQ_NO_OR_SCHEMA_ID:TAG`, as ACA-Py's `IndyCredDefId` (the schema by its
/// ledger sequence number or its id; the tag may be empty).
fn is_indy_cred_def_id(s: &str) -> bool {
    let Some((did, rest)) = s.split_once(":3:CL:") else {
        return false;
    };
    if !is_indy_did(did) {
        return false;
    }
    // The schema part ends at some colon before the tag: any split that reads works.
    rest.match_indices(':').any(|(i, _)| {
        let schema = &rest[..i];
        let seq_no = !schema.is_empty()
            && !schema.starts_with('0')
            && schema.bytes().all(|b| b.is_ascii_digit());
        seq_no || is_indy_schema_id(schema)
    })
}

/// An indy or anoncreds offer: the credential definition, optionally the schema, and the
/// credential preview's attributes (`CRED_ATTR`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CredDefOffer {
    /// [`CredFormat::Indy`] or [`CredFormat::AnonCreds`].
    pub format: CredFormat,
    /// The credential definition id (`CRED_DEF`).
    pub cred_def_id: String,
    /// The schema id (`SCHEMA`), when given.
    pub schema_id: Option<String>,
    /// The preview's attributes: name, value (a string) and MIME type.
    pub attributes: Vec<(String, String, Option<String>)>,
    /// Whether the issuer issues as soon as the holder's request comes (default true).
    pub auto_issue: bool,
}

impl CredDefOffer {
    /// An offer from the credential definition `cred_def_id` with these attributes. The
    /// format must be indy or anoncreds ([`IssuerError::Setting`] `CRED_FORMAT`); the
    /// preview's values are strings, so a number or a boolean is sent as written and an
    /// object, a list or null is an [`IssuerError::Setting`] naming `CRED_ATTR`, as is an
    /// empty list (the issuer checks the names against the schema's).
    pub fn new(
        format: CredFormat,
        cred_def_id: impl Into<String>,
        attributes: &[CredAttr],
    ) -> Result<Self, IssuerError> {
        if !format.needs_cred_def() {
            return Err(IssuerError::Setting {
                setting: "CRED_FORMAT",
                reason: format!("{format} offers need no credential definition"),
            });
        }
        let bad = |reason: String| IssuerError::Setting {
            setting: "CRED_ATTR",
            reason,
        };
        if attributes.is_empty() {
            return Err(bad(format!(
                "a {format} credential preview needs at least one attribute"
            )));
        }
        let attributes = attributes
            .iter()
            .map(|a| {
                let value = match &a.value {
                    Value::String(s) => s.clone(),
                    v @ (Value::Number(_) | Value::Bool(_)) => v.to_string(),
                    _ => {
                        return Err(bad(format!(
                            "the value of {:?} is not a string, number or boolean: {format} \
                             credential values are strings",
                            a.name
                        )))
                    }
                };
                Ok((a.name.clone(), value, a.mime_type.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(CredDefOffer {
            format,
            cred_def_id: cred_def_id.into(),
            schema_id: None,
            attributes,
            auto_issue: true,
        })
    }

    /// Set the schema id.
    #[must_use]
    pub fn schema_id(mut self, schema_id: impl Into<String>) -> Self {
        self.schema_id = Some(schema_id.into());
        self
    }

    /// Set whether the issuer issues as soon as the request comes.
    #[must_use]
    pub fn auto_issue(mut self, auto_issue: bool) -> Self {
        self.auto_issue = auto_issue;
        self
    }
}

/// What an offer puts in the body of `POST /issue-credential-2.0/send-offer`:
/// [`LdProofOffer`](super::LdProofOffer) or [`CredDefOffer`].
pub trait OfferSpec: fmt::Debug + Send + Sync {
    /// The offer's `filter`, keyed by format (`{"ld_proof": ...}`, `{"indy": ...}`).
    fn filter(&self) -> Value;

    /// The offer's `credential_preview`, if the format has one.
    fn credential_preview(&self) -> Option<Value> {
        None
    }

    /// Whether the issuer issues as soon as the holder's request comes (`auto_issue`).
    fn issues_on_request(&self) -> bool;
}

impl OfferSpec for super::LdProofOffer {
    fn filter(&self) -> Value {
        json!({"ld_proof": self.detail()})
    }

    fn issues_on_request(&self) -> bool {
        self.auto_issue
    }
}

impl OfferSpec for CredDefOffer {
    /// `{"indy": {"cred_def_id", "schema_id"?}}` or the same under `anoncreds`, as
    /// ACA-Py's `V20CredFilterIndySchema` and `V20CredFilterAnonCredsSchema` read it.
    fn filter(&self) -> Value {
        let mut spec = Map::new();
        spec.insert(
            "cred_def_id".into(),
            Value::String(self.cred_def_id.clone()),
        );
        if let Some(s) = &self.schema_id {
            spec.insert("schema_id".into(), Value::String(s.clone()));
        }
        let mut filter = Map::new();
        filter.insert(self.format.as_str().to_owned(), Value::Object(spec));
        Value::Object(filter)
    }

    /// `{"@type": "issue-credential/2.0/credential-preview", "attributes": [{"name",
    /// "value", "mime-type"?}, ...]}`, as ACA-Py's `V20CredPreviewSchema` reads it.
    fn credential_preview(&self) -> Option<Value> {
        let attributes: Vec<Value> = self
            .attributes
            .iter()
            .map(|(name, value, mime)| {
                let mut a = json!({"name": name, "value": value});
                if let Some(m) = mime {
                    a["mime-type"] = Value::String(m.clone());
                }
                a
            })
            .collect();
        Some(json!({"@type": CRED_PREVIEW_TYPE, "attributes": attributes}))
    }

    fn issues_on_request(&self) -> bool {
        self.auto_issue
    }
}

/// The body of `POST /issue-credential-2.0/send-offer` for this offer on this connection.
pub(crate) fn send_offer_body<O: OfferSpec + ?Sized>(
    connection_id: &str,
    offer: &O,
    keep_record: bool,
) -> Value {
    let mut body = json!({
        "connection_id": connection_id,
        "auto_issue": offer.issues_on_request(),
        "comment": "swarm",
        "filter": offer.filter(),
    });
    if let Some(preview) = offer.credential_preview() {
        body["credential_preview"] = preview;
    }
    if keep_record {
        body["auto_remove"] = Value::Bool(false);
    }
    body
}

#[cfg(test)]
mod tests;
