//! The per-user HTTP client.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use std::sync::Mutex;
use swarm_core::{Recorder, UserContext};

use crate::error::HttpError;
use crate::request::RequestBuilder;

/// Options that need their own connection pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_redirects: usize,
    accept_invalid_certs: bool,
}

/// The connection pools of one run, shared by all its users.
#[derive(Default)]
struct Pools(Mutex<HashMap<PoolKey, reqwest::Client>>);

fn build_pool(key: &PoolKey) -> Result<reqwest::Client, HttpError> {
    let mut b = reqwest::Client::builder()
        .redirect(if key.max_redirects == 0 {
            reqwest::redirect::Policy::none()
        } else {
            reqwest::redirect::Policy::limited(key.max_redirects)
        })
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("swarm/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = key.timeout {
        b = b.timeout(t);
    }
    if let Some(t) = key.connect_timeout {
        b = b.connect_timeout(t);
    }
    #[cfg(feature = "tls")]
    {
        b = b.tls_danger_accept_invalid_certs(key.accept_invalid_certs);
    }
    b.build()
        .map_err(|e| HttpError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Builds an [`HttpClient`] with default headers, time-outs and pool options.
#[derive(Debug)]
pub struct HttpClientBuilder {
    base: Option<String>,
    headers: HeaderMap,
    key: PoolKey,
    isolated: bool,
    recorder: Recorder,
    pools: Option<Arc<Pools>>,
}

impl fmt::Debug for Pools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pools")
    }
}

impl HttpClientBuilder {
    /// A default header sent with every request of this client.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, HttpError> {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| HttpError::Config(format!("invalid header name {name:?}: {e}")))?;
        let mut v = HeaderValue::from_str(value)
            .map_err(|e| HttpError::Config(format!("invalid value for header {name:?}: {e}")))?;
        if n == AUTHORIZATION {
            v.set_sensitive(true);
        }
        self.headers.insert(n, v);
        Ok(self)
    }

    /// Default headers from a JSON object such as `{"Authorization": "Bearer ..."}`.
    pub fn headers_json(mut self, json: &str) -> Result<Self, HttpError> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| HttpError::Config(format!("headers are not a JSON object: {e}")))?;
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            self = self.header(&k, &v)?;
        }
        Ok(self)
    }

    /// `Authorization: Bearer <token>`, with the token read from an environment variable
    /// (never from code, never logged).
    pub fn bearer_token_from_env(self, var: &str) -> Result<Self, HttpError> {
        let token = std::env::var(var)
            .map_err(|_| HttpError::Config(format!("environment variable {var} is not set")))?;
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Give up on a request after this long (default: never).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.key.timeout = Some(timeout);
        self
    }

    /// Give up on a connection attempt after this long.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.key.connect_timeout = Some(timeout);
        self
    }

    /// Follow at most this many redirects (default 10; 0 follows none).
    #[must_use]
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.key.max_redirects = n;
        self
    }

    /// Accept invalid TLS certificates (self-signed test targets). Needs the `tls`
    /// feature.
    #[must_use]
    pub fn accept_invalid_certs(mut self, yes: bool) -> Self {
        self.key.accept_invalid_certs = yes;
        self
    }

    /// Use a connection pool of this user's own instead of the run's shared pool, as
    /// Locust's per-user sessions do (more connections, more memory).
    #[must_use]
    pub fn isolated(mut self) -> Self {
        self.isolated = true;
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<HttpClient, HttpError> {
        let inner = match (&self.pools, self.isolated) {
            (Some(pools), false) => {
                let mut map = pools
                    .0
                    .lock()
                    .map_err(|_| HttpError::Config("the shared pool lock is poisoned".into()))?;
                match map.get(&self.key) {
                    Some(c) => c.clone(),
                    None => {
                        let c = build_pool(&self.key)?;
                        map.insert(self.key.clone(), c.clone());
                        c
                    }
                }
            }
            _ => build_pool(&self.key)?,
        };
        let base = self.base.map(|b| Arc::from(b.trim_end_matches('/')));
        Ok(HttpClient {
            inner,
            base,
            headers: Arc::new(self.headers),
            jar: Arc::new(reqwest::cookie::Jar::default()),
            recorder: self.recorder,
        })
    }
}

/// A user's HTTP client: relative paths go to the run's host, cookies are kept per user,
/// and every request is timed and recorded (Locust's `self.client`).
///
/// Clients of one run share a connection pool unless built [`isolated`](HttpClientBuilder::isolated).
///
/// ```no_run
/// # async fn t(ctx: &mut swarm_core::UserContext) -> Result<(), swarm_http::HttpError> {
/// let http = swarm_http::HttpClient::new(ctx)?;
/// http.get("/index.html?ok=1").name("/index.html?ok=[random]").send().await?;
/// let checked = http.get("/status").send_checked().await;
/// if !checked.text().contains("ok") {
///     checked.failure("status is not ok");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    pub(crate) inner: reqwest::Client,
    pub(crate) base: Option<Arc<str>>,
    pub(crate) headers: Arc<HeaderMap>,
    pub(crate) jar: Arc<reqwest::cookie::Jar>,
    pub(crate) recorder: Recorder,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for this user, on the run's host and shared pool.
    pub fn new(ctx: &UserContext) -> Result<Self, HttpError> {
        Self::builder(ctx).build()
    }

    /// A builder for this user's client.
    pub fn builder(ctx: &UserContext) -> HttpClientBuilder {
        HttpClientBuilder {
            base: ctx.host().map(ToString::to_string),
            headers: HeaderMap::new(),
            key: PoolKey {
                timeout: None,
                connect_timeout: None,
                max_redirects: 10,
                accept_invalid_certs: false,
            },
            isolated: false,
            recorder: ctx.recorder().clone(),
            pools: Some(ctx.shared(Pools::default)),
        }
    }

    /// A client outside a run, recording into `recorder`, with `base` as its host.
    pub fn standalone(base: Option<&str>, recorder: Recorder) -> HttpClientBuilder {
        HttpClientBuilder {
            base: base.map(str::to_owned),
            headers: HeaderMap::new(),
            key: PoolKey {
                timeout: None,
                connect_timeout: None,
                max_redirects: 10,
                accept_invalid_certs: false,
            },
            isolated: true,
            recorder,
            pools: None,
        }
    }

    /// The URL for a path: relative paths are appended to the host, absolute URLs are
    /// kept.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_owned();
        }
        match &self.base {
            Some(base) if path.starts_with('/') => format!("{base}{path}"),
            Some(base) => format!("{base}/{path}"),
            None => path.to_owned(),
        }
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder::new(self, method, path)
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    /// A POST request.
    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    /// A PUT request.
    pub fn put(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PUT, path)
    }

    /// A DELETE request.
    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }

    /// A PATCH request.
    pub fn patch(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PATCH, path)
    }

    /// A HEAD request.
    pub fn head(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::HEAD, path)
    }

    /// The recorder requests go to.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}
