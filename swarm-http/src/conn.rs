//! A user's own connections: HTTP/1.1 over hyper's client connection (`client::conn::http1`)
//! on a TCP stream, or a TLS stream for `https://`, as a real client holds them. Each user
//! opens its own keep-alive connection (and does its own TLS handshake); a second one only
//! when it sends two requests at once. No pool is shared with other users, so the server
//! sees as many clients as the run has users.
//!
//! Redirects, time-outs, default headers and cookies are applied here, as reqwest applies
//! them for the shared pool.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, COOKIE, HOST, LOCATION, USER_AGENT};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

use crate::client::HttpClient;

/// The user agent sent by default.
pub(crate) const USER_AGENT_VALUE: &str = concat!("swarm/", env!("CARGO_PKG_VERSION"));

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &Url) -> Result<Origin, Failure> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(Failure::Builder(format!(
                    "the scheme {other}:// is not supported (http:// or https://)"
                )))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| Failure::Builder(format!("{url} has no host")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Failure::Builder(format!("{url} has no port")))?;
        Ok(Origin {
            https,
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port` as a socket address wants it (IPv6 without brackets).
    fn connect_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request could not be built.
    Builder(String),
    /// No connection (refused, unreachable, TLS).
    Connect(String),
    /// The request or the response failed on an open connection.
    Request(String),
    /// The body could not be read to its end.
    Body(String),
    /// Too many redirects, or a redirect to nowhere.
    Redirect(String),
    /// The time-out passed.
    Timeout,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Builder(m) => write!(f, "invalid request: {m}"),
            Failure::Connect(m) => write!(f, "connection error: {m}"),
            Failure::Request(m) => write!(f, "request error: {m}"),
            Failure::Body(m) => write!(f, "error reading the body: {m}"),
            Failure::Redirect(m) => write!(f, "redirect error: {m}"),
            Failure::Timeout => f.write_str("timed out"),
        }
    }
}

/// The innermost cause of an error, as text.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A user's idle connections (usually one).
#[derive(Default)]
pub(crate) struct OwnConnections {
    idle: Mutex<Vec<(Origin, http1::SendRequest<reqwest::Body>)>>,
}

impl fmt::Debug for OwnConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnConnections")
    }
}

impl OwnConnections {
    /// An idle, open connection to `origin`, if the user has one.
    fn take(&self, origin: &Origin) -> Option<http1::SendRequest<reqwest::Body>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|(_, s)| !s.is_closed());
        let i = idle.iter().position(|(o, _)| o == origin)?;
        Some(idle.swap_remove(i).1)
    }

    /// Keep a connection for the next request.
    fn put(&self, origin: Origin, send: http1::SendRequest<reqwest::Body>) {
        if !send.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((origin, send));
        }
    }
}

/// The options of a user's own connections.
#[derive(Debug, Clone)]
pub(crate) struct ConnOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) max_redirects: usize,
    #[cfg(feature = "tls")]
    pub(crate) tls: crate::tls::TlsSettings,
}

/// What a request gave: status, headers, final URL, body.
pub(crate) type Answer = (StatusCode, http::HeaderMap, Url, Bytes);

/// Send `req` on the user's own connections, following redirects; cookies of every hop go
/// to the user's jar.
pub(crate) async fn execute(
    client: &HttpClient,
    conns: &OwnConnections,
    options: &ConnOptions,
    req: reqwest::Request,
) -> Result<Answer, Failure> {
    let timeout = req.timeout().copied().or(options.timeout);
    let work = follow(client, conns, options, req);
    match timeout {
        Some(t) => tokio::time::timeout(t, work)
            .await
            .unwrap_or(Err(Failure::Timeout)),
        None => work.await,
    }
}

async fn follow(
    client: &HttpClient,
    conns: &OwnConnections,
    options: &ConnOptions,
    mut req: reqwest::Request,
) -> Result<Answer, Failure> {
    let mut redirects = 0;
    loop {
        let again = req.try_clone();
        let url = req.url().clone();
        let (status, headers, body) = send_once(client, conns, options, req).await?;
        let mut set = headers.get_all(http::header::SET_COOKIE).iter().peekable();
        if set.peek().is_some() {
            client.jar.store(set, &url);
        }
        let Some(location) = headers.get(LOCATION).filter(|_| status.is_redirection()) else {
            return Ok((status, headers, url, body));
        };
        if options.max_redirects == 0 || status == StatusCode::NOT_MODIFIED {
            return Ok((status, headers, url, body));
        }
        if redirects >= options.max_redirects {
            return Err(Failure::Redirect(format!(
                "more than {} redirects (the last to {})",
                options.max_redirects,
                String::from_utf8_lossy(location.as_bytes())
            )));
        }
        redirects += 1;
        let next = location
            .to_str()
            .ok()
            .and_then(|l| url.join(l).ok())
            .ok_or_else(|| {
                Failure::Redirect(format!(
                    "a Location that is not a URL: {:?}",
                    String::from_utf8_lossy(location.as_bytes())
                ))
            })?;
        let Some(mut again) = again else {
            // A streamed body cannot be sent twice: the redirect is the answer.
            return Ok((status, headers, url, body));
        };
        let keep_method = matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        );
        if !keep_method && again.method() != Method::HEAD {
            *again.method_mut() = Method::GET;
            *again.body_mut() = None;
            let h = again.headers_mut();
            h.remove(http::header::CONTENT_TYPE);
            h.remove(http::header::CONTENT_LENGTH);
        }
        let same_origin = Origin::of(&next).ok() == Origin::of(&url).ok();
        if !same_origin {
            again.headers_mut().remove(AUTHORIZATION);
        }
        // The jar decides the next hop's cookies.
        again.headers_mut().remove(COOKIE);
        *again.url_mut() = next;
        req = again;
    }
}

/// One request and its response body, on an idle connection of the user or a new one.
async fn send_once(
    client: &HttpClient,
    conns: &OwnConnections,
    options: &ConnOptions,
    req: reqwest::Request,
) -> Result<(StatusCode, http::HeaderMap, Bytes), Failure> {
    let origin = Origin::of(req.url())?;
    let request = to_http(client, &origin, req)?;
    let mut send = match conns.take(&origin) {
        Some(s) => s,
        None => connect(&origin, options).await?,
    };
    // A kept connection the server closed meanwhile fails here at once; that is counted
    // as this request's failure, as a real client's would be.
    send.ready()
        .await
        .map_err(|e| Failure::Request(root_cause(&e)))?;
    let response = send
        .send_request(request)
        .await
        .map_err(|e| Failure::Request(root_cause(&e)))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| Failure::Body(root_cause(&e)))?
        .to_bytes();
    conns.put(origin, send);
    Ok((parts.status, parts.headers, body))
}

/// The request as hyper sends it: origin-form target, `Host`, the client's default
/// headers, the user's cookies.
fn to_http(
    client: &HttpClient,
    origin: &Origin,
    mut req: reqwest::Request,
) -> Result<http::Request<reqwest::Body>, Failure> {
    let url = req.url();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let default_port = if origin.https { 443 } else { 80 };
    let host = if origin.port == default_port {
        origin.host.clone()
    } else {
        format!("{}:{}", origin.host, origin.port)
    };
    let cookie = if req.headers().contains_key(COOKIE) {
        None
    } else {
        client.jar.header_for(url)
    };
    let mut out = http::Request::builder()
        .method(req.method().clone())
        .uri(target)
        .body(req.body_mut().take().unwrap_or_default())
        .map_err(|e| Failure::Builder(e.to_string()))?;
    let headers = out.headers_mut();
    *headers = std::mem::take(req.headers_mut());
    for (k, v) in client.headers.iter() {
        if !headers.contains_key(k) {
            headers.insert(k.clone(), v.clone());
        }
    }
    if let Some(c) = cookie {
        headers.insert(COOKIE, c);
    }
    if !headers.contains_key(HOST) {
        let value = HeaderValue::from_str(&host).map_err(|e| Failure::Builder(e.to_string()))?;
        headers.insert(HOST, value);
    }
    if !headers.contains_key(USER_AGENT) {
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    }
    if !headers.contains_key(ACCEPT) {
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    }
    Ok(out)
}

/// A new connection of the user's: TCP, then TLS for `https://`, then the HTTP/1.1
/// handshake; its driver runs as a task that ends when the connection closes.
async fn connect(
    origin: &Origin,
    options: &ConnOptions,
) -> Result<http1::SendRequest<reqwest::Body>, Failure> {
    let work = async {
        let tcp = TcpStream::connect((origin.connect_host(), origin.port))
            .await
            .map_err(|e| Failure::Connect(e.to_string()))?;
        // Best effort: a socket that refuses the option still works.
        let _ = tcp.set_nodelay(true);
        if origin.https {
            handshake_tls(origin, options, tcp).await
        } else {
            handshake(TokioIo::new(tcp)).await
        }
    };
    match options.connect_timeout {
        Some(t) => tokio::time::timeout(t, work)
            .await
            .unwrap_or_else(|_| Err(Failure::Connect(format!("no connection within {t:?}")))),
        None => work.await,
    }
}

#[cfg(feature = "tls")]
async fn handshake_tls(
    origin: &Origin,
    options: &ConnOptions,
    tcp: TcpStream,
) -> Result<http1::SendRequest<reqwest::Body>, Failure> {
    let config = options
        .tls
        .http1_config()
        .map_err(|e| Failure::Connect(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(origin.connect_host().to_owned())
        .map_err(|e| Failure::Connect(format!("{}: {e}", origin.host)))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| {
            let url = format!("https://{}:{}/", origin.host, origin.port);
            match crate::tls::tls_failure(&url, &e) {
                Some(tls) => Failure::Connect(tls.to_string()),
                None => Failure::Connect(format!(
                    "TLS with {}:{} failed: {e}",
                    origin.host, origin.port
                )),
            }
        })?;
    handshake(TokioIo::new(tls)).await
}

#[cfg(not(feature = "tls"))]
async fn handshake_tls(
    _origin: &Origin,
    _options: &ConnOptions,
    _tcp: TcpStream,
) -> Result<http1::SendRequest<reqwest::Body>, Failure> {
    Err(Failure::Builder(
        "https:// needs the `tls` feature of swarm-http".to_owned(),
    ))
}

async fn handshake<T>(io: T) -> Result<http1::SendRequest<reqwest::Body>, Failure>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (send, conn) = http1::Builder::new()
        .handshake(io)
        .await
        .map_err(|e| Failure::Connect(root_cause(&e)))?;
    tokio::spawn(async move {
        // Ends when the user drops its client or either side closes; a failure shows in
        // the request that was on it.
        let _ = conn.await;
    });
    Ok(send)
}
