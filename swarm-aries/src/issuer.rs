//! A typed client for the parts of an ACA-Py issuer's admin API the issuer flows use:
//! out-of-band invitations, connections, issue-credential 2.0 offers and records, basic
//! messages, `/status`, and, as a verifier, present-proof 2.0 requests and records.
//!
//! Every admin call goes through a [`swarm_http::HttpClient`], so each is recorded as its
//! own stats entry (kind `GET` or `POST`, the route as the name, with `[id]` for ids, e.g.
//! `POST /issue-credential-2.0/send-offer`, `GET /issue-credential-2.0/records/[id]`), and
//! honours the run's TLS settings (`--insecure`, a CA file). A reply that is not what
//! the call expects (a status of 400 or more, a body that is not the JSON it should be) is
//! recorded as a failure of that entry and returned as an [`IssuerError`].
//!
//! The headers (`ISSUER_HEADERS`: a JSON object such as `{"Authorization": "Bearer ..."}`
//! or `{"X-API-Key": "..."}`) go with every call; their values are never logged nor
//! shown by `Debug`.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use swarm_core::{Recorder, UserContext};
use swarm_http::{HttpClient, HttpClientBuilder, HttpError};

mod offer;
mod records;
mod verifier;

pub use offer::{CredAttr, CredDefOffer, CredFormat, CredentialSpec, OfferSpec, CRED_PREVIEW_TYPE};
pub use records::{ConnectionRecord, CredExRecord, IssuerStatus, LdProofOffer, OobInvitation};
pub use verifier::{DifPresentationRequest, PresExRecord, VERIFIABLE_CREDENTIAL_SCHEMA};

/// What went wrong with an issuer's admin API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// A setting of the issuer client cannot be used (`ISSUER_URL`, `ISSUER_HEADERS`):
    /// names the setting.
    #[error("{setting}: {reason}")]
    Setting {
        /// The setting, e.g. `ISSUER_HEADERS`.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The issuer did not answer (refused, reset, timed out, TLS failed).
    #[error("issuer admin {call}: no answer: {reason}")]
    Unreachable {
        /// The call, e.g. `POST /issue-credential-2.0/send-offer`.
        call: String,
        /// Why.
        reason: String,
    },
    /// The issuer refused the call's credentials (401 or 403): `ISSUER_HEADERS` lacks the
    /// token or API key the issuer wants, or has a wrong one.
    #[error("issuer admin {call}: HTTP {status}: not authorized (check ISSUER_HEADERS)")]
    Unauthorized {
        /// The call.
        call: String,
        /// 401 or 403.
        status: u16,
    },
    /// The issuer answered with another error status.
    #[error("issuer admin {call}: HTTP {status}: {body}")]
    Status {
        /// The call.
        call: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body (ACA-Py puts its reason there).
        body: String,
    },
    /// A success status whose body is not what the call returns.
    #[error("issuer admin {call}: unexpected reply: {reason}")]
    BadReply {
        /// The call.
        call: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The headers sent with every admin call (`ISSUER_HEADERS`). `Debug` shows the names
/// only: the values are usually secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IssuerHeaders(Vec<(String, String)>);

impl fmt::Debug for IssuerHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, "<hidden>")))
            .finish()
    }
}

impl IssuerHeaders {
    /// No headers (an issuer in `--admin-insecure-mode`).
    pub fn none() -> Self {
        IssuerHeaders(Vec::new())
    }

    /// Parse `ISSUER_HEADERS`: a JSON object of header names to values (strings, or
    /// numbers and booleans, sent as written). Empty text means no headers. Anything else
    /// is an [`IssuerError::Setting`] naming `ISSUER_HEADERS` (and never quoting a value).
    pub fn parse(json: &str) -> Result<Self, IssuerError> {
        let bad = |reason: String| IssuerError::Setting {
            setting: "ISSUER_HEADERS",
            reason,
        };
        if json.trim().is_empty() {
            return Ok(IssuerHeaders::none());
        }
        let value: Value = serde_json::from_str(json).map_err(|e| {
            bad(format!(
                "not JSON (line {}, column {}): expected an object such as {{\"Authorization\": \"Bearer ...\"}}",
                e.line(),
                e.column()
            ))
        })?;
        let Value::Object(map) = value else {
            return Err(bad(
                "expected a JSON object of header names to values, such as {\"X-API-Key\": \"...\"}"
                    .to_owned(),
            ));
        };
        let mut headers = Vec::with_capacity(map.len());
        for (name, v) in map {
            let v = match v {
                Value::String(s) => s,
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => return Err(bad(format!("the value of {name:?} is not a string"))),
            };
            let ok_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !ok_name {
                return Err(bad(format!("{name:?} is not a valid header name")));
            }
            if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(bad(format!(
                    "the value of {name:?} has a line break or NUL"
                )));
            }
            headers.push((name, v));
        }
        Ok(IssuerHeaders(headers))
    }

    /// These headers with `name` set to `value` (replacing a header of that name, in any
    /// case), e.g. a tenant's `Authorization: Bearer <token>` beside the base wallet's
    /// `X-API-Key`. A name or value that cannot be sent is an [`IssuerError::Setting`].
    pub fn with(mut self, name: &str, value: &str) -> Result<Self, IssuerError> {
        let mut json = serde_json::Map::new();
        json.insert(name.to_owned(), Value::String(value.to_owned()));
        let IssuerHeaders(mut added) = Self::parse(&Value::Object(json).to_string())?;
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.0.append(&mut added);
        Ok(self)
    }

    /// The header names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    fn apply(&self, mut builder: HttpClientBuilder) -> Result<HttpClientBuilder, IssuerError> {
        for (k, v) in &self.0 {
            builder = builder.header(k, v).map_err(|_| IssuerError::Setting {
                setting: "ISSUER_HEADERS",
                reason: format!("the header {k:?} is not usable"),
            })?;
        }
        Ok(builder)
    }
}

/// Where the issuer's admin API is and how to call it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// The admin API's base URL (`ISSUER_URL`), without a trailing slash.
    pub url: String,
    /// The headers of every call (`ISSUER_HEADERS`).
    pub headers: IssuerHeaders,
    /// How long one admin call may take.
    pub timeout: Duration,
}

impl IssuerConfig {
    /// The admin API at `url` (`http(s)://host:port`, an optional path prefix), no
    /// headers, 30 s per call. A URL that is not http(s) is an [`IssuerError::Setting`]
    /// naming `ISSUER_URL`.
    pub fn new(url: &str) -> Result<Self, IssuerError> {
        let parsed = url::Url::parse(url).map_err(|e| IssuerError::Setting {
            setting: "ISSUER_URL",
            reason: format!("{url:?} is not a URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(IssuerError::Setting {
                setting: "ISSUER_URL",
                reason: format!("{url:?} is not an http(s):// URL of the admin API"),
            });
        }
        Ok(IssuerConfig {
            url: url.trim_end_matches('/').to_owned(),
            headers: IssuerHeaders::none(),
            timeout: Duration::from_secs(30),
        })
    }

    /// Set the headers.
    #[must_use]
    pub fn headers(mut self, headers: IssuerHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// Set the time-out of one admin call.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// A client of one issuer's admin API, recording every call.
#[derive(Debug, Clone)]
pub struct IssuerClient {
    http: HttpClient,
    url: String,
    timeout: Duration,
}

/// The start of a body, for an error message.
fn excerpt(body: &str) -> String {
    let mut s: String = body.chars().take(300).collect();
    if s.len() < body.len() {
        s.push_str("...");
    }
    s
}

impl IssuerClient {
    /// A client for this user of a run: its own connection (or the run's shared pool with
    /// `--shared-pool`), the run's TLS settings, recording into the run's stats.
    pub fn new(ctx: &UserContext, config: &IssuerConfig) -> Result<Self, IssuerError> {
        Self::build(HttpClient::builder(ctx), config)
    }

    /// A client outside a run, recording into `recorder`.
    pub fn standalone(config: &IssuerConfig, recorder: Recorder) -> Result<Self, IssuerError> {
        Self::build(HttpClient::standalone(Some(&config.url), recorder), config)
    }

    fn build(builder: HttpClientBuilder, config: &IssuerConfig) -> Result<Self, IssuerError> {
        let http = config
            .headers
            .apply(builder)?
            .timeout(config.timeout)
            .build()
            .map_err(|e| IssuerError::Setting {
                setting: "ISSUER_URL",
                reason: e.to_string(),
            })?;
        Ok(IssuerClient {
            http,
            url: config.url.clone(),
            timeout: config.timeout,
        })
    }

    /// The admin API's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Send one call, recorded under `name`; the body as `T`. A status of 400 or more, or a
    /// body that is not a `T`, is recorded as a failure and returned as an error.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: swarm_http::Method,
        path: &str,
        name: &str,
        body: Option<&Value>,
    ) -> Result<T, IssuerError> {
        let call = format!("{method} {name}");
        let mut req = self
            .http
            .request(method, &format!("{}{path}", self.url))
            .name(name)
            .timeout(self.timeout);
        if let Some(b) = body {
            req = req.json(b);
        }
        // Boxed: the HTTP client's future is large, and every caller would carry it.
        let checked = Box::pin(req.send_checked()).await;
        let response = match checked.response() {
            Ok(r) => r,
            Err(e) => {
                let reason = match e {
                    HttpError::Transport { message, .. }
                    | HttpError::InvalidRequest { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                return Err(IssuerError::Unreachable { call, reason });
            }
        };
        let status = response.status().as_u16();
        if status >= 400 {
            let err = if status == 401 || status == 403 {
                // The recorded failure names the setting too: it is what the run's report shows.
                checked.failure(format!(
                    "HTTP {status}: not authorized (check ISSUER_HEADERS)"
                ));
                return Err(IssuerError::Unauthorized { call, status });
            } else {
                IssuerError::Status {
                    call,
                    status,
                    body: excerpt(&response.text()),
                }
            };
            checked.failure(format!("HTTP {status}"));
            return Err(err);
        }
        match serde_json::from_slice::<T>(response.bytes()) {
            Ok(v) => {
                checked.success();
                Ok(v)
            }
            Err(e) => {
                let reason = format!("{e} in {:?}", excerpt(&response.text()));
                checked.failure(format!("unexpected reply: {e}"));
                Err(IssuerError::BadReply { call, reason })
            }
        }
    }

    /// `GET /status`: the issuer's version and label.
    pub async fn status(&self) -> Result<IssuerStatus, IssuerError> {
        self.call(swarm_http::Method::GET, "/status", "/status", None)
            .await
    }

    /// `POST /wallet/did/create {"method": "key"}`: a new Ed25519 `did:key` in the
    /// issuer's wallet, to sign ld_proof credentials with.
    pub async fn create_did_key(&self) -> Result<String, IssuerError> {
        #[derive(Deserialize)]
        struct Created {
            result: Did,
        }
        #[derive(Deserialize)]
        struct Did {
            did: String,
        }
        let created: Created = self
            .call(
                swarm_http::Method::POST,
                "/wallet/did/create",
                "/wallet/did/create",
                Some(&json!({"method": "key", "options": {"key_type": "ed25519"}})),
            )
            .await?;
        Ok(created.result.did)
    }

    /// `GET /issue-credential-2.0/records?state=...`: the exchange records in that state
    /// (those the issuer kept: see [`IssuerClient::send_offer`]).
    pub async fn credential_records(&self, state: &str) -> Result<Vec<CredExRecord>, IssuerError> {
        #[derive(Deserialize)]
        struct Item {
            cred_ex_record: CredExRecord,
        }
        #[derive(Deserialize)]
        struct Results {
            results: Vec<Item>,
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", state)
            .finish();
        let found: Results = self
            .call(
                swarm_http::Method::GET,
                &format!("/issue-credential-2.0/records?{q}"),
                "/issue-credential-2.0/records?state=[state]",
                None,
            )
            .await?;
        Ok(found
            .results
            .into_iter()
            .map(|i| i.cred_ex_record)
            .collect())
    }

    /// `POST /out-of-band/create-invitation?auto_accept=true`: a single-use invitation
    /// for a didexchange (1.1, then 1.0), labelled `label`.
    pub async fn create_invitation(&self, label: &str) -> Result<OobInvitation, IssuerError> {
        let body = json!({
            "handshake_protocols": [
                "https://didcomm.org/didexchange/1.1",
                "https://didcomm.org/didexchange/1.0",
            ],
            "my_label": label,
        });
        self.call(
            swarm_http::Method::POST,
            "/out-of-band/create-invitation?auto_accept=true",
            "/out-of-band/create-invitation",
            Some(&body),
        )
        .await
    }

    /// `GET /connections?invitation_msg_id=...`: the connection made from the invitation
    /// whose `@id` this is, if any yet.
    pub async fn connection_for_invitation(
        &self,
        invi_msg_id: &str,
    ) -> Result<Option<ConnectionRecord>, IssuerError> {
        #[derive(Deserialize)]
        struct Results {
            results: Vec<ConnectionRecord>,
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("invitation_msg_id", invi_msg_id)
            .finish();
        let found: Results = self
            .call(
                swarm_http::Method::GET,
                &format!("/connections?{q}"),
                "/connections?invitation_msg_id=[id]",
                None,
            )
            .await?;
        Ok(found.results.into_iter().next())
    }

    /// `GET /connections/{id}`.
    pub async fn connection(&self, connection_id: &str) -> Result<ConnectionRecord, IssuerError> {
        self.call(
            swarm_http::Method::GET,
            &format!("/connections/{}", path_segment(connection_id)),
            "/connections/[id]",
            None,
        )
        .await
    }

    /// Waits until the connection made from the invitation whose `@id` this is is ready
    /// (`active` or `completed`), asking every `poll` and at most until `timeout`; each
    /// look is a recorded call. Not ready in time is an [`IssuerError::BadReply`] that says
    /// the last state seen.
    pub async fn await_connection(
        &self,
        invi_msg_id: &str,
        poll: Duration,
        timeout: Duration,
    ) -> Result<ConnectionRecord, IssuerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = match self.connection_for_invitation(invi_msg_id).await? {
                Some(c) if c.is_ready() => return Ok(c),
                Some(c) => c.state,
                None => "none yet".to_owned(),
            };
            if tokio::time::Instant::now() + poll > deadline {
                return Err(IssuerError::BadReply {
                    call: "GET /connections?invitation_msg_id=[id]".to_owned(),
                    reason: format!(
                        "the connection is not ready after {timeout:?} (last state: {state})"
                    ),
                });
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// `POST /issue-credential-2.0/send-offer`: offer a credential on the connection: an
    /// ld_proof credential ([`LdProofOffer`]), or an indy/anoncreds one from a credential
    /// definition ([`CredDefOffer`]: `filter.indy` or `filter.anoncreds` and a
    /// `credential_preview`; an issuer without a ledger refuses it with HTTP 400 and its
    /// reason). The issuer issues as soon as the holder's request comes unless the offer
    /// says otherwise ([`OfferSpec::issues_on_request`]). With `keep_record`, the exchange
    /// record stays once `done` (`auto_remove: false`), so that
    /// [`IssuerClient::credential_record`] can check it; else the issuer's own setting
    /// decides.
    pub async fn send_offer(
        &self,
        connection_id: &str,
        offer: &(impl OfferSpec + ?Sized),
        keep_record: bool,
    ) -> Result<CredExRecord, IssuerError> {
        let body = offer::send_offer_body(connection_id, offer, keep_record);
        self.call(
            swarm_http::Method::POST,
            "/issue-credential-2.0/send-offer",
            "/issue-credential-2.0/send-offer",
            Some(&body),
        )
        .await
    }

    /// `GET /issue-credential-2.0/records/{id}`: the exchange record (its `state`).
    pub async fn credential_record(&self, cred_ex_id: &str) -> Result<CredExRecord, IssuerError> {
        #[derive(Deserialize)]
        struct Wrapped {
            cred_ex_record: CredExRecord,
        }
        let w: Wrapped = self
            .call(
                swarm_http::Method::GET,
                &format!("/issue-credential-2.0/records/{}", path_segment(cred_ex_id)),
                "/issue-credential-2.0/records/[id]",
                None,
            )
            .await?;
        Ok(w.cred_ex_record)
    }

    /// `POST /connections/{id}/send-message`: a basic message to the connection's agent.
    pub async fn send_message(
        &self,
        connection_id: &str,
        content: &str,
    ) -> Result<(), IssuerError> {
        let _: Value = self
            .call(
                swarm_http::Method::POST,
                &format!("/connections/{}/send-message", path_segment(connection_id)),
                "/connections/[id]/send-message",
                Some(&json!({"content": content})),
            )
            .await?;
        Ok(())
    }
}

/// An id as one URL path segment (ids from the issuer are UUIDs; anything else is escaped).
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[cfg(test)]
mod tests;
