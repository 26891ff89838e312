//! HTTP Basic authentication of every route, and the same-origin check of commands.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::WebError;

/// The expected `user:pass`, kept as its SHA-256 digest: requests are compared digest to
/// digest in constant time, so neither the password's content nor its length shows in
/// the timing. `Debug` shows the user only.
#[derive(Clone)]
pub(crate) struct Credentials {
    user: String,
    digest: [u8; 32],
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Credentials {
    /// `user:pass`, both non-empty (the password may hold colons).
    pub(crate) fn parse(text: &str, source_name: &str) -> Result<Self, WebError> {
        match text.split_once(':') {
            Some((user, pass)) if !user.is_empty() && !pass.is_empty() => Ok(Credentials {
                user: user.to_owned(),
                digest: digest(text.as_bytes()),
            }),
            _ => Err(WebError::BadCredentials {
                source_name: source_name.to_owned(),
            }),
        }
    }

    /// Whether the request's `Authorization` header carries these credentials.
    pub(crate) fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        digest(&decoded).ct_eq(&self.digest).into()
    }
}

/// Refuse a request without the credentials (401 with `WWW-Authenticate`, so a browser
/// asks for them), when there are credentials.
pub(crate) async fn require(
    State(creds): State<Option<Arc<Credentials>>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(creds) = creds {
        if !creds.accepts(req.headers()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"swarm\", charset=\"UTF-8\""),
                )],
                "authentication required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Refuse a command (a POST) sent by a page of another origin: a browser sends `Origin`
/// on cross-site form posts, scripts and `curl` send none. Without this, any web page the
/// user visits could start load through a UI on loopback.
pub(crate) async fn same_origin(req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        let headers = req.headers();
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin_host = origin
                .split_once("://")
                .map_or(origin, |(_, rest)| rest)
                .trim_end_matches('/');
            if origin_host != host {
                return (
                    StatusCode::FORBIDDEN,
                    "cross-origin command refused: the Origin header does not match the Host\n",
                )
                    .into_response();
            }
        }
    }
    next.run(req).await
}

/// Headers on every answer: no sniffing, no framing, scripts and styles from this origin
/// only (the page loads nothing from elsewhere).
pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // A route with a stricter policy of its own (the HTML report) keeps it.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        );
        h.insert(header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn accepts_only_the_exact_pair() {
        let c = Credentials::parse("ann:s3:cret", "test").unwrap();
        assert!(c.accepts(&basic("ann:s3:cret")));
        assert!(!c.accepts(&basic("ann:s3:cre")));
        assert!(!c.accepts(&basic("bob:s3:cret")));
        assert!(!c.accepts(&HeaderMap::new()));
        assert!(!format!("{c:?}").contains("s3"));
    }

    #[test]
    fn refuses_malformed_credentials() {
        for bad in ["", "ann", "ann:", ":pw"] {
            assert!(Credentials::parse(bad, "test").is_err(), "{bad:?}");
        }
    }
}
