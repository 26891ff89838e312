//! The user's JSON-RPC client: calls, notifications, batches and subscriptions, each
//! judged and recorded.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use swarm_core::{Recorder, Sample, UserContext};
use tokio::time::Instant;
use url::Url;

use super::transport::{ws_correlation, NoAnswer, Transport};
use super::wire::{self, Outcome};
use super::{to_params, Batch, RpcError, RpcErrorObject, Subscription, KIND};
use crate::ws::{Next, WsClient, WsConnect};
use crate::HttpClient;

/// A user's JSON-RPC client, over HTTP or a WebSocket.
///
/// ```no_run
/// # async fn t(ctx: &mut swarm_core::UserContext) -> Result<(), swarm_http::jsonrpc::RpcError> {
/// use swarm_http::jsonrpc::RpcClient;
/// let http = swarm_http::HttpClient::new(ctx)?;
/// let mut rpc = RpcClient::http(&http, "/")?;
/// let block: String = rpc.call_as("eth_blockNumber", ()).await?;
/// let balance = rpc.call("eth_getBalance", ("0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1", "latest")).await?;
/// # let _ = (block, balance); Ok(()) }
/// ```
pub struct RpcClient {
    transport: Transport,
    next_id: u64,
    recorder: Recorder,
    timeout: Duration,
}

impl fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = match &self.transport {
            Transport::Http { url, .. } => url.to_string(),
            Transport::Ws(ws) => format!("ws {}", ws.name()),
        };
        f.debug_struct("RpcClient")
            .field("transport", &t)
            .finish_non_exhaustive()
    }
}

impl RpcClient {
    /// A client that POSTs to `path` on the host of `http` (or to an absolute URL),
    /// through its connection pool and with its default headers.
    pub fn http(http: &HttpClient, path: &str) -> Result<Self, RpcError> {
        let url = Url::parse(&http.url(path))
            .map_err(|e| RpcError::Config(format!("invalid JSON-RPC URL {path:?}: {e}")))?;
        Ok(RpcClient {
            transport: Transport::Http {
                client: http.inner.clone(),
                url,
                headers: http.headers.clone(),
            },
            next_id: 1,
            recorder: http.recorder.clone(),
            timeout: Duration::from_secs(30),
        })
    }

    /// A client on a new WebSocket to `path` on the run's host (`http` becomes `ws`) or
    /// an absolute `ws://`/`wss://` URL. The connect is recorded as the WebSocket
    /// client records it.
    pub async fn ws(ctx: &UserContext, path: &str) -> Result<Self, RpcError> {
        Self::over_ws(WsClient::connect(ctx, path)).await
    }

    /// A client on a WebSocket opened with these options (time-out, headers, TLS).
    pub async fn over_ws(connect: WsConnect) -> Result<Self, RpcError> {
        let ws = connect
            .correlate(ws_correlation)
            .connect()
            .await
            .map_err(|e| RpcError::Transport {
                method: e.name().unwrap_or("connect").to_owned(),
                message: e.to_string(),
            })?;
        let recorder = ws.recorder().clone();
        Ok(RpcClient {
            transport: Transport::Ws(Box::new(ws)),
            next_id: 1,
            recorder,
            timeout: Duration::from_secs(30),
        })
    }

    /// Give up on a call after this long (default 30 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether it talks over a WebSocket.
    pub fn is_ws(&self) -> bool {
        matches!(self.transport, Transport::Ws(_))
    }

    /// The recorder calls go to.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Call `method`; recorded under the method's name. `params` is anything that
    /// serializes: a tuple or array for positional parameters, a struct or map for named
    /// ones, `()` for none.
    pub async fn call(&mut self, method: &str, params: impl Serialize) -> Result<Value, RpcError> {
        self.call_named(method, method, params).await
    }

    /// [`call`](Self::call), recorded under `name` instead of the method (to tell apart
    /// `eth_call`s of different contract functions).
    pub async fn call_named(
        &mut self,
        name: &str,
        method: &str,
        params: impl Serialize,
    ) -> Result<Value, RpcError> {
        self.call_decoded(name, method, params, Ok).await
    }

    /// [`call`](Self::call) with the result decoded into `T`; a result of another shape
    /// is a failure (`invalid JSON-RPC response: the result is not ...`).
    pub async fn call_as<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, RpcError> {
        self.call_decoded(method, method, params, |v| {
            serde_json::from_value(v).map_err(|e| {
                format!(
                    "invalid JSON-RPC response: the result is not {}: {e}",
                    std::any::type_name::<T>()
                )
            })
        })
        .await
    }

    async fn call_decoded<T>(
        &mut self,
        name: &str,
        method: &str,
        params: impl Serialize,
        decode: impl FnOnce(Value) -> Result<T, String>,
    ) -> Result<T, RpcError> {
        let params = to_params(params)?;
        let id = self.take_id();
        let body = wire::to_text(&wire::request(Some(id), method, &params));
        let start = Instant::now();
        let answer = self
            .transport
            .round_trip(body, Some(format!("id:{id}")), self.timeout)
            .await;
        let elapsed = start.elapsed();
        let answer = match answer {
            Ok(a) => a,
            Err(no) => return Err(self.no_answer(name, elapsed, no)),
        };
        let checked = answer
            .body
            .and_then(|v| wire::check(v, id))
            .and_then(|o| match o {
                Outcome::Result(v) => decode(v).map(Ok),
                Outcome::Error(e) => Ok(Err(e)),
            });
        self.judge(name, elapsed, answer.bytes, answer.status, checked)
    }

    /// Send a notification (no id, no answer): recorded under the method, timed to the
    /// HTTP response (over HTTP) or to the send (over a WebSocket).
    pub async fn notify(&mut self, method: &str, params: impl Serialize) -> Result<(), RpcError> {
        let params = to_params(params)?;
        let body = wire::to_text(&wire::request(None, method, &params));
        let start = Instant::now();
        let answer = self.transport.round_trip(body, None, self.timeout).await;
        let elapsed = start.elapsed();
        match answer {
            Ok(a) => {
                let mut s = Sample::new(KIND, method, elapsed).bytes(a.bytes);
                if let Some(st) = a.status {
                    s = s.code(i64::from(st));
                }
                self.recorder.record(&s);
                Ok(())
            }
            Err(no) => Err(self.no_answer(method, elapsed, no)),
        }
    }

    /// Send a batch; one sample under `name`. Returns one answer per call (not per
    /// notification), in the order they were added. The sample fails, naming the first
    /// failed call, when any call got an error object.
    pub async fn batch(
        &mut self,
        name: &str,
        batch: &Batch,
    ) -> Result<Vec<Result<Value, RpcErrorObject>>, RpcError> {
        if batch.is_empty() {
            return Err(RpcError::Config(
                "an empty batch (JSON-RPC refuses it)".to_owned(),
            ));
        }
        let mut ids = Vec::new();
        let mut methods = Vec::new();
        let mut body = Vec::with_capacity(batch.len());
        for (is_call, method, params) in &batch.items {
            let id = is_call.then(|| self.take_id());
            if let Some(id) = id {
                ids.push(id);
                methods.push(method.as_str());
            }
            body.push(wire::request(id, method, params));
        }
        let key = ids.iter().min().map(|id| format!("batch:{id}"));
        let start = Instant::now();
        let answer = self
            .transport
            .round_trip(wire::to_text(&body), key, self.timeout)
            .await;
        let elapsed = start.elapsed();
        let answer = match answer {
            Ok(a) => a,
            Err(no) => return Err(self.no_answer(name, elapsed, no)),
        };
        if ids.is_empty() {
            // Only notifications: the server owes no answer.
            self.recorder
                .record(&Sample::new(KIND, name, elapsed).bytes(answer.bytes));
            return Ok(Vec::new());
        }
        let outcomes = match answer.body.and_then(|v| wire::check_batch(v, &ids)) {
            Ok(o) => o,
            Err(message) => {
                let e = self.judge::<()>(name, elapsed, answer.bytes, answer.status, Err(message));
                return Err(e.unwrap_err());
            }
        };
        let first_failed = outcomes.iter().zip(&methods).find_map(|(o, m)| match o {
            Outcome::Error(e) => Some((*m, e)),
            Outcome::Result(_) => None,
        });
        let mut s = Sample::new(KIND, name, elapsed).bytes(answer.bytes);
        let message;
        match first_failed {
            Some((method, e)) => {
                message = format!("{method}: {e}");
                s = s.failure(&message).code(e.code);
            }
            None => {
                if let Some(st) = answer.status {
                    s = s.code(i64::from(st));
                }
            }
        }
        self.recorder.record(&s);
        Ok(outcomes
            .into_iter()
            .map(|o| match o {
                Outcome::Result(v) => Ok(v),
                Outcome::Error(e) => Err(e),
            })
            .collect())
    }

    /// Subscribe (WebSocket only): `method` is `eth_subscribe` (or another namespace's,
    /// `klay_subscribe`), `params` e.g. `["newHeads"]`; the call is recorded under the
    /// method, its notifications under `name`.
    pub async fn subscribe(
        &mut self,
        method: &str,
        params: impl Serialize,
        name: &str,
    ) -> Result<Subscription, RpcError> {
        if !self.is_ws() {
            return Err(RpcError::Config(
                "subscriptions need a WebSocket (RpcClient::ws)".to_owned(),
            ));
        }
        let id = self
            .call_decoded(method, method, params, |v| match v {
                Value::String(s) => Ok(s),
                other => Err(format!(
                    "invalid JSON-RPC response: a subscription id that is not a string: {other}"
                )),
            })
            .await?;
        Ok(Subscription {
            id,
            name: name.to_owned(),
        })
    }

    /// Cancel a subscription with `method` (`eth_unsubscribe`); recorded under it.
    pub async fn unsubscribe(&mut self, method: &str, sub: Subscription) -> Result<bool, RpcError> {
        self.call_as(method, [sub.id]).await
    }

    /// The next notification of a subscription (its `params.result`), recorded under the
    /// subscription's name from the call to its arrival.
    pub async fn next_notification(
        &mut self,
        sub: &Subscription,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        let start = Instant::now();
        let (result, bytes) = self.wait_notification(sub, timeout).await.map_err(|no| {
            let elapsed = start.elapsed();
            self.no_answer(&sub.name, elapsed, no)
        })?;
        self.recorder
            .record(&Sample::new(KIND, &sub.name, start.elapsed()).bytes(bytes));
        Ok(result)
    }

    /// The next new head of a `newHeads` subscription, recorded under the
    /// subscription's name with the time from the block's timestamp to its arrival.
    /// Block timestamps are whole seconds, so the time is exact to a second: it says how
    /// stale heads arrive, not a sub-second latency. A head without a timestamp is a
    /// failure.
    pub async fn next_head(
        &mut self,
        sub: &Subscription,
        timeout: Duration,
    ) -> Result<Value, RpcError> {
        let start = Instant::now();
        let (head, bytes) = self.wait_notification(sub, timeout).await.map_err(|no| {
            let elapsed = start.elapsed();
            self.no_answer(&sub.name, elapsed, no)
        })?;
        let arrived = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let stamp = head
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok());
        match stamp {
            Some(secs) => {
                let lag = arrived.saturating_sub(Duration::from_secs(secs));
                self.recorder
                    .record(&Sample::new(KIND, &sub.name, lag).bytes(bytes));
                Ok(head)
            }
            None => {
                let message = "a new head without a hex timestamp".to_owned();
                self.recorder
                    .record(&Sample::new(KIND, &sub.name, start.elapsed()).failure(&message));
                Err(RpcError::InvalidResponse {
                    method: sub.name.clone(),
                    message,
                })
            }
        }
    }

    async fn wait_notification(
        &mut self,
        sub: &Subscription,
        timeout: Duration,
    ) -> Result<(Value, u64), NoAnswer> {
        let Transport::Ws(ws) = &mut self.transport else {
            return Err(NoAnswer::Transport(
                "subscriptions need a WebSocket".to_owned(),
                None,
            ));
        };
        let deadline = Instant::now() + timeout;
        match ws.next_key_raw(&format!("sub:{}", sub.id), deadline).await {
            Next::Message(m) => {
                let bytes = m.len() as u64;
                let v: Value = m
                    .parse_json()
                    .map_err(|e| NoAnswer::Transport(wire::not_json(&e), None))?;
                let result = v
                    .get("params")
                    .and_then(|p| p.get("result"))
                    .cloned()
                    .ok_or_else(|| {
                        NoAnswer::Transport(
                            "invalid JSON-RPC notification: no params.result".to_owned(),
                            None,
                        )
                    })?;
                Ok((result, bytes))
            }
            Next::Timeout => Err(NoAnswer::Timeout(timeout)),
            Next::Closed(reason, code) => Err(NoAnswer::Transport(reason, code.map(i64::from))),
        }
    }

    /// Close the WebSocket (recorded by the WebSocket client); nothing to do over HTTP.
    pub async fn close(self) -> Result<(), RpcError> {
        if let Transport::Ws(ws) = self.transport {
            let name = ws.name().to_owned();
            ws.close().await.map_err(|e| RpcError::Transport {
                method: format!("close {name}"),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// Record a checked answer and turn it into the call's result.
    fn judge<T>(
        &self,
        name: &str,
        elapsed: Duration,
        bytes: u64,
        status: Option<u16>,
        checked: Result<Result<T, RpcErrorObject>, String>,
    ) -> Result<T, RpcError> {
        let mut s = Sample::new(KIND, name, elapsed).bytes(bytes);
        match checked {
            Ok(Ok(v)) => {
                if let Some(st) = status {
                    s = s.code(i64::from(st));
                }
                self.recorder.record(&s);
                Ok(v)
            }
            Ok(Err(error)) => {
                let message = error.to_string();
                self.recorder.record(&s.failure(&message).code(error.code));
                Err(RpcError::Rpc {
                    method: name.to_owned(),
                    error,
                })
            }
            Err(message) => {
                if let Some(st) = status {
                    s = s.code(i64::from(st));
                }
                self.recorder.record(&s.failure(&message));
                Err(RpcError::InvalidResponse {
                    method: name.to_owned(),
                    message,
                })
            }
        }
    }

    fn no_answer(&self, name: &str, elapsed: Duration, no: NoAnswer) -> RpcError {
        match no {
            NoAnswer::Transport(message, code) => {
                let mut s = Sample::new(KIND, name, elapsed).failure(&message);
                if let Some(c) = code {
                    s = s.code(c);
                }
                self.recorder.record(&s);
                RpcError::Transport {
                    method: name.to_owned(),
                    message,
                }
            }
            NoAnswer::Timeout(after) => {
                let message = format!("no response within {after:?}");
                self.recorder
                    .record(&Sample::new(KIND, name, elapsed).failure(&message));
                RpcError::Timeout {
                    method: name.to_owned(),
                    after,
                }
            }
        }
    }
}
