//! Opening a Socket.IO connection: the WebSocket, Engine.IO's open packet and the
//! namespace's connect, recorded as `connect <namespace>`.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use swarm_core::{Recorder, Sample, UserContext};
use tokio::time::Instant;

use super::{normalize, packet, SioClient, SioError, KIND};
use crate::ws::{Intercept, Next, WsClient, WsConnect, WsMessage};

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
            attachments: 0,
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
        Ok(SioClient::new(ws, namespace, timeout, recorder))
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
}
