//! Why the web UI or the metrics endpoint cannot start.

use std::path::PathBuf;

/// A startup error of the web UI or the metrics endpoint: the process says which and
/// exits with the configuration exit code (2) before any load is sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// A non-loopback address without credentials: anyone who can reach it could
    /// start load from this machine.
    #[error(
        "refusing to serve {what} on {addr} without credentials: it is not a loopback \
         address, so anyone who can reach it could drive the load. Give --web-auth USER:PASS \
         (or SWARM_WEB_AUTH, or --web-auth-file FILE), or bind to 127.0.0.1"
    )]
    NonLoopbackWithoutAuth {
        /// `--web-host` or `--metrics-bind`.
        what: &'static str,
        /// The address.
        addr: String,
    },
    /// The credentials are not `user:pass`.
    #[error("invalid {source_name}: expected USER:PASS with a non-empty user and password")]
    BadCredentials {
        /// Where they came from (`--web-auth`, `--web-auth-file FILE`).
        source_name: String,
    },
    /// A file (credentials, certificate, key) cannot be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    ReadFile {
        /// What the file is for.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate or key file holds no usable PEM item.
    #[error("{what} {} is unusable: {reason}", path.display())]
    BadPem {
        /// What the file is for.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Only one of `--tls-cert` and `--tls-key` is given.
    #[error("--tls-cert and --tls-key go together: give both or neither")]
    TlsPair,
    /// The address does not resolve or parse.
    #[error("invalid {what} {addr:?}: {reason}")]
    BadAddress {
        /// `--web-host` or `--metrics-bind`.
        what: &'static str,
        /// The address given.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// `--web-host` or `--metrics-bind`.
        what: &'static str,
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
