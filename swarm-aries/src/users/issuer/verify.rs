//! [`Verify`]: the issuer as a verifier, each holder answering its presentation requests.

use std::time::{Duration, Instant};

use swarm_core::prelude::*;

use super::{IssueFailure, IssuerError, IssuerUser};
use crate::issuer::{CredFormat, DifPresentationRequest};

/// Settings of [`Verify`] beyond the [`IssuerSettings`](super::IssuerSettings) it shares
/// with the issuer users; optional (without them, every `CRED_ATTR` attribute is asked
/// for, in the domain `swarm`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifySettings {
    /// The credential subject's attributes the verifier asks for (`PROOF_ATTR`); `None`:
    /// those of `CRED_ATTR`.
    pub attributes: Option<Vec<String>>,
    /// The presentation proof's domain; `None`: `swarm`.
    pub domain: Option<String>,
}

impl VerifySettings {
    /// Set the attributes asked for.
    #[must_use]
    pub fn attributes<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.attributes = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Set the proof's domain.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }
}

/// Parses `PROOF_ATTR`: the attribute names a verifier asks for, as a JSON list
/// (`["score", "name"]`) or comma-separated (`score,name`). An empty list, an empty name
/// or a JSON value of another shape is an [`IssuerError::Setting`] naming `PROOF_ATTR`.
pub fn parse_proof_attr(text: &str) -> Result<Vec<String>, IssuerError> {
    let bad = |reason: String| IssuerError::Setting {
        setting: "PROOF_ATTR",
        reason,
    };
    let text = text.trim();
    let names: Vec<String> = if text.starts_with('[') {
        let v: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "not a JSON list ({e}): expected [\"score\", \"name\"] or score,name"
            ))
        })?;
        v.into_iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("{n} is not an attribute name")))
            })
            .collect::<Result<_, _>>()?
    } else {
        text.split(',').map(|n| n.trim().to_owned()).collect()
    };
    if names.is_empty() || names.iter().any(String::is_empty) {
        return Err(bad(format!(
            "{text:?} has an empty name: expected [\"score\", \"name\"] or score,name"
        )));
    }
    Ok(names)
}

/// The verifier's request for this run.
fn request(ctx: &UserContext, user: &IssuerUser) -> DifPresentationRequest {
    let v = ctx.setting::<VerifySettings>().unwrap_or_default();
    let names: Vec<String> = v
        .attributes
        .clone()
        .unwrap_or_else(|| user.settings.attributes.keys().cloned().collect());
    let mut request = DifPresentationRequest::new(names);
    if let Some(d) = &v.domain {
        request = request.domain(d.clone());
    }
    request
}

/// A holder on the shared inbound listener, connected to the issuer directly (as
/// [`Issue`](super::Issue)), that first gets one ld_proof credential issued (recorded as
/// `DIDCOMM issue_credential`) and then answers the issuer's presentation requests: each
/// task, the issuer's admin API sends a DIF Presentation Exchange request
/// (`POST /present-proof-2.0/send-request`: one input descriptor asking for the
/// credential subject's attributes, `PROOF_ATTR` or those of `CRED_ATTR`, with a new
/// challenge), the holder answers with a presentation signed by its did:key, and the
/// verifier checks it; from the send-request call to the verifier's record read `done`
/// with `verified == "true"` (`GET /present-proof-2.0/records/{id}`, right after the
/// verifier's ack) is the recorded latency (`DIDCOMM present_proof`). The record is then
/// deleted (`DELETE /present-proof-2.0/records/{id}`) unless the settings keep records.
///
/// A request the holder cannot answer (an attribute its credential lacks, another
/// format) is a counted failure naming why, and the verifier gets a problem report; a
/// presentation the verifier does not verify is a counted failure with its state. A
/// time-out or a broken transport drops the holder; the next task onboards a new one
/// (`DIDCOMM reconnect`) and has a credential issued again. ld_proof only: with another
/// `CRED_FORMAT` the user does not start.
pub struct Verify(IssuerUser);

impl std::fmt::Debug for Verify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Verify").field(&self.0).finish()
    }
}

#[async_trait]
impl User for Verify {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let format = super::settings(ctx)?.credential.format;
        if format != CredFormat::LdProof {
            return Err(TaskError::new(format!(
                "CRED_FORMAT={format}: Verify presents ld_proof credentials only \
                 (indy/anoncreds proofs need a ledger and an anoncreds holder)"
            )));
        }
        let mut user = IssuerUser::start(ctx, false).await?;
        user.issue(ctx).await?;
        Ok(Verify(user))
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("verify", Self::verify)
    }

    fn wait_time(&self) -> Wait {
        self.0.settings.wait_time()
    }

    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        self.0.stop().await;
        Ok(())
    }
}

impl Verify {
    async fn verify(&mut self, ctx: &mut UserContext) -> TaskResult {
        let has_credential = match self.0.holder(ctx).await {
            None => return Ok(()),
            Some(h) => h.agent.credentials_received() > 0,
        };
        if !has_credential {
            // A new holder (after a reconnect, or a failed first issuance): its credential
            // first.
            return self.0.issue(ctx).await;
        }
        let request = request(ctx, &self.0);
        let s = self.0.settings.clone();
        let client = self.0.client.clone();
        let Some(holder) = self.0.holder.as_mut() else {
            return Ok(());
        };
        let t0 = Instant::now();
        let mut sent_id = None;
        let outcome: Result<(), IssueFailure> = async {
            let sent = client
                .send_presentation_request(&holder.connection_id, &request, true)
                .await?;
            sent_id = Some(sent.pres_ex_id.clone());
            let received = holder.agent.receive_presentation_request().await?;
            holder.agent.present(&received, holder.via.as_ref()).await?;
            // ACA-Py saves the record as done before it sends the ack; a verifier that
            // acks first gets a few bounded looks.
            let deadline = Instant::now() + s.timeout;
            loop {
                let record = client.presentation_record(&sent.pres_ex_id).await?;
                match (record.state.as_str(), record.verified.as_deref()) {
                    ("done", Some("true")) => return Ok(()),
                    ("done" | "abandoned", verified) => {
                        return Err(IssueFailure::Verification(format!(
                            "the verifier's record is {} with verified={} {}",
                            record.state,
                            verified.unwrap_or("none"),
                            record.error_msg.as_deref().unwrap_or_default()
                        )))
                    }
                    (state, _) if Instant::now() >= deadline => {
                        return Err(IssueFailure::Verification(format!(
                            "the verifier's record is still {state} after the ack"
                        )))
                    }
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
        .await;
        self.0.finish(ctx, "present_proof", t0, outcome).await;
        if let (Some(id), false) = (sent_id, s.keep_records) {
            // Recorded (and counted when it fails) by the client itself.
            let _ = client.delete_presentation_record(&id).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_attr_takes_a_json_list_or_commas() {
        assert_eq!(
            parse_proof_attr(r#"["score", "name"]"#).unwrap(),
            ["score", "name"]
        );
        assert_eq!(
            parse_proof_attr(" score, name ").unwrap(),
            ["score", "name"]
        );
        for bad in ["", "[]", "score,,name", "[1]", "[\"a\""] {
            let e = parse_proof_attr(bad).expect_err(bad).to_string();
            assert!(e.starts_with("PROOF_ATTR: "), "{e}");
        }
    }
}
