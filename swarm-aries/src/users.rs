//! Ready-made Aries users for Swarm load tests.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use swarm_core::prelude::*;
use swarm_core::Sample;

use crate::agent::{Agent, AgentOptions};
use crate::invitation::Invitation;

/// The kind under which DIDComm operations are recorded.
pub const KIND: &str = "DIDCOMM";

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
}

impl MediatorSettings {
    /// Settings for this invitation, waiting 1 to 2 s between pings, 30 s time-out.
    pub fn new(invitation: Invitation) -> Self {
        MediatorSettings {
            invitation,
            min_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(2),
            timeout: Duration::from_secs(30),
        }
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

    /// Make these the settings of [`MediatorPing`] users in this process (first call wins;
    /// returns `false` when settings were already installed).
    pub fn install(self) -> bool {
        SETTINGS.set(self).is_ok()
    }
}

static SETTINGS: OnceLock<MediatorSettings> = OnceLock::new();

fn settings() -> Result<&'static MediatorSettings, TaskError> {
    SETTINGS.get().ok_or_else(|| {
        TaskError::new("no mediator settings: call MediatorSettings::install before the run")
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
    Ok(agent)
}

/// Connects to the mediator, asks for mediation, then sends a trust ping every
/// `min_wait..max_wait` and waits for its response on the WebSocket: the round trip is
/// the recorded latency (`DIDCOMM trust_ping`). A missing response within the time-out is
/// a failure, and the agent reconnects (`DIDCOMM reconnect`).
pub struct MediatorPing {
    agent: Option<Agent>,
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
        let s = settings()?;
        Ok(MediatorPing {
            agent: Some(onboard(ctx, s).await?),
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("ping", Self::ping)
    }

    fn wait_time(&self) -> Wait {
        SETTINGS.get().map_or_else(
            || Wait::between_secs(1.0, 2.0),
            |s| Wait::between(s.min_wait, s.max_wait),
        )
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
        let s = settings()?;
        let rec = ctx.recorder().clone();
        let Some(agent) = self.agent.as_mut() else {
            return self.reconnect(ctx, s).await;
        };
        let t0 = Instant::now();
        match agent.ping().await {
            Ok(()) => {
                rec.record(&Sample::new(KIND, "trust_ping", t0.elapsed()));
                Ok(())
            }
            Err(e) => {
                rec.record(&Sample::new(KIND, "trust_ping", t0.elapsed()).failure(&e.to_string()));
                agent.close().await;
                self.agent = None;
                self.reconnect(ctx, s).await
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
/// second through the mediator (routed by the second's mediation grant) and waits for it
/// on the second's WebSocket; send-to-receipt is the recorded latency
/// (`DIDCOMM basic_message`). A message not received within the time-out is a failure,
/// and both agents onboard again (`DIDCOMM reconnect`).
pub struct MediatorMessage {
    pair: Option<(Agent, Agent)>,
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
        let s = settings()?;
        Ok(MediatorMessage {
            pair: Some(onboard_pair(ctx, s).await?),
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("message", Self::message)
    }

    fn wait_time(&self) -> Wait {
        SETTINGS.get().map_or_else(
            || Wait::between_secs(1.0, 2.0),
            |s| Wait::between(s.min_wait, s.max_wait),
        )
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
        let s = settings()?;
        let rec = ctx.recorder().clone();
        let Some((from, to)) = self.pair.as_mut() else {
            let t0 = Instant::now();
            match onboard_pair(ctx, s).await {
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
            loop {
                let got = to.receive().await?;
                if got.message["content"].as_str() == Some(content.as_str()) {
                    return Ok::<_, crate::agent::AriesError>(());
                }
            }
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
