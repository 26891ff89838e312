//! Ready-made users that drive an ACA-Py issuer through its admin API, each holder a
//! native agent: credentials issued to holders directly or through a mediator, basic
//! messages from the issuer to holders, presentations verified by the issuer
//! ([`Verify`]), and the issuer's liveness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use swarm_core::prelude::*;
use swarm_core::Sample;
use tokio::sync::OnceCell;

use super::KIND;
use crate::agent::{Agent, AgentOptions, AriesError, Connection};
use crate::inbound::InboundListener;
use crate::invitation::Invitation;
use crate::issuer::{CredFormat, IssuerClient, IssuerError, LdProofOffer, OfferSpec};

mod settings;
mod verify;
pub use settings::{parse_cred_attr, parse_cred_attrs, IssuerSettings};
pub use verify::{parse_proof_attr, Verify, VerifySettings};

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

    /// One credential, offer to ack, recorded as `DIDCOMM issue_credential`: an ld_proof
    /// offer signed by the run's issuer DID, or an indy/anoncreds one from `CRED_DEF`
    /// (which the native holder, speaking ld_proof only, refuses: a counted failure).
    async fn issue(&mut self, ctx: &UserContext) -> TaskResult {
        let s = self.settings.clone();
        // indy/anoncreds: from the credential definition; ld_proof: signed by the run's DID.
        let offer: Box<dyn OfferSpec> = match s
            .cred_def_offer()
            .map_err(|e| TaskError::new(e.to_string()))?
        {
            Some(offer) => Box::new(offer),
            None => {
                let did = issuer_did(ctx, &s, &self.client).await?;
                Box::new(LdProofOffer::new(did, s.attributes.clone()))
            }
        };
        let client = self.client.clone();
        let Some(holder) = self.holder(ctx).await else {
            return Ok(());
        };
        let t0 = Instant::now();
        let outcome: Result<(), IssueFailure> = async {
            client
                .send_offer(&holder.connection_id, offer.as_ref(), s.keep_records)
                .await
                .map_err(|source| IssueFailure::Offer {
                    format: s.credential.format,
                    source,
                })?;
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
    /// The issuer refused to make the offer (`send-offer`).
    #[error("{source}{}", offer_note(*.format, .source))]
    Offer {
        format: CredFormat,
        source: IssuerError,
    },
}

/// What a refused offer's failure adds to the issuer's answer: ACA-Py 1.7.0 answers an
/// anoncreds offer with a bare HTTP 500 when its wallet is not `askar-anoncreds` (its log
/// says "AnonCreds interface requires AskarAnonCreds or KanonAnonCreds profile").
fn offer_note(format: CredFormat, source: &IssuerError) -> &'static str {
    match (format, source) {
        (CredFormat::AnonCreds, IssuerError::Status { status: 500, .. }) => {
            " (CRED_FORMAT=anoncreds: an ACA-Py issuer answers 500 when its wallet is not \
             askar-anoncreds)"
        }
        _ => "",
    }
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
    /// and the next task onboards a new one (`DIDCOMM reconnect`). With
    /// `CRED_FORMAT=indy` or `anoncreds` ([`IssuerSettings::credential`]) the offer is one
    /// from the credential definition `CRED_DEF` instead; an issuer without a ledger
    /// refuses it and the holder (ld_proof only) would refuse it too: either way a counted
    /// failure saying why, and the holder is kept.
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
