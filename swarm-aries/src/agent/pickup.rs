//! Collecting the messages a mediator queued for an agent: messagepickup 2.0 (RFC 0685:
//! status, delivery, messages-received, live mode) and 1.0 (RFC 0212: batch pickup), as
//! Credo's mediator serves them. ACA-Py has neither: see [`Agent::collect_queued`].

use serde_json::{json, Value};

use super::{doc, Agent, AriesError};
use crate::message::{self, MessageType};
use crate::{unpack, Unpacked};

const V2: &str = "https://didcomm.org/messagepickup/2.0";
const V1: &str = "https://didcomm.org/messagepickup/1.0";

/// What a mediator says about an agent's queue (a messagepickup 2.0 `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PickupStatus {
    /// Messages waiting in the queue.
    pub message_count: u64,
    /// Whether live delivery is on, when the mediator says.
    pub live_delivery: Option<bool>,
}

impl PickupStatus {
    fn from_message(msg: &Value) -> Result<Self, AriesError> {
        let message_count = msg
            .get("message_count")
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                AriesError::Protocol(format!(
                    "a pickup status without a whole message_count: {msg}"
                ))
            })?;
        Ok(PickupStatus {
            message_count,
            live_delivery: msg.get("live_delivery").and_then(Value::as_bool),
        })
    }
}

fn is_v2(t: &MessageType, name: &str) -> bool {
    t.is("messagepickup", 2, name)
}

/// A messagepickup 2.0 `delivery`, not yet opened.
pub(super) fn is_delivery(msg: &Value) -> bool {
    message::message_type(msg).is_ok_and(|t| is_v2(&t, "delivery"))
}

/// A messagepickup 2.0 `status` (an answer to a pickup request, or to an acknowledgement).
pub(super) fn is_status(msg: &Value) -> bool {
    message::message_type(msg).is_ok_and(|t| is_v2(&t, "status"))
}

/// The envelopes of a delivery (`~attach`, each `data.json` or `data.base64`) or of a
/// batch (`messages~attach`, each `message`), with their ids.
fn attached_envelopes(msg: &Value) -> Result<Vec<(String, Value)>, AriesError> {
    let (field, batch) = if msg.get("messages~attach").is_some() {
        ("messages~attach", true)
    } else {
        ("~attach", false)
    };
    let list = msg
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| AriesError::Protocol(format!("a pickup delivery without {field}: {msg}")))?;
    list.iter()
        .map(|att| {
            let id = att.get("@id").and_then(Value::as_str).unwrap_or_default();
            let envelope = if batch {
                att.get("message").cloned()
            } else {
                doc::attachment_json(att)
            };
            envelope
                .filter(Value::is_object)
                .map(|e| (id.to_owned(), e))
                .ok_or_else(|| {
                    AriesError::Protocol(format!("a pickup attachment without an envelope: {att}"))
                })
        })
        .collect()
}

/// The envelopes of a delivery or batch, opened.
struct Opened {
    /// The messages that opened.
    messages: Vec<Unpacked>,
    /// Every attachment id, opened or not (so that all are acknowledged).
    ids: Vec<String>,
    /// The first envelope that did not open.
    failed: Option<AriesError>,
}

impl Agent {
    /// Opens the envelopes attached to a delivery or batch.
    fn open_attachments(&self, msg: &Value) -> Result<Opened, AriesError> {
        let mut opened = Opened {
            messages: Vec::new(),
            ids: Vec::new(),
            failed: None,
        };
        for (id, envelope) in attached_envelopes(msg)? {
            let bytes = serde_json::to_vec(&envelope)
                .map_err(|e| AriesError::Protocol(format!("attachment {id}: {e}")))?;
            match unpack(&bytes, &self.key) {
                Ok(m) => opened.messages.push(m),
                Err(e) => {
                    opened.failed.get_or_insert(AriesError::Envelope(e));
                }
            }
            opened.ids.push(id);
        }
        Ok(opened)
    }

    /// The messages that opened, or (keeping those for [`Agent::receive`]) the first error.
    fn keep_or_fail(&mut self, opened: Opened) -> Result<Vec<Unpacked>, AriesError> {
        match opened.failed {
            None => Ok(opened.messages),
            Some(e) => {
                self.inbox.extend(opened.messages);
                Err(e)
            }
        }
    }

    /// messagepickup 2.0 `status-request`: how many messages wait for this agent.
    pub async fn pickup_status(&mut self) -> Result<PickupStatus, AriesError> {
        let req = json!({ "@type": format!("{V2}/status-request"), "@id": message::new_id() });
        let reply = self.request(req, |t| is_v2(t, "status")).await?;
        PickupStatus::from_message(&reply.message)
    }

    /// messagepickup 2.0: a `delivery-request` for at most `limit` messages, then
    /// `messages-received` for what came, so that the mediator drops them from its queue.
    /// Returns the messages (none when the queue is empty).
    ///
    /// When an attached envelope does not open, all are still acknowledged, the ones that
    /// opened are kept for [`Agent::receive`], and the error is returned.
    pub async fn pickup(&mut self, limit: usize) -> Result<Vec<Unpacked>, AriesError> {
        let req = json!({
            "@type": format!("{V2}/delivery-request"),
            "@id": message::new_id(),
            "limit": limit,
        });
        let reply = self
            .request(req, |t| is_v2(t, "delivery") || is_v2(t, "status"))
            .await?;
        if is_status(&reply.message) {
            return Ok(Vec::new());
        }
        self.take_delivery(&reply.message).await
    }

    /// Opens a delivery and acknowledges it (`messages-received`, answered with a status).
    async fn take_delivery(&mut self, delivery: &Value) -> Result<Vec<Unpacked>, AriesError> {
        let opened = self.open_attachments(delivery)?;
        let ack = json!({
            "@type": format!("{V2}/messages-received"),
            "@id": message::new_id(),
            "message_id_list": opened.ids,
        });
        self.request(ack, |t| is_v2(t, "status")).await?;
        self.keep_or_fail(opened)
    }

    /// messagepickup 2.0 `live-delivery-change`: with live delivery on, the mediator sends
    /// new messages for this agent over its WebSocket as they arrive (as deliveries, which
    /// [`Agent::receive`] opens and acknowledges). Messages queued before are not sent:
    /// the returned status counts them, and [`Agent::pickup`] collects them.
    ///
    /// Needs a WebSocket: over HTTP there is no session to deliver on.
    pub async fn set_live_delivery(&mut self, on: bool) -> Result<PickupStatus, AriesError> {
        if !self.transport.is_ws() {
            return Err(AriesError::Protocol(
                "live delivery needs a WebSocket to the mediator".to_owned(),
            ));
        }
        let req = json!({
            "@type": format!("{V2}/live-delivery-change"),
            "@id": message::new_id(),
            "live_delivery": on,
        });
        let reply = self.request(req, |t| is_v2(t, "status")).await?;
        PickupStatus::from_message(&reply.message)
    }

    /// messagepickup 1.0 `batch-pickup` of at most `batch_size` messages; the mediator
    /// drops what it sends (there is no acknowledgement in 1.0). Returns the messages.
    ///
    /// When an attached envelope does not open, the ones that opened are kept for
    /// [`Agent::receive`] and the error is returned.
    pub async fn batch_pickup(&mut self, batch_size: usize) -> Result<Vec<Unpacked>, AriesError> {
        let req = json!({
            "@type": format!("{V1}/batch-pickup"),
            "@id": message::new_id(),
            "batch_size": batch_size,
        });
        let reply = self
            .request(req, |t| t.is("messagepickup", 1, "batch"))
            .await?;
        let opened = self.open_attachments(&reply.message)?;
        self.keep_or_fail(opened)
    }

    /// A message taken off the transport or the inbox, as [`Agent::receive`] hands it
    /// out: a live delivery is opened and acknowledged (its messages join the inbox) and a
    /// stray pickup status is dropped; both give `None`.
    pub(super) async fn absorb(&mut self, got: Unpacked) -> Result<Option<Unpacked>, AriesError> {
        if is_delivery(&got.message) {
            let opened = self.take_delivery(&got.message).await?;
            self.inbox.extend(opened);
            return Ok(None);
        }
        if is_status(&got.message) {
            return Ok(None);
        }
        Ok(Some(got))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_credo_delivery_and_batch_attachments() {
        let env = json!({"protected": "e30", "iv": "", "ciphertext": "", "tag": ""});
        let delivery = json!({
            "@type": "https://didcomm.org/messagepickup/2.0/delivery",
            "~attach": [{"@id": "a1", "data": {"json": env}}],
        });
        let got = attached_envelopes(&delivery).unwrap();
        assert_eq!(got, vec![("a1".to_owned(), env.clone())]);
        let batch = json!({
            "@type": "https://didcomm.org/messagepickup/1.0/batch",
            "messages~attach": [{"@id": "b1", "message": env}],
        });
        assert_eq!(attached_envelopes(&batch).unwrap()[0].0, "b1");
    }

    #[test]
    fn malformed_pickup_replies_are_errors() {
        let no_attach = json!({"@type": "https://didcomm.org/messagepickup/2.0/delivery"});
        assert!(matches!(
            attached_envelopes(&no_attach),
            Err(AriesError::Protocol(m)) if m.contains("~attach")
        ));
        let not_env = json!({"~attach": [{"@id": "x", "data": {"json": 5}}]});
        assert!(attached_envelopes(&not_env).is_err());
        let status = json!({"message_count": "3"});
        assert!(PickupStatus::from_message(&status).is_err());
        let status = json!({"message_count": 3, "live_delivery": true});
        assert_eq!(
            PickupStatus::from_message(&status).unwrap(),
            PickupStatus {
                message_count: 3,
                live_delivery: Some(true)
            }
        );
    }
}
