//! The per-user HTTP client.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use swarm_core::{Recorder, UserContext};
use url::Url;

use crate::conn::{ConnOptions, OwnConnections};
use crate::error::HttpError;
use crate::request::RequestBuilder;

/// Options that need their own connection pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_redirects: usize,
    /// The largest response body read, in bytes.
    max_body: Option<u64>,
    /// `--insecure` and the builder's TLS options.
    #[cfg(feature = "tls")]
    tls: crate::tls::TlsSettings,
    /// Whether the client talks to an `https://` host (then its TLS configuration is
    /// ours, built when the client is).
    https: bool,
}

impl Default for PoolKey {
    fn default() -> Self {
        PoolKey {
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: None,
            max_redirects: 10,
            max_body: None,
            #[cfg(feature = "tls")]
            tls: crate::tls::TlsSettings::default(),
            https: false,
        }
    }
}

/// How long a request may take unless the client says otherwise (as k6's, Goose's and
/// Locust's `FastHttpUser`'s): a server that accepts and never answers fails the request
/// instead of holding the user until the run ends.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

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
        // Built without HTTP/2 and HTTP/3, reqwest's default policy (retry protocol NACKs
        // of those two) can never retry, yet clones every request in case it must. With no
        // retries allowed it skips the clone. A load test wants no hidden retries anyway:
        // every attempt is a request to count.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(crate::conn::USER_AGENT_VALUE);
    if !proxy_from_env() {
        // Same behaviour, less work: with no proxy configured, reqwest still matches
        // every request against the (empty) proxy settings it read from the environment.
        b = b.no_proxy();
    }
    if let Some(t) = key.timeout {
        b = b.timeout(t);
    }
    if let Some(t) = key.connect_timeout {
        b = b.connect_timeout(t);
    }
    #[cfg(feature = "tls")]
    if key.https || !key.tls.is_default() {
        // One rustls stack for every transport: the shared configuration honours
        // `--insecure` and a CA file as WebSockets do.
        let config = key
            .tls
            .http1_config()
            .map_err(|e| HttpError::Config(e.to_string()))?;
        b = b.tls_backend_preconfigured((*config).clone());
    }
    b.build()
        .map_err(|e| HttpError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Whether reqwest would find a proxy to use: one is set in the environment, or the
/// platform has system proxy settings reqwest may read (macOS, Windows).
fn proxy_from_env() -> bool {
    cfg!(any(target_os = "macos", windows))
        || [
            "ALL_PROXY",
            "all_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
        ]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// Builds an [`HttpClient`] with default headers, time-outs and pool options.
#[derive(Debug)]
pub struct HttpClientBuilder {
    base: Option<String>,
    headers: HeaderMap,
    key: PoolKey,
    /// Use the run's shared pool instead of connections of the user's own.
    shared: bool,
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

    /// Give up on a request after this long, connecting, redirects and reading the body
    /// included (default [`DEFAULT_TIMEOUT`], 60 s): the request is then a counted failure,
    /// `timed out: no complete response within ...`.
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

    /// Refuse response bodies larger than this many bytes: such a response is a counted
    /// failure (`error reading the body: the body is over the limit of N bytes`), its
    /// connection is closed, and the body is not read further. Default: no limit.
    #[must_use]
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.key.max_body = Some(bytes);
        self
    }

    /// Accept invalid TLS certificates (self-signed test targets), as `--insecure` does
    /// for the whole run. Needs the `tls` feature (on by default).
    #[must_use]
    pub fn accept_invalid_certs(self, yes: bool) -> Self {
        #[cfg(feature = "tls")]
        {
            let mut b = self;
            b.key.tls.insecure = yes;
            b
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = yes;
            self
        }
    }

    /// Trust the CA certificates of this PEM file besides the system's (a target behind a
    /// private CA). The file is read when the first client with it is built; a file that
    /// cannot be read or holds no certificate makes [`build`](Self::build) fail naming it.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.key.tls.ca_file = Some(path.into());
        self
    }

    /// Connections of this user's own (the default): as Locust's sessions, k6's VUs and
    /// Goose's users, each user opens its own keep-alive connection and does its own TLS
    /// handshake, so the server sees as many clients as the run has users.
    #[must_use]
    pub fn isolated(mut self) -> Self {
        self.shared = false;
        self
    }

    /// Share one connection pool among all the users of the run (reqwest's pool; also
    /// `--shared-pool`). The server then sees a handful of keep-alive connections however
    /// many users there are: less memory and fewer handshakes in the client, but
    /// connection limits, per-connection costs and TLS handshakes of the server go
    /// untested. Useful to measure a server's request throughput alone.
    #[must_use]
    pub fn shared_pool(mut self) -> Self {
        self.shared = true;
        self
    }

    /// Build the client.
    pub fn build(mut self) -> Result<HttpClient, HttpError> {
        self.key.https = self.base.as_deref().is_some_and(|b| {
            b.get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        });
        #[cfg(feature = "tls")]
        if self.key.https || !self.key.tls.is_default() {
            // A CA file that cannot be used fails here, before any request.
            self.key
                .tls
                .http1_config()
                .map_err(|e| HttpError::Config(e.to_string()))?;
        }
        let (inner, own) = match (&self.pools, self.shared) {
            (Some(pools), true) => {
                let mut map = pools
                    .0
                    .lock()
                    .map_err(|_| HttpError::Config("the shared pool lock is poisoned".into()))?;
                let c = match map.get(&self.key) {
                    Some(c) => c.clone(),
                    None => {
                        let c = build_pool(&self.key)?;
                        map.insert(self.key.clone(), c.clone());
                        c
                    }
                };
                (c, None)
            }
            (None, true) => (build_pool(&self.key)?, None),
            (_, false) => {
                let own = Own {
                    conns: OwnConnections::default(),
                    options: ConnOptions {
                        timeout: self.key.timeout,
                        connect_timeout: self.key.connect_timeout,
                        max_redirects: self.key.max_redirects,
                        max_body: self.key.max_body,
                        #[cfg(feature = "tls")]
                        tls: self.key.tls.clone(),
                    },
                };
                (request_factory()?, Some(Arc::new(own)))
            }
        };
        let base = self.base.map(|b| Arc::from(b.trim_end_matches('/')));
        Ok(HttpClient {
            inner,
            own,
            base,
            headers: Arc::new(self.headers),
            jar: Arc::new(Cookies::default()),
            max_body: self.key.max_body,
            recorder: self.recorder,
        })
    }
}

/// A user's own connections and their options.
#[derive(Debug)]
pub(crate) struct Own {
    pub(crate) conns: OwnConnections,
    pub(crate) options: ConnOptions,
}

/// The client that builds the requests of users with their own connections (it sends
/// none: reqwest's request builder needs a client to hang from). One per process.
fn request_factory() -> Result<reqwest::Client, HttpError> {
    static FACTORY: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(c) = FACTORY.get() {
        return Ok(c.clone());
    }
    let c = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| HttpError::Config(format!("cannot build the HTTP client: {e}")))?;
    Ok(FACTORY.get_or_init(|| c).clone())
}

/// A user's HTTP client: relative paths go to the run's host, cookies are kept per user,
/// and every request is timed and recorded (Locust's `self.client`).
///
/// Each user's client opens connections of its own (see
/// [`shared_pool`](HttpClientBuilder::shared_pool) for the other choice).
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
    /// The user's own connections, unless it uses the run's shared pool.
    pub(crate) own: Option<Arc<Own>>,
    pub(crate) base: Option<Arc<str>>,
    pub(crate) headers: Arc<HeaderMap>,
    pub(crate) jar: Arc<Cookies>,
    /// The largest response body read (`max_body_size`).
    pub(crate) max_body: Option<u64>,
    pub(crate) recorder: Recorder,
}

/// A user's cookie jar. It knows when it has never been given a cookie (most load
/// tests), so that a request then skips its lock and matching.
///
/// Ours rather than reqwest's `Jar`: reqwest's `cookies` feature, which that needs, also
/// puts a layer in every client that parses each request's URL once more, cookies or not.
/// The behaviour is that of reqwest's `Jar` (the same `cookie_store`).
#[derive(Default)]
pub(crate) struct Cookies {
    store: RwLock<cookie_store::CookieStore>,
    used: AtomicBool,
}

impl Cookies {
    /// The `Cookie` header for a request to `url`.
    pub(crate) fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        if !self.used.load(Ordering::Relaxed) {
            return None;
        }
        let store = self.store.read().unwrap_or_else(PoisonError::into_inner);
        let mut header = String::new();
        for (name, value) in store.get_request_values(url) {
            if !header.is_empty() {
                header.push_str("; ");
            }
            header.push_str(name);
            header.push('=');
            header.push_str(value);
        }
        if header.is_empty() {
            None
        } else {
            HeaderValue::from_maybe_shared(Bytes::from(header)).ok()
        }
    }

    /// Keep the cookies of a response from `url` (unparsable ones are ignored).
    pub(crate) fn store<'a>(&self, set_cookie: impl Iterator<Item = &'a HeaderValue>, url: &Url) {
        self.used.store(true, Ordering::Relaxed);
        let cookies = set_cookie.filter_map(|v| {
            let text = std::str::from_utf8(v.as_bytes()).ok()?;
            cookie::Cookie::parse(text)
                .ok()
                .map(cookie::Cookie::into_owned)
        });
        self.store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .store_response_cookies(cookies, url);
    }
}

/// How many parsed URLs each thread keeps.
const URL_CACHE_SIZE: usize = 16;

/// Recently parsed request URLs of this thread, by (host, path): a load test sends the
/// same few paths over and over, and parsing a URL (its host above all) costs more than
/// the rest of building a request. Per thread rather than per user, so that users cost
/// no memory for it and share the hot paths without a lock.
#[derive(Default)]
struct UrlCache {
    entries: Vec<(Option<Arc<str>>, Box<str>, Url)>,
    /// The entry to replace next once the cache is full.
    next: usize,
}

thread_local! {
    static URLS: RefCell<UrlCache> = RefCell::new(UrlCache::default());
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
                #[cfg(feature = "tls")]
                tls: crate::tls::TlsSettings::of_run(ctx),
                ..PoolKey::default()
            },
            shared: ctx
                .setting::<swarm_core::TransportOptions>()
                .is_some_and(|o| o.shared_pool),
            recorder: ctx.recorder().clone(),
            pools: Some(ctx.shared(Pools::default)),
        }
    }

    /// A client outside a run, recording into `recorder`, with `base` as its host.
    pub fn standalone(base: Option<&str>, recorder: Recorder) -> HttpClientBuilder {
        HttpClientBuilder {
            base: base.map(str::to_owned),
            headers: HeaderMap::new(),
            key: PoolKey::default(),
            shared: false,
            recorder,
            pools: None,
        }
    }

    /// The URL for a path: relative paths are appended to the host, absolute URLs are
    /// kept.
    pub fn url(&self, path: &str) -> String {
        join(self.base.as_deref(), path)
    }

    /// The parsed URL for a path, from this thread's cache when it was parsed before.
    /// `None` when it does not parse: the caller hands the text to reqwest, which
    /// reports the error as it always did.
    pub(crate) fn parsed_url(&self, path: &str) -> Option<Url> {
        cached_url(self.base.as_ref(), path)
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

/// `path` on `base`: relative paths are appended to it, absolute URLs are kept.
fn join(base: Option<&str>, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    match base {
        Some(base) if path.starts_with('/') => format!("{base}{path}"),
        Some(base) => format!("{base}/{path}"),
        None => path.to_owned(),
    }
}

/// `Url::parse(&join(base, path))`, from this thread's cache when it was parsed before.
fn cached_url(base: Option<&Arc<str>>, path: &str) -> Option<Url> {
    URLS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, _, url)) = cache
            .entries
            .iter()
            .find(|(b, p, _)| **p == *path && b.as_deref() == base.map(|b| &**b))
        {
            return Some(url.clone());
        }
        let url = Url::parse(&join(base.map(|b| &**b), path)).ok()?;
        let entry = (base.cloned(), Box::from(path), url.clone());
        if cache.entries.len() < URL_CACHE_SIZE {
            cache.entries.push(entry);
        } else {
            let i = cache.next;
            cache.entries[i] = entry;
            cache.next = (i + 1) % URL_CACHE_SIZE;
        }
        Some(url)
    })
}

#[cfg(test)]
mod tests;
