//! Ready-made users that drive an ACA-Py issuer through its admin API, each holder a
//! native agent: credentials issued to holders directly or through a mediator, basic
//! messages from the issuer to holders, presentations verified by the issuer
//! ([`Verify`]), and the issuer's liveness.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use swarm_core::prelude::*;
use swarm_core::Sample;
use tokio::sync::OnceCell;

use super::KIND;
use crate::agent::{Agent, AgentOptions, AriesError, Connection};
use crate::inbound::InboundListener;
use crate::invitation::Invitation;
use crate::issuer::{IssuerClient, IssuerConfig, IssuerError, LdProofOffer};

mod verify;
pub use verify::{parse_proof_attr, Verify, VerifySettings};

/// Settings of the issuer users ([`Issue`], [`MediatorIssue`], [`IssueMessage`],
/// [`MediatorIssueMessage`], [`Liveness`]), handed to the run with `Swarm::setting` or
/// `App::setting`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuerSettings {
    /// The issuer's admin API (`ISSUER_URL`, `ISSUER_HEADERS`).
    pub issuer: IssuerConfig,
    /// The issuer's DID for ld_proof credentials (`ISSUER_DID`); `None`: the first user
    /// creates a `did:key` through the admin API (`POST /wallet/did/create`), once a run.
    pub issuer_did: Option<String>,
    /// The credential subject's attributes (`CRED_ATTR`).
    pub attributes: Map<String, Value>,
    /// The mediator's invitation (`MEDIATION_URL`), for [`MediatorIssue`] and
    /// [`MediatorIssueMessage`].
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
    /// Where the holders' shared inbound listener binds ([`Issue`], [`IssueMessage`]);
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

    /// Set the credential subject's attributes.
    #[must_use]
    pub fn attributes(mut self, attributes: Map<String, Value>) -> Self {
        self.attributes = attributes;
        self
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

    fn wait_time(&self) -> Wait {
        Wait::between(self.min_wait, self.max_wait)
    }
}

/// Parses `CRED_ATTR`: the credential preview's attribute list as the Aries load tests
/// write it (`[{"name": "score", "value": "test", "mime-type": "text/plain"}]`), or a JSON
/// object of names to values (`{"score": "test"}`). With ld_proof they become the
/// credential subject's attributes. Anything else is an [`IssuerError::Setting`] naming
/// `CRED_ATTR`.
pub fn parse_cred_attr(text: &str) -> Result<Map<String, Value>, IssuerError> {
    let bad = |reason: String| IssuerError::Setting {
        setting: "CRED_ATTR",
        reason,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "not JSON ({e}): expected [{{\"name\": \"score\", \"value\": \"test\"}}] or {{\"score\": \"test\"}}"
        ))
    })?;
    let map = match value {
        Value::Object(m) => m,
        Value::Array(items) => {
            let mut m = Map::new();
            for (i, item) in items.into_iter().enumerate() {
                let name = item["name"]
                    .as_str()
                    .ok_or_else(|| bad(format!("attribute {i} has no \"name\" string")))?;
                let value = item
                    .get("value")
                    .cloned()
                    .ok_or_else(|| bad(format!("attribute {name:?} has no \"value\"")))?;
                m.insert(name.to_owned(), value);
            }
            m
        }
        _ => {
            return Err(bad(
                "expected a list of {\"name\", \"value\"} or an object of names to values"
                    .to_owned(),
            ))
        }
    };
    if map.contains_key("id") {
        return Err(bad(
            "\"id\" is the holder's DID, filled in by the holder; choose another name".to_owned(),
        ));
    }
    Ok(map)
}

fn settings(ctx: &UserContext) -> Result<Arc<IssuerSettings>, TaskError> {
    ctx.setting::<IssuerSettings>().ok_or_else(|| {
        TaskError::new(
            "no IssuerSettings for this run: pass them with Swarm::setting(..) or App::setting(..)",
        )
    })
}

/// What the users of one run share: the holders' inbound listener and the issuer's DID.
#[derive(Default)]
struct RunShared {
    listener: OnceCell<InboundListener>,
    issuer_did: OnceCell<String>,
}

async fn listener(ctx: &UserContext, s: &IssuerSettings) -> Result<InboundListener, TaskError> {
    let shared = ctx.shared(RunShared::default);
    shared
        .listener
        .get_or_try_init(|| InboundListener::bind(s.inbound))
        .await
        .cloned()
        .map_err(|e| TaskError::new(e.to_string()))
}

/// The issuer's DID: the setting, or one `did:key` created for the whole run.
async fn issuer_did(
    ctx: &UserContext,
    s: &IssuerSettings,
    client: &IssuerClient,
) -> Result<String, TaskError> {
    if let Some(did) = &s.issuer_did {
        return Ok(did.clone());
    }
    let shared = ctx.shared(RunShared::default);
    shared
        .issuer_did
        .get_or_try_init(|| client.create_did_key())
        .await
        .cloned()
        .map_err(|e| TaskError::new(e.to_string()))
}

fn agent_options(ctx: &UserContext, s: &IssuerSettings) -> AgentOptions {
    let insecure = ctx
        .setting::<swarm_core::TransportOptions>()
        .is_some_and(|o| o.insecure);
    AgentOptions {
        label: format!("swarm-holder-{}", ctx.user_id()),
        timeout: s.timeout,
        ..AgentOptions::default()
    }
    .insecure(insecure)
}

/// A holder connected to the issuer: its agent, the connection it made through its
/// mediator (none when it talks to the issuer directly), the issuer's connection id.
struct Holder {
    agent: Agent,
    via: Option<Connection>,
    connection_id: String,
}

impl std::fmt::Debug for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holder")
            .field("agent", &self.agent)
            .field("connection_id", &self.connection_id)
            .finish_non_exhaustive()
    }
}

/// Onboards a holder on the issuer: an invitation from the admin API, then the holder
/// connects, directly on the shared inbound listener or through its mediator; each step is
/// recorded (`DIDCOMM connect`, `mediate`, `connect_issuer`, and the admin calls).
async fn onboard(
    ctx: &UserContext,
    s: &IssuerSettings,
    client: &IssuerClient,
    mediated: bool,
) -> Result<Holder, TaskError> {
    let rec = ctx.recorder().clone();
    let mut options = agent_options(ctx, s);
    let http = options
        .http_client()
        .map_err(|e| TaskError::new(e.to_string()))?;
    let oob = client
        .create_invitation("swarm-issuer")
        .await
        .map_err(|e| TaskError::new(e.to_string()))?;
    let invitation = Invitation::parse(&oob.invitation_url)
        .map_err(|e| TaskError::new(format!("the issuer's invitation: {e}")))?;
    let (agent, via) = if mediated {
        let mediation = s.mediation.as_ref().ok_or_else(|| {
            TaskError::new("a mediated holder needs the mediator's invitation (MEDIATION_URL)")
        })?;
        let mut agent = rec
            .measure(KIND, "connect", Agent::connect(mediation, http, &options))
            .await?;
        rec.measure(KIND, "mediate", agent.request_mediation())
            .await?;
        let label = options.label.clone();
        let conn = rec
            .measure(
                KIND,
                "connect_issuer",
                agent.connect_routed(&invitation, &label),
            )
            .await?;
        (agent, Some(conn))
    } else {
        options = options.with_inbound(listener(ctx, s).await?);
        let agent = rec
            .measure(
                KIND,
                "connect_issuer",
                Agent::connect(&invitation, http, &options),
            )
            .await?;
        (agent, None)
    };
    let conn = client
        .await_connection(&oob.invi_msg_id, Duration::from_millis(100), s.timeout)
        .await
        .map_err(|e| TaskError::new(e.to_string()))?;
    Ok(Holder {
        agent,
        via,
        connection_id: conn.connection_id,
    })
}

/// The state every issuer user keeps: its admin client, its holder (none after a failure
/// that may have broken it: the next task onboards again), and whether it is mediated.
struct IssuerUser {
    client: IssuerClient,
    holder: Option<Holder>,
    settings: Arc<IssuerSettings>,
    mediated: bool,
}

impl std::fmt::Debug for IssuerUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerUser")
            .field("holder", &self.holder)
            .field("mediated", &self.mediated)
            .finish_non_exhaustive()
    }
}

impl IssuerUser {
    async fn start(ctx: &UserContext, mediated: bool) -> Result<Self, TaskError> {
        let s = settings(ctx)?;
        let client =
            IssuerClient::new(ctx, &s.issuer).map_err(|e| TaskError::new(e.to_string()))?;
        let holder = onboard(ctx, &s, &client, mediated).await?;
        Ok(IssuerUser {
            client,
            holder: Some(holder),
            settings: s,
            mediated,
        })
    }

    /// The holder, onboarding again first when the last one was dropped (recorded as
    /// `DIDCOMM reconnect`); `None` when that failed (counted).
    async fn holder(&mut self, ctx: &UserContext) -> Option<&mut Holder> {
        if self.holder.is_none() {
            let t0 = Instant::now();
            match onboard(ctx, &self.settings, &self.client, self.mediated).await {
                Ok(h) => {
                    ctx.recorder()
                        .record(&Sample::new(KIND, "reconnect", t0.elapsed()));
                    self.holder = Some(h);
                }
                Err(e) => {
                    ctx.recorder()
                        .record(&Sample::new(KIND, "reconnect", t0.elapsed()).failure(e.message()));
                    return None;
                }
            }
        }
        self.holder.as_mut()
    }

    /// One credential, offer to ack, recorded as `DIDCOMM issue_credential`.
    async fn issue(&mut self, ctx: &UserContext) -> TaskResult {
        let s = self.settings.clone();
        let did = issuer_did(ctx, &s, &self.client).await?;
        let offer = LdProofOffer::new(did, s.attributes.clone());
        let client = self.client.clone();
        let Some(holder) = self.holder(ctx).await else {
            return Ok(());
        };
        let t0 = Instant::now();
        let outcome: Result<(), IssueFailure> = async {
            client
                .send_offer(&holder.connection_id, &offer, s.keep_records)
                .await?;
            let received = holder.agent.receive_offer().await?;
            holder
                .agent
                .accept_offer(&received, holder.via.as_ref())
                .await?;
            Ok(())
        }
        .await;
        self.finish(ctx, "issue_credential", t0, outcome).await;
        Ok(())
    }

    /// One basic message from the issuer's admin API to the holder, recorded as `DIDCOMM
    /// issuer_message` (from the admin call to its receipt).
    async fn message(&mut self, ctx: &UserContext) -> TaskResult {
        let client = self.client.clone();
        let Some(holder) = self.holder(ctx).await else {
            return Ok(());
        };
        let content = crate::message::new_id();
        let t0 = Instant::now();
        let outcome: Result<(), IssueFailure> = async {
            client.send_message(&holder.connection_id, &content).await?;
            loop {
                let m = holder.agent.receive().await?;
                if m.message["content"].as_str() == Some(content.as_str()) {
                    return Ok(());
                }
            }
        }
        .await;
        self.finish(ctx, "issuer_message", t0, outcome).await;
        Ok(())
    }

    /// Records the iteration; a failure that may have broken the holder drops it (the next
    /// task onboards again).
    async fn finish(
        &mut self,
        ctx: &UserContext,
        name: &str,
        t0: Instant,
        outcome: Result<(), IssueFailure>,
    ) {
        let rec = ctx.recorder();
        match outcome {
            Ok(()) => rec.record(&Sample::new(KIND, name, t0.elapsed())),
            Err(e) => {
                rec.record(&Sample::new(KIND, name, t0.elapsed()).failure(&e.to_string()));
                let broken = matches!(
                    e,
                    IssueFailure::Agent(
                        AriesError::Timeout { .. }
                            | AriesError::Closed(_)
                            | AriesError::Transport(_)
                    )
                );
                if broken {
                    if let Some(mut h) = self.holder.take() {
                        h.agent.close().await;
                    }
                }
            }
        }
    }

    async fn stop(&mut self) {
        if let Some(h) = self.holder.as_mut() {
            h.agent.close().await;
        }
    }
}

/// Why an iteration failed: the admin API or the holder.
#[derive(Debug, thiserror::Error)]
enum IssueFailure {
    #[error(transparent)]
    Issuer(#[from] IssuerError),
    #[error(transparent)]
    Agent(#[from] AriesError),
    /// The verifier did not verify a presentation ([`Verify`]).
    #[error("{0}")]
    Verification(String),
}

macro_rules! issuer_user {
    ($(#[$doc:meta])* $name:ident, mediated = $mediated:expr, task = $task:literal, $method:ident) => {
        $(#[$doc])*
        pub struct $name(IssuerUser);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl $name {
            async fn run(&mut self, ctx: &mut UserContext) -> TaskResult {
                self.0.$method(ctx).await
            }
        }

        #[async_trait]
        impl User for $name {
            async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
                Ok($name(IssuerUser::start(ctx, $mediated).await?))
            }

            fn tasks() -> Tasks<Self> {
                Tasks::new().task($task, Self::run)
            }

            fn wait_time(&self) -> Wait {
                self.0.settings.wait_time()
            }

            async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
                self.0.stop().await;
                Ok(())
            }
        }
    };
}

issuer_user!(
    /// A holder on the shared inbound listener, connected to the issuer directly (an
    /// invitation from its admin API). Each task is one credential: the issuer's admin API
    /// offers an ld_proof credential with `CRED_ATTR` as its subject
    /// (`POST /issue-credential-2.0/send-offer`), the holder receives the offer, requests,
    /// checks and stores the credential and acks it; offer to ack is the recorded latency
    /// (`DIDCOMM issue_credential`). A time-out or a broken transport drops the holder,
    /// and the next task onboards a new one (`DIDCOMM reconnect`).
    Issue,
    mediated = false,
    task = "issue",
    issue
);

issuer_user!(
    /// [`Issue`] with the holder behind the mediator (`MEDIATION_URL`): it connects to
    /// the mediator, gets mediation, then connects to the issuer with a DID that names the
    /// mediator, so the offer and the credential arrive forwarded by the mediator.
    MediatorIssue,
    mediated = true,
    task = "issue",
    issue
);

issuer_user!(
    /// A holder on the shared inbound listener, connected to the issuer directly; each
    /// task the issuer's admin API sends it a basic message
    /// (`POST /connections/{id}/send-message`), and the latency from the admin call to the
    /// holder's receipt is recorded (`DIDCOMM issuer_message`).
    IssueMessage,
    mediated = false,
    task = "message",
    message
);

issuer_user!(
    /// [`IssueMessage`] with the holder behind the mediator: the issuer's messages arrive
    /// forwarded by the mediator.
    MediatorIssueMessage,
    mediated = true,
    task = "message",
    message
);

/// Checks the issuer's liveness: `GET /status` on its admin API each task (recorded as
/// `GET /status`; a failure when it does not answer, refuses the headers or answers
/// something else).
pub struct Liveness {
    client: IssuerClient,
    settings: Arc<IssuerSettings>,
}

impl std::fmt::Debug for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Liveness")
            .field("issuer", &self.client.url())
            .finish()
    }
}

#[async_trait]
impl User for Liveness {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let settings = settings(ctx)?;
        let client =
            IssuerClient::new(ctx, &settings.issuer).map_err(|e| TaskError::new(e.to_string()))?;
        Ok(Liveness { client, settings })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("status", Self::status)
    }

    fn wait_time(&self) -> Wait {
        self.settings.wait_time()
    }
}

impl Liveness {
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        // Recorded (and counted when it fails) by the client itself.
        let _ = self.client.status().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
