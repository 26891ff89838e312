//! How an agent reaches its peer: one WebSocket (return-routed), HTTP posts whose
//! responses carry the return-routed replies, or HTTP posts whose replies the peer POSTs
//! back to a shared inbound listener. Each speaks TLS (`https://`, `wss://`) as well.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::tls::{tls_failure, Tls};
use super::AriesError;
use crate::inbound::Mailbox;

const ENVELOPE_MEDIA_TYPE: &str = "application/didcomm-envelope-enc";

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Small buffers: thousands of agents each hold one socket.
fn ws_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = 4096;
    c.write_buffer_size = 0;
    c.max_message_size = Some(4 << 20);
    c.max_frame_size = Some(4 << 20);
    c
}

/// How many inbound envelopes wait for the agent before the reader stops reading (and the
/// socket pushes back).
const INBOX: usize = 64;

pub(crate) enum Transport {
    /// A WebSocket: a reader task owns the receiving half and keeps reading, so that the
    /// peer's heartbeat pings get their pongs while the agent idles (ACA-Py closes a socket
    /// that misses a pong for 1.5 s after its 3 s heartbeat); envelopes and the end of the
    /// socket come through `inbox`.
    Ws {
        sink: SplitSink<Ws, Message>,
        inbox: mpsc::Receiver<Result<Vec<u8>, AriesError>>,
        url: String,
    },
    Http {
        client: reqwest::Client,
        url: String,
        inbox: VecDeque<Vec<u8>>,
    },
    /// Plain HTTP posts without a return route; the peer POSTs its replies to the shared
    /// inbound listener, which hands them to `mailbox`. A reply in a response body (a peer
    /// that answers on the connection anyway) lands in `inbox` and is taken first.
    Inbound {
        client: reqwest::Client,
        url: String,
        mailbox: Mailbox,
        inbox: VecDeque<Vec<u8>>,
    },
}

/// Reads the socket until it ends or the transport is dropped; forwards envelopes, then
/// the reason it ended. Reading also sends the pongs tungstenite queues for pings.
async fn read_socket(
    mut stream: SplitStream<Ws>,
    tx: mpsc::Sender<Result<Vec<u8>, AriesError>>,
    url: String,
) {
    loop {
        let next = tokio::select! {
            () = tx.closed() => return,
            next = stream.next() => next,
        };
        let item = match next {
            Some(Ok(Message::Binary(b))) => Ok(b.to_vec()),
            Some(Ok(Message::Text(t))) => Ok(t.as_bytes().to_vec()),
            Some(Ok(Message::Close(_))) | None => Err(AriesError::Closed(url.clone())),
            Some(Err(e)) => Err(ws_error(&url, "reading", e)),
            Some(Ok(_)) => continue, // ping/pong frames: answered by tungstenite
        };
        let end = item.is_err();
        if tx.send(item).await.is_err() || end {
            return;
        }
    }
}

/// What kind of endpoint a URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `http://` or `https://`.
    Http,
    /// `ws://` or `wss://`.
    Ws,
}

impl Endpoint {
    /// The kind of `url` (by its scheme, in any case), or a protocol error naming it.
    pub(crate) fn of(url: &str) -> Result<Endpoint, AriesError> {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http" | "https") => Ok(Endpoint::Http),
            Some("ws" | "wss") => Ok(Endpoint::Ws),
            _ => Err(AriesError::Protocol(format!(
                "the endpoint {url:?} is neither http(s):// nor ws(s)://"
            ))),
        }
    }
}

/// A WebSocket error: [`AriesError::Closed`] when the socket is gone (closed, reset,
/// broken pipe), [`AriesError::Tls`] when TLS failed, else [`AriesError::Transport`].
fn ws_error(url: &str, doing: &str, e: WsError) -> AriesError {
    use std::io::ErrorKind;
    if let Some(tls) = tls_failure(url, &e) {
        return AriesError::Tls(tls);
    }
    match e {
        WsError::ConnectionClosed
        | WsError::AlreadyClosed
        | WsError::Protocol(
            ProtocolError::ResetWithoutClosingHandshake
            | ProtocolError::SendAfterClosing
            | ProtocolError::ReceivedAfterClosing,
        ) => AriesError::Closed(url.to_owned()),
        WsError::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
            ) =>
        {
            AriesError::Closed(url.to_owned())
        }
        e => AriesError::Transport(format!("{doing} {url}: {e}")),
    }
}

/// POST an envelope; the response body (a return-routed reply, or empty).
pub(crate) async fn post_envelope(
    client: &reqwest::Client,
    url: &str,
    envelope: Vec<u8>,
    timeout: Duration,
) -> Result<Vec<u8>, AriesError> {
    let failed = |e: reqwest::Error| {
        if let Some(tls) = tls_failure(url, &e) {
            AriesError::Tls(tls)
        } else if e.is_timeout() {
            AriesError::Timeout {
                waiting_for: format!("the answer to a POST to {url}"),
            }
        } else {
            AriesError::Transport(format!("POST {url}: {e}"))
        }
    };
    let resp = client
        .post(url)
        .header("content-type", ENVELOPE_MEDIA_TYPE)
        .body(envelope)
        .timeout(timeout)
        .send()
        .await
        .map_err(failed)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(failed)?;
    if !status.is_success() {
        return Err(AriesError::Transport(format!(
            "POST {url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>()
        )));
    }
    Ok(body.to_vec())
}

impl Transport {
    pub(crate) fn http(client: reqwest::Client, url: &str) -> Self {
        Transport::Http {
            client,
            url: url.to_owned(),
            inbox: VecDeque::new(),
        }
    }

    pub(crate) fn inbound(client: reqwest::Client, url: &str, mailbox: Mailbox) -> Self {
        Transport::Inbound {
            client,
            url: url.to_owned(),
            mailbox,
            inbox: VecDeque::new(),
        }
    }

    /// Open a WebSocket to `url` (`ws://` or `wss://`, with `tls`'s settings).
    pub(crate) async fn ws(url: &str, timeout: Duration, tls: &Tls) -> Result<Self, AriesError> {
        let connector = if url
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("wss://"))
        {
            Connector::Rustls(tls.ws_config()?)
        } else {
            Connector::Plain
        };
        // Boxed: the TLS handshake's future is large, and every caller would carry it.
        let connect = Box::pin(tokio_tungstenite::connect_async_tls_with_config(
            url,
            Some(ws_config()),
            true,
            Some(connector),
        ));
        let (ws, _) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| AriesError::Timeout {
                waiting_for: format!("a WebSocket connection to {url}"),
            })?
            .map_err(|e| match tls_failure(url, &e) {
                Some(tls) => AriesError::Tls(tls),
                None => AriesError::Transport(format!("cannot open {url}: {e}")),
            })?;
        let (sink, stream) = ws.split();
        let (tx, inbox) = mpsc::channel(INBOX);
        tokio::spawn(read_socket(stream, tx, url.to_owned()));
        Ok(Transport::Ws {
            sink,
            inbox,
            url: url.to_owned(),
        })
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Transport::Ws { url, .. }
            | Transport::Http { url, .. }
            | Transport::Inbound { url, .. } => url,
        }
    }

    pub(crate) fn is_ws(&self) -> bool {
        matches!(self, Transport::Ws { .. })
    }

    /// Whether replies come back on the agent's own inbound listener (else on the
    /// connection the message went out on: the message must ask for a return route).
    pub(crate) fn is_inbound(&self) -> bool {
        matches!(self, Transport::Inbound { .. })
    }

    /// Post to `url` from now on (an inbound transport, once the handshake told the
    /// peer's own endpoint). It must be an HTTP(S) URL.
    pub(crate) fn retarget(&mut self, to: &str) -> Result<(), AriesError> {
        if let Transport::Inbound { url, .. } = self {
            if Endpoint::of(to).ok() != Some(Endpoint::Http) {
                return Err(AriesError::Protocol(format!(
                    "the peer offers no HTTP endpoint to post to (only {to})"
                )));
            }
            to.clone_into(url);
        }
        Ok(())
    }

    /// Send one envelope, waiting at most `timeout` (over HTTP: for the whole exchange).
    pub(crate) async fn send(
        &mut self,
        envelope: Vec<u8>,
        timeout: Duration,
    ) -> Result<(), AriesError> {
        match self {
            Transport::Ws { sink, url, .. } => {
                tokio::time::timeout(timeout, sink.send(Message::Binary(envelope.into())))
                    .await
                    .map_err(|_| AriesError::Timeout {
                        waiting_for: format!("sending on {url}"),
                    })?
                    .map_err(|e| ws_error(url, "sending on", e))
            }
            Transport::Http {
                client, url, inbox, ..
            }
            | Transport::Inbound {
                client, url, inbox, ..
            } => {
                let body = post_envelope(client, url, envelope, timeout).await?;
                if !body.is_empty() {
                    inbox.push_back(body);
                }
                Ok(())
            }
        }
    }

    /// The next inbound envelope, waiting at most `timeout`.
    pub(crate) async fn recv(&mut self, timeout: Duration) -> Result<Vec<u8>, AriesError> {
        match self {
            Transport::Http { inbox, url, .. } => {
                inbox.pop_front().ok_or_else(|| AriesError::Timeout {
                    waiting_for: format!("a reply on the HTTP response from {url}"),
                })
            }
            Transport::Ws { inbox, url, .. } => {
                match tokio::time::timeout(timeout, inbox.recv()).await {
                    Err(_) => Err(AriesError::Timeout {
                        waiting_for: format!("a message on {url}"),
                    }),
                    Ok(Some(item)) => item,
                    // The reader reported the end already.
                    Ok(None) => Err(AriesError::Closed(url.clone())),
                }
            }
            Transport::Inbound { mailbox, inbox, .. } => {
                if let Some(bytes) = inbox.pop_front() {
                    return Ok(bytes);
                }
                match tokio::time::timeout(timeout, mailbox.recv()).await {
                    Err(_) => Err(AriesError::Timeout {
                        waiting_for: "a message on the inbound listener".to_owned(),
                    }),
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => Err(AriesError::Transport(
                        "the inbound listener has stopped".to_owned(),
                    )),
                }
            }
        }
    }

    /// The envelopes received and not yet taken, without waiting.
    pub(crate) fn take_buffered(&mut self) -> Vec<Vec<u8>> {
        match self {
            Transport::Http { inbox, .. } => inbox.drain(..).collect(),
            Transport::Inbound { inbox, mailbox, .. } => {
                let mut taken: Vec<_> = inbox.drain(..).collect();
                while let Some(bytes) = mailbox.try_recv() {
                    taken.push(bytes);
                }
                taken
            }
            Transport::Ws { inbox, .. } => {
                let mut taken = Vec::new();
                while let Ok(Ok(bytes)) = inbox.try_recv() {
                    taken.push(bytes);
                }
                taken
            }
        }
    }

    /// Close politely (best effort).
    pub(crate) async fn close(&mut self) {
        if let Transport::Ws { sink, inbox, .. } = self {
            let _ = tokio::time::timeout(Duration::from_secs(1), SinkExt::close(sink)).await;
            // Ends the reader, if the peer has not closed its side yet.
            inbox.close();
        }
    }
}
