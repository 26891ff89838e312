//! Requests and responses, timed and recorded.

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use swarm_core::{Recorder, Sample};

use crate::client::HttpClient;
use crate::error::{describe, HttpError};

type Validator = Box<dyn FnOnce(&Response) -> Result<(), String> + Send>;

/// A request being built. Send it with [`send`](RequestBuilder::send) or
/// [`send_checked`](RequestBuilder::send_checked).
pub struct RequestBuilder<'c> {
    client: &'c HttpClient,
    method: Method,
    path: String,
    name: Option<String>,
    inner: reqwest::RequestBuilder,
    expect: Option<Vec<u16>>,
    validator: Option<Validator>,
}

impl fmt::Debug for RequestBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<'c> RequestBuilder<'c> {
    pub(crate) fn new(client: &'c HttpClient, method: Method, path: &str) -> Self {
        let inner = match client.parsed_url(path) {
            Some(url) => client.inner.request(method.clone(), url),
            None => client.inner.request(method.clone(), client.url(path)),
        };
        RequestBuilder {
            client,
            method,
            path: path.to_owned(),
            name: None,
            inner,
            expect: None,
            validator: None,
        }
    }

    /// Group the request in the statistics under this name instead of its path
    /// (`/item?id=[id]` for `/item?id=42`). Without it, every distinct URL is an entry of
    /// its own; past [`swarm_core::MAX_NAMES_PER_KIND`] names of one method, later names
    /// are counted together under [`swarm_core::OTHER_NAMES`] and a warning names an
    /// example.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Add a header.
    #[must_use]
    pub fn header<K, V>(mut self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.inner = self.inner.header(key, value);
        self
    }

    /// `Authorization: Bearer <token>`.
    #[must_use]
    pub fn bearer_auth(mut self, token: impl fmt::Display) -> Self {
        self.inner = self.inner.bearer_auth(token);
        self
    }

    /// A JSON body.
    #[must_use]
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.inner = self.inner.json(body);
        self
    }

    /// A form body.
    #[must_use]
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.inner = self.inner.form(body);
        self
    }

    /// Query parameters appended to the URL.
    #[must_use]
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        self.inner = self.inner.query(query);
        self
    }

    /// A raw body.
    #[must_use]
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.inner = self.inner.body(body);
        self
    }

    /// Give up after this long.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner = self.inner.timeout(timeout);
        self
    }

    /// Only these statuses count as success (instead of any status below 400).
    #[must_use]
    pub fn expect_status(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.expect = Some(statuses.into_iter().collect());
        self
    }

    /// Decide success from the whole response: `Err(message)` records a failure with
    /// that message. Runs after the status check.
    #[must_use]
    pub fn validate(
        mut self,
        f: impl FnOnce(&Response) -> Result<(), String> + Send + 'static,
    ) -> Self {
        self.validator = Some(Box::new(f));
        self
    }

    /// Send, read the whole body, record the request, and return the response; a
    /// rejected response (status >= 400 by default) is recorded as a failure and
    /// returned as [`HttpError::Rejected`].
    pub async fn send(self) -> Result<Response, HttpError> {
        let RequestBuilder {
            client,
            method,
            path,
            name,
            inner,
            expect,
            validator,
        } = self;
        let name = name.unwrap_or(path);
        let (resp, elapsed) = fetch(client, inner, &name, method.as_str()).await?;
        let verdict = judge(&resp, expect.as_deref()).and_then(|()| match validator {
            Some(v) => v(&resp),
            None => Ok(()),
        });
        let sample = resp.sample(method.as_str(), &name, elapsed);
        match verdict {
            Ok(()) => {
                client.recorder.record(&sample);
                Ok(resp)
            }
            Err(message) => {
                client.recorder.record(&sample.failure(&message));
                Err(HttpError::Rejected {
                    name,
                    status: resp.status.as_u16(),
                    message,
                })
            }
        }
    }

    /// Send and let the task decide success (Locust's `catch_response=True`): call
    /// [`CheckedResponse::success`] or [`CheckedResponse::failure`]; if neither is called,
    /// the status decides when the response is dropped. A request with no response is
    /// recorded as a failure at once.
    pub async fn send_checked(self) -> CheckedResponse {
        let RequestBuilder {
            client,
            method,
            path,
            name,
            inner,
            expect,
            ..
        } = self;
        let name = name.unwrap_or(path);
        let result = fetch(client, inner, &name, method.as_str()).await;
        CheckedResponse {
            result,
            name,
            kind: method,
            recorder: client.recorder.clone(),
            expect,
            decided: false,
        }
    }
}

/// Execute, read the body, keep cookies; transport errors are recorded here.
async fn fetch(
    client: &HttpClient,
    builder: reqwest::RequestBuilder,
    name: &str,
    kind: &str,
) -> Result<(Response, Duration), HttpError> {
    let req = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            let message = describe(&e);
            client
                .recorder
                .record(&Sample::new(kind, name, Duration::ZERO).failure(&message));
            return Err(HttpError::InvalidRequest {
                name: name.to_owned(),
                message,
            });
        }
    };
    let start = Instant::now();
    let mut in_flight = InFlight {
        recorder: &client.recorder,
        kind,
        name,
        start,
        answered: false,
    };
    let outcome = match &client.own {
        Some(own) => crate::conn::execute(client, &own.conns, &own.options, req)
            .await
            .map_err(|e| e.to_string()),
        // Boxed: reqwest's futures would otherwise weigh on every request's, own
        // connections' too.
        None => Box::pin(shared_pool(client, req)).await,
    };
    in_flight.answered = true;
    let elapsed = start.elapsed();
    match outcome {
        Ok((status, headers, url, body)) => {
            let (headers, raw) = match headers {
                ResponseHeaders::Map(map) => (OnceLock::from(map), None),
                ResponseHeaders::Raw(raw) => (OnceLock::new(), Some(raw)),
            };
            Ok((
                Response {
                    status,
                    headers,
                    raw,
                    body,
                    url,
                },
                elapsed,
            ))
        }
        Err(message) => {
            client
                .recorder
                .record(&Sample::new(kind, name, elapsed).failure(&message));
            Err(HttpError::Transport {
                name: name.to_owned(),
                message,
            })
        }
    }
}

/// A request on its way: dropped before its answer (the user was killed when the run
/// stopped, past the stop grace, or its task gave up on it), it is recorded as a
/// cancelled failure, so that every request the target may have seen is in the report.
struct InFlight<'a> {
    recorder: &'a Recorder,
    kind: &'a str,
    name: &'a str,
    start: Instant,
    /// Set once the request has an outcome (recorded by the caller).
    answered: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        self.recorder
            .record(&Sample::new(self.kind, self.name, self.start.elapsed()).failure(CANCELLED));
    }
}

/// The failure recorded for a request dropped before its answer.
pub(crate) const CANCELLED: &str =
    "cancelled before the response: the run stopped (a longer --stop-timeout lets it finish) or the task dropped the request";

/// Send on the run's shared pool (reqwest), with the client's default headers and the
/// user's cookies.
async fn shared_pool(
    client: &HttpClient,
    mut req: reqwest::Request,
) -> Result<crate::conn::Answer, String> {
    for (k, v) in client.headers.iter() {
        if !req.headers().contains_key(k) {
            req.headers_mut().insert(k.clone(), v.clone());
        }
    }
    if !req.headers().contains_key(COOKIE) {
        if let Some(c) = client.jar.header_for(req.url()) {
            req.headers_mut().insert(COOKIE, c);
        }
    }
    let mut resp = client.inner.execute(req).await.map_err(|e| describe(&e))?;
    let status = resp.status();
    // Moved out, not cloned: reading the body needs no headers.
    let headers = std::mem::take(resp.headers_mut());
    let url = resp.url().clone();
    let body = match client.max_body {
        None => resp.bytes().await.map_err(|e| describe(&e))?,
        Some(max) => {
            let over = |n: u64| {
                format!("error reading the body: the body is over the limit of {max} bytes (at least {n})")
            };
            if let Some(n) = resp.content_length().filter(|&n| n > max) {
                return Err(over(n));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > max {
                    return Err(over(body.len() as u64));
                }
            }
            Bytes::from(body)
        }
    };
    let mut set = headers.get_all(SET_COOKIE).iter().peekable();
    if set.peek().is_some() {
        client.jar.store(set, &url);
    }
    Ok((status, ResponseHeaders::Map(headers), url, body))
}

/// A response's headers as the transport gives them.
#[derive(Debug)]
pub(crate) enum ResponseHeaders {
    /// A user's own connection: the head as it came, read into a map when asked for.
    Raw(crate::h1::RawHead),
    /// The shared pool: reqwest's map.
    Map(HeaderMap),
}

fn judge(resp: &Response, expect: Option<&[u16]>) -> Result<(), String> {
    let code = resp.status.as_u16();
    let ok = match expect {
        Some(list) => list.contains(&code),
        None => code < 400,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "HTTP {} {}",
            code,
            resp.status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_owned())
    }
}

/// A response whose body has been read.
#[derive(Debug, Clone)]
pub struct Response {
    status: StatusCode,
    /// Built from `raw` on first use.
    headers: OnceLock<HeaderMap>,
    raw: Option<crate::h1::RawHead>,
    body: Bytes,
    url: url::Url,
}

impl Response {
    /// The sample that records this response: its size and status.
    fn sample<'a>(&self, kind: &'a str, name: &'a str, elapsed: Duration) -> Sample<'a> {
        Sample::new(kind, name, elapsed)
            .bytes(self.body.len() as u64)
            .code(i64::from(self.status.as_u16()))
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| {
            self.raw
                .as_ref()
                .map(crate::h1::RawHead::header_map)
                .unwrap_or_default()
        })
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The final URL (after redirects).
    pub fn url(&self) -> &url::Url {
        &self.url
    }
}

/// A response whose success the task decides (Locust's `catch_response`). It is
/// recorded once: at [`success`](Self::success), [`failure`](Self::failure), or when
/// dropped (then by its status).
pub struct CheckedResponse {
    result: Result<(Response, Duration), HttpError>,
    name: String,
    kind: Method,
    recorder: Recorder,
    expect: Option<Vec<u16>>,
    decided: bool,
}

impl fmt::Debug for CheckedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckedResponse")
            .field("name", &self.name)
            .field("response", &self.result.as_ref().ok().map(|r| r.0.status))
            .finish_non_exhaustive()
    }
}

impl CheckedResponse {
    /// The response, or the transport error (already recorded).
    pub fn response(&self) -> Result<&Response, &HttpError> {
        self.result.as_ref().map(|(r, _)| r)
    }

    /// The status, or `None` when there was no response.
    pub fn status(&self) -> Option<StatusCode> {
        self.response().ok().map(Response::status)
    }

    /// The body as text (empty when there was no response).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        self.response()
            .map_or(std::borrow::Cow::Borrowed(""), Response::text)
    }

    /// Record the request as a success.
    pub fn success(mut self) {
        self.decide(Ok(()));
    }

    /// Record the request as a failure with this message.
    pub fn failure(mut self, message: impl Into<String>) {
        self.decide(Err(message.into()));
    }

    fn decide(&mut self, verdict: Result<(), String>) {
        if self.decided {
            return;
        }
        self.decided = true;
        let Ok((resp, elapsed)) = &self.result else {
            return; // already recorded as a transport failure
        };
        let sample = resp.sample(self.kind.as_str(), &self.name, *elapsed);
        match verdict {
            Ok(()) => self.recorder.record(&sample),
            Err(m) => self.recorder.record(&sample.failure(&m)),
        }
    }
}

impl Drop for CheckedResponse {
    fn drop(&mut self) {
        if !self.decided {
            let verdict = match &self.result {
                Ok((resp, _)) => judge(resp, self.expect.as_deref()),
                Err(_) => Ok(()),
            };
            self.decide(verdict);
        }
    }
}
