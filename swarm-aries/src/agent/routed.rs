//! Connections to other agents through the agent's mediator: the agent keeps talking to
//! its mediator on its transport, and makes further connections (to an issuer, a
//! verifier) whose DID names the mediator's endpoint and routing keys. It posts to those
//! agents directly; their messages come to it forwarded by the mediator, on its own
//! transport.

use serde_json::{json, Value};

use super::transport::{post_envelope, Endpoint, Transport};
use super::{doc, problem, Agent, AriesError};
use crate::invitation::{HandshakeProtocol, Invitation};
use crate::keys::did_peer::did_peer_2;
use crate::message::{self, MessageType, Thread};
use crate::service::Service;
use crate::{pack_for_service, unpack, Unpacked};

/// A connection an agent made to another agent besides its own peer (see
/// [`Agent::connect_routed`]): where to send, and the DID the agent gave.
#[derive(Debug, Clone)]
pub struct Connection {
    them: Service,
    did: String,
}

impl Connection {
    /// The other agent's service: where messages on this connection go.
    pub fn service(&self) -> &Service {
        &self.them
    }

    /// The DID this agent gave on the connection (a `did:peer:2` whose service is the
    /// mediator's endpoint and routing keys).
    pub fn did(&self) -> &str {
        &self.did
    }
}

impl Agent {
    /// Connects to the inviter of `invitation` through this agent's mediator (didexchange
    /// 1.1): the DID it gives names the mediator's endpoint and routing keys and this
    /// agent's key (already on the mediator's keylist), so the inviter's messages come
    /// forwarded by the mediator, on this agent's transport. The agent posts to the
    /// inviter's HTTP(S) endpoint (or a WebSocket of its own per message when it offers
    /// only `ws(s)://`).
    ///
    /// Needs a mediation grant ([`Agent::request_mediation`]) and an invitation offering
    /// didexchange; else an [`AriesError::Protocol`].
    pub async fn connect_routed(
        &mut self,
        invitation: &Invitation,
        label: &str,
    ) -> Result<Connection, AriesError> {
        let grant = self.grant.clone().ok_or_else(|| {
            AriesError::Protocol(
                "a routed connection needs a mediation grant: request mediation first".to_owned(),
            )
        })?;
        let offers = &invitation.handshake_protocols;
        let didexchange = offers.is_empty()
            || offers.iter().any(|p| {
                matches!(
                    p,
                    HandshakeProtocol::DidExchange10 | HandshakeProtocol::DidExchange11
                )
            });
        if !didexchange {
            return Err(AriesError::Protocol(
                "a routed connection needs an invitation offering didexchange".to_owned(),
            ));
        }
        let service = invitation
            .service()
            .cloned()
            .ok_or_else(|| AriesError::Protocol("the invitation has no service".to_owned()))?;
        let did = did_peer_2(&self.key.verkey(), &grant.endpoint, &grant.routing_keys)?;
        let mut conn = Connection { them: service, did };
        let id = message::new_id();
        let mut request = json!({
            "@type": "https://didcomm.org/didexchange/1.1/request",
            "@id": id,
            "label": label,
            "did": conn.did,
        });
        message::set_thread(
            &mut request,
            &Thread::reply(&id).with_parent(&invitation.id),
        );
        let reply = self
            .request_in_thread(Some(&conn), request, &id, |t| {
                t.family() == "didexchange" && t.name() == "response"
            })
            .await?;
        conn.them = doc::resolve_service(&reply.message, doc::Prefer::Http)?;
        let mut complete = json!({
            "@type": "https://didcomm.org/didexchange/1.1/complete",
            "@id": message::new_id(),
        });
        message::set_thread(
            &mut complete,
            &Thread::reply(&id).with_parent(&invitation.id),
        );
        self.send_via(Some(&conn), complete).await?;
        Ok(conn)
    }

    /// Sends `msg` to the agent's own peer ([`Agent::send`]) or, with `via`, on that
    /// connection: packed for its service, posted without a return route (replies come
    /// forwarded through the mediator).
    pub async fn send_via(
        &mut self,
        via: Option<&Connection>,
        msg: Value,
    ) -> Result<(), AriesError> {
        let Some(conn) = via else {
            return self.send(msg).await;
        };
        let envelope = pack_for_service(&msg, &conn.them, Some(&self.key))?;
        self.post_to(&conn.them.endpoint, envelope).await
    }

    /// Posts an envelope to `endpoint`: an HTTP(S) POST (a reply in the response body is
    /// kept for [`Agent::receive`]), or a WebSocket of its own for this one envelope.
    pub(super) async fn post_to(
        &mut self,
        endpoint: &str,
        envelope: Vec<u8>,
    ) -> Result<(), AriesError> {
        match Endpoint::of(endpoint)? {
            Endpoint::Http => {
                let body = post_envelope(&self.http, endpoint, envelope, self.timeout).await?;
                if !body.is_empty() {
                    if let Ok(m) = unpack(&body, &self.key) {
                        self.inbox.push_back(m);
                    }
                }
            }
            Endpoint::Ws => {
                let mut ws = Transport::ws(endpoint, self.timeout, &self.tls).await?;
                let sent = ws.send(envelope, self.timeout).await;
                ws.close().await;
                sent?;
            }
        }
        Ok(())
    }

    /// Sends `msg` (to the own peer, or on `via`), then waits for the reply on thread
    /// `thid` that `matches`; other messages are kept for [`Agent::receive`]. A problem
    /// report on the thread is an [`AriesError::ProblemReport`].
    pub(super) async fn request_in_thread(
        &mut self,
        via: Option<&Connection>,
        msg: Value,
        thid: &str,
        matches: impl Fn(&MessageType) -> bool,
    ) -> Result<Unpacked, AriesError> {
        self.send_via(via, msg).await?;
        // A reply that came in the response body, or earlier than asked for.
        let early = self
            .inbox
            .iter()
            .position(|m| {
                message::thread_id(&m.message) == Some(thid)
                    && (problem(&m.message).is_some()
                        || message::message_type(&m.message).is_ok_and(|t| matches(&t)))
            })
            .and_then(|i| self.inbox.remove(i));
        if let Some(m) = early {
            if let Some(p) = problem(&m.message) {
                return Err(AriesError::ProblemReport(p));
            }
            return Ok(m);
        }
        self.await_reply(Some(thid), |t, m| {
            matches(t) && message::thread_id(m) == Some(thid)
        })
        .await
    }
}
