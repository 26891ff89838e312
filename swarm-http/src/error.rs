//! Errors of the HTTP client.

/// A request that failed. It has already been recorded as a failure under its name, so
/// returning it from a task with `?` does not count it twice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The request could not be built (a bad URL, header or body).
    #[error("{name}: invalid request: {message}")]
    InvalidRequest {
        /// The name the request is grouped under.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No response: connection refused, reset, time-out.
    #[error("{name}: {message}")]
    Transport {
        /// The name the request is grouped under.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A response that the validation rejected (by default, a status of 400 or more).
    #[error("{name}: {message}")]
    Rejected {
        /// The name the request is grouped under.
        name: String,
        /// The HTTP status.
        status: u16,
        /// Why it was rejected.
        message: String,
    },
    /// A client option that cannot be used (a bad default header, a missing token
    /// variable).
    #[error("HTTP client configuration: {0}")]
    Config(String),
}

/// The message recorded for a reqwest error: its kind and innermost cause, without the
/// URL (which may carry random parts and would split the error report). A TLS failure
/// names the host and port and the reason (an untrusted certificate, a failed handshake).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    #[cfg(feature = "tls")]
    if let Some(tls) = e
        .url()
        .and_then(|url| crate::tls::tls_failure(url.as_str(), e))
    {
        return tls.to_string();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let root = cause.to_string();
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection error"
    } else if e.is_body() || e.is_decode() {
        "error reading the body"
    } else if e.is_redirect() {
        "redirect error"
    } else if e.is_builder() {
        "invalid request"
    } else {
        "request error"
    };
    if root.is_empty() || cause.to_string() == e.to_string() && e.url().is_some() {
        kind.to_owned()
    } else {
        format!("{kind}: {root}")
    }
}
