//! The client side of the handshakes: didexchange 1.1 (with did:peer:2) and
//! connections/1.0, and reading the peer's service from the response.

use serde_json::{json, Value};

use super::{doc, Agent, AriesError};
use crate::invitation::{Invitation, InvitationKind};
use crate::keys::did_peer::QUEUE_ENDPOINT;
use crate::message::{self, Thread};

impl Agent {
    /// The endpoint to reach the peer over a WebSocket, if its service has one.
    pub(super) fn ws_endpoint(&self) -> Option<String> {
        let e = &self.them.endpoint;
        (e.starts_with("ws://") || e.starts_with("wss://")).then(|| e.clone())
    }

    pub(super) async fn didexchange(
        &mut self,
        invitation: &Invitation,
        label: &str,
    ) -> Result<(), AriesError> {
        let id = message::new_id();
        let mut request = json!({
            "@type": "https://didcomm.org/didexchange/1.1/request",
            "@id": id,
            "label": label,
            "did": self.did,
        });
        message::set_thread(
            &mut request,
            &Thread::reply(&id).with_parent(&invitation.id),
        );
        let reply = self
            .request(request, |t| {
                t.family() == "didexchange" && t.name() == "response"
            })
            .await?;
        self.set_them(&reply.message)?;
        let mut complete = json!({
            "@type": "https://didcomm.org/didexchange/1.1/complete",
            "@id": message::new_id(),
        });
        message::set_thread(
            &mut complete,
            &Thread::reply(&id).with_parent(&invitation.id),
        );
        self.send(complete).await
    }

    /// connections/1.0 (RFC 0160): a request with a legacy DID doc whose DID is the first
    /// 16 bytes of the verkey; the response's `connection~sig` must be signed by the
    /// invitation's key.
    pub(super) async fn connections(
        &mut self,
        invitation: &Invitation,
        label: &str,
    ) -> Result<(), AriesError> {
        let verkey = self.key.verkey_base58().to_owned();
        let did = bs58::encode(&self.key.verkey().as_bytes()[..16]).into_string();
        let id = message::new_id();
        let mut request = json!({
            "@type": "https://didcomm.org/connections/1.0/request",
            "@id": id,
            "label": label,
            "connection": {
                "DID": did,
                "DIDDoc": doc::legacy_doc(
                    &did,
                    &verkey,
                    self.inbound_endpoint.as_deref().unwrap_or(QUEUE_ENDPOINT),
                ),
            },
        });
        if invitation.kind == InvitationKind::OutOfBand {
            // Lets the inviter find (and clean up) its out-of-band record.
            message::set_thread(
                &mut request,
                &Thread::reply(&id).with_parent(&invitation.id),
            );
        }
        let reply = self
            .request(request, |t| {
                t.family() == "connections" && t.name() == "response"
            })
            .await?;
        doc::verify_connection_sig(&reply.message, &self.them.recipient_keys)?;
        self.set_them(&reply.message)?;
        self.did = did;
        Ok(())
    }

    /// Talk to the peer's service from its handshake response from now on: an HTTP one when
    /// the agent receives on an inbound listener (its posts go there), else preferably a
    /// WebSocket one.
    fn set_them(&mut self, response: &Value) -> Result<(), AriesError> {
        if self.transport.is_inbound() {
            self.them = doc::resolve_service(response, doc::Prefer::Http)?;
            self.transport.retarget(&self.them.endpoint)
        } else {
            self.them = doc::resolve_their_service(response)?;
            Ok(())
        }
    }
}
