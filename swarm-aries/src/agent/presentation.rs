//! present-proof 2.0 (Aries RFC 0454), the prover's side: receive a request, answer it
//! with a verifiable presentation of the credentials the holder stored, wait for the
//! verifier's ack.
//!
//! The format implemented is DIF Presentation Exchange (`dif`: a request
//! `dif/presentation-exchange/definitions@v1.0`, answered with a
//! `dif/presentation-exchange/submission@v1.0`) over the `ld_proof` credentials of
//! issue-credential 2.0: the holder picks, for each input descriptor, the newest stored
//! credential that matches (see the DIF evaluation's limits in the crate's README), puts
//! them in a W3C presentation with its `presentation_submission`, and signs it with an
//! `Ed25519Signature2018` linked-data proof (`proofPurpose: authentication`, the request's
//! `challenge` and `domain`) by its `did:key`, the credentials' subject. ACA-Py as a
//! verifier refuses a presentation without a proof, so the signature is not optional.
//!
//! `indy`/`anoncreds` proof requests are answered with a problem report (unsupported
//! format): they need the credentials of those formats, hence a ledger (see the
//! credential module).

use serde_json::{json, Map, Value};

use super::pres_exch::DifRequest;
use super::{Agent, AriesError, Connection};
use crate::message::{self, Thread};

/// The `@type` of a present-proof 2.0 request.
pub const PRESENTATION_REQUEST_TYPE: &str =
    "https://didcomm.org/present-proof/2.0/request-presentation";

/// The format identifier of a DIF request.
const DIF_REQUEST: &str = "dif/presentation-exchange/definitions@v1.0";
/// The format identifier of a DIF presentation.
const DIF_SUBMISSION: &str = "dif/presentation-exchange/submission@v1.0";

/// A presentation request the holder cannot answer, or a presentation the verifier did not
/// accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentationError {
    /// None of the request's formats is one the holder answers (`dif`).
    #[error("the request's formats ({offered}) are none this holder answers (dif)")]
    UnsupportedFormat {
        /// The request's format identifiers, comma-separated.
        offered: String,
    },
    /// The request is malformed (no formats, no readable attachment, no presentation
    /// definition or input descriptors).
    #[error("malformed presentation request: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The request uses a part of DIF Presentation Exchange this holder does not evaluate
    /// (`submission_requirements`, selective disclosure, other proof types, ...).
    #[error("the presentation request asks for {0}, which this holder does not support")]
    Unsupported(String),
    /// No stored credential answers an input descriptor.
    #[error("no credential of this holder matches input descriptor {descriptor:?}: {reason}")]
    NoMatchingCredential {
        /// The input descriptor's id.
        descriptor: String,
        /// Why the newest credential tried does not match (e.g. the credential has no
        /// value at `$.credentialSubject.age`).
        reason: String,
    },
    /// The presentation could not be canonicalized or signed (a credential with a context
    /// that is not known offline).
    #[error("the presentation cannot be signed: {0}")]
    Signing(String),
    /// The verifier acked the presentation as not verified.
    #[error("the verifier did not verify the presentation (verification_result: {0})")]
    NotVerified(String),
}

/// A presentation request received by a holder.
#[derive(Debug, Clone)]
pub struct PresentationRequest {
    /// The request message.
    pub message: Value,
}

impl PresentationRequest {
    /// The exchange's thread id.
    pub fn thread_id(&self) -> Option<&str> {
        message::thread_id(&self.message)
    }

    /// The request's attachment format identifiers, in order.
    pub fn formats(&self) -> Vec<&str> {
        self.message["formats"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["format"].as_str())
            .collect()
    }
}

/// The verifier's ack of a presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresentationAck {
    /// The exchange's thread id.
    pub thread_id: String,
    /// What the verifier says of the presentation (ACA-Py: `"true"`), when it says.
    pub verification_result: Option<String>,
}

/// A present-proof 2.0 problem report that abandons the exchange `thid`.
fn abandon(thid: &str, why: &str) -> Value {
    let mut report = json!({
        "@type": "https://didcomm.org/present-proof/2.0/problem-report",
        "@id": message::new_id(),
        "description": {"code": "abandoned", "en": why},
    });
    message::set_thread(&mut report, &Thread::reply(thid));
    report
}

fn is_present_proof(t: &crate::MessageType, name: &str) -> bool {
    t.family() == "present-proof" && t.major() == Some(2) && t.name() == name
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ` (a proof's `created`).
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

impl Agent {
    /// Waits for the next present-proof 2.0 request; other messages that arrive first are
    /// dropped. At most the agent's time-out.
    pub async fn receive_presentation_request(
        &mut self,
    ) -> Result<PresentationRequest, AriesError> {
        loop {
            let m = self.receive().await?;
            if message::message_type(&m.message)
                .is_ok_and(|t| is_present_proof(&t, "request-presentation"))
            {
                return Ok(PresentationRequest { message: m.message });
            }
        }
    }

    /// Answers a presentation request with the credentials this agent stored (see the
    /// module doc), then waits (at most the agent's time-out) for the verifier's ack.
    ///
    /// `via` is the connection the request came on when it is not the agent's own peer
    /// (a holder behind a mediator). A request the holder cannot answer (another format, a
    /// malformed or unsupported definition, no matching credential, a credential that
    /// cannot be signed) is an [`AriesError::Presentation`], and the verifier gets a
    /// problem report (`abandoned`) saying why; a problem report from the verifier is an
    /// [`AriesError::ProblemReport`]; an ack whose `verification_result` is not `"true"`
    /// is a [`PresentationError::NotVerified`].
    pub async fn present(
        &mut self,
        request: &PresentationRequest,
        via: Option<&Connection>,
    ) -> Result<PresentationAck, AriesError> {
        let thid = request
            .thread_id()
            .ok_or_else(|| PresentationError::Malformed {
                reason: "no @id".to_owned(),
            })?
            .to_owned();
        let presentation = match self.build_presentation(request) {
            Ok(p) => p,
            Err(e) => {
                // Tell the verifier, as a holder does, so that it abandons the exchange.
                self.send_via(via, abandon(&thid, &e.to_string())).await?;
                return Err(e.into());
            }
        };
        let mut msg = json!({
            "@type": "https://didcomm.org/present-proof/2.0/presentation",
            "@id": message::new_id(),
            "formats": [{"attach_id": "dif", "format": DIF_SUBMISSION}],
            "presentations~attach": [{
                "@id": "dif",
                "mime-type": "application/ld+json",
                "data": {"base64": crate::encoding::b64_encode(presentation.to_string().as_bytes())},
            }],
        });
        message::set_thread(&mut msg, &Thread::reply(&thid));
        let ack = self
            .request_in_thread(via, msg, &thid, |t| is_present_proof(t, "ack"))
            .await?;
        let verification_result = ack.message["verification_result"]
            .as_str()
            .map(str::to_owned);
        match verification_result.as_deref() {
            None | Some("true") => Ok(PresentationAck {
                thread_id: thid,
                verification_result,
            }),
            Some(other) => Err(PresentationError::NotVerified(other.to_owned()).into()),
        }
    }

    /// The signed presentation answering `request`.
    fn build_presentation(
        &self,
        request: &PresentationRequest,
    ) -> Result<Value, PresentationError> {
        let offered = request.formats();
        if offered.is_empty() {
            return Err(PresentationError::Malformed {
                reason: "no formats".to_owned(),
            });
        }
        let attach_id = request.message["formats"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| {
                f["format"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("dif/"))
            })
            .and_then(|f| f["attach_id"].as_str())
            .ok_or_else(|| {
                if offered.contains(&DIF_REQUEST) {
                    PresentationError::Malformed {
                        reason: "the dif format has no attach_id".to_owned(),
                    }
                } else {
                    PresentationError::UnsupportedFormat {
                        offered: offered.join(", "),
                    }
                }
            })?;
        let attachment = request.message["request_presentations~attach"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["@id"].as_str() == Some(attach_id))
            .and_then(super::doc::attachment_json)
            .ok_or_else(|| PresentationError::Malformed {
                reason: format!("no readable JSON attachment {attach_id:?}"),
            })?;
        let dif = DifRequest::parse(&attachment)?;
        let mut vp = dif.presentation(&self.credentials)?;
        let mut options = Map::new();
        options.insert("created".to_owned(), json!(now_utc()));
        options.insert("proofPurpose".to_owned(), json!("authentication"));
        // ACA-Py's holder makes one up when the request has none; so does this one.
        let challenge = dif.challenge.map_or_else(message::new_id, str::to_owned);
        options.insert("challenge".to_owned(), json!(challenge));
        if let Some(domain) = dif.domain {
            options.insert("domain".to_owned(), json!(domain));
        }
        let proof = crate::ld_proof::sign_ed25519_2018(&vp, options, &self.key)
            .map_err(|e| PresentationError::Signing(e.to_string()))?;
        vp["proof"] = proof;
        Ok(vp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_an_rfc3339_utc_time() {
        let now = now_utc();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
        assert_eq!(&now[10..11], "T");
    }
}
