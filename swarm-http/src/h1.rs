//! HTTP/1.1 on a user's own connection: the request written in one go, the response head
//! parsed by `httparse` (hyper's parser), its body framed by `Content-Length`, chunked
//! transfer coding (`httparse::parse_chunk_size`) or the end of the connection.
//!
//! Written here rather than through hyper's client connection so that an idle connection
//! holds nothing but its socket: hyper's keeps two 8 KB buffers, a request channel and a
//! task of its own per connection (21 kB per user in all, issue 10), and every request
//! crosses that channel and wakes that task. Here a request borrows a buffer from its
//! thread's pool for as long as it is on the wire, and the user's own task does the I/O.

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most headers a response may have.
const MAX_HEADERS: usize = 100;

/// The longest response head (status line and headers) read.
const MAX_HEAD: usize = 64 * 1024;

/// The size a request buffer starts at (a request head and a small response fit).
const BUF_SIZE: usize = 4096;

/// Buffers larger than this are not kept for the next request.
const POOLED_MAX: usize = 64 * 1024;

/// How many idle buffers each thread keeps.
const POOL_LEN: usize = 32;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer borrowed from this thread's pool for one request; back to the pool (of the
/// thread that drops it) when dropped, whether the request finished or was cancelled.
pub(crate) struct Buf(pub(crate) Vec<u8>);

impl Buf {
    pub(crate) fn take() -> Buf {
        let v = POOL
            .with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| Vec::with_capacity(BUF_SIZE));
        Buf(v)
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        let mut v = std::mem::take(&mut self.0);
        if v.capacity() == 0 || v.capacity() > POOLED_MAX {
            return;
        }
        v.clear();
        // `try_with`: a buffer dropped while the thread ends is simply freed.
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_LEN {
                p.push(v);
            }
        });
    }
}

/// What goes into a request besides the caller's own headers.
pub(crate) struct Extra<'a> {
    /// The client's default headers (sent unless the request has its own).
    pub(crate) defaults: &'a HeaderMap,
    /// The user's cookies for this URL, unless the request set `Cookie` itself.
    pub(crate) cookie: Option<HeaderValue>,
    /// `host[:port]` for the `Host` header.
    pub(crate) host: &'a str,
}

/// Headers always sent unless the request or the defaults have them.
const FALLBACKS: [(HeaderName, &str); 2] = [
    (http::header::USER_AGENT, crate::conn::USER_AGENT_VALUE),
    (http::header::ACCEPT, "*/*"),
];

/// Write the request (head and body) into `out`.
pub(crate) fn write_request(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    extra: &Extra<'_>,
    body: &[u8],
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut line = |name: &HeaderName, value: &[u8]| {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    // The framing is ours: the body is sent whole, with its length.
    let ours = |name: &HeaderName| name == CONTENT_LENGTH || name == TRANSFER_ENCODING;
    if !headers.contains_key(HOST) {
        line(&HOST, extra.host.as_bytes());
    }
    for (name, value) in headers {
        if !ours(name) {
            line(name, value.as_bytes());
        }
    }
    for (name, value) in extra.defaults {
        if !ours(name) && name != HOST && !headers.contains_key(name) {
            line(name, value.as_bytes());
        }
    }
    if let Some(cookie) = &extra.cookie {
        line(&http::header::COOKIE, cookie.as_bytes());
    }
    for (name, value) in &FALLBACKS {
        if !headers.contains_key(name) && !extra.defaults.contains_key(name) {
            line(name, value.as_bytes());
        }
    }
    let needs_length =
        !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if needs_length {
        line(&CONTENT_LENGTH, body.len().to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// A response read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) head: RawHead,
    pub(crate) body: Bytes,
    /// The connection may carry the next request.
    pub(crate) keep_alive: bool,
}

/// Why an exchange failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The connection ended (closed or reset) before a byte of the response: on a kept
    /// connection, the server had closed it meanwhile.
    ClosedBeforeResponse(String),
    /// Writing the request failed.
    Write(io::Error),
    /// The response head was bad or cut short.
    Head(String),
    /// The body was bad, cut short or too large.
    Body(String),
}

impl Error {
    /// Whether the request may be sent again on a new connection: the old one ended
    /// before any answer, as a kept connection the server closed while it was idle does.
    pub(crate) fn stale(&self) -> bool {
        match self {
            Error::ClosedBeforeResponse(_) => true,
            Error::Write(e) => matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
    }
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    Close,
}

/// What the first reading of a response head tells.
struct Head {
    status: StatusCode,
    framing: Framing,
    keep_alive: bool,
    /// Where the `Location` value is in the head.
    location: Option<(usize, usize)>,
    /// The head has a `Set-Cookie`.
    set_cookie: bool,
}

/// A response head as it came, whose header map is built only when asked for: most load
/// tests never look at a response's headers, and building the map costs more than
/// parsing the head.
#[derive(Debug, Clone)]
pub(crate) struct RawHead {
    bytes: Bytes,
    location: Option<(usize, usize)>,
    set_cookie: bool,
}

impl RawHead {
    /// The `Location` header.
    pub(crate) fn location(&self) -> Option<HeaderValue> {
        let (a, b) = self.location?;
        HeaderValue::from_maybe_shared(self.bytes.slice(a..b)).ok()
    }

    /// Whether the head has a `Set-Cookie`.
    pub(crate) fn has_set_cookie(&self) -> bool {
        self.set_cookie
    }

    /// The headers, as a map whose values share the head's bytes.
    pub(crate) fn header_map(&self) -> HeaderMap {
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut []);
        let mut map = HeaderMap::new();
        if httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut resp, &self.bytes, &mut slots)
            .is_err()
        {
            return map;
        }
        let base = self.bytes.as_ptr() as usize;
        map.reserve(resp.headers.len());
        for h in &*resp.headers {
            let start = h.value.as_ptr() as usize - base;
            let value = self.bytes.slice(start..start + h.value.len());
            // httparse checked both; a header either refuses is left out.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_maybe_shared(value),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

/// Send the request in `buf[..req_len]` and read the response after it in `buf`.
pub(crate) async fn exchange<S>(
    io: &mut S,
    buf: &mut Vec<u8>,
    req_len: usize,
    head_only: bool,
    max_body: Option<u64>,
) -> Result<Answer, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    io.write_all(&buf[..req_len]).await.map_err(Error::Write)?;
    io.flush().await.map_err(Error::Write)?;
    buf.truncate(req_len);
    let start = req_len;
    let (head, body_at) = loop {
        if let Some(parsed) = parse_head(&buf[start..], head_only)? {
            let (head, len) = parsed;
            if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
                // 100 Continue, 103 Early Hints: the answer follows.
                buf.drain(start..start + len);
                continue;
            }
            break (head, start + len);
        }
        if buf.len() - start >= MAX_HEAD {
            return Err(Error::Head(format!(
                "the response head is over {} KB",
                MAX_HEAD / 1024
            )));
        }
        let n = match fill(io, buf).await {
            Ok(n) => n,
            Err(e) if buf.len() == start => {
                return Err(Error::ClosedBeforeResponse(e.to_string()));
            }
            Err(e) => return Err(Error::Head(format!("the connection failed mid-head: {e}"))),
        };
        if n == 0 {
            return Err(if buf.len() == start {
                Error::ClosedBeforeResponse("the server closed the connection".to_owned())
            } else {
                Error::Head("the server closed the connection mid-head".to_owned())
            });
        }
    };
    let mut keep_alive = head.keep_alive;
    let head_bytes = |buf: &[u8]| Bytes::copy_from_slice(&buf[start..body_at]);
    let (raw, body) = match head.framing {
        Framing::None => {
            keep_alive &= buf.len() == body_at;
            (head_bytes(buf), Bytes::new())
        }
        Framing::Length(n) if (buf.len() - body_at) as u64 >= n => {
            over_limit(n, max_body)?;
            // The usual case, a body that came with its head: one copy for both.
            let end = body_at + usize::try_from(n).unwrap_or(usize::MAX);
            keep_alive &= buf.len() == end;
            let all = Bytes::copy_from_slice(&buf[start..end]);
            (all.slice(..body_at - start), all.slice(body_at - start..))
        }
        Framing::Length(n) => {
            over_limit(n, max_body)?;
            let (body, extra) = read_length(io, &buf[..], body_at, n).await?;
            keep_alive &= !extra;
            (head_bytes(buf), body)
        }
        Framing::Chunked => {
            let raw = head_bytes(buf);
            let (body, extra) = read_chunked(io, buf, body_at, max_body).await?;
            keep_alive &= !extra;
            (raw, body)
        }
        Framing::Close => {
            keep_alive = false;
            let body = read_to_end(io, &buf[..], body_at, max_body).await?;
            (head_bytes(buf), body)
        }
    };
    Ok(Answer {
        status: head.status,
        head: RawHead {
            bytes: raw,
            location: head.location,
            set_cookie: head.set_cookie,
        },
        body,
        keep_alive,
    })
}

fn over_limit(n: u64, max_body: Option<u64>) -> Result<(), Error> {
    match max_body {
        Some(max) if n > max => Err(Error::Body(format!(
            "the body is over the limit of {max} bytes (at least {n})"
        ))),
        _ => Ok(()),
    }
}

/// Read more of the response into `buf`'s spare room (grown when short).
async fn fill<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(buf.len().max(BUF_SIZE));
    }
    io.read_buf(buf).await
}

/// A body of `n` bytes starting at `buf[at..]`; whether more bytes followed it.
async fn read_length<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &[u8],
    at: usize,
    n: u64,
) -> Result<(Bytes, bool), Error> {
    let have = (buf.len() - at) as u64;
    if have >= n {
        let end = at + usize::try_from(n).unwrap_or(usize::MAX);
        return Ok((Bytes::copy_from_slice(&buf[at..end]), buf.len() > end));
    }
    let want = usize::try_from(n)
        .map_err(|_| Error::Body(format!("a body of {n} bytes cannot be held")))?;
    // Grown as bytes come, not trusted to the announced length at once.
    let mut body = Vec::with_capacity(want.min(1 << 20));
    body.extend_from_slice(&buf[at..]);
    while body.len() < want {
        if body.capacity() == body.len() {
            body.reserve((want - body.len()).min(body.len().max(BUF_SIZE)));
        }
        let room = (body.capacity() - body.len()).min(want - body.len());
        let got = (&mut *io)
            .take(room as u64)
            .read_buf(&mut body)
            .await
            .map_err(|e| Error::Body(format!("after {} of {want} bytes: {e}", body.len())))?;
        if got == 0 {
            return Err(Error::Body(format!(
                "the server closed the connection after {} of {want} bytes",
                body.len()
            )));
        }
    }
    Ok((Bytes::from(body), false))
}

/// A chunked body starting at `buf[at..]`; whether more bytes followed it.
async fn read_chunked<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut Vec<u8>,
    at: usize,
    max_body: Option<u64>,
) -> Result<(Bytes, bool), Error> {
    let base = at;
    let mut pos = at;
    let mut body: Vec<u8> = Vec::new();
    let closed = |body: &Vec<u8>| {
        Error::Body(format!(
            "the server closed the connection mid-body (after {} bytes)",
            body.len()
        ))
    };
    loop {
        let size = match httparse::parse_chunk_size(&buf[pos..]) {
            Ok(httparse::Status::Complete((used, size))) => {
                pos += used;
                size
            }
            Ok(httparse::Status::Partial) => {
                compact(buf, base, &mut pos);
                if fill_body(io, buf).await? == 0 {
                    return Err(closed(&body));
                }
                continue;
            }
            Err(_) => return Err(Error::Body("an invalid chunk size".to_owned())),
        };
        if size == 0 {
            break;
        }
        over_limit(body.len() as u64 + size, max_body)?;
        let mut left = usize::try_from(size)
            .map_err(|_| Error::Body(format!("a chunk of {size} bytes cannot be held")))?;
        while left > 0 {
            let take = left.min(buf.len() - pos);
            body.extend_from_slice(&buf[pos..pos + take]);
            pos += take;
            left -= take;
            if left > 0 {
                compact(buf, base, &mut pos);
                if fill_body(io, buf).await? == 0 {
                    return Err(closed(&body));
                }
            }
        }
        // The chunk's CRLF.
        while buf.len() - pos < 2 {
            compact(buf, base, &mut pos);
            if fill_body(io, buf).await? == 0 {
                return Err(closed(&body));
            }
        }
        if &buf[pos..pos + 2] != b"\r\n" {
            return Err(Error::Body("a chunk not ended by CRLF".to_owned()));
        }
        pos += 2;
    }
    // Trailer fields, if any, then the empty line.
    loop {
        match buf[pos..].windows(2).position(|w| w == b"\r\n") {
            Some(0) => {
                pos += 2;
                break;
            }
            Some(i) => pos += i + 2,
            None => {
                compact(buf, base, &mut pos);
                if buf.len() - base > MAX_HEAD {
                    return Err(Error::Body("trailers over 64 KB".to_owned()));
                }
                if fill_body(io, buf).await? == 0 {
                    return Err(closed(&body));
                }
            }
        }
    }
    Ok((Bytes::from(body), buf.len() > pos))
}

/// Drop the bytes of `buf[base..pos]`, already used.
fn compact(buf: &mut Vec<u8>, base: usize, pos: &mut usize) {
    if *pos > base {
        buf.drain(base..*pos);
        *pos = base;
    }
}

async fn fill_body<S: AsyncRead + Unpin>(io: &mut S, buf: &mut Vec<u8>) -> Result<usize, Error> {
    fill(io, buf)
        .await
        .map_err(|e| Error::Body(format!("the connection failed mid-body: {e}")))
}

/// A body that ends with the connection.
async fn read_to_end<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &[u8],
    at: usize,
    max_body: Option<u64>,
) -> Result<Bytes, Error> {
    let mut body = buf[at..].to_vec();
    loop {
        over_limit(body.len() as u64, max_body)?;
        if body.capacity() - body.len() < 1024 {
            body.reserve(body.len().max(BUF_SIZE));
        }
        let n = io
            .read_buf(&mut body)
            .await
            .map_err(|e| Error::Body(format!("the connection failed mid-body: {e}")))?;
        if n == 0 {
            return Ok(Bytes::from(body));
        }
    }
}

mod head;

use head::parse_head;

#[cfg(test)]
mod tests;
