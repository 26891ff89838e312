//! A Socket.IO client (Socket.IO v5 over Engine.IO v4, WebSocket transport only, as
//! Artillery's socketio engine runs it), on the [WebSocket client](crate::ws).
//!
//! Recorded under kind [`KIND`]:
//!
//! | operation | entry | time |
//! |---|---|---|
//! | [`SioConnect::connect`] | `connect <namespace>` | WebSocket connect, Engine.IO open and the namespace's connect answer |
//! | [`SioClient::emit_ack`] | the event name | from the emit to its acknowledgement |
//! | [`SioClient::wait_event`] | the event name | from the call to the event's arrival |
//! | [`SioClient::emit`] | nothing on success; `emit <event>` when the connection is closed | |
//!
//! The WebSocket's own connect and close are recorded by the WebSocket client as well
//! (kind `WSCONNECT`, and `WS` `close /socket.io/`). Engine.IO pings are answered by the
//! socket's task, so an idle user stays connected past the server's ping time-out. A
//! server-side disconnect of the namespace fails the operation waiting at that moment.
//! Binary events and acks (packet types 5 and 6) are not supported, and a client holds
//! one namespace (open another client for another namespace).
//!
//! Why not the `rust_socketio` crate: its 0.6 release is built on reqwest 0.12,
//! tokio-tungstenite 0.21 and native-tls (a second HTTP and WebSocket stack, and
//! OpenSSL), and its callback API cannot await one event with a time-out in a task's
//! sequence or time an acknowledgement per emit. The framing is small enough to keep
//! here.

mod packet;

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use swarm_core::{Recorder, Sample, UserContext};
use tokio::time::Instant;

use crate::ws::{Intercept, Next, WsClient, WsConnect, WsError, WsMessage};

/// The kind Socket.IO operations are recorded under.
pub const KIND: &str = "SOCKETIO";

/// A Socket.IO operation that failed; already recorded under its entry.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SioError {
    /// The WebSocket could not be opened (recorded by the WebSocket client and as
    /// `connect <namespace>`).
    #[error(transparent)]
    Ws(#[from] WsError),
    /// The server refused the namespace (a connect error packet).
    #[error("{namespace}: connect refused: {message}")]
    Refused {
        /// The namespace.
        namespace: String,
        /// The server's message.
        message: String,
    },
    /// Nothing in time.
    #[error("{name}: no answer within {after:?}")]
    Timeout {
        /// The entry.
        name: String,
        /// How long it waited.
        after: Duration,
    },
    /// The connection or the namespace is closed.
    #[error("{name}: {reason}")]
    Closed {
        /// The entry.
        name: String,
        /// Why.
        reason: String,
    },
    /// The server sent something this client cannot read.
    #[error("{name}: {message}")]
    Protocol {
        /// The entry.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Arguments that do not serialize.
    #[error("Socket.IO client: {0}")]
    Config(String),
}

/// Opens a [`SioClient`].
pub struct SioConnect {
    ws: WsConnect,
    namespace: String,
    auth: Option<Value>,
    timeout: Duration,
    recorder: Recorder,
}

impl fmt::Debug for SioConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioConnect")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl SioConnect {
    /// The auth payload of the namespace connect (`{"token": "..."}`).
    #[must_use]
    pub fn auth(mut self, auth: Value) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Give up on the connect, an acknowledgement or an event after this long (default
    /// 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.ws = self.ws.timeout(timeout);
        self
    }

    /// A header for the WebSocket handshake.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.ws = self.ws.header(name, value);
        self
    }

    /// Accept invalid TLS certificates on `https://`/`wss://` (self-signed test
    /// servers). Needs the `tls` feature.
    #[must_use]
    pub fn accept_invalid_certs(mut self, yes: bool) -> Self {
        self.ws = self.ws.accept_invalid_certs(yes);
        self
    }

    /// Open the WebSocket, read Engine.IO's open packet and connect the namespace;
    /// recorded as `connect <namespace>`.
    pub async fn connect(self) -> Result<SioClient, SioError> {
        let SioConnect {
            ws,
            namespace,
            auth,
            timeout,
            recorder,
        } = self;
        let name = format!("connect {namespace}");
        let start = Instant::now();
        let fail = |message: &str, elapsed: Duration| {
            recorder.record(&Sample::new(KIND, &name, elapsed).failure(message));
        };
        let hook = Box::new(|m: &WsMessage| match m.as_text() {
            Some("2") => Intercept::Reply(WsMessage::text("3")),
            _ => Intercept::Deliver,
        });
        let mut ws = match ws.intercept(hook).connect().await {
            Ok(ws) => ws,
            Err(e) => {
                fail(&e.to_string(), start.elapsed());
                return Err(e.into());
            }
        };
        let deadline = start + timeout;
        // Engine.IO open: `0{"sid":..., "pingInterval":..., ...}`.
        let open = wait_for(&mut ws, deadline, |t| t.starts_with('0')).await;
        if let Err(reason) = open {
            fail(&reason, start.elapsed());
            return Err(SioError::Closed { name, reason });
        }
        let payload = auth.map(|a| a.to_string()).unwrap_or_default();
        let connect = packet::encode(packet::CONNECT, &namespace, None, &payload);
        if let Err((reason, _)) = ws.send_raw(WsMessage::text(connect)).await {
            fail(&reason, start.elapsed());
            return Err(SioError::Closed { name, reason });
        }
        let nsp = namespace.clone();
        let answer = wait_for(&mut ws, deadline, move |t| {
            packet::parse(t).is_some_and(|p| {
                p.nsp == nsp && matches!(p.kind, packet::CONNECT | packet::CONNECT_ERROR)
            })
        })
        .await;
        let elapsed = start.elapsed();
        let text = match answer {
            Ok(t) => t,
            Err(reason) => {
                fail(&reason, elapsed);
                return Err(SioError::Closed { name, reason });
            }
        };
        let p = packet::parse(&text).unwrap_or(packet::Packet {
            kind: packet::CONNECT_ERROR,
            nsp: "/",
            ack: None,
            data: "",
        });
        if p.kind == packet::CONNECT_ERROR {
            let message = serde_json::from_str::<Value>(p.data)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| p.data.to_owned());
            fail(&format!("connect refused: {message}"), elapsed);
            return Err(SioError::Refused { namespace, message });
        }
        recorder.record(&Sample::new(KIND, &name, elapsed));
        Ok(SioClient {
            ws,
            namespace,
            next_ack: 0,
            timeout,
            recorder,
        })
    }
}

/// Wait for a text frame that `want` accepts (from those kept first); others are kept.
/// `Err(reason)` when the connection ends or the deadline passes.
async fn wait_for(
    ws: &mut WsClient,
    deadline: Instant,
    want: impl Fn(&str) -> bool,
) -> Result<String, String> {
    if let Some(m) = ws.take_kept(|m| m.as_text().is_some_and(&want)) {
        return Ok(m.as_text().unwrap_or_default().to_owned());
    }
    loop {
        match ws.next_from_socket(deadline).await {
            Next::Message(m) => match m.as_text() {
                Some(t) if want(t) => return Ok(t.to_owned()),
                _ => ws.keep(m),
            },
            Next::Timeout => return Err("timed out".to_owned()),
            Next::Closed(reason, _) => return Err(reason),
        }
    }
}

/// What a wait in a namespace ends with.
enum Waited {
    Got(String),
    Disconnected,
    Timeout,
    Closed(String),
}

/// A user's Socket.IO connection to one namespace.
///
/// ```no_run
/// # async fn t(ctx: &mut swarm_core::UserContext) -> Result<(), swarm_http::socketio::SioError> {
/// use std::time::Duration;
/// use swarm_http::socketio::SioClient;
/// let mut sio = SioClient::connect(ctx, "/queue").connect().await?;
/// let joined = sio.emit_ack("join", serde_json::json!({"room": "main"})).await?;
/// let update = sio.wait_event("queue_update", Duration::from_secs(5)).await?;
/// sio.disconnect().await?;
/// # let _ = (joined, update); Ok(()) }
/// ```
pub struct SioClient {
    ws: WsClient,
    namespace: String,
    next_ack: u64,
    timeout: Duration,
    recorder: Recorder,
}

impl fmt::Debug for SioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SioClient")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

fn args_of(arg: impl Serialize) -> Result<Vec<Value>, SioError> {
    serde_json::to_value(arg)
        .map(|v| vec![v])
        .map_err(|e| SioError::Config(format!("arguments do not serialize: {e}")))
}

impl SioClient {
    /// Connect to `namespace` (`/` or `/name`) on the run's host, at `/socket.io/`.
    pub fn connect(ctx: &UserContext, namespace: &str) -> SioConnect {
        Self::connect_path(ctx, "/socket.io/", namespace)
    }

    /// [`connect`](Self::connect) with another Socket.IO path.
    pub fn connect_path(ctx: &UserContext, path: &str, namespace: &str) -> SioConnect {
        let url = format!("{path}?EIO=4&transport=websocket");
        SioConnect {
            ws: WsClient::connect(ctx, &url).name(path),
            namespace: normalize(namespace),
            auth: None,
            timeout: Duration::from_secs(30),
            recorder: ctx.recorder().clone(),
        }
    }

    /// Connect outside a run: `url` is the server's base (`http://127.0.0.1:PORT`).
    pub fn standalone(url: &str, namespace: &str, recorder: Recorder) -> SioConnect {
        let base = url.trim_end_matches('/');
        let ws = WsClient::standalone(
            &format!("{base}/socket.io/?EIO=4&transport=websocket"),
            recorder.clone(),
        )
        .name("/socket.io/");
        SioConnect {
            ws,
            namespace: normalize(namespace),
            auth: None,
            timeout: Duration::from_secs(30),
            recorder,
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
        let frame = self.event_frame(event, args, None);
        if let Err((reason, _)) = self.ws.send_raw(WsMessage::text(frame)).await {
            let name = format!("emit {event}");
            self.recorder
                .record(&Sample::new(KIND, &name, Duration::ZERO).failure(&reason));
            return Err(SioError::Closed { name, reason });
        }
        Ok(())
    }

    /// Emit an event and wait for its acknowledgement; recorded under the event's name.
    /// Returns the acknowledgement's arguments.
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
        let id = self.next_ack;
        self.next_ack += 1;
        let frame = self.event_frame(event, args, Some(id));
        let start = Instant::now();
        if let Err((reason, _)) = self.ws.send_raw(WsMessage::text(frame)).await {
            return Err(self.fail(event, start, reason));
        }
        let nsp = self.namespace.clone();
        let waited = self
            .wait(start + self.timeout, move |p| {
                p.kind == packet::ACK && p.nsp == nsp && p.ack == Some(id)
            })
            .await;
        let timeout = self.timeout;
        self.finish(event, start, timeout, waited, |data| {
            serde_json::from_str::<Vec<Value>>(data)
                .map_err(|_| "an acknowledgement that is not a JSON array".to_owned())
        })
    }

    /// Wait for the server to emit `event` in this namespace (a push); recorded under
    /// the event's name. Returns the event's arguments. Events that arrive unasked are
    /// kept for a later wait.
    pub async fn wait_event(
        &mut self,
        event: &str,
        timeout: Duration,
    ) -> Result<Vec<Value>, SioError> {
        let start = Instant::now();
        let nsp = self.namespace.clone();
        let want = event.to_owned();
        let waited = self
            .wait(start + timeout, move |p| {
                p.kind == packet::EVENT
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

    fn event_frame(&self, event: &str, mut args: Vec<Value>, ack: Option<u64>) -> String {
        args.insert(0, Value::from(event));
        packet::encode(
            packet::EVENT,
            &self.namespace,
            ack,
            &Value::Array(args).to_string(),
        )
    }

    /// Wait for a packet `want` accepts; a disconnect of this namespace ends the wait.
    async fn wait(
        &mut self,
        deadline: Instant,
        want: impl Fn(&packet::Packet<'_>) -> bool,
    ) -> Waited {
        let nsp = self.namespace.clone();
        let is_end = |p: &packet::Packet<'_>| p.kind == packet::DISCONNECT && p.nsp == nsp;
        let matches = |m: &WsMessage| {
            m.as_text()
                .and_then(packet::parse)
                .is_some_and(|p| want(&p) || is_end(&p))
        };
        let found = match self.ws.take_kept(matches) {
            Some(m) => Some(m),
            None => loop {
                match self.ws.next_from_socket(deadline).await {
                    Next::Message(m) if matches(&m) => break Some(m),
                    Next::Message(m) => {
                        // Engine.IO's close packet: the server is going away.
                        if m.as_text() == Some("1") {
                            return Waited::Closed(
                                "closed by the server (Engine.IO close)".to_owned(),
                            );
                        }
                        self.ws.keep(m);
                    }
                    Next::Timeout => return Waited::Timeout,
                    Next::Closed(reason, _) => return Waited::Closed(reason),
                }
            },
        };
        match found {
            Some(m) => {
                let text = m.as_text().unwrap_or_default();
                match packet::parse(text) {
                    Some(p) if is_end(&p) => Waited::Disconnected,
                    Some(p) => Waited::Got(p.data.to_owned()),
                    None => Waited::Closed("unreadable packet".to_owned()),
                }
            }
            None => Waited::Timeout,
        }
    }

    fn finish(
        &mut self,
        name: &str,
        start: Instant,
        timeout: Duration,
        waited: Waited,
        decode: impl FnOnce(&str) -> Result<Vec<Value>, String>,
    ) -> Result<Vec<Value>, SioError> {
        let elapsed = start.elapsed();
        match waited {
            Waited::Got(data) => match decode(&data) {
                Ok(args) => {
                    self.recorder
                        .record(&Sample::new(KIND, name, elapsed).bytes(data.len() as u64));
                    Ok(args)
                }
                Err(message) => {
                    self.recorder
                        .record(&Sample::new(KIND, name, elapsed).failure(&message));
                    Err(SioError::Protocol {
                        name: name.to_owned(),
                        message,
                    })
                }
            },
            Waited::Timeout => {
                let after = timeout;
                let message = format!("no answer within {timeout:?}");
                self.recorder
                    .record(&Sample::new(KIND, name, elapsed).failure(&message));
                Err(SioError::Timeout {
                    name: name.to_owned(),
                    after,
                })
            }
            Waited::Disconnected => Err(self.fail(
                name,
                start,
                format!("disconnected by the server from {}", self.namespace),
            )),
            Waited::Closed(reason) => Err(self.fail(name, start, reason)),
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

fn normalize(namespace: &str) -> String {
    if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    }
}
