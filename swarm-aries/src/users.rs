//! Ready-made Aries users for Swarm load tests: mediator users (a native agent pinging its
//! mediator, agent pairs messaging through it) and issuer users (credentials and messages
//! from an ACA-Py issuer to native holders, directly or through a mediator, presentations
//! of those credentials verified by the issuer, and the issuer's liveness).

use std::sync::Arc;
use std::time::{Duration, Instant};

use swarm_core::prelude::*;
use swarm_core::Sample;

use crate::agent::{Agent, AgentOptions, AriesError};
use crate::invitation::Invitation;

mod issuer;
/// The multi-tenant platform's user: ACA-Py sub-wallets on the mediator (see
/// [`crate::multitenant`]).
pub use crate::multitenant::{MultitenantMediator, MultitenantSettings};
pub use issuer::{
    parse_cred_attr, parse_cred_attrs, parse_proof_attr, Issue, IssueMessage, IssuerSettings,
    Liveness, MediatorIssue, MediatorIssueMessage, Verify, VerifySettings,
};

/// The kind under which DIDComm operations are recorded.
pub const KIND: &str = "DIDCOMM";

/// How a receiving agent gets the messages its mediator holds for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Pickup {
    /// The mediator sends them over the agent's return-routed WebSocket as they come
    /// (ACA-Py; Credo with `DirectDelivery`).
    #[default]
    Push,
    /// messagepickup 2.0 live mode, turned on after mediation (Credo with
    /// `QueueAndLiveModeDelivery`): deliveries come over the WebSocket and are acknowledged.
    Live,
    /// messagepickup 2.0 polling: `delivery-request` and `messages-received` every poll
    /// interval until the message is there.
    Poll,
    /// messagepickup 1.0 `batch-pickup` every poll interval.
    Batch,
}

impl std::str::FromStr for Pickup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "push" => Ok(Pickup::Push),
            "live" => Ok(Pickup::Live),
            "poll" | "v2" => Ok(Pickup::Poll),
            "batch" | "v1" => Ok(Pickup::Batch),
            other => Err(format!(
                "unknown pickup mode '{other}' (expected push, live, poll or batch)"
            )),
        }
    }
}

/// Settings of the mediator users: the mediator's invitation and the wait between pings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MediatorSettings {
    /// The mediator's invitation (`MEDIATION_URL`).
    pub invitation: Invitation,
    /// Shortest wait between pings (`LOCUST_MIN_WAIT`, seconds).
    pub min_wait: Duration,
    /// Longest wait between pings (`LOCUST_MAX_WAIT`, seconds).
    pub max_wait: Duration,
    /// How long to wait for each reply before counting a failure.
    pub timeout: Duration,
    /// How receiving agents get their messages ([`MediatorMessage`]).
    pub pickup: Pickup,
    /// The wait between two pickups when polling ([`Pickup::Poll`], [`Pickup::Batch`]).
    pub poll_interval: Duration,
}

impl MediatorSettings {
    /// Settings for this invitation, waiting 1 to 2 s between pings, 30 s time-out.
    pub fn new(invitation: Invitation) -> Self {
        MediatorSettings {
            invitation,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
            pickup: Pickup::Push,
            poll_interval: Duration::from_millis(200),
        }
    }

    /// Set how receiving agents get their messages, and the poll interval.
    #[must_use]
    pub fn pickup(mut self, pickup: Pickup, poll_interval: Duration) -> Self {
        self.pickup = pickup;
        self.poll_interval = poll_interval;
        self
    }

    /// Set the wait between pings.
    #[must_use]
    pub fn wait(mut self, min: Duration, max: Duration) -> Self {
        self.min_wait = min;
        self.max_wait = max;
        self
    }

    /// Set the reply time-out.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn wait_time(&self) -> Wait {
        Wait::between(self.min_wait, self.max_wait)
    }
}

/// The run's settings: the users read them from the run context, where
/// `Swarm::setting` or `App::setting` put them.
fn settings(ctx: &UserContext) -> Result<Arc<MediatorSettings>, TaskError> {
    ctx.setting::<MediatorSettings>().ok_or_else(|| {
        TaskError::new(
            "no MediatorSettings for this run: pass them with Swarm::setting(..) or App::setting(..)",
        )
    })
}

/// Connections of one run share one HTTP client (one pool).
struct Http(reqwest::Client);

/// Connect and get mediation, recording each step.
async fn onboard(ctx: &UserContext, s: &MediatorSettings) -> Result<Agent, TaskError> {
    let http = ctx.shared(|| Http(reqwest::Client::new()));
    let rec = ctx.recorder().clone();
    let options = AgentOptions {
        label: format!("swarm-{}", ctx.user_id()),
        timeout: s.timeout,
        ..AgentOptions::default()
    };
    let mut agent = rec
        .measure(
            KIND,
            "connect",
            Agent::connect(&s.invitation, http.0.clone(), &options),
        )
        .await?;
    rec.measure(KIND, "mediate", agent.request_mediation())
        .await?;
    if s.pickup == Pickup::Live {
        rec.measure(KIND, "live_delivery", agent.set_live_delivery(true))
            .await?;
    }
    Ok(agent)
}

/// Connects to the mediator, asks for mediation, then sends a trust ping every
/// `min_wait..max_wait` and waits for its response on the WebSocket: the round trip is
/// the recorded latency (`DIDCOMM trust_ping`). A missing response within the time-out is
/// a failure, and the agent reconnects (`DIDCOMM reconnect`): a new WebSocket on the same
/// connection, answered by a ping; when that fails too, the next task connects and asks
/// for mediation again.
pub struct MediatorPing {
    agent: Option<Agent>,
    settings: Arc<MediatorSettings>,
}

impl std::fmt::Debug for MediatorPing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediatorPing")
            .field("agent", &self.agent)
            .finish()
    }
}

#[async_trait]
impl User for MediatorPing {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let s = settings(ctx)?;
        Ok(MediatorPing {
            agent: Some(onboard(ctx, &s).await?),
            settings: s,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("ping", Self::ping)
    }

    fn wait_time(&self) -> Wait {
        self.settings.wait_time()
    }

    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        if let Some(a) = self.agent.as_mut() {
            a.close().await;
        }
        Ok(())
    }
}

impl MediatorPing {
    async fn ping(&mut self, ctx: &mut UserContext) -> TaskResult {
        let s = self.settings.clone();
        let rec = ctx.recorder().clone();
        let Some(agent) = self.agent.as_mut() else {
            return self.reconnect(ctx, &s).await;
        };
        let t0 = Instant::now();
        match agent.ping().await {
            Ok(()) => {
                rec.record(&Sample::new(KIND, "trust_ping", t0.elapsed()));
                Ok(())
            }
            Err(e) => {
                rec.record(&Sample::new(KIND, "trust_ping", t0.elapsed()).failure(&e.to_string()));
                // A new socket on the same connection first, as a real agent does: a new
                // connection and mediation cost the mediator far more, and when it is
                // overloaded they feed a retry storm. Only when that fails too does the
                // next task onboard again.
                let t0 = Instant::now();
                let outcome = async {
                    agent.reconnect_transport().await?;
                    agent.ping().await
                }
                .await;
                let sample = Sample::new(KIND, "reconnect", t0.elapsed());
                match outcome {
                    Ok(()) => rec.record(&sample),
                    Err(e) => {
                        rec.record(&sample.failure(&e.to_string()));
                        agent.close().await;
                        self.agent = None;
                    }
                }
                Ok(())
            }
        }
    }

    async fn reconnect(&mut self, ctx: &UserContext, s: &MediatorSettings) -> TaskResult {
        let t0 = Instant::now();
        match onboard(ctx, s).await {
            Ok(agent) => {
                ctx.recorder()
                    .record(&Sample::new(KIND, "reconnect", t0.elapsed()));
                self.agent = Some(agent);
                Ok(())
            }
            Err(e) => {
                ctx.recorder()
                    .record(&Sample::new(KIND, "reconnect", t0.elapsed()).failure(e.message()));
                Ok(())
            }
        }
    }
}

/// Two agents on the mediator: each task sends a basic message from the first to the
/// second through the mediator (routed by the second's mediation grant) and waits until
/// the second has it, by the settings' [`Pickup`] mode (pushed on its WebSocket by default;
/// messagepickup 2.0 live or polled, or 1.0 batches); send-to-receipt is the recorded latency
/// (`DIDCOMM basic_message`). A message not received within the time-out is a failure,
/// and both agents onboard again (`DIDCOMM reconnect`).
pub struct MediatorMessage {
    pair: Option<(Agent, Agent)>,
    settings: Arc<MediatorSettings>,
}

impl std::fmt::Debug for MediatorMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediatorMessage")
            .field("pair", &self.pair)
            .finish()
    }
}

async fn onboard_pair(
    ctx: &UserContext,
    s: &MediatorSettings,
) -> Result<(Agent, Agent), TaskError> {
    Ok((onboard(ctx, s).await?, onboard(ctx, s).await?))
}

#[async_trait]
impl User for MediatorMessage {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let s = settings(ctx)?;
        Ok(MediatorMessage {
            pair: Some(onboard_pair(ctx, &s).await?),
            settings: s,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("message", Self::message)
    }

    fn wait_time(&self) -> Wait {
        self.settings.wait_time()
    }

    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        if let Some((a, b)) = self.pair.as_mut() {
            a.close().await;
            b.close().await;
        }
        Ok(())
    }
}

impl MediatorMessage {
    async fn message(&mut self, ctx: &mut UserContext) -> TaskResult {
        let s = self.settings.clone();
        let rec = ctx.recorder().clone();
        let Some((from, to)) = self.pair.as_mut() else {
            let t0 = Instant::now();
            match onboard_pair(ctx, &s).await {
                Ok(p) => {
                    rec.record(&Sample::new(KIND, "reconnect", t0.elapsed()));
                    self.pair = Some(p);
                }
                Err(e) => {
                    rec.record(&Sample::new(KIND, "reconnect", t0.elapsed()).failure(e.message()));
                }
            }
            return Ok(());
        };
        let Some(service) = to.routed_service() else {
            return Err(TaskError::new("the receiving agent has no mediation grant"));
        };
        let content = crate::message::new_id();
        let t0 = Instant::now();
        let outcome = async {
            from.send_basic_message(&service, &content).await?;
            await_content(to, &content, &s).await
        }
        .await;
        match outcome {
            Ok(()) => rec.record(&Sample::new(KIND, "basic_message", t0.elapsed())),
            Err(e) => {
                rec.record(
                    &Sample::new(KIND, "basic_message", t0.elapsed()).failure(&e.to_string()),
                );
                from.close().await;
                to.close().await;
                self.pair = None;
            }
        }
        Ok(())
    }
}

/// Waits until `to` has the basic message with `content`, the way `s.pickup` says; other
/// messages are dropped.
async fn await_content(
    to: &mut Agent,
    content: &str,
    s: &MediatorSettings,
) -> Result<(), AriesError> {
    let has = |m: &crate::Unpacked| m.message["content"].as_str() == Some(content);
    match s.pickup {
        Pickup::Push | Pickup::Live => loop {
            if has(&to.receive().await?) {
                return Ok(());
            }
        },
        Pickup::Poll | Pickup::Batch => {
            let deadline = tokio::time::Instant::now() + s.timeout;
            loop {
                let got = if s.pickup == Pickup::Poll {
                    to.pickup(POLL_BATCH).await?
                } else {
                    to.batch_pickup(POLL_BATCH).await?
                };
                if got.iter().any(has) {
                    return Ok(());
                }
                if tokio::time::Instant::now() + s.poll_interval >= deadline {
                    return Err(AriesError::Timeout {
                        waiting_for: "the basic message in a pickup".to_owned(),
                    });
                }
                tokio::time::sleep(s.poll_interval).await;
            }
        }
    }
}

/// Messages asked for in one pickup.
const POLL_BATCH: usize = 10;
