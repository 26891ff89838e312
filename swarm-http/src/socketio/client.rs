//! A connected Socket.IO namespace: emits, acknowledgements and awaited events, each
//! recorded; binary packets reassembled from their attachment frames.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use swarm_core::{Recorder, Sample};
use tokio::time::Instant;

use super::{packet, SioError, SioPayload, KIND};
use crate::ws::{Next, WsClient, WsMessage};

/// How many received packets that no one waited for yet are kept (the oldest go first).
const MAX_KEPT: usize = 4096;
/// How long the attachments of a binary packet may take at least, even when the wait
/// that met its first frame is about to end: the packet is read whole or not at all.
const ATTACHMENT_WAIT: Duration = Duration::from_secs(2);

/// A received Socket.IO packet: its Engine.IO message frame and, for a binary packet,
/// the attachments that followed it.
struct Incoming {
    text: String,
    attachments: Vec<Bytes>,
}

impl Incoming {
    fn size(&self) -> u64 {
        (self.text.len() + self.attachments.iter().map(Bytes::len).sum::<usize>()) as u64
    }
}

/// What a wait in a namespace ends with.
enum Waited {
    Got(Incoming),
    Disconnected,
    Timeout,
    Closed(String),
    /// The server sent something that breaks the protocol (a binary packet cut short).
    Protocol(String),
}

/// A user's Socket.IO connection to one namespace.
///
/// ```no_run
/// # async fn t(ctx: &mut swarm_core::UserContext) -> Result<(), swarm_http::socketio::SioError> {
/// use std::time::Duration;
/// use swarm_http::socketio::{SioClient, SioPayload};
/// let mut sio = SioClient::connect(ctx, "/queue").connect().await?;
/// let joined = sio.emit_ack("join", serde_json::json!({"room": "main"})).await?;
/// let update = sio.wait_event("queue_update", Duration::from_secs(5)).await?;
/// let upload = SioPayload::new().arg(serde_json::json!({"name": "a.bin"}))?.bytes(vec![0u8; 64]);
/// let ack = sio.emit_binary_ack("upload", upload).await?;
/// let first = ack.binary_at("/0");
/// sio.disconnect().await?;
/// # let _ = (joined, update, first); Ok(()) }
/// ```
pub struct SioClient {
    ws: WsClient,
    namespace: String,
    next_ack: u64,
    timeout: Duration,
    recorder: Recorder,
    kept: VecDeque<Incoming>,
    dropped_warned: bool,
}

impl fmt::Debug for SioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioClient")
            .field("namespace", &self.namespace)
            .field("kept", &self.kept.len())
            .finish_non_exhaustive()
    }
}

fn args_of(arg: impl Serialize) -> Result<Vec<Value>, SioError> {
    serde_json::to_value(arg)
        .map(|v| vec![v])
        .map_err(|e| SioError::Config(format!("arguments do not serialize: {e}")))
}

impl SioClient {
    /// A client on a WebSocket whose namespace connect succeeded.
    pub(super) fn new(
        ws: WsClient,
        namespace: String,
        timeout: Duration,
        recorder: Recorder,
    ) -> Self {
        SioClient {
            ws,
            namespace,
            next_ack: 0,
            timeout,
            recorder,
            kept: VecDeque::new(),
            dropped_warned: false,
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Emit an event with one argument (a JSON value or anything that serializes); not
    /// recorded unless the connection is closed.
    pub async fn emit(&mut self, event: &str, arg: impl Serialize) -> Result<(), SioError> {
        let args = args_of(arg)?;
        self.emit_args(event, args).await
    }

    /// Emit an event with any number of arguments.
    pub async fn emit_args(&mut self, event: &str, args: Vec<Value>) -> Result<(), SioError> {
        self.emit_binary(event, SioPayload::from_args(args)).await
    }

    /// Emit an event with binary attachments (a binary event when it has any); not
    /// recorded unless the connection is closed.
    pub async fn emit_binary(&mut self, event: &str, payload: SioPayload) -> Result<(), SioError> {
        payload.check().map_err(SioError::Config)?;
        if let Err(reason) = self.send_event(event, payload, None).await {
            let name = format!("emit {event}");
            self.recorder
                .record(&Sample::new(KIND, &name, Duration::ZERO).failure(&reason));
            return Err(SioError::Closed { name, reason });
        }
        Ok(())
    }

    /// Emit an event and wait for its acknowledgement; recorded under the event's name.
    /// Returns the acknowledgement's arguments (placeholders left in when it is binary:
    /// use [`emit_binary_ack`](Self::emit_binary_ack) for the bytes).
    pub async fn emit_ack(
        &mut self,
        event: &str,
        arg: impl Serialize,
    ) -> Result<Vec<Value>, SioError> {
        let args = args_of(arg)?;
        self.emit_args_ack(event, args).await
    }

    /// [`emit_ack`](Self::emit_ack) with any number of arguments.
    pub async fn emit_args_ack(
        &mut self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, SioError> {
        let ack = self
            .emit_binary_ack(event, SioPayload::from_args(args))
            .await?;
        Ok(ack.into_parts().0)
    }

    /// Emit an event with binary attachments and wait for its acknowledgement, plain or
    /// binary; recorded under the event's name, with the bytes both ways.
    pub async fn emit_binary_ack(
        &mut self,
        event: &str,
        payload: SioPayload,
    ) -> Result<SioPayload, SioError> {
        payload.check().map_err(SioError::Config)?;
        let id = self.next_ack;
        self.next_ack += 1;
        let start = Instant::now();
        if let Err(reason) = self.send_event(event, payload, Some(id)).await {
            return Err(self.fail(event, start, reason));
        }
        let nsp = self.namespace.clone();
        let waited = self
            .wait(start + self.timeout, move |p| {
                p.is_ack() && p.nsp == nsp && p.ack == Some(id)
            })
            .await;
        let timeout = self.timeout;
        self.finish(event, start, timeout, waited, |data| {
            serde_json::from_str::<Vec<Value>>(data)
                .map_err(|_| "an acknowledgement that is not a JSON array".to_owned())
        })
    }

    /// Wait for the server to emit `event` in this namespace (a push); recorded under
    /// the event's name. Returns the event's arguments (placeholders left in when it is
    /// binary: use [`wait_event_binary`](Self::wait_event_binary) for the bytes).
    /// Events that arrive unasked are kept for a later wait.
    pub async fn wait_event(
        &mut self,
        event: &str,
        timeout: Duration,
    ) -> Result<Vec<Value>, SioError> {
        Ok(self.wait_event_binary(event, timeout).await?.into_parts().0)
    }

    /// [`wait_event`](Self::wait_event), with the attachments of a binary event.
    pub async fn wait_event_binary(
        &mut self,
        event: &str,
        timeout: Duration,
    ) -> Result<SioPayload, SioError> {
        let start = Instant::now();
        let nsp = self.namespace.clone();
        let want = event.to_owned();
        let waited = self
            .wait(start + timeout, move |p| {
                p.is_event()
                    && p.nsp == nsp
                    && packet::event(p.data).is_some_and(|(name, _)| name == want)
            })
            .await;
        self.finish(event, start, timeout, waited, |data| {
            packet::event(data)
                .map(|(_, args)| args)
                .ok_or_else(|| "an event that is not a JSON array".to_owned())
        })
    }

    /// Leave the namespace and close the WebSocket (its close recorded by the WebSocket
    /// client).
    pub async fn disconnect(mut self) -> Result<(), SioError> {
        let frame = packet::encode(packet::DISCONNECT, &self.namespace, None, "");
        // A server that already closed makes the close below fail and say so.
        let _ = self.ws.send_raw(WsMessage::text(frame)).await;
        self.ws.close().await.map_err(SioError::from)
    }

    /// Send an event packet (binary when it has attachments), then its attachments.
    async fn send_event(
        &mut self,
        event: &str,
        payload: SioPayload,
        ack: Option<u64>,
    ) -> Result<(), String> {
        let (mut args, attachments) = payload.into_parts();
        args.insert(0, Value::from(event));
        let kind = if attachments.is_empty() {
            packet::EVENT
        } else {
            packet::BINARY_EVENT
        };
        let frame = packet::encode_with(
            kind,
            attachments.len(),
            &self.namespace,
            ack,
            &Value::Array(args).to_string(),
        );
        self.ws
            .send_raw(WsMessage::text(frame))
            .await
            .map_err(|(reason, _)| reason)?;
        for a in attachments {
            self.ws
                .send_raw(WsMessage::binary(a))
                .await
                .map_err(|(reason, _)| reason)?;
        }
        Ok(())
    }

    /// The next Socket.IO packet from the socket (attachments read with it), skipping
    /// Engine.IO frames that hold none.
    async fn next_incoming(&mut self, deadline: Instant) -> Result<Incoming, Waited> {
        loop {
            let m = match self.ws.next_raw(deadline).await {
                Next::Message(m) => m,
                Next::Timeout => return Err(Waited::Timeout),
                Next::Closed(reason, _) => return Err(Waited::Closed(reason)),
            };
            let Some(text) = m.as_text() else {
                return Err(Waited::Protocol(format!(
                    "a binary frame ({} bytes) that no binary packet announced",
                    m.len()
                )));
            };
            if text == "1" {
                // Engine.IO's close packet: the server is going away.
                return Err(Waited::Closed(
                    "closed by the server (Engine.IO close)".to_owned(),
                ));
            }
            let Some(p) = packet::parse(text) else {
                // Another Engine.IO packet (noop, an unexpected open): nothing to wait for.
                continue;
            };
            let count = p.attachments;
            let text = text.to_owned();
            let attachments = self.read_attachments(count, deadline).await?;
            if count > 0 {
                check_binary(&text, count).map_err(Waited::Protocol)?;
            }
            return Ok(Incoming { text, attachments });
        }
    }

    /// The `count` binary frames that follow a binary packet.
    async fn read_attachments(
        &mut self,
        count: usize,
        deadline: Instant,
    ) -> Result<Vec<Bytes>, Waited> {
        if count > packet::MAX_ATTACHMENTS {
            return Err(Waited::Protocol(format!(
                "a binary packet announcing {count} attachments (at most {} are read)",
                packet::MAX_ATTACHMENTS
            )));
        }
        let deadline = deadline.max(Instant::now() + ATTACHMENT_WAIT);
        let mut attachments = Vec::with_capacity(count);
        while attachments.len() < count {
            let got = attachments.len();
            match self.ws.next_raw(deadline).await {
                Next::Message(m) if !m.is_text() => attachments.push(m.as_bytes().clone()),
                Next::Message(m) => {
                    // Read the text frame again as the packet it is.
                    self.ws.unread(m);
                    return Err(Waited::Protocol(format!(
                        "a binary packet announced {count} attachments, but a text frame came after {got}"
                    )));
                }
                Next::Timeout => {
                    return Err(Waited::Protocol(format!(
                    "a binary packet announced {count} attachments, but only {got} arrived in time"
                )))
                }
                Next::Closed(reason, _) => {
                    return Err(Waited::Closed(format!(
                        "{reason} (a binary packet had {got} of its {count} attachments)"
                    )))
                }
            }
        }
        Ok(attachments)
    }

    /// Keep a packet for a later wait, dropping the oldest past [`MAX_KEPT`].
    fn keep(&mut self, i: Incoming) {
        if self.kept.len() >= MAX_KEPT {
            self.kept.pop_front();
            if !self.dropped_warned {
                self.dropped_warned = true;
                tracing::warn!(
                    namespace = %self.namespace,
                    "more than {MAX_KEPT} unclaimed Socket.IO packets: dropping the oldest"
                );
            }
        }
        self.kept.push_back(i);
    }

    /// Wait for a packet `want` accepts; a disconnect of this namespace ends the wait.
    async fn wait(
        &mut self,
        deadline: Instant,
        want: impl Fn(&packet::Packet<'_>) -> bool,
    ) -> Waited {
        let nsp = self.namespace.clone();
        let is_end = |p: &packet::Packet<'_>| p.kind == packet::DISCONNECT && p.nsp == nsp;
        let hit = |i: &Incoming| packet::parse(&i.text).is_some_and(|p| want(&p) || is_end(&p));
        let found = match self.kept.iter().position(&hit) {
            Some(at) => self.kept.remove(at),
            None => None,
        };
        let found = match found {
            Some(i) => i,
            None => loop {
                match self.next_incoming(deadline).await {
                    Ok(i) if hit(&i) => break i,
                    Ok(i) => self.keep(i),
                    Err(waited) => return waited,
                }
            },
        };
        if packet::parse(&found.text).is_some_and(|p| is_end(&p)) {
            Waited::Disconnected
        } else {
            Waited::Got(found)
        }
    }

    fn finish(
        &mut self,
        name: &str,
        start: Instant,
        timeout: Duration,
        waited: Waited,
        decode: impl FnOnce(&str) -> Result<Vec<Value>, String>,
    ) -> Result<SioPayload, SioError> {
        let elapsed = start.elapsed();
        match waited {
            Waited::Got(incoming) => {
                let data = packet::parse(&incoming.text).map_or("", |p| p.data);
                match decode(data) {
                    Ok(args) => {
                        self.recorder
                            .record(&Sample::new(KIND, name, elapsed).bytes(incoming.size()));
                        Ok(SioPayload::with_attachments(args, incoming.attachments))
                    }
                    Err(message) => Err(self.protocol(name, elapsed, message)),
                }
            }
            Waited::Timeout => {
                let message = format!("no answer within {timeout:?}");
                self.recorder
                    .record(&Sample::new(KIND, name, elapsed).failure(&message));
                Err(SioError::Timeout {
                    name: name.to_owned(),
                    after: timeout,
                })
            }
            Waited::Disconnected => Err(self.fail(
                name,
                start,
                format!("disconnected by the server from {}", self.namespace),
            )),
            Waited::Closed(reason) => Err(self.fail(name, start, reason)),
            Waited::Protocol(message) => Err(self.protocol(name, elapsed, message)),
        }
    }

    fn protocol(&self, name: &str, elapsed: Duration, message: String) -> SioError {
        self.recorder
            .record(&Sample::new(KIND, name, elapsed).failure(&message));
        SioError::Protocol {
            name: name.to_owned(),
            message,
        }
    }

    fn fail(&self, name: &str, start: Instant, reason: String) -> SioError {
        self.recorder
            .record(&Sample::new(KIND, name, start.elapsed()).failure(&reason));
        SioError::Closed {
            name: name.to_owned(),
            reason,
        }
    }
}

/// Check a binary packet's placeholders against its attachment count.
fn check_binary(text: &str, count: usize) -> Result<(), String> {
    let data = packet::parse(text).map_or("", |p| p.data);
    let v: Value = serde_json::from_str(data)
        .map_err(|e| format!("a binary packet whose data is not JSON: {e}"))?;
    packet::check_placeholders(&v, count)
}
