//! A user's own connections: HTTP/1.1 (`h1`) on a TCP stream, or a TLS stream for
//! `https://`, as a real client holds them. Each user opens its own keep-alive connection
//! (and does its own TLS handshake); a second one only when it sends two requests at once.
//! No pool is shared with other users, so the server sees as many clients as the run has
//! users. An idle connection is its socket and nothing else: no task, no buffer.
//!
//! Redirects, time-outs, default headers and cookies are applied here, as reqwest applies
//! them for the shared pool.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http::header::{AUTHORIZATION, COOKIE};
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tokio::net::TcpStream;
use url::Url;

use crate::client::HttpClient;
use crate::h1;
use crate::request::ResponseHeaders;

/// The user agent sent by default.
pub(crate) const USER_AGENT_VALUE: &str = concat!("swarm/", env!("CARGO_PKG_VERSION"));

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: Box<str>,
    port: u16,
}

impl Origin {
    fn of(url: &Url) -> Result<Origin, Failure> {
        let https = is_https(url)?;
        let host = url
            .host_str()
            .ok_or_else(|| Failure::Builder(format!("{url} has no host")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Failure::Builder(format!("{url} has no port")))?;
        Ok(Origin {
            https,
            host: host.into(),
            port,
        })
    }

    /// Whether `url` goes where this connection goes.
    fn is(&self, url: &Url) -> bool {
        (url.scheme() == "https") == self.https
            && url.port_or_known_default() == Some(self.port)
            && url.host_str() == Some(&*self.host)
    }

    /// `host:port` as a socket address wants it (IPv6 without brackets).
    fn connect_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// `https://` or `http://`; any other scheme is an invalid request.
fn is_https(url: &Url) -> Result<bool, Failure> {
    match url.scheme() {
        "http" => Ok(false),
        "https" => Ok(true),
        other => Err(Failure::Builder(format!(
            "the scheme {other}:// is not supported (http:// or https://)"
        ))),
    }
}

/// Why a request got no response.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request could not be built.
    Builder(String),
    /// No connection (refused, unreachable, TLS).
    Connect(String),
    /// The request or the response head failed on an open connection.
    Request(String),
    /// The body could not be read to its end, or is over the limit.
    Body(String),
    /// Too many redirects, or a redirect to nowhere.
    Redirect(String),
    /// The time-out passed.
    Timeout(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Builder(m) => write!(f, "invalid request: {m}"),
            Failure::Connect(m) => write!(f, "connection error: {m}"),
            Failure::Request(m) => write!(f, "request error: {m}"),
            Failure::Body(m) => write!(f, "error reading the body: {m}"),
            Failure::Redirect(m) => write!(f, "redirect error: {m}"),
            Failure::Timeout(t) => write!(f, "timed out: no complete response within {t:?}"),
        }
    }
}

impl From<h1::Error> for Failure {
    fn from(e: h1::Error) -> Failure {
        match e {
            h1::Error::ClosedBeforeResponse(m) => Failure::Request(format!("no response: {m}")),
            h1::Error::Write(e) => Failure::Request(format!("cannot send the request: {e}")),
            h1::Error::Head(m) => Failure::Request(m),
            h1::Error::Body(m) => Failure::Body(m),
        }
    }
}

/// The innermost cause of an error, as text.
#[cfg(feature = "tls")]
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The stream of a connection.
enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// One open connection of a user's.
struct Conn {
    origin: Origin,
    stream: Stream,
}

impl Conn {
    /// Whether an idle connection can carry a request: the server has neither closed it
    /// nor sent anything meanwhile. Asks the socket only when the runtime has seen it
    /// become readable since the last response (no system call otherwise).
    // Without TLS the match has one arm; it stays a match so both builds read alike.
    #[cfg_attr(not(feature = "tls"), allow(clippy::infallible_destructuring_match))]
    fn usable(&self) -> bool {
        let tcp = match &self.stream {
            Stream::Plain(tcp) => tcp,
            // TLS may have records of its own pending (session tickets); a stale TLS
            // connection shows when the request is sent, and the request goes again.
            #[cfg(feature = "tls")]
            Stream::Tls(_) => return true,
        };
        let mut cx = Context::from_waker(Waker::noop());
        match tcp.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => matches!(
                tcp.try_read(&mut [0u8; 1]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
            ),
        }
    }

    async fn exchange(
        &mut self,
        buf: &mut Vec<u8>,
        req_len: usize,
        head_only: bool,
        max_body: Option<u64>,
    ) -> Result<h1::Answer, h1::Error> {
        match &mut self.stream {
            Stream::Plain(s) => h1::exchange(s, buf, req_len, head_only, max_body).await,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => h1::exchange(&mut **s, buf, req_len, head_only, max_body).await,
        }
    }
}

/// A user's idle connections (usually one).
#[derive(Default)]
pub(crate) struct OwnConnections {
    idle: Mutex<Vec<Conn>>,
}

impl fmt::Debug for OwnConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnConnections")
    }
}

impl OwnConnections {
    /// An idle, open connection for `url`, if the user has one.
    fn take(&self, url: &Url) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(i) = idle.iter().position(|c| c.origin.is(url)) {
            let conn = idle.swap_remove(i);
            if conn.usable() {
                return Some(conn);
            }
        }
        None
    }

    /// Keep a connection for the next request.
    fn put(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // Room for one: most users never hold two.
        idle.reserve_exact(1);
        idle.push(conn);
    }
}

/// The options of a user's own connections.
#[derive(Debug, Clone)]
pub(crate) struct ConnOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) max_redirects: usize,
    pub(crate) max_body: Option<u64>,
    #[cfg(feature = "tls")]
    pub(crate) tls: crate::tls::TlsSettings,
}

/// What a request gave: status, headers, final URL, body.
pub(crate) type Answer = (StatusCode, ResponseHeaders, Url, Bytes);

/// Send `req` on the user's own connections, following redirects; cookies of every hop go
/// to the user's jar.
///
/// Always under a time-out (none set: one far away), and a plain function rather than an
/// `async fn`: the request's future is then no larger than it must be (every request moves
/// it).
pub(crate) fn execute<'a>(
    client: &'a HttpClient,
    conns: &'a OwnConnections,
    options: &'a ConnOptions,
    req: reqwest::Request,
) -> impl std::future::Future<Output = Result<Answer, Failure>> + Send + 'a {
    let t = req
        .timeout()
        .copied()
        .or(options.timeout)
        .unwrap_or(Duration::MAX);
    tokio::time::timeout(t, follow(client, conns, options, req))
        .map(move |r| r.unwrap_or(Err(Failure::Timeout(t))))
}

async fn follow(
    client: &HttpClient,
    conns: &OwnConnections,
    options: &ConnOptions,
    mut req: reqwest::Request,
) -> Result<Answer, Failure> {
    let mut redirects = 0;
    loop {
        let (status, head, body) = send_once(client, conns, options, &mut req).await?;
        if head.has_set_cookie() {
            let map = head.header_map();
            client
                .jar
                .store(map.get_all(http::header::SET_COOKIE).iter(), req.url());
        }
        let location = if status.is_redirection() {
            head.location()
        } else {
            None
        };
        let Some(location) = location else {
            return Ok((status, ResponseHeaders::Raw(head), req.url().clone(), body));
        };
        if options.max_redirects == 0 || status == StatusCode::NOT_MODIFIED {
            return Ok((status, ResponseHeaders::Raw(head), req.url().clone(), body));
        }
        if redirects >= options.max_redirects {
            return Err(Failure::Redirect(format!(
                "more than {} redirects (the last to {})",
                options.max_redirects,
                String::from_utf8_lossy(location.as_bytes())
            )));
        }
        redirects += 1;
        let url = req.url();
        let next: Url = location
            .to_str()
            .ok()
            .and_then(|l| url.join(l).ok())
            .ok_or_else(|| {
                Failure::Redirect(format!(
                    "a Location that is not a URL: {:?}",
                    String::from_utf8_lossy(location.as_bytes())
                ))
            })?;
        let same_origin = Origin::of(&next).ok() == Origin::of(url).ok();
        let keep_method = matches!(
            status,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT
        );
        if !keep_method && req.method() != Method::HEAD {
            *req.method_mut() = Method::GET;
            *req.body_mut() = None;
            let h = req.headers_mut();
            h.remove(http::header::CONTENT_TYPE);
            h.remove(http::header::CONTENT_LENGTH);
        }
        if !same_origin {
            req.headers_mut().remove(AUTHORIZATION);
        }
        // The jar decides the next hop's cookies.
        req.headers_mut().remove(COOKIE);
        *req.url_mut() = next;
    }
}

/// One request and its response body, on an idle connection of the user or a new one.
/// The request is left as it was (but for a streamed body, read once), for a redirect
/// to send again.
async fn send_once(
    client: &HttpClient,
    conns: &OwnConnections,
    options: &ConnOptions,
    req: &mut reqwest::Request,
) -> Result<(StatusCode, h1::RawHead, Bytes), Failure> {
    is_https(req.url())?;
    if req.body().is_some_and(|b| b.as_bytes().is_none()) {
        // A streamed body: read it whole once; it is then sent (and sent again on a
        // redirect that keeps it) from memory.
        let streamed = req.body_mut().take().unwrap_or_default();
        let bytes = Box::pin(streamed.collect())
            .await
            .map_err(|e| Failure::Builder(format!("cannot read the request body: {e}")))?
            .to_bytes();
        *req.body_mut() = Some(bytes.into());
    }
    let url = req.url();
    let cookie = if req.headers().contains_key(COOKIE) {
        None
    } else {
        client.jar.header_for(url)
    };
    let host = &url[url::Position::BeforeHost..url::Position::AfterPort];
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let body = req
        .body()
        .and_then(reqwest::Body::as_bytes)
        .unwrap_or_default();
    let mut buf = h1::Buf::take();
    h1::write_request(
        &mut buf.0,
        req.method(),
        target,
        req.headers(),
        &h1::Extra {
            defaults: &client.headers,
            cookie,
            host,
        },
        body,
    );
    let req_len = buf.0.len();
    let head_only = req.method() == Method::HEAD;
    let (mut conn, mut reused) = match conns.take(url) {
        Some(c) => (c, true),
        // Boxed: a new connection is rare, and its future (a TLS handshake's state above
        // all) would otherwise weigh on every request's.
        None => (Box::pin(connect(url, options)).await?, false),
    };
    let answer = loop {
        match conn
            .exchange(&mut buf.0, req_len, head_only, options.max_body)
            .await
        {
            Ok(a) => break a,
            // A kept connection the server closed while it was idle: the request never
            // reached it; it goes once more on a new connection, as browsers do.
            Err(e) if reused && e.stale() => {
                reused = false;
                conn = Box::pin(connect(url, options)).await?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if answer.keep_alive {
        conns.put(conn);
    }
    Ok((answer.status, answer.head, answer.body))
}

/// A new connection for `url`: TCP, then TLS for `https://`.
async fn connect(url: &Url, options: &ConnOptions) -> Result<Conn, Failure> {
    let origin = Origin::of(url)?;
    let work = async {
        let tcp = TcpStream::connect((origin.connect_host(), origin.port))
            .await
            .map_err(|e| {
                Failure::Connect(format!("cannot reach {}:{}: {e}", origin.host, origin.port))
            })?;
        // Best effort: a socket that refuses the option still works.
        let _ = tcp.set_nodelay(true);
        if origin.https {
            handshake_tls(&origin, options, tcp).await
        } else {
            Ok(Stream::Plain(tcp))
        }
    };
    let stream = match options.connect_timeout {
        Some(t) => tokio::time::timeout(t, work)
            .await
            .unwrap_or_else(|_| Err(Failure::Connect(format!("no connection within {t:?}"))))?,
        None => work.await?,
    };
    Ok(Conn { origin, stream })
}

#[cfg(feature = "tls")]
async fn handshake_tls(
    origin: &Origin,
    options: &ConnOptions,
    tcp: TcpStream,
) -> Result<Stream, Failure> {
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
                    "TLS with {}:{} failed: {}",
                    origin.host,
                    origin.port,
                    root_cause(&e)
                )),
            }
        })?;
    Ok(Stream::Tls(Box::new(tls)))
}

#[cfg(not(feature = "tls"))]
async fn handshake_tls(
    _origin: &Origin,
    _options: &ConnOptions,
    _tcp: TcpStream,
) -> Result<Stream, Failure> {
    Err(Failure::Builder(
        "https:// needs the `tls` feature of swarm-http".to_owned(),
    ))
}
