//! How an agent reaches its mediator: one WebSocket (return-routed), or HTTP posts whose
//! responses carry the return-routed replies.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::AriesError;

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

pub(crate) enum Transport {
    Ws {
        ws: Box<Ws>,
        url: String,
    },
    Http {
        client: reqwest::Client,
        url: String,
        inbox: VecDeque<Vec<u8>>,
    },
}

impl Transport {
    pub(crate) fn http(client: reqwest::Client, url: &str) -> Self {
        Transport::Http {
            client,
            url: url.to_owned(),
            inbox: VecDeque::new(),
        }
    }

    pub(crate) async fn ws(url: &str, timeout: Duration) -> Result<Self, AriesError> {
        let connect = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true);
        let (ws, _) = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| AriesError::Timeout {
                waiting_for: format!("a WebSocket connection to {url}"),
            })?
            .map_err(|e| AriesError::Transport(format!("cannot open {url}: {e}")))?;
        Ok(Transport::Ws {
            ws: Box::new(ws),
            url: url.to_owned(),
        })
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Transport::Ws { url, .. } | Transport::Http { url, .. } => url,
        }
    }

    pub(crate) fn is_ws(&self) -> bool {
        matches!(self, Transport::Ws { .. })
    }

    /// Send one envelope.
    pub(crate) async fn send(&mut self, envelope: Vec<u8>) -> Result<(), AriesError> {
        match self {
            Transport::Ws { ws, url } => ws
                .send(Message::Binary(envelope.into()))
                .await
                .map_err(|e| AriesError::Transport(format!("sending on {url}: {e}"))),
            Transport::Http { client, url, inbox } => {
                let resp = client
                    .post(url.as_str())
                    .header("content-type", ENVELOPE_MEDIA_TYPE)
                    .body(envelope)
                    .send()
                    .await
                    .map_err(|e| AriesError::Transport(format!("POST {url}: {e}")))?;
                let status = resp.status();
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| AriesError::Transport(format!("POST {url}: {e}")))?;
                if !status.is_success() {
                    return Err(AriesError::Transport(format!(
                        "POST {url}: HTTP {status}: {}",
                        String::from_utf8_lossy(&body)
                            .chars()
                            .take(200)
                            .collect::<String>()
                    )));
                }
                if !body.is_empty() {
                    inbox.push_back(body.to_vec());
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
            Transport::Ws { ws, url } => {
                let deadline = tokio::time::Instant::now() + timeout;
                loop {
                    let next =
                        tokio::time::timeout_at(deadline, ws.next())
                            .await
                            .map_err(|_| AriesError::Timeout {
                                waiting_for: format!("a message on {url}"),
                            })?;
                    match next {
                        None => return Err(AriesError::Closed(url.clone())),
                        Some(Err(e)) => {
                            return Err(AriesError::Transport(format!("reading {url}: {e}")))
                        }
                        Some(Ok(Message::Binary(b))) => return Ok(b.to_vec()),
                        Some(Ok(Message::Text(t))) => return Ok(t.as_bytes().to_vec()),
                        Some(Ok(Message::Close(_))) => return Err(AriesError::Closed(url.clone())),
                        Some(Ok(_)) => {} // ping/pong frames: answered by tungstenite
                    }
                }
            }
        }
    }

    /// Close politely (best effort).
    pub(crate) async fn close(&mut self) {
        if let Transport::Ws { ws, .. } = self {
            let _ = tokio::time::timeout(Duration::from_secs(1), SinkExt::close(ws)).await;
        }
    }
}
