//! An open WebSocket: sends, receives, round trips matched by correlation key, and the
//! close, each recorded; and the unrecorded primitives protocols build on.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use swarm_core::{Recorder, Sample};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::socket::{Outgoing, Shared};
use super::{Correlator, WsError, WsMessage, KIND, MAX_PENDING};

/// One user's open WebSocket. Every operation is timed and recorded (see the
/// [module docs](crate::ws)); an error it returns has already been recorded.
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
    /// The user's side of a connection whose socket task is running.
    pub(super) fn open(
        name: String,
        out: mpsc::Sender<Outgoing>,
        inbox: mpsc::Receiver<WsMessage>,
        correlate: Option<Arc<Correlator>>,
        timeout: Duration,
        recorder: Recorder,
        shared: Arc<Shared>,
    ) -> Self {
        WsClient {
            name,
            out,
            inbox,
            pending: VecDeque::new(),
            correlate,
            timeout,
            recorder,
            shared,
            closing: false,
            dropped_warned: false,
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

    /// Put a message back in front of those kept: the next receive takes it first.
    pub(crate) fn unread(&mut self, m: WsMessage) {
        self.pending.push_front(m);
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
