//! The verifier's part of the admin API (present-proof 2.0): send a DIF presentation
//! request on a connection, read the exchange record. ACA-Py is issuer and verifier at
//! once, so these are calls of the same [`IssuerClient`].

use serde::Deserialize;
use serde_json::{json, Value};

use super::{path_segment, IssuerClient, IssuerError};

/// The schema URI of every W3C verifiable credential (its expanded type).
pub const VERIFIABLE_CREDENTIAL_SCHEMA: &str =
    "https://www.w3.org/2018/credentials#VerifiableCredential";

/// A DIF Presentation Exchange request (`presentation_request.dif` of
/// `POST /present-proof-2.0/send-request`): one input descriptor asking for a verifiable
/// credential with these subject attributes, in a linked-data presentation signed with
/// `Ed25519Signature2018`, bound to a fresh `challenge` and the `domain`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DifPresentationRequest {
    /// The credential subject's attributes asked for (each a field
    /// `$.credentialSubject.<name>`).
    pub attributes: Vec<String>,
    /// The presentation definition's id.
    pub definition_id: String,
    /// The proof's `domain` (default `swarm`).
    pub domain: String,
    /// The credential's schema (an expanded type or `credentialSchema` id; default
    /// [`VERIFIABLE_CREDENTIAL_SCHEMA`]).
    pub schema: String,
}

impl DifPresentationRequest {
    /// A request for a credential with these subject attributes.
    pub fn new<S: Into<String>>(attributes: impl IntoIterator<Item = S>) -> Self {
        DifPresentationRequest {
            attributes: attributes.into_iter().map(Into::into).collect(),
            definition_id: crate::message::new_id(),
            domain: "swarm".to_owned(),
            schema: VERIFIABLE_CREDENTIAL_SCHEMA.to_owned(),
        }
    }

    /// Set the proof's domain.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// Set the credential's schema.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The request with `challenge`: `{"options": ..., "presentation_definition": ...}`.
    pub fn to_json(&self, challenge: &str) -> Value {
        let fields: Vec<Value> = self
            .attributes
            .iter()
            .map(|name| {
                let plain = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                let path = if plain {
                    format!("$.credentialSubject.{name}")
                } else {
                    format!("$.credentialSubject['{}']", name.replace('\'', "\\'"))
                };
                json!({"id": name, "path": [path]})
            })
            .collect();
        json!({
            "options": {"challenge": challenge, "domain": self.domain},
            "presentation_definition": {
                "id": self.definition_id,
                "format": {"ldp_vp": {"proof_type": ["Ed25519Signature2018"]}},
                "input_descriptors": [{
                    "id": "credential",
                    "name": "swarm credential",
                    "schema": [{"uri": self.schema}],
                    "constraints": {"fields": fields},
                }],
            },
        })
    }
}

/// A presentation exchange record, verifier side (`present-proof-2.0`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct PresExRecord {
    /// Its id.
    pub pres_ex_id: String,
    /// The exchange's thread id (the request's `@id`).
    #[serde(default)]
    pub thread_id: String,
    /// Its state: `request-sent`, `presentation-received`, `done`, `abandoned`, ...
    #[serde(default)]
    pub state: String,
    /// Whether the presentation verified: `"true"` or `"false"` (once `done`).
    #[serde(default)]
    pub verified: Option<String>,
    /// The verifier's messages about the verification, when it kept any.
    #[serde(default)]
    pub verified_msgs: Option<Vec<String>>,
    /// Why the exchange failed, when it did (a holder's problem report lands here).
    #[serde(default)]
    pub error_msg: Option<String>,
}

impl IssuerClient {
    /// `POST /present-proof-2.0/send-request`: a DIF presentation request on the
    /// connection, with a new challenge, verified as soon as the presentation comes
    /// (`auto_verify`). With `keep_record`, the exchange record stays once `done`
    /// (`auto_remove: false`) so that [`IssuerClient::presentation_record`] can check it.
    pub async fn send_presentation_request(
        &self,
        connection_id: &str,
        request: &DifPresentationRequest,
        keep_record: bool,
    ) -> Result<PresExRecord, IssuerError> {
        let mut body = json!({
            "connection_id": connection_id,
            "auto_verify": true,
            "comment": "swarm",
            "presentation_request": {"dif": request.to_json(&crate::message::new_id())},
        });
        if keep_record {
            body["auto_remove"] = Value::Bool(false);
        }
        self.call(
            swarm_http::Method::POST,
            "/present-proof-2.0/send-request",
            "/present-proof-2.0/send-request",
            Some(&body),
        )
        .await
    }

    /// `GET /present-proof-2.0/records/{id}`: the exchange record (its `state`,
    /// `verified`).
    pub async fn presentation_record(&self, pres_ex_id: &str) -> Result<PresExRecord, IssuerError> {
        self.call(
            swarm_http::Method::GET,
            &format!("/present-proof-2.0/records/{}", path_segment(pres_ex_id)),
            "/present-proof-2.0/records/[id]",
            None,
        )
        .await
    }

    /// `GET /present-proof-2.0/records` (`?state=...` when given): the verifier's exchange
    /// records that are still kept (those of [`IssuerClient::send_presentation_request`]
    /// with `keep_record`, until deleted), e.g. to check after a run that each reached
    /// `done` with `verified == "true"`.
    pub async fn presentation_records(
        &self,
        state: Option<&str>,
    ) -> Result<Vec<PresExRecord>, IssuerError> {
        #[derive(Deserialize)]
        struct Results {
            results: Vec<PresExRecord>,
        }
        let (path, name) = match state {
            Some(state) => {
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", state)
                    .finish();
                (
                    format!("/present-proof-2.0/records?{q}"),
                    "/present-proof-2.0/records?state=[state]",
                )
            }
            None => (
                "/present-proof-2.0/records".to_owned(),
                "/present-proof-2.0/records",
            ),
        };
        let found: Results = self
            .call(swarm_http::Method::GET, &path, name, None)
            .await?;
        Ok(found.results)
    }

    /// `DELETE /present-proof-2.0/records/{id}`: drops an exchange record kept with
    /// `keep_record` once it was checked, so that a long run does not grow the verifier's
    /// wallet.
    pub async fn delete_presentation_record(&self, pres_ex_id: &str) -> Result<(), IssuerError> {
        let _: Value = self
            .call(
                swarm_http::Method::DELETE,
                &format!("/present-proof-2.0/records/{}", path_segment(pres_ex_id)),
                "/present-proof-2.0/records/[id]",
                None,
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_for_each_attribute_under_the_subject() {
        let req = DifPresentationRequest::new(["score", "first name"]).domain("d");
        let j = req.to_json("c-1");
        assert_eq!(j["options"], json!({"challenge": "c-1", "domain": "d"}));
        let d = &j["presentation_definition"]["input_descriptors"][0];
        assert_eq!(d["schema"], json!([{"uri": VERIFIABLE_CREDENTIAL_SCHEMA}]));
        assert_eq!(
            d["constraints"]["fields"],
            json!([
                {"id": "score", "path": ["$.credentialSubject.score"]},
                {"id": "first name", "path": ["$.credentialSubject['first name']"]},
            ])
        );
    }
}
