//! The per-user WebSocket client.
//!
//! A [`WsClient`] is one open WebSocket. A task of its own reads from the socket all the
//! time, so pings are answered and a server's close is noticed while the user waits
//! between tasks; the user sends, receives and makes round trips through it.
//!
//! What is recorded (kind [`KIND`] unless said):
//!
//! | operation | entry | time |
//! |---|---|---|
//! | [`WsConnect::connect`] | kind [`CONNECT_KIND`], the connection's name | TCP (and TLS) connect and the opening handshake; code 101, or the HTTP status of a refused upgrade |
//! | [`WsClient::request`] | the name given | from the send to the reply whose correlation key matches |
//! | [`WsClient::recv`], [`WsClient::recv_key`] | the name given | from the call to the message |
//! | [`WsClient::close`] | `close <connection name>` | from the close frame to the server's answer |
//! | [`WsClient::send`] | nothing on success; `send <connection name>` when the socket is closed | |
//!
//! A server that closes the connection, a socket error and a time-out are failures of
//! the entry whose operation they interrupt; the close code, when there is one, is the
//! sample's code.

mod error;
mod message;
pub(crate) mod socket;
#[cfg(feature = "tls")]
mod tls;

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use swarm_core::{Recorder, Sample, UserContext};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use url::Url;

pub use error::WsError;
pub use message::WsMessage;
pub(crate) use socket::{Intercept, Interceptor};
use socket::{Outgoing, Shared};

/// The kind WebSocket messages, round trips and closes are recorded under.
pub const KIND: &str = "WS";
/// The kind WebSocket connects are recorded under, apart from the messages.
pub const CONNECT_KIND: &str = "WSCONNECT";

/// How many received messages that no one asked for yet are kept (the oldest go first).
const MAX_PENDING: usize = 4096;
/// Messages the socket task may hold for the user before it stops reading.
const INBOX: usize = 64;

/// A function giving the correlation key of a message, if it has one.
type Correlator = dyn Fn(&WsMessage) -> Option<String> + Send + Sync;

/// Opens a [`WsClient`]: from [`WsClient::connect`] or [`WsClient::standalone`].
pub struct WsConnect {
    base: Option<Url>,
    target: String,
    name: Option<String>,
    headers: Vec<(String, String)>,
    timeout: Duration,
    correlate: Option<Arc<Correlator>>,
    intercept: Option<Interceptor>,
    accept_invalid_certs: bool,
    max_message_size: usize,
    recorder: Recorder,
    #[cfg(feature = "tls")]
    tls: Option<Arc<tls::TlsConfigs>>,
}

impl fmt::Debug for WsConnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsConnect")
            .field("target", &self.target)
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WsConnect {
    /// Record the connect as this name, and use it in `close <name>` and
    /// `send <name>` (default: the URL's path).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A header for the opening handshake.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Give up on the connect, and on a receive or round trip that names no time-out of
    /// its own, after this long (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How to find a message's correlation key for [`WsClient::request`] and
    /// [`WsClient::recv_key`]. Messages without a key are not replies.
    #[must_use]
    pub fn correlate(
        mut self,
        key: impl Fn(&WsMessage) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.correlate = Some(Arc::new(key));
        self
    }

    /// Correlate JSON messages by the value at a JSON pointer (`/id`, `/meta/request`):
    /// a string as it is, any other value as its JSON text.
    #[must_use]
    pub fn correlate_json(self, pointer: &str) -> Self {
        let pointer = pointer.to_owned();
        self.correlate(move |m| {
            let v: serde_json::Value = m.parse_json().ok()?;
            match v.pointer(&pointer)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            }
        })
    }

    /// A hook the socket task runs on every received message, before the user sees it
    /// (a protocol's keep-alive answered even while the user is idle).
    #[must_use]
    pub(crate) fn intercept(mut self, hook: Interceptor) -> Self {
        self.intercept = Some(hook);
        self
    }

    /// Accept invalid TLS certificates (self-signed test targets). Needs the `tls`
    /// feature.
    #[must_use]
    pub fn accept_invalid_certs(mut self, yes: bool) -> Self {
        self.accept_invalid_certs = yes;
        self
    }

    /// Refuse received messages larger than this (default 16 MiB): the connection then
    /// fails.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The URL to connect to: the target on the base, with `http`/`https` mapped to
    /// `ws`/`wss`.
    fn url(&self) -> Result<Url, String> {
        let has_scheme = self.target.contains("://");
        let mut url = if has_scheme {
            Url::parse(&self.target).map_err(|e| e.to_string())?
        } else {
            let base = self
                .base
                .as_ref()
                .ok_or("a relative path needs a host (--host)")?;
            base.join(&self.target).map_err(|e| e.to_string())?
        };
        let scheme = match url.scheme() {
            "ws" | "http" => "ws",
            "wss" | "https" => "wss",
            other => return Err(format!("scheme {other:?} is not ws, wss, http or https")),
        };
        if url.scheme() != scheme {
            url.set_scheme(scheme)
                .map_err(|()| format!("cannot use scheme {scheme}"))?;
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("no host".to_owned());
        }
        if scheme == "wss" && !cfg!(feature = "tls") {
            return Err("wss:// needs the `tls` feature of swarm-http".to_owned());
        }
        Ok(url)
    }

    /// Connect and do the opening handshake; recorded under kind [`CONNECT_KIND`].
    pub async fn connect(self) -> Result<WsClient, WsError> {
        let url = match self.url() {
            Ok(u) => u,
            Err(message) => {
                let name = self.name.clone().unwrap_or_else(|| self.target.clone());
                self.recorder
                    .record(&Sample::new(CONNECT_KIND, &name, Duration::ZERO).failure(&message));
                return Err(WsError::InvalidUrl {
                    url: self.target,
                    message,
                });
            }
        };
        let name = self.name.clone().unwrap_or_else(|| url.path().to_owned());
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| WsError::InvalidUrl {
                url: self.target.clone(),
                message: error::describe(&e),
            })?;
        for (k, v) in &self.headers {
            let n = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| WsError::Config(format!("invalid header name {k:?}: {e}")))?;
            let v = HeaderValue::from_str(v)
                .map_err(|e| WsError::Config(format!("invalid value for header {k:?}: {e}")))?;
            request.headers_mut().insert(n, v);
        }
        let config = WebSocketConfig::default()
            // 128 KiB up front per socket by default; the buffer grows when a message needs it.
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_message_size));
        #[cfg(feature = "tls")]
        let handshake = {
            let connector = self.connector()?;
            tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector)
        };
        #[cfg(not(feature = "tls"))]
        let handshake = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let start = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, handshake).await;
        let elapsed = start.elapsed();
        let (ws, response) = match outcome {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                let status = match &e {
                    tokio_tungstenite::tungstenite::Error::Http(r) => Some(r.status().as_u16()),
                    _ => None,
                };
                let message = error::describe(&e);
                let mut sample = Sample::new(CONNECT_KIND, &name, elapsed).failure(&message);
                if let Some(s) = status {
                    sample = sample.code(i64::from(s));
                }
                self.recorder.record(&sample);
                return Err(WsError::Connect {
                    name,
                    status,
                    message,
                });
            }
            Err(_) => {
                let message = format!("no handshake within {:?}", self.timeout);
                self.recorder
                    .record(&Sample::new(CONNECT_KIND, &name, elapsed).failure(&message));
                return Err(WsError::Connect {
                    name,
                    status: None,
                    message,
                });
            }
        };
        self.recorder.record(
            &Sample::new(CONNECT_KIND, &name, elapsed).code(i64::from(response.status().as_u16())),
        );
        let (out_tx, out_rx) = mpsc::channel(INBOX);
        let (in_tx, in_rx) = mpsc::channel(INBOX);
        let shared = Arc::new(Shared::default());
        tokio::spawn(socket::run(
            ws,
            out_rx,
            in_tx,
            self.intercept,
            shared.clone(),
        ));
        Ok(WsClient {
            name,
            out: out_tx,
            inbox: in_rx,
            pending: VecDeque::new(),
            correlate: self.correlate,
            timeout: self.timeout,
            recorder: self.recorder,
            shared,
            closing: false,
            dropped_warned: false,
        })
    }

    #[cfg(feature = "tls")]
    fn connector(&self) -> Result<Option<tokio_tungstenite::Connector>, WsError> {
        let configs = self.tls.clone().unwrap_or_default();
        let config = configs.get(self.accept_invalid_certs)?;
        Ok(Some(tokio_tungstenite::Connector::Rustls(config)))
    }
}

/// One user's open WebSocket. Every operation is timed and recorded (see the
/// [module docs](self)); an error it returns has already been recorded.
///
/// ```no_run
/// # async fn t(ctx: &mut swarm_core::UserContext) -> Result<(), swarm_http::ws::WsError> {
/// use swarm_http::ws::WsClient;
/// let mut ws = WsClient::connect(ctx, "/ws/echo").correlate_json("/id").connect().await?;
/// let reply = ws.request("echo", r#"{"id":"1","text":"hi"}"#, "1").await?;
/// assert_eq!(reply.as_text(), Some(r#"{"id":"1","text":"hi"}"#));
/// ws.close().await?;
/// # Ok(()) }
/// ```
pub struct WsClient {
    name: String,
    out: mpsc::Sender<Outgoing>,
    inbox: mpsc::Receiver<WsMessage>,
    pending: VecDeque<WsMessage>,
    correlate: Option<Arc<Correlator>>,
    timeout: Duration,
    recorder: Recorder,
    shared: Arc<Shared>,
    closing: bool,
    dropped_warned: bool,
}

impl fmt::Debug for WsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsClient")
            .field("name", &self.name)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// What waiting for a message gave.
pub(crate) enum Next {
    Message(WsMessage),
    Timeout,
    Closed(String, Option<u16>),
}

impl WsClient {
    /// Open a WebSocket for this user: `path` relative to the run's host (`http` becomes
    /// `ws`, `https` becomes `wss`), or an absolute `ws://` / `wss://` URL.
    pub fn connect(ctx: &UserContext, path: &str) -> WsConnect {
        let mut c = Self::standalone(path, ctx.recorder().clone());
        c.base = ctx.host().cloned();
        #[cfg(feature = "tls")]
        {
            c.tls = Some(ctx.shared(tls::TlsConfigs::default));
        }
        c
    }

    /// Open a WebSocket outside a run, recording into `recorder`; `url` is absolute.
    pub fn standalone(url: &str, recorder: Recorder) -> WsConnect {
        WsConnect {
            base: None,
            target: url.to_owned(),
            name: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            correlate: None,
            intercept: None,
            accept_invalid_certs: false,
            max_message_size: 16 << 20,
            recorder,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The connection's name (used in `close <name>` and `send <name>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the connection has ended (closed by either side, or failed).
    pub fn is_closed(&self) -> bool {
        self.shared.ended.get().is_some() || self.out.is_closed()
    }

    /// The recorder operations go to.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Send a message (text or binary). Not recorded unless the socket is closed, then
    /// as a failure of `send <name>`.
    pub async fn send(&mut self, msg: impl Into<WsMessage>) -> Result<(), WsError> {
        if let Err((reason, code)) = self.send_raw(msg.into()).await {
            let name = format!("send {}", self.name);
            return Err(self.fail_code(name, Duration::ZERO, reason, code));
        }
        Ok(())
    }

    /// Send a message and wait for the reply whose correlation key is `key`; recorded
    /// under `name` from the send to the reply. Messages with other keys that arrive
    /// meanwhile are kept for later receives.
    pub async fn request(
        &mut self,
        name: &str,
        msg: impl Into<WsMessage>,
        key: &str,
    ) -> Result<WsMessage, WsError> {
        let timeout = self.timeout;
        self.request_timeout(name, msg, key, timeout).await
    }

    /// [`request`](Self::request) with its own time-out.
    pub async fn request_timeout(
        &mut self,
        name: &str,
        msg: impl Into<WsMessage>,
        key: &str,
        timeout: Duration,
    ) -> Result<WsMessage, WsError> {
        self.need_correlation()?;
        let start = Instant::now();
        if let Err((reason, code)) = self.send_raw(msg.into()).await {
            return Err(self.fail_code(name.to_owned(), start.elapsed(), reason, code));
        }
        let next = self.next_key_raw(key, start + timeout).await;
        self.finish(name, start, timeout, next)
    }

    /// The next message, whatever it is; recorded under `name` from the call to its
    /// arrival. Waits at most the client's time-out.
    pub async fn recv(&mut self, name: &str) -> Result<WsMessage, WsError> {
        let timeout = self.timeout;
        self.recv_timeout(name, timeout).await
    }

    /// [`recv`](Self::recv) with its own time-out.
    pub async fn recv_timeout(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<WsMessage, WsError> {
        let start = Instant::now();
        let next = self.next_raw(start + timeout).await;
        self.finish(name, start, timeout, next)
    }

    /// The next message whose correlation key is `key` (a server push the user waits
    /// for); others are kept for later receives. Recorded under `name`.
    pub async fn recv_key(
        &mut self,
        name: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<WsMessage, WsError> {
        self.need_correlation()?;
        let start = Instant::now();
        let next = self.next_key_raw(key, start + timeout).await;
        self.finish(name, start, timeout, next)
    }

    fn need_correlation(&self) -> Result<(), WsError> {
        if self.correlate.is_none() {
            return Err(WsError::Config(
                "no correlation key set: use WsConnect::correlate or correlate_json".to_owned(),
            ));
        }
        Ok(())
    }

    /// A message that has already arrived, if any; not recorded.
    pub fn try_recv(&mut self) -> Option<WsMessage> {
        self.pending
            .pop_front()
            .or_else(|| self.inbox.try_recv().ok())
    }

    /// Close with code 1000 and wait (at most 5 s) for the server's close; recorded
    /// under `close <name>`. Closing a connection the server already closed is a
    /// failure naming the server's close.
    pub async fn close(mut self) -> Result<(), WsError> {
        let name = format!("close {}", self.name);
        let start = Instant::now();
        if let Some(ended) = self.shared.ended.get() {
            let (reason, code) = (ended.reason.clone(), ended.code);
            return Err(self.fail_code(name, Duration::ZERO, reason, code));
        }
        self.closing = true;
        if self
            .out
            .send(Outgoing::Close(1000, String::new()))
            .await
            .is_err()
        {
            let reason = self.ended_reason().0;
            return Err(self.fail(name, start.elapsed(), reason));
        }
        // The task drops the inbox once the close is done (bounded by its own wait).
        while self.inbox.recv().await.is_some() {}
        let elapsed = start.elapsed();
        match self.shared.ended.get() {
            Some(e) if e.by_client && e.reason == "closed by the client" => {
                let mut s = Sample::new(KIND, &name, elapsed);
                if let Some(c) = e.code {
                    s = s.code(i64::from(c));
                }
                self.recorder.record(&s);
                Ok(())
            }
            Some(e) => {
                let (reason, code) = (e.reason.clone(), e.code);
                Err(self.fail_code(name, elapsed, reason, code))
            }
            None => Err(self.fail(name, elapsed, "the socket task ended".to_owned())),
        }
    }

    // ---- unrecorded primitives, for protocols built on top (JSON-RPC, Socket.IO) ----

    /// Send without recording; `Err((reason, close code))` when the connection is over.
    ///
    /// While the send waits for room in the socket task's queue, received messages are
    /// taken in and kept: a task that stopped reading because no one took its messages
    /// then reads again, so a busy server cannot wedge a sending user.
    pub(crate) async fn send_raw(&mut self, msg: WsMessage) -> Result<(), (String, Option<u16>)> {
        if self.shared.ended.get().is_some() {
            return Err(self.ended_reason());
        }
        let mut inbox_open = true;
        loop {
            tokio::select! {
                permit = self.out.reserve() => {
                    return match permit {
                        Ok(p) => {
                            p.send(Outgoing::Message(msg));
                            Ok(())
                        }
                        Err(_) => Err(self.ended_reason()),
                    };
                }
                m = self.inbox.recv(), if inbox_open => match m {
                    Some(m) => keep_in(&mut self.pending, &mut self.dropped_warned, &self.name, m),
                    // The task is ending: the next reserve says so.
                    None => inbox_open = false,
                },
            }
        }
    }

    /// The next message, from those kept first.
    pub(crate) async fn next_raw(&mut self, deadline: Instant) -> Next {
        if let Some(m) = self.pending.pop_front() {
            return Next::Message(m);
        }
        self.next_from_socket(deadline).await
    }

    /// The first kept message that `pred` accepts, removed from those kept.
    pub(crate) fn take_kept(&mut self, pred: impl Fn(&WsMessage) -> bool) -> Option<WsMessage> {
        let i = self.pending.iter().position(pred)?;
        self.pending.remove(i)
    }

    /// The next message from the socket, past those kept.
    pub(crate) async fn next_from_socket(&mut self, deadline: Instant) -> Next {
        match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
            Ok(Some(m)) => Next::Message(m),
            Ok(None) => {
                let (reason, code) = self.ended_reason();
                Next::Closed(reason, code)
            }
            Err(_) => Next::Timeout,
        }
    }

    /// The next message whose correlation key is `key`; others are kept.
    pub(crate) async fn next_key_raw(&mut self, key: &str, deadline: Instant) -> Next {
        let Some(correlate) = self.correlate.clone() else {
            return Next::Closed(
                "no correlation key set: use WsConnect::correlate or correlate_json".to_owned(),
                None,
            );
        };
        if let Some(i) = self
            .pending
            .iter()
            .position(|m| correlate(m).as_deref() == Some(key))
        {
            if let Some(m) = self.pending.remove(i) {
                return Next::Message(m);
            }
        }
        loop {
            match self.next_from_socket(deadline).await {
                Next::Message(m) if correlate(&m).as_deref() == Some(key) => {
                    return Next::Message(m)
                }
                Next::Message(m) => self.keep(m),
                other => return other,
            }
        }
    }

    /// Keep a message for a later receive.
    pub(crate) fn keep(&mut self, m: WsMessage) {
        keep_in(&mut self.pending, &mut self.dropped_warned, &self.name, m);
    }

    /// Why the connection ended, and the server's close code if it sent one.
    pub(crate) fn ended_reason(&self) -> (String, Option<u16>) {
        match self.shared.ended.get() {
            Some(e) => (e.reason.clone(), e.code),
            None if self.closing => ("closed by the client".to_owned(), None),
            None => ("connection closed".to_owned(), None),
        }
    }

    /// Record the outcome of a wait under `name` and turn it into the result.
    fn finish(
        &mut self,
        name: &str,
        start: Instant,
        timeout: Duration,
        next: Next,
    ) -> Result<WsMessage, WsError> {
        let elapsed = start.elapsed();
        match next {
            Next::Message(m) => {
                self.recorder
                    .record(&Sample::new(KIND, name, elapsed).bytes(m.len() as u64));
                Ok(m)
            }
            Next::Timeout => {
                let message = format!("no reply within {timeout:?}");
                self.recorder
                    .record(&Sample::new(KIND, name, elapsed).failure(&message));
                Err(WsError::Timeout {
                    name: name.to_owned(),
                    after: timeout,
                })
            }
            Next::Closed(reason, code) => {
                Err(self.fail_code(name.to_owned(), elapsed, reason, code))
            }
        }
    }

    fn fail(&self, name: String, elapsed: Duration, reason: String) -> WsError {
        self.fail_code(name, elapsed, reason, None)
    }

    fn fail_code(
        &self,
        name: String,
        elapsed: Duration,
        reason: String,
        code: Option<u16>,
    ) -> WsError {
        let mut s = Sample::new(KIND, &name, elapsed).failure(&reason);
        if let Some(c) = code {
            s = s.code(i64::from(c));
        }
        self.recorder.record(&s);
        WsError::Closed { name, reason }
    }
}

/// Keep a message in `pending`, dropping the oldest past [`MAX_PENDING`] (with one
/// warning per connection).
fn keep_in(pending: &mut VecDeque<WsMessage>, warned: &mut bool, name: &str, m: WsMessage) {
    if pending.len() >= MAX_PENDING {
        pending.pop_front();
        if !*warned {
            *warned = true;
            tracing::warn!(
                connection = %name,
                "more than {MAX_PENDING} unclaimed WebSocket messages: dropping the oldest"
            );
        }
    }
    pending.push_back(m);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base: Option<&str>, path: &str) -> Result<Url, String> {
        let ctx = UserContext::detached(base.map(|b| Url::parse(b).unwrap()), 1);
        WsClient::connect(&ctx, path).url()
    }

    #[test]
    fn urls_map_http_to_ws_and_refuse_other_schemes() {
        let base = Some("http://127.0.0.1:8089");
        assert_eq!(
            target(base, "/ws/echo").unwrap().as_str(),
            "ws://127.0.0.1:8089/ws/echo"
        );
        assert_eq!(
            target(base, "ws://127.0.0.2:9/x").unwrap().as_str(),
            "ws://127.0.0.2:9/x"
        );
        assert_eq!(
            target(None, "http://127.0.0.2:9/x?q=1").unwrap().as_str(),
            "ws://127.0.0.2:9/x?q=1"
        );
        let err = target(base, "ftp://127.0.0.1/x").unwrap_err();
        assert!(err.contains("\"ftp\" is not ws"), "{err}");
        let err = target(None, "/ws/echo").unwrap_err();
        assert!(err.contains("needs a host"), "{err}");
        let wss = target(None, "wss://127.0.0.1:1/x");
        if cfg!(feature = "tls") {
            assert_eq!(wss.unwrap().scheme(), "wss");
        } else {
            assert!(wss.unwrap_err().contains("`tls` feature"));
        }
    }
}
