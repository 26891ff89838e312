//! Parsing a response head (`httparse`) into what the exchange needs: status, framing,
//! whether the connection stays open.

use std::mem::MaybeUninit;

use http::StatusCode;

use super::{Error, Framing, Head, MAX_HEADERS};

/// The response head at the start of `bytes` and its length, or `None` when it is not
/// all there yet.
pub(super) fn parse_head(bytes: &[u8], head_only: bool) -> Result<Option<(Head, usize)>, Error> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, bytes, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Error::Head(format!(
                "a response with more than {MAX_HEADERS} headers"
            )))
        }
        Err(e) => return Err(Error::Head(format!("not an HTTP/1.x response: {e}"))),
    };
    let status = resp
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| Error::Head("a response without a valid status".to_owned()))?;
    let http11 = resp.version == Some(1);
    let base = bytes.as_ptr() as usize;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut other_coding = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut location = None;
    let mut set_cookie = false;
    for h in &*resp.headers {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::Head("an invalid Content-Length".to_owned()))?;
            if length.is_some_and(|l| l != n) {
                return Err(Error::Head("two different Content-Lengths".to_owned()));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // The last coding decides: chunked, or a body that ends with the connection.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            let is_chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            chunked = is_chunked;
            other_coding = !is_chunked;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"location") {
            let start = h.value.as_ptr() as usize - base;
            location = Some((start, start + h.value.len()));
        } else if name.eq_ignore_ascii_case(b"set-cookie") {
            set_cookie = true;
        }
    }
    let no_body = head_only
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = if no_body {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if other_coding {
        Framing::Close
    } else {
        match length {
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    let keep_alive = !close
        && (http11 || keep_alive_token)
        && status != StatusCode::SWITCHING_PROTOCOLS
        // Both a length and a coding: smuggling territory; use the connection once.
        && !(length.is_some() && (chunked || other_coding));
    Ok(Some((
        Head {
            status,
            framing,
            keep_alive,
            location,
            set_cookie,
        },
        len,
    )))
}
