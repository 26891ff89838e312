//! The multi-tenant platform: an ACA-Py agent started with `--multitenant
//! --multitenant-admin` hosts many sub-wallets (tenants), each created through its
//! multitenancy admin API (`POST /multitenancy/wallet`, which answers with the tenant's
//! token) and then driven through the same admin API with `Authorization: Bearer <token>`.
//!
//! This module adds the calls those flows make to the issuer's admin client
//! ([`IssuerClient`]: each call is its own stats entry, the headers are never logged), the
//! records they answer with, and [`MultitenantMediator`], the user that, like the
//! multi-agent mediator test, has sub-wallets connect to a mediator and use it, beside the
//! native agent's `MediatorPing` on the same mediator.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::encoding::b64_decode;
use crate::invitation::{Invitation, InvitationKind};
use crate::issuer::{ConnectionRecord, IssuerClient, IssuerConfig, IssuerError};

mod user;

/// The longest wait between two looks at a connection or mediation record: the polls start
/// at the settings' `poll` and double up to this, so that tenants waiting on a busy agent do
/// not load its admin API with their polls (25 tenants at 100 ms were 250 calls a second).
pub const MAX_POLL: Duration = Duration::from_secs(1);

pub use user::{MultitenantMediator, MultitenantSettings};

/// A sub-wallet just created (`POST /multitenancy/wallet`): its id and the token its
/// admin calls carry. `Debug` hides the token.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct TenantWallet {
    /// The wallet's id.
    pub wallet_id: String,
    /// The tenant's bearer token (a secret).
    pub token: String,
}

impl fmt::Debug for TenantWallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantWallet")
            .field("wallet_id", &self.wallet_id)
            .field("token", &"<hidden>")
            .finish()
    }
}

impl TenantWallet {
    /// The admin API as this tenant: `base`'s URL, headers (e.g. the agent's `X-API-Key`)
    /// and time-out, with `Authorization: Bearer <token>` added.
    pub fn config(&self, base: &IssuerConfig) -> Result<IssuerConfig, IssuerError> {
        let headers = base
            .headers
            .clone()
            .with("Authorization", &format!("Bearer {}", self.token))?;
        Ok(base.clone().headers(headers))
    }
}

/// An out-of-band record (`POST /out-of-band/receive-invitation`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct OobRecord {
    /// Its id.
    #[serde(default)]
    pub oob_id: String,
    /// Its state.
    #[serde(default)]
    pub state: String,
    /// The connection the invitation started (with `auto_accept`).
    #[serde(default)]
    pub connection_id: Option<String>,
}

/// A mediation record, client side (`/mediation/request/{conn_id}`,
/// `/mediation/requests/{id}`).
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct MediationRecord {
    /// Its id.
    pub mediation_id: String,
    /// `request`, `granted` or `denied`.
    #[serde(default)]
    pub state: String,
    /// The connection to the mediator.
    #[serde(default)]
    pub connection_id: String,
    /// The mediator's routing keys, once granted.
    #[serde(default)]
    pub routing_keys: Vec<String>,
    /// The mediator's endpoint, once granted.
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// The out-of-band invitation message of `MEDIATION_URL` (a `?oob=` URL or the
/// invitation's JSON), as the admin API's `receive-invitation` takes it. Anything else is
/// an [`IssuerError::Setting`] naming `MEDIATION_URL`.
pub fn oob_invitation_message(text: &str) -> Result<Value, IssuerError> {
    let bad = |reason: String| IssuerError::Setting {
        setting: "MEDIATION_URL",
        reason,
    };
    let invitation = Invitation::parse(text).map_err(|e| bad(e.to_string()))?;
    if invitation.kind != InvitationKind::OutOfBand {
        return Err(bad(format!(
            "a {:?} invitation: an ACA-Py tenant receives out-of-band invitations (?oob=)",
            invitation.kind
        )));
    }
    let text = text.trim();
    if text.starts_with('{') {
        return serde_json::from_str(text).map_err(|e| bad(e.to_string()));
    }
    let query = text.split_once('?').map_or("", |(_, q)| q);
    let encoded = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "oob")
        .map(|(_, v)| v.replace(' ', "+"))
        .ok_or_else(|| bad("no oob= parameter".to_owned()))?;
    let bytes = b64_decode(&encoded).ok_or_else(|| bad("oob= is not base64".to_owned()))?;
    serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))
}

/// An id as one URL path segment.
fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// A raw askar wallet key (base58 of 32 random bytes): no Argon2 for sub-wallets that
/// are stores of their own.
fn raw_wallet_key() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    bs58::encode([a.as_bytes().as_slice(), b.as_bytes().as_slice()].concat()).into_string()
}

impl IssuerClient {
    /// `POST /multitenancy/wallet`: a new managed sub-wallet named `name`, labelled
    /// `label`, with a fresh raw key; called with the base wallet's headers.
    pub async fn create_wallet(
        &self,
        name: &str,
        label: &str,
    ) -> Result<TenantWallet, IssuerError> {
        let body = json!({
            "wallet_name": name,
            "wallet_key": raw_wallet_key(),
            "wallet_key_derivation": "RAW",
            "label": label,
            "key_management_mode": "managed",
        });
        self.call(
            swarm_http::Method::POST,
            "/multitenancy/wallet",
            "/multitenancy/wallet",
            Some(&body),
        )
        .await
    }

    /// `POST /multitenancy/wallet/{id}/remove`: delete a sub-wallet (base wallet's headers).
    pub async fn remove_wallet(&self, wallet_id: &str) -> Result<(), IssuerError> {
        let _: Value = self
            .call(
                swarm_http::Method::POST,
                &format!("/multitenancy/wallet/{}/remove", segment(wallet_id)),
                "/multitenancy/wallet/[id]/remove",
                Some(&json!({})),
            )
            .await?;
        Ok(())
    }

    /// `POST /out-of-band/receive-invitation?auto_accept=true`: the wallet answers the
    /// invitation (its handshake runs in the background).
    pub async fn receive_invitation(&self, invitation: &Value) -> Result<OobRecord, IssuerError> {
        self.call(
            swarm_http::Method::POST,
            "/out-of-band/receive-invitation?auto_accept=true",
            "/out-of-band/receive-invitation",
            Some(invitation),
        )
        .await
    }

    /// Waits until the connection is ready (`active` or `completed`), asking after `poll`,
    /// then twice as long each time up to [`MAX_POLL`] (`GET /connections/{id}`, each a
    /// recorded call), and at most until `timeout`.
    pub async fn await_connection_ready(
        &self,
        connection_id: &str,
        mut poll: Duration,
        timeout: Duration,
    ) -> Result<ConnectionRecord, IssuerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let c = self.connection(connection_id).await?;
            if c.is_ready() {
                return Ok(c);
            }
            if c.state == "abandoned" || tokio::time::Instant::now() + poll > deadline {
                return Err(IssuerError::BadReply {
                    call: "GET /connections/[id]".to_owned(),
                    reason: format!(
                        "the connection is not ready after {timeout:?} (last state: {})",
                        c.state
                    ),
                });
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(MAX_POLL.max(poll));
        }
    }

    /// `POST /mediation/request/{conn_id}`: ask the connection's agent for mediation.
    pub async fn request_mediation(
        &self,
        connection_id: &str,
    ) -> Result<MediationRecord, IssuerError> {
        self.call(
            swarm_http::Method::POST,
            &format!("/mediation/request/{}", segment(connection_id)),
            "/mediation/request/[id]",
            Some(&json!({})),
        )
        .await
    }

    /// `GET /mediation/requests/{id}`.
    pub async fn mediation_record(
        &self,
        mediation_id: &str,
    ) -> Result<MediationRecord, IssuerError> {
        self.call(
            swarm_http::Method::GET,
            &format!("/mediation/requests/{}", segment(mediation_id)),
            "/mediation/requests/[id]",
            None,
        )
        .await
    }

    /// Waits until the mediation request is `granted`, asking after `poll`, then twice as
    /// long each time up to [`MAX_POLL`], and at most until `timeout`; `denied` or not
    /// granted in time is an [`IssuerError::BadReply`].
    pub async fn await_mediation_granted(
        &self,
        mediation_id: &str,
        mut poll: Duration,
        timeout: Duration,
    ) -> Result<MediationRecord, IssuerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let m = self.mediation_record(mediation_id).await?;
            if m.state == "granted" {
                return Ok(m);
            }
            if m.state == "denied" || tokio::time::Instant::now() + poll > deadline {
                return Err(IssuerError::BadReply {
                    call: "GET /mediation/requests/[id]".to_owned(),
                    reason: format!(
                        "mediation is not granted after {timeout:?} (last state: {})",
                        m.state
                    ),
                });
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(MAX_POLL.max(poll));
        }
    }

    /// `POST /connections/{id}/send-ping`: a trust ping from the wallet to the connection's
    /// agent; ACA-Py answers once the ping is on its way (the response comes to the wallet
    /// later, seen only by webhooks). Returns the ping's thread id.
    pub async fn send_ping(&self, connection_id: &str) -> Result<String, IssuerError> {
        #[derive(Deserialize)]
        struct Sent {
            #[serde(default)]
            thread_id: String,
        }
        let sent: Sent = self
            .call(
                swarm_http::Method::POST,
                &format!("/connections/{}/send-ping", segment(connection_id)),
                "/connections/[id]/send-ping",
                Some(&json!({"comment": "swarm"})),
            )
            .await?;
        Ok(sent.thread_id)
    }
}

#[cfg(test)]
mod tests;
