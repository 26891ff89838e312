//! A simulated agent: one key, one connection to a mediator, one transport; the
//! client side of didexchange, coordinate-mediation, trust ping and basic message.

mod credential;
mod doc;
mod handshake;
mod mediation;
mod pickup;
mod pres_exch;
mod presentation;
mod routed;
mod tls;
mod transport;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::invitation::{HandshakeProtocol, Invitation};
use crate::keys::did_peer::{did_peer_2, QUEUE_ENDPOINT};
use crate::keys::AgentKey;
use crate::message::{self, MessageType};
use crate::service::Service;
use crate::{pack_for_service, unpack, InboundListener, Unpacked};

pub use credential::{
    CredentialError, CredentialFormat, CredentialOffer, LdProof, StoredCredential,
    MAX_STORED_CREDENTIALS, OFFER_TYPE,
};
pub use doc::resolve_their_service;
pub use mediation::Grant;
pub use pickup::PickupStatus;
pub use presentation::{
    PresentationAck, PresentationError, PresentationRequest, PRESENTATION_REQUEST_TYPE,
};
pub use routed::Connection;
use tls::{Tls, TlsSettings};
use transport::{Endpoint, Transport};

/// What went wrong for one agent. The run and the other agents go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AriesError {
    /// The invitation is not usable.
    #[error(transparent)]
    Invitation(#[from] crate::InvitationError),
    /// A message could not be packed or an envelope not opened.
    #[error(transparent)]
    Envelope(#[from] crate::EnvelopeError),
    /// A key or DID is not usable.
    #[error(transparent)]
    Key(#[from] crate::KeyError),
    /// Sending or receiving failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The socket closed.
    #[error("the connection {0} closed")]
    Closed(String),
    /// No answer in time.
    #[error("timed out waiting for {waiting_for}")]
    Timeout {
        /// What did not come.
        waiting_for: String,
    },
    /// The peer answered with a problem report.
    #[error("problem report from the peer: {0}")]
    ProblemReport(String),
    /// The peer answered something this agent cannot use.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The shared inbound listener cannot be bound, or a key not registered on it.
    #[error(transparent)]
    Inbound(#[from] crate::InboundError),
    /// TLS cannot be set up (a bad CA file), or a TLS handshake failed (an untrusted
    /// certificate, no TLS on that port): names the host and the reason.
    #[error(transparent)]
    Tls(#[from] crate::TlsError),
    /// A credential exchange cannot go on: an offer in no format the holder takes, a
    /// malformed offer or credential, a credential that is not the one requested.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// A presentation request cannot be answered (another format, a malformed or
    /// unsupported definition, no matching credential), or the verifier did not verify
    /// the presentation.
    #[error(transparent)]
    Presentation(#[from] PresentationError),
}

/// Options of a new agent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AgentOptions {
    /// The label sent in the handshake.
    pub label: String,
    /// How long to wait for each reply.
    pub timeout: Duration,
    /// Prefer the mediator's WebSocket endpoint once connected (else keep using HTTP).
    /// Ignored when [`inbound`](AgentOptions::inbound) is set.
    pub websocket: bool,
    /// Receive on this shared listener instead of return-routed replies: the agent's DID
    /// advertises the listener's endpoint, its messages ask for no return route, it sends
    /// plain HTTP POSTs and reads what peers POST back from its [`Mailbox`](crate::Mailbox).
    /// For agents that talk to a peer directly, without a mediator.
    pub inbound: Option<InboundListener>,
    /// Accept any TLS certificate (`https://`, `wss://`): self-signed, expired, or issued
    /// for another name. See [`AgentOptions::insecure`].
    pub insecure: bool,
    /// Trust the CA certificates of this PEM file besides the system's. See
    /// [`AgentOptions::ca_file`].
    pub ca_file: Option<PathBuf>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            label: "swarm-agent".to_owned(),
            timeout: Duration::from_secs(30),
            websocket: true,
            inbound: None,
            insecure: false,
            ca_file: None,
        }
    }
}

impl AgentOptions {
    /// Accept any TLS certificate on `https://` and `wss://` endpoints (self-signed,
    /// expired, or issued for another name), as for a mediator or issuer behind a test
    /// certificate. The handshake itself is still checked against the certificate's key.
    /// Takes precedence over [`AgentOptions::ca_file`]. Default: off.
    #[must_use]
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// Trust the CA certificate(s) in this PEM file, besides the system's trust store, on
    /// `https://` and `wss://` endpoints: for a mediator or issuer whose certificate comes
    /// from a private CA. The file is read when the first agent with these options
    /// connects; a file that cannot be read or holds no certificate is an
    /// [`AriesError::Tls`] naming it.
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    fn tls_settings(&self) -> TlsSettings {
        TlsSettings {
            insecure: self.insecure,
            ca_file: self.ca_file.clone(),
        }
    }

    /// An HTTP client that honours these options' TLS settings
    /// ([`insecure`](AgentOptions::insecure), [`ca_file`](AgentOptions::ca_file)): one per
    /// distinct setting in the process, shared (clones share one connection pool). The
    /// client to give [`Agent::connect`].
    pub fn http_client(&self) -> Result<reqwest::Client, AriesError> {
        let settings = self.tls_settings();
        if settings.is_default() {
            Ok(tls::clients(&settings)?.http.clone())
        } else {
            Ok(Tls::new(&settings)?
                .http()
                .cloned()
                .unwrap_or_else(reqwest::Client::new))
        }
    }

    /// Receive on `listener` (see [`AgentOptions::inbound`]).
    #[must_use]
    pub fn with_inbound(mut self, listener: InboundListener) -> Self {
        self.inbound = Some(listener);
        self
    }
}

/// A simulated agent connected to one peer (its mediator, or any agent it talks to
/// directly when it receives on an [`InboundListener`]).
///
/// Over a WebSocket, a small task keeps reading the socket, so that the peer's heartbeat
/// pings are answered while the agent idles (ACA-Py drops a socket that misses one); it
/// ends when the socket closes or the agent is closed or dropped.
pub struct Agent {
    key: AgentKey,
    did: String,
    them: Service,
    transport: Transport,
    inbox: VecDeque<Unpacked>,
    timeout: Duration,
    grant: Option<Grant>,
    http: reqwest::Client,
    tls: Tls,
    /// The shared inbound listener's endpoint, when the agent receives there.
    inbound_endpoint: Option<String>,
    /// The latest credentials received (at most [`MAX_STORED_CREDENTIALS`]).
    credentials: VecDeque<StoredCredential>,
    /// How many credentials were received in all.
    credentials_received: u64,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("verkey", &self.key.verkey_base58())
            .field("transport", &self.transport.url())
            .finish_non_exhaustive()
    }
}

fn problem(msg: &Value) -> Option<String> {
    let t = message::message_type(msg).ok()?;
    if t.name() == "problem-report" || t.name() == "problem_report" {
        let desc = msg
            .pointer("/description/en")
            .or_else(|| msg.pointer("/description/code"))
            .or_else(|| msg.get("explain"))
            .map_or_else(
                || msg.to_string(),
                |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            );
        Some(desc)
    } else {
        None
    }
}

/// A trust ping (`response_requested` as given).
fn trust_ping(response_requested: bool) -> Value {
    json!({
        "@type": "https://didcomm.org/trust_ping/1.0/ping",
        "@id": message::new_id(),
        "response_requested": response_requested,
    })
}

impl Agent {
    /// Connect to the inviter: a handshake from the protocols the invitation offers
    /// (didexchange 1.1 preferred), then, if asked, the inviter's WebSocket.
    ///
    /// The handshake goes over the invitation's endpoint, whichever it is: `http://`,
    /// `https://` (posts through `http`), `ws://` or `wss://` (one socket, return-routed
    /// replies). TLS follows the options' [`insecure`](AgentOptions::insecure) and
    /// [`ca_file`](AgentOptions::ca_file); when either is set, posts go through the client
    /// of [`AgentOptions::http_client`] instead of `http`. A failed TLS handshake is an
    /// [`AriesError::Tls`] naming the host and the reason.
    ///
    /// With [`AgentOptions::inbound`], the agent registers its key on the listener, its DID
    /// advertises the listener's endpoint, and it talks to the inviter's HTTP(S) endpoint
    /// (an invitation with only a WebSocket endpoint is an [`AriesError::Protocol`]).
    pub async fn connect(
        invitation: &Invitation,
        http: reqwest::Client,
        options: &AgentOptions,
    ) -> Result<Agent, AriesError> {
        let service = invitation
            .service()
            .cloned()
            .ok_or_else(|| AriesError::Protocol("the invitation has no service".to_owned()))?;
        let tls = Tls::new(&options.tls_settings())?;
        let http = tls.http().cloned().unwrap_or(http);
        let endpoint = Endpoint::of(&service.endpoint)?;
        let key = AgentKey::generate();
        let inbound_endpoint = options.inbound.as_ref().map(|l| l.endpoint().to_owned());
        let transport = match (&options.inbound, endpoint) {
            (Some(_), Endpoint::Ws) => {
                return Err(AriesError::Protocol(format!(
                    "an agent on an inbound listener posts over HTTP(S), and the invitation \
                     offers only {}",
                    service.endpoint
                )))
            }
            (Some(listener), Endpoint::Http) => Transport::inbound(
                http.clone(),
                &service.endpoint,
                listener.register(key.verkey_base58())?,
            ),
            (None, Endpoint::Ws) => Transport::ws(&service.endpoint, options.timeout, &tls).await?,
            (None, Endpoint::Http) => Transport::http(http.clone(), &service.endpoint),
        };
        let did = did_peer_2(
            &key.verkey(),
            inbound_endpoint.as_deref().unwrap_or(QUEUE_ENDPOINT),
            &[] as &[&str],
        )?;
        let offers = &invitation.handshake_protocols;
        let didexchange = offers.is_empty()
            || offers.iter().any(|p| {
                matches!(
                    p,
                    HandshakeProtocol::DidExchange10 | HandshakeProtocol::DidExchange11
                )
            });
        let mut agent = Agent {
            key,
            did,
            them: service.clone(),
            transport,
            inbox: VecDeque::new(),
            timeout: options.timeout,
            grant: None,
            http,
            tls,
            inbound_endpoint,
            credentials: VecDeque::new(),
            credentials_received: 0,
        };
        if didexchange {
            agent.didexchange(invitation, &options.label).await?;
        } else if offers.contains(&HandshakeProtocol::Connections10) {
            agent.connections(invitation, &options.label).await?;
        } else {
            return Err(AriesError::Protocol(format!(
                "no handshake protocol in common (offered: {})",
                offers
                    .iter()
                    .map(HandshakeProtocol::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if options.websocket && !agent.transport.is_inbound() {
            if let Some(ws) = agent.ws_endpoint() {
                // Already on that socket when the invitation offered it.
                if !(agent.transport.is_ws() && agent.transport.url() == ws) {
                    let new = Transport::ws(&ws, agent.timeout, &agent.tls).await?;
                    agent.transport.close().await;
                    agent.transport = new;
                }
            }
        }
        Ok(agent)
    }

    /// Pack for the peer and send, asking for replies on this connection (unless the agent
    /// receives on an inbound listener: then the peer POSTs its replies there).
    pub async fn send(&mut self, mut msg: Value) -> Result<(), AriesError> {
        if !self.transport.is_inbound() {
            message::set_return_route(&mut msg);
        }
        let envelope = pack_for_service(&msg, &self.them, Some(&self.key))?;
        self.transport.send(envelope, self.timeout).await
    }

    /// The next message for this agent (queued ones first), waiting at most the timeout.
    ///
    /// A messagepickup 2.0 delivery (live mode) is opened and acknowledged here: its
    /// messages come out one by one. Pickup status messages are skipped.
    pub async fn receive(&mut self) -> Result<Unpacked, AriesError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let got = match self.inbox.pop_front() {
                Some(m) => m,
                None => {
                    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if remaining.is_zero() {
                        return Err(AriesError::Timeout {
                            waiting_for: "a message".to_owned(),
                        });
                    }
                    let bytes = self.transport.recv(remaining).await?;
                    unpack(&bytes, &self.key)?
                }
            };
            if let Some(m) = self.absorb(got).await? {
                return Ok(m);
            }
        }
    }

    /// Send `msg`, then wait for the reply that `matches` (other messages are kept for
    /// [`Agent::receive`]); a problem report on the same thread is an error.
    pub async fn request(
        &mut self,
        msg: Value,
        matches: impl Fn(&MessageType) -> bool,
    ) -> Result<Unpacked, AriesError> {
        let id = message::message_id(&msg).map(str::to_owned);
        self.send(msg).await?;
        self.await_reply(id.as_deref(), |t, _| matches(t)).await
    }

    /// Waits (at most the time-out) for the message that `matches`; a problem report on
    /// thread `thid` (any problem report without a `thid`) is an error; other messages are
    /// kept for [`Agent::receive`].
    pub(crate) async fn await_reply(
        &mut self,
        thid: Option<&str>,
        matches: impl Fn(&MessageType, &Value) -> bool,
    ) -> Result<Unpacked, AriesError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(AriesError::Timeout {
                    waiting_for: "the reply".to_owned(),
                });
            }
            let bytes = self.transport.recv(remaining).await?;
            let got = unpack(&bytes, &self.key)?;
            let same_thread = thid.is_some() && message::thread_id(&got.message) == thid;
            if let Some(p) = problem(&got.message) {
                if same_thread || thid.is_none() {
                    return Err(AriesError::ProblemReport(p));
                }
            }
            match message::message_type(&got.message) {
                Ok(t) if matches(&t, &got.message) => return Ok(got),
                _ => self.inbox.push_back(got),
            }
        }
    }

    /// A trust ping that asks for a response, and the response.
    pub async fn ping(&mut self) -> Result<(), AriesError> {
        self.request(trust_ping(true), |t| {
            t.family() == "trust_ping" && t.name() == "ping_response"
        })
        .await
        .map(|_| ())
    }

    /// Reopens the transport to the same endpoint (a new WebSocket, or a fresh HTTP
    /// transport), keeping this agent's keys, connection and mediation grant: what an agent
    /// does after its socket dropped while the mediator kept running. Messages the mediator
    /// queued meanwhile are not pushed on the new socket: see [`Agent::collect_queued`].
    ///
    /// A mediator that was restarted with a new wallet no longer knows the connection: the
    /// socket opens, but messages are dropped and replies time out.
    ///
    /// An agent on an inbound listener has no connection to reopen: nothing happens.
    pub async fn reconnect_transport(&mut self) -> Result<(), AriesError> {
        if self.transport.is_inbound() {
            return Ok(());
        }
        self.transport.close().await;
        // What reached the old socket is still this agent's (undecryptable noise is dropped).
        for bytes in self.transport.take_buffered() {
            if let Ok(m) = unpack(&bytes, &self.key) {
                self.inbox.push_back(m);
            }
        }
        let url = self.transport.url().to_owned();
        self.transport = if self.transport.is_ws() {
            Transport::ws(&url, self.timeout, &self.tls).await?
        } else {
            Transport::http(self.http.clone(), &url)
        };
        Ok(())
    }

    /// Collects the messages the mediator queued for this agent while it was offline, at
    /// most `max`, stopping once nothing arrives for `idle_timeout`. Messages already
    /// received and not yet taken come first.
    ///
    /// ACA-Py has no pickup protocol: with `--enable-undelivered-queue` it hands out one
    /// queued message per inbound message that produced no reply of its own, on a
    /// return-routed session. So this sends a trust ping with `response_requested: false`
    /// and waits for what comes back, again and again (at most `max` pings), in no
    /// guaranteed order. Messages already collected are lost if a later step fails.
    pub async fn collect_queued(
        &mut self,
        max: usize,
        idle_timeout: Duration,
    ) -> Result<Vec<Unpacked>, AriesError> {
        let mut collected = Vec::new();
        while collected.len() < max {
            if let Some(m) = self.inbox.pop_front() {
                collected.push(m);
                continue;
            }
            self.send(trust_ping(false)).await?;
            match self.transport.recv(idle_timeout).await {
                Ok(bytes) => collected.push(unpack(&bytes, &self.key)?),
                Err(AriesError::Timeout { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(collected)
    }

    /// This agent's verkey (base58).
    pub fn verkey(&self) -> &str {
        self.key.verkey_base58()
    }

    /// This agent's DID with the peer.
    pub fn did(&self) -> &str {
        &self.did
    }

    /// The mediation grant, once mediation was requested.
    pub fn grant(&self) -> Option<&Grant> {
        self.grant.as_ref()
    }

    /// Whether the agent talks over a WebSocket.
    pub fn on_websocket(&self) -> bool {
        self.transport.is_ws()
    }

    /// The endpoint the agent talks to its peer on (`http(s)://` or `ws(s)://`; the peer's
    /// own endpoint when the agent receives on an inbound listener).
    pub fn endpoint(&self) -> &str {
        self.transport.url()
    }

    /// The service others use to send to this agent through its mediator.
    pub fn routed_service(&self) -> Option<Service> {
        self.grant.as_ref().map(|g| {
            Service::new(
                g.endpoint.clone(),
                vec![self.key.verkey_base58().to_owned()],
                g.routing_keys.clone(),
            )
        })
    }

    /// The service others use to send to this agent directly, on its inbound listener (no
    /// mediator), when it has one: the listener's endpoint and this agent's key.
    pub fn inbound_service(&self) -> Option<Service> {
        self.inbound_endpoint.as_ref().map(|endpoint| {
            Service::new(
                endpoint.clone(),
                vec![self.key.verkey_base58().to_owned()],
                vec![],
            )
        })
    }

    /// Send a basic message to another agent through its service (as from this agent):
    /// a POST to an `http(s)://` endpoint, or a WebSocket of its own, opened for this one
    /// message, to a `ws(s)://` one.
    pub async fn send_basic_message(
        &mut self,
        to: &Service,
        content: &str,
    ) -> Result<(), AriesError> {
        let msg = json!({
            "@type": "https://didcomm.org/basicmessage/1.0/message",
            "@id": message::new_id(),
            "sent_time": "2026-01-01T00:00:00Z",
            "content": content,
        });
        let envelope = pack_for_service(&msg, to, Some(&self.key))?;
        self.post_to(&to.endpoint, envelope).await
    }

    /// Close the transport.
    pub async fn close(&mut self) {
        self.transport.close().await;
    }
}
