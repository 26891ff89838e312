//! [`MultitenantMediator`]: sub-wallets of an ACA-Py multi-tenant agent that connect to a
//! mediator and ping it, all through the admin API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use swarm_core::prelude::*;
use swarm_core::Sample;

use super::oob_invitation_message;
use crate::issuer::{IssuerClient, IssuerConfig, IssuerError};
use crate::users::KIND;

/// Settings of [`MultitenantMediator`], handed to the run with `Swarm::setting` or
/// `App::setting`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MultitenantSettings {
    /// The multi-tenant agent's admin API (`MULTITENANT_URL`, else `ISSUER_URL`) and the
    /// base wallet's headers (`ISSUER_HEADERS`, e.g. `{"X-API-Key": "..."}`); tenants send
    /// them too, with their own `Authorization: Bearer <token>`.
    pub admin: IssuerConfig,
    /// The mediator's out-of-band invitation message (from `MEDIATION_URL`).
    pub invitation: Value,
    /// Shortest wait between pings (`LOCUST_MIN_WAIT`).
    pub min_wait: Duration,
    /// Longest wait between pings (`LOCUST_MAX_WAIT`).
    pub max_wait: Duration,
    /// How long the connection and the mediation grant may take.
    pub timeout: Duration,
    /// The first wait between two looks at a connection or mediation record; it doubles
    /// up to [`MAX_POLL`](crate::multitenant::MAX_POLL).
    pub poll: Duration,
    /// Remove each tenant's sub-wallet when its user stops (default off: the wallets stay,
    /// as a platform's tenants do).
    pub remove_wallets: bool,
}

impl MultitenantSettings {
    /// Settings for this admin API and the mediator's invitation URL (`?oob=` or JSON):
    /// 1 to 2 s between pings, 30 s time-out, polls from 100 ms. An invitation that is not
    /// out-of-band is an [`IssuerError::Setting`] naming `MEDIATION_URL`.
    pub fn new(admin: IssuerConfig, mediation_url: &str) -> Result<Self, IssuerError> {
        Ok(MultitenantSettings {
            admin,
            invitation: oob_invitation_message(mediation_url)?,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
            poll: Duration::from_millis(100),
            remove_wallets: false,
        })
    }

    /// Set the wait between pings.
    #[must_use]
    pub fn wait(mut self, min: Duration, max: Duration) -> Self {
        self.min_wait = min;
        self.max_wait = max;
        self
    }

    /// Set the connection and mediation time-out.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Remove (or keep) each tenant's sub-wallet when its user stops.
    #[must_use]
    pub fn remove_wallets(mut self, remove: bool) -> Self {
        self.remove_wallets = remove;
        self
    }
}

/// A tenant of the multi-tenant platform, onboarded on the mediator, as the multi-agent
/// mediator test runs them: on start, the base wallet creates a sub-wallet
/// (`POST /multitenancy/wallet`), and with the tenant's token the sub-wallet receives the
/// mediator's invitation (`POST /out-of-band/receive-invitation`), waits until the
/// connection is active (`GET /connections/[id]`), asks for mediation
/// (`POST /mediation/request/[id]`) and waits for the grant
/// (`GET /mediation/requests/[id]`). Each admin call is its own entry; the steps are
/// `DIDCOMM tenant_connect` (invitation to active), `tenant_mediate` (request to grant)
/// and `tenant_onboard` (wallet creation to grant). Then each task is a trust ping from
/// the sub-wallet to the mediator (`POST /connections/[id]/send-ping`: the admin call,
/// answered once the ping is on its way). A start that fails is retried by the runner;
/// wrong `ISSUER_HEADERS` show as `HTTP 401: not authorized (check ISSUER_HEADERS)`.
pub struct MultitenantMediator {
    base: IssuerClient,
    tenant: IssuerClient,
    wallet_id: String,
    connection_id: String,
    settings: Arc<MultitenantSettings>,
}

impl std::fmt::Debug for MultitenantMediator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultitenantMediator")
            .field("wallet_id", &self.wallet_id)
            .field("connection_id", &self.connection_id)
            .finish_non_exhaustive()
    }
}

fn task_error(e: &IssuerError) -> TaskError {
    TaskError::new(e.to_string())
}

#[async_trait]
impl User for MultitenantMediator {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let s = ctx.setting::<MultitenantSettings>().ok_or_else(|| {
            TaskError::new(
                "no MultitenantSettings for this run: pass them with Swarm::setting(..) or App::setting(..)",
            )
        })?;
        let rec = ctx.recorder().clone();
        let base = IssuerClient::new(ctx, &s.admin).map_err(|e| task_error(&e))?;
        let t0 = Instant::now();
        let name = format!("swarm-{}", crate::message::new_id());
        let wallet = base
            .create_wallet(&name, &format!("swarm-tenant-{}", ctx.user_id()))
            .await
            .map_err(|e| task_error(&e))?;
        let config = wallet.config(&s.admin).map_err(|e| task_error(&e))?;
        let tenant = IssuerClient::new(ctx, &config).map_err(|e| task_error(&e))?;
        let connection_id = rec
            .measure(KIND, "tenant_connect", async {
                let oob = tenant.receive_invitation(&s.invitation).await?;
                let id = oob.connection_id.ok_or_else(|| IssuerError::BadReply {
                    call: "POST /out-of-band/receive-invitation".to_owned(),
                    reason: format!("no connection_id (state {})", oob.state),
                })?;
                tenant
                    .await_connection_ready(&id, s.poll, s.timeout)
                    .await?;
                Ok::<_, IssuerError>(id)
            })
            .await
            .map_err(|e| task_error(&e))?;
        rec.measure(KIND, "tenant_mediate", async {
            let m = tenant.request_mediation(&connection_id).await?;
            tenant
                .await_mediation_granted(&m.mediation_id, s.poll, s.timeout)
                .await
        })
        .await
        .map_err(|e| task_error(&e))?;
        rec.record(&Sample::new(KIND, "tenant_onboard", t0.elapsed()));
        Ok(MultitenantMediator {
            base,
            tenant,
            wallet_id: wallet.wallet_id,
            connection_id,
            settings: s,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("ping", Self::ping)
    }

    fn wait_time(&self) -> Wait {
        Wait::between(self.settings.min_wait, self.settings.max_wait)
    }

    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        if self.settings.remove_wallets {
            // Recorded (and counted when it fails) by the client.
            let _ = self.base.remove_wallet(&self.wallet_id).await;
        }
        Ok(())
    }
}

impl MultitenantMediator {
    async fn ping(&mut self, _ctx: &mut UserContext) -> TaskResult {
        // Recorded (and counted when it fails) by the client itself.
        let _ = self.tenant.send_ping(&self.connection_id).await;
        Ok(())
    }
}
