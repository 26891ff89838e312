//! How a call travels: a POST over HTTP or a message on a WebSocket, and the answer it
//! brings back before it is judged.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::wire;
use crate::error::describe;
use crate::ws::{Next, WsClient, WsMessage};

/// How a call's answer came back, before it is judged.
pub(super) struct Answer {
    /// The body parsed as JSON, or why it is not JSON.
    pub(super) body: Result<Value, String>,
    pub(super) bytes: u64,
    /// The HTTP status, over HTTP.
    pub(super) status: Option<u16>,
}

/// No answer.
pub(super) enum NoAnswer {
    Transport(String, Option<i64>),
    Timeout(Duration),
}

/// The way calls go out: POSTs through the HTTP client's pool, or one WebSocket.
pub(super) enum Transport {
    Http {
        client: reqwest::Client,
        url: Url,
        headers: Arc<HeaderMap>,
    },
    Ws(Box<WsClient>),
}

impl Transport {
    /// Send `body` and wait for the answer with correlation key `key` (`None`: a
    /// notification, no answer over a WebSocket).
    pub(super) async fn round_trip(
        &mut self,
        body: String,
        key: Option<String>,
        timeout: Duration,
    ) -> Result<Answer, NoAnswer> {
        match self {
            Transport::Http {
                client,
                url,
                headers,
            } => {
                // The client's default headers, with the JSON content type over any other
                // (no copy of them when there are none, the usual case).
                let json = HeaderValue::from_static("application/json");
                let req = client.post(url.clone()).timeout(timeout);
                let req = if headers.is_empty() {
                    req.header(CONTENT_TYPE, json)
                } else {
                    let mut all = (**headers).clone();
                    all.insert(CONTENT_TYPE, json);
                    req.headers(all)
                };
                let resp = req
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| http_failure(&e, timeout))?;
                let status = resp.status();
                let bytes = resp.bytes().await.map_err(|e| http_failure(&e, timeout))?;
                let parsed = if bytes.is_empty() {
                    Err("invalid JSON-RPC response: an empty body".to_owned())
                } else {
                    serde_json::from_slice::<Value>(&bytes).map_err(|e| wire::not_json(&e))
                };
                if key.is_none() && status.is_success() {
                    // A notification: whatever the body, the server took it.
                    return Ok(Answer {
                        body: Ok(Value::Null),
                        bytes: bytes.len() as u64,
                        status: Some(status.as_u16()),
                    });
                }
                if !status.is_success() && !parsed.as_ref().is_ok_and(|v| v.get("error").is_some())
                {
                    let reason = status.canonical_reason().unwrap_or("");
                    let message = format!("HTTP {} {reason}", status.as_u16())
                        .trim_end()
                        .to_owned();
                    return Err(NoAnswer::Transport(
                        message,
                        Some(i64::from(status.as_u16())),
                    ));
                }
                Ok(Answer {
                    body: parsed,
                    bytes: bytes.len() as u64,
                    status: Some(status.as_u16()),
                })
            }
            Transport::Ws(ws) => {
                let deadline = Instant::now() + timeout;
                ws.send_raw(WsMessage::text(body))
                    .await
                    .map_err(|(reason, code)| NoAnswer::Transport(reason, code.map(i64::from)))?;
                let Some(key) = key else {
                    return Ok(Answer {
                        body: Ok(Value::Null),
                        bytes: 0,
                        status: None,
                    });
                };
                match ws.next_key_raw(&key, deadline).await {
                    Next::Message(m) => Ok(Answer {
                        bytes: m.len() as u64,
                        body: m.parse_json::<Value>().map_err(|e| wire::not_json(&e)),
                        status: None,
                    }),
                    Next::Timeout => Err(NoAnswer::Timeout(timeout)),
                    Next::Closed(reason, code) => {
                        Err(NoAnswer::Transport(reason, code.map(i64::from)))
                    }
                }
            }
        }
    }
}

/// The correlation key of a message on the WebSocket (`id:N`, `batch:N`, `sub:ID`).
pub(super) fn ws_correlation(m: &WsMessage) -> Option<String> {
    m.parse_json::<Value>().ok().and_then(|v| wire::ws_key(&v))
}

fn http_failure(e: &reqwest::Error, timeout: Duration) -> NoAnswer {
    if e.is_timeout() {
        NoAnswer::Timeout(timeout)
    } else {
        NoAnswer::Transport(describe(e), None)
    }
}
