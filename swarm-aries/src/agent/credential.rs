//! issue-credential 2.0 (Aries RFC 0453), the holder's side: receive an offer, send the
//! request, receive and check the credential, store it, ack.
//!
//! The format layer is open: a [`CredentialFormat`] turns an offer attachment into a
//! request attachment and checks the issued credential. [`LdProof`] (W3C credentials with
//! linked-data proofs, `aries/ld-proof-vc-detail@v1.0`) is the one implemented, and the one
//! tested against real ACA-Py: it needs no ledger. The `hlindy/...` and `anoncreds/...`
//! formats would be further implementations (a link secret, a credential request built
//! with the issuer's credential definition); they are neither implemented nor tested here,
//! because their issuers need a ledger (an Indy network) for schemas and credential
//! definitions, and none can run on this project's test machines.

use std::collections::VecDeque;
use std::fmt;

use serde_json::{json, Value};

use super::{Agent, AriesError, Connection};
use crate::message::{self, Thread};

/// The `@type` of an issue-credential 2.0 offer.
pub const OFFER_TYPE: &str = "https://didcomm.org/issue-credential/2.0/offer-credential";

/// How many issued credentials an agent keeps (the oldest go first): a holder in a long
/// run receives one per iteration, and its memory must stay bounded.
pub const MAX_STORED_CREDENTIALS: usize = 8;

/// An offer, a credential or an exchange the holder cannot go on with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// None of the offer's formats is one the holder takes. An indy or anoncreds offer to
    /// the native holder (ld_proof only) says why it has no such format.
    #[error(
        "offer in format {offered}: this holder speaks {supported} only{}",
        ledger_note(offered)
    )]
    UnsupportedFormat {
        /// The offer's format identifiers, comma-separated.
        offered: String,
        /// The holder's formats, comma-separated.
        supported: String,
    },
    /// The offer or credential message is malformed (no formats, no attachment for a
    /// format, an attachment that is not JSON).
    #[error("malformed {message}: {reason}")]
    Malformed {
        /// Which message: `offer`, `credential`.
        message: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The issued credential is not the one requested.
    #[error("the credential does not match the request: {0}")]
    Mismatch(String),
}

/// Why the holder has no indy/anoncreds format, when the offer is in one of them.
fn ledger_note(offered: &str) -> &'static str {
    if offered.contains("hlindy/") || offered.contains("anoncreds/") {
        " (indy/anoncreds credentials need a ledger and an anoncreds holder: not built here)"
    } else {
        ""
    }
}

/// One credential format of issue-credential 2.0, as the holder speaks it.
///
/// Implement it to add a format (indy, anoncreds, ...) and pass it to
/// [`Agent::accept_offer_with`].
pub trait CredentialFormat: fmt::Debug + Send + Sync {
    /// The format's short name, as ACA-Py's admin API spells it (`ld_proof`).
    fn name(&self) -> &'static str;

    /// Whether an offer attachment with this format identifier (e.g.
    /// `aries/ld-proof-vc-detail@v1.0`) is this format.
    fn takes(&self, format: &str) -> bool;

    /// The request attachment for the offer's attachment `offer`: its format identifier
    /// and its content. `holder_did` is the holder's DID for the credential subject.
    fn request(&self, offer: &Value, holder_did: &str) -> Result<(String, Value), CredentialError>;

    /// Checks the issued credential (`format`, `credential`) against the request's
    /// attachment `request`.
    fn check(
        &self,
        request: &Value,
        format: &str,
        credential: &Value,
    ) -> Result<(), CredentialError>;
}

/// W3C verifiable credentials with linked-data proofs (`ld_proof`): the request carries
/// the offer's detail unchanged but for the credential subject's `id`, filled in with the
/// holder's DID when the offer left it out (ACA-Py refuses any other change); the issued
/// credential must be the requested one plus its `proof`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LdProof;

/// The format identifier of an ld_proof offer or request detail.
const LD_PROOF_DETAIL: &str = "aries/ld-proof-vc-detail@v1.0";

impl CredentialFormat for LdProof {
    fn name(&self) -> &'static str {
        "ld_proof"
    }

    fn takes(&self, format: &str) -> bool {
        format.starts_with("aries/ld-proof-vc-detail@")
    }

    fn request(&self, offer: &Value, holder_did: &str) -> Result<(String, Value), CredentialError> {
        let bad = |reason: &str| CredentialError::Malformed {
            message: "offer",
            reason: reason.to_owned(),
        };
        let mut detail = offer.clone();
        let credential = detail
            .get_mut("credential")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad("the ld_proof detail has no credential object"))?;
        if !offer.get("options").is_some_and(Value::is_object) {
            return Err(bad("the ld_proof detail has no options"));
        }
        let subject = credential
            .entry("credentialSubject")
            .or_insert_with(|| json!({}));
        let subject = subject
            .as_object_mut()
            .ok_or_else(|| bad("credentialSubject is not an object"))?;
        subject
            .entry("id")
            .or_insert_with(|| Value::String(holder_did.to_owned()));
        Ok((LD_PROOF_DETAIL.to_owned(), detail))
    }

    fn check(
        &self,
        request: &Value,
        format: &str,
        credential: &Value,
    ) -> Result<(), CredentialError> {
        if !format.starts_with("aries/ld-proof-vc@") {
            return Err(CredentialError::Mismatch(format!(
                "an ld_proof request was answered with a {format} credential"
            )));
        }
        let mut issued = credential
            .as_object()
            .cloned()
            .ok_or_else(|| CredentialError::Mismatch("the credential is not an object".into()))?;
        let proof = issued
            .remove("proof")
            .ok_or_else(|| CredentialError::Mismatch("the credential has no proof".into()))?;
        if !proof.is_object() && !proof.is_array() {
            return Err(CredentialError::Mismatch(
                "its proof is not an object".into(),
            ));
        }
        let wanted = request.get("credential").and_then(Value::as_object);
        if wanted != Some(&issued) {
            let differ: Vec<&str> = issued
                .keys()
                .chain(wanted.into_iter().flat_map(|w| w.keys()))
                .filter(|k| issued.get(*k) != wanted.and_then(|w| w.get(*k)))
                .map(String::as_str)
                .collect();
            return Err(CredentialError::Mismatch(format!(
                "it differs in {}",
                if differ.is_empty() {
                    "its shape".to_owned()
                } else {
                    differ.join(", ")
                }
            )));
        }
        Ok(())
    }
}

/// A credential offer received by a holder.
#[derive(Debug, Clone)]
pub struct CredentialOffer {
    /// The offer message.
    pub message: Value,
}

impl CredentialOffer {
    /// The exchange's thread id (the offer's `@id`: ACA-Py's offer has an empty `~thread`).
    pub fn thread_id(&self) -> Option<&str> {
        message::thread_id(&self.message)
    }

    /// The offer's attachment format identifiers, in order.
    pub fn formats(&self) -> Vec<&str> {
        self.message["formats"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["format"].as_str())
            .collect()
    }
}

/// A credential the holder received and checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredCredential {
    /// The exchange's thread id.
    pub thread_id: String,
    /// The format's short name (`ld_proof`).
    pub format: &'static str,
    /// The credential (for ld_proof, the W3C credential with its proof).
    pub credential: Value,
}

/// The attachment with `id` among `attachments`, as JSON.
fn attachment(msg: &Value, list: &str, id: &str) -> Option<Value> {
    msg[list]
        .as_array()?
        .iter()
        .find(|a| a["@id"].as_str() == Some(id))
        .and_then(super::doc::attachment_json)
}

/// An issue-credential 2.0 problem report that abandons the exchange `thid`.
fn abandon(thid: &str, why: &str) -> Value {
    let mut report = json!({
        "@type": "https://didcomm.org/issue-credential/2.0/problem-report",
        "@id": message::new_id(),
        "description": {"code": "issuance-abandoned", "en": why},
    });
    message::set_thread(&mut report, &Thread::reply(thid));
    report
}

/// The first of the offer's formats that one of `formats` takes, and its attachment id;
/// none is a [`CredentialError::UnsupportedFormat`].
fn choose_format<'f>(
    offer: &CredentialOffer,
    formats: &[&'f dyn CredentialFormat],
) -> Result<(&'f dyn CredentialFormat, String), CredentialError> {
    let chosen = offer.message["formats"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|f| {
            let id = f["format"].as_str()?;
            let handler = formats.iter().find(|h| h.takes(id))?;
            Some((
                *handler,
                f["attach_id"].as_str().unwrap_or_default().to_owned(),
            ))
        });
    chosen.ok_or_else(|| CredentialError::UnsupportedFormat {
        offered: offer.formats().join(", "),
        supported: formats
            .iter()
            .map(|h| h.name())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn is_issue_credential(t: &crate::MessageType, name: &str) -> bool {
    t.family() == "issue-credential" && t.major() == Some(2) && t.name() == name
}

impl Agent {
    /// Waits for the next issue-credential 2.0 offer; other messages that arrive first are
    /// dropped. At most the agent's time-out.
    pub async fn receive_offer(&mut self) -> Result<CredentialOffer, AriesError> {
        loop {
            let m = self.receive().await?;
            if message::message_type(&m.message)
                .is_ok_and(|t| is_issue_credential(&t, "offer-credential"))
            {
                return Ok(CredentialOffer { message: m.message });
            }
        }
    }

    /// Answers an offer with the [`LdProof`] format: see [`Agent::accept_offer_with`].
    pub async fn accept_offer(
        &mut self,
        offer: &CredentialOffer,
        via: Option<&Connection>,
    ) -> Result<StoredCredential, AriesError> {
        self.accept_offer_with(offer, via, &[&LdProof]).await
    }

    /// Answers an offer: a request in the first of the offer's formats that one of
    /// `formats` takes, then waits for the credential on the offer's thread, checks it,
    /// stores it (at most [`MAX_STORED_CREDENTIALS`] are kept) and acks it.
    ///
    /// `via` is the connection the offer came on when it is not the agent's own peer: a
    /// holder behind a mediator that connected to the issuer with
    /// [`Agent::connect_routed`]. An offer in no format of `formats` is an
    /// [`AriesError::Credential`] ([`CredentialError::UnsupportedFormat`]), and the issuer
    /// gets a problem report (`issuance-abandoned`) instead of a request; a problem report from the issuer on the thread is an
    /// [`AriesError::ProblemReport`]; a credential that is not the requested one is a
    /// [`CredentialError::Mismatch`], and is neither stored nor acked.
    pub async fn accept_offer_with(
        &mut self,
        offer: &CredentialOffer,
        via: Option<&Connection>,
        formats: &[&dyn CredentialFormat],
    ) -> Result<StoredCredential, AriesError> {
        let thid = offer
            .thread_id()
            .ok_or_else(|| CredentialError::Malformed {
                message: "offer",
                reason: "no @id".to_owned(),
            })?
            .to_owned();
        let offered = offer.formats();
        if offered.is_empty() {
            return Err(CredentialError::Malformed {
                message: "offer",
                reason: "no formats".to_owned(),
            }
            .into());
        }
        let (handler, attach_id) = match choose_format(offer, formats) {
            Ok(chosen) => chosen,
            Err(e) => {
                // Tell the issuer, as a holder does, so that it abandons the exchange.
                self.send_via(via, abandon(&thid, &e.to_string())).await?;
                return Err(e.into());
            }
        };
        let offer_detail =
            attachment(&offer.message, "offers~attach", &attach_id).ok_or_else(|| {
                CredentialError::Malformed {
                    message: "offer",
                    reason: format!("no readable JSON attachment {attach_id:?}"),
                }
            })?;
        let holder_did = self.key.did_key();
        let (req_format, req_detail) = handler.request(&offer_detail, &holder_did)?;
        let mut request = json!({
            "@type": "https://didcomm.org/issue-credential/2.0/request-credential",
            "@id": message::new_id(),
            "formats": [{"attach_id": handler.name(), "format": req_format}],
            "requests~attach": [{
                "@id": handler.name(),
                "mime-type": "application/json",
                "data": {"base64": crate::encoding::b64_encode(req_detail.to_string().as_bytes())},
            }],
        });
        message::set_thread(&mut request, &Thread::reply(&thid));
        let issued = self
            .request_in_thread(via, request, &thid, |t| {
                is_issue_credential(t, "issue-credential")
            })
            .await?;
        let issued = issued.message;
        let (cred_format, cred_attach) = issued["formats"]
            .as_array()
            .and_then(|f| f.first())
            .and_then(|f| {
                Some((
                    f["format"].as_str()?.to_owned(),
                    f["attach_id"].as_str()?.to_owned(),
                ))
            })
            .ok_or_else(|| CredentialError::Malformed {
                message: "credential",
                reason: "no formats".to_owned(),
            })?;
        let credential =
            attachment(&issued, "credentials~attach", &cred_attach).ok_or_else(|| {
                CredentialError::Malformed {
                    message: "credential",
                    reason: format!("no readable JSON attachment {cred_attach:?}"),
                }
            })?;
        handler.check(&req_detail, &cred_format, &credential)?;
        let mut ack = json!({
            "@type": "https://didcomm.org/issue-credential/2.0/ack",
            "@id": message::new_id(),
            "status": "OK",
        });
        message::set_thread(&mut ack, &Thread::reply(&thid));
        self.send_via(via, ack).await?;
        let stored = StoredCredential {
            thread_id: thid,
            format: handler.name(),
            credential,
        };
        if self.credentials.len() >= MAX_STORED_CREDENTIALS {
            self.credentials.pop_front();
        }
        self.credentials.push_back(stored.clone());
        self.credentials_received += 1;
        Ok(stored)
    }

    /// The credentials this agent received, oldest first (at most
    /// [`MAX_STORED_CREDENTIALS`]: the latest ones).
    pub fn credentials(&self) -> &VecDeque<StoredCredential> {
        &self.credentials
    }

    /// How many credentials this agent received and acked in all.
    pub fn credentials_received(&self) -> u64 {
        self.credentials_received
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail() -> Value {
        json!({
            "credential": {
                "@context": ["https://www.w3.org/2018/credentials/v1", {"@vocab": "urn:example:vocab#"}],
                "type": ["VerifiableCredential"],
                "issuer": "did:key:z6MkIssuer",
                "issuanceDate": "2026-01-01T00:00:00Z",
                "credentialSubject": {"score": "test"},
            },
            "options": {"proofType": "Ed25519Signature2018"},
        })
    }

    #[test]
    fn the_request_is_the_offer_with_the_subject_id_filled_in() {
        let (format, req) = LdProof.request(&detail(), "did:key:z6MkHolder").unwrap();
        assert_eq!(format, "aries/ld-proof-vc-detail@v1.0");
        let mut want = detail();
        want["credential"]["credentialSubject"]["id"] = json!("did:key:z6MkHolder");
        assert_eq!(req, want);
        // A subject id the offer names is kept.
        let mut named = detail();
        named["credential"]["credentialSubject"]["id"] = json!("did:example:other");
        let (_, req) = LdProof.request(&named, "did:key:z6MkHolder").unwrap();
        assert_eq!(req, named);
    }

    #[test]
    fn a_detail_without_credential_or_options_is_malformed() {
        for bad in [
            json!({"options": {}}),
            json!({"credential": {}}),
            json!([1]),
        ] {
            assert!(matches!(
                LdProof.request(&bad, "did:key:z6Mk"),
                Err(CredentialError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn the_credential_must_be_the_request_plus_a_proof() {
        let (_, req) = LdProof.request(&detail(), "did:key:z6MkHolder").unwrap();
        let mut vc = req["credential"].clone();
        vc["proof"] = json!({"type": "Ed25519Signature2018", "jws": "..."});
        LdProof.check(&req, "aries/ld-proof-vc@v1.0", &vc).unwrap();

        let mut changed = vc.clone();
        changed["credentialSubject"]["score"] = json!("other");
        let e = LdProof
            .check(&req, "aries/ld-proof-vc@v1.0", &changed)
            .unwrap_err();
        assert!(e.to_string().contains("credentialSubject"), "{e}");

        let mut no_proof = vc.clone();
        no_proof.as_object_mut().unwrap().remove("proof");
        assert!(LdProof
            .check(&req, "aries/ld-proof-vc@v1.0", &no_proof)
            .is_err());
        assert!(LdProof.check(&req, "hlindy/cred@v2.0", &vc).is_err());
    }

    #[test]
    fn indy_offers_are_not_taken_by_ld_proof() {
        assert!(LdProof.takes("aries/ld-proof-vc-detail@v1.0"));
        assert!(!LdProof.takes("hlindy/cred-abstract@v2.0"));
        assert!(!LdProof.takes("anoncreds/credential-offer@v1.0"));
    }

    /// An offer as ACA-Py sends one, in these formats.
    fn offer_in(formats: &[&str]) -> CredentialOffer {
        let formats: Vec<Value> = formats
            .iter()
            .enumerate()
            .map(|(i, f)| json!({"attach_id": i.to_string(), "format": f}))
            .collect();
        CredentialOffer {
            message: json!({"@type": OFFER_TYPE, "@id": "thread-1", "formats": formats}),
        }
    }

    #[test]
    fn an_indy_or_anoncreds_offer_is_refused_saying_why() {
        for format in [
            "hlindy/cred-abstract@v2.0",
            "anoncreds/credential-offer@v1.0",
        ] {
            let Err(e) = choose_format(&offer_in(&[format]), &[&LdProof]) else {
                panic!("{format} taken");
            };
            assert_eq!(
                e.to_string(),
                format!(
                    "offer in format {format}: this holder speaks ld_proof only (indy/anoncreds \
                     credentials need a ledger and an anoncreds holder: not built here)"
                )
            );
        }
        // An offer in both: the ld_proof attachment is chosen.
        let both = offer_in(&["hlindy/cred-abstract@v2.0", "aries/ld-proof-vc-detail@v1.0"]);
        let (handler, attach_id) = choose_format(&both, &[&LdProof]).unwrap();
        assert_eq!((handler.name(), attach_id.as_str()), ("ld_proof", "1"));
        // Another unknown format: no ledger note.
        let Err(e) = choose_format(&offer_in(&["dif/other@v1.0"]), &[&LdProof]) else {
            panic!("taken");
        };
        assert_eq!(
            e.to_string(),
            "offer in format dif/other@v1.0: this holder speaks ld_proof only"
        );
    }
}
