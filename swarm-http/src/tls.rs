//! TLS for every transport of Swarm (HTTPS, `wss://`, and crates built on this one such as
//! swarm-aries): rustls with aws-lc-rs (the provider reqwest's `rustls` feature uses),
//! certificates checked by the platform verifier, optionally with the CA certificates of a
//! PEM file added, or not checked at all ([`TlsSettings::insecure`], `--insecure`).
//!
//! One client configuration is built per distinct [`TlsSettings`] in the process and
//! shared: a CA file is read once, and every user's connection does its own handshake with
//! it (as real clients do; no session is shared between users).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// What decides a TLS client configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// Accept any certificate (self-signed, expired, for another name). The handshake is
    /// still checked against the key of the certificate the server shows.
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file, besides the system's.
    pub ca_file: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether these are the defaults (the system's trust store, verification on).
    pub fn is_default(&self) -> bool {
        !self.insecure && self.ca_file.is_none()
    }

    /// The settings of a run: `--insecure` (or [`Swarm::insecure`](swarm_core::Swarm::insecure))
    /// when it is set, else the defaults.
    pub fn of_run(ctx: &swarm_core::UserContext) -> TlsSettings {
        TlsSettings {
            insecure: ctx
                .setting::<swarm_core::TransportOptions>()
                .is_some_and(|o| o.insecure),
            ca_file: None,
        }
    }

    /// The client configuration for these settings, without ALPN (WebSockets).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        built(self).map(|c| Arc::clone(&c.plain))
    }

    /// The client configuration for these settings asking for HTTP/1.1 by ALPN.
    pub fn http1_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        built(self).map(|c| Arc::clone(&c.http1))
    }
}

/// The configurations of one setting.
#[derive(Debug)]
struct Built {
    plain: Arc<ClientConfig>,
    http1: Arc<ClientConfig>,
}

/// The configurations for `settings`: built on first use, then shared (a failed build is
/// not kept, so the next call tries again).
fn built(settings: &TlsSettings) -> Result<Arc<Built>, TlsError> {
    static BUILT: OnceLock<Mutex<HashMap<TlsSettings, Arc<Built>>>> = OnceLock::new();
    let mut map = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(b) = map.get(settings) {
        return Ok(Arc::clone(b));
    }
    let plain = config(settings)?;
    let mut http1 = plain.clone();
    http1.alpn_protocols = vec![b"http/1.1".to_vec()];
    let b = Arc::new(Built {
        plain: Arc::new(plain),
        http1: Arc::new(http1),
    });
    map.insert(settings.clone(), Arc::clone(&b));
    Ok(b)
}

/// TLS that cannot be set up, or a TLS handshake that failed (`https://`, `wss://`).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The extra CA certificate file cannot be read or holds no PEM certificate.
    #[error("cannot use the CA certificate file {}: {reason}", path.display())]
    CaFile {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The server's certificate was rejected (unknown issuer, self-signed, expired, or
    /// issued for another name).
    #[error(
        "TLS with {host}: the server's certificate is not trusted: {reason} (trust its CA with \
         a CA file, or accept any certificate with --insecure or the client's insecure option)"
    )]
    Certificate {
        /// `host:port` of the server.
        host: String,
        /// Why, as rustls says it.
        reason: String,
    },
    /// The TLS handshake failed for another reason (no TLS on that port, no common
    /// protocol version or cipher suite, ...).
    #[error("TLS with {host} failed: {reason}")]
    Handshake {
        /// `host:port` of the server.
        host: String,
        /// Why, as rustls says it.
        reason: String,
    },
    /// The TLS client cannot be built (for example no system trust store was found).
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

fn config(settings: &TlsSettings) -> Result<ClientConfig, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous();
    let builder = if settings.insecure {
        builder.with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let extra = match &settings.ca_file {
            Some(path) => read_ca_file(path)?,
            None => Vec::new(),
        };
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| match &settings.ca_file {
                Some(path) => TlsError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                },
                None => TlsError::Setup(format!("no trust store: {e}")),
            })?;
        builder.with_custom_certificate_verifier(Arc::new(verifier))
    };
    Ok(builder.with_no_client_auth())
}

/// The certificates of a PEM file (at least one).
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |reason: String| TlsError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| failed(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(failed(
            "no certificate in it (a PEM file with -----BEGIN CERTIFICATE----- is expected)"
                .to_owned(),
        ));
    }
    Ok(certs)
}

/// Accepts any server certificate (the `insecure` setting), yet still checks that the
/// handshake is signed by the key of the certificate the server sent.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `host:port` of a URL (the URL itself if it does not parse).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port_or_known_default() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        })
        .unwrap_or_else(|| url.to_owned())
}

/// The TLS failure somewhere in `err`'s chain of causes, as a [`TlsError`] naming the host
/// of `url`; `None` when the failure is not about TLS.
pub fn tls_failure(url: &str, err: &(dyn std::error::Error + 'static)) -> Option<TlsError> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(r) = rustls_error(e) {
            return Some(classify(host_of(url), r));
        }
        next = e.source();
    }
    None
}

/// A rustls error: this one, or one an I/O error wraps, at any depth (tokio-rustls
/// reports handshake failures as I/O errors, hyper wraps those in I/O errors again, and an
/// I/O error's `source` skips the error it wraps).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut e = e;
    // Bounded: real chains are two or three deep.
    for _ in 0..8 {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(tokio_tungstenite::tungstenite::error::TlsError::Rustls(r)) =
            e.downcast_ref::<tokio_tungstenite::tungstenite::error::TlsError>()
        {
            return Some(r);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        e = inner;
    }
    None
}

fn classify(host: String, e: &rustls::Error) -> TlsError {
    match e {
        rustls::Error::InvalidCertificate(_) => TlsError::Certificate {
            host,
            reason: e.to_string(),
        },
        _ => TlsError::Handshake {
            host,
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_names_the_file() {
        let settings = TlsSettings {
            insecure: false,
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let err = settings.client_config().expect_err("no such file");
        assert!(matches!(err, TlsError::CaFile { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("swarm-http-no-cert-{}", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = read_ca_file(&path).expect_err("no certificate");
        std::fs::remove_file(&path).unwrap();
        assert!(err.to_string().contains("no certificate"), "{err}");
    }

    #[test]
    fn configurations_are_built_once_and_shared() {
        let settings = TlsSettings {
            insecure: true,
            ca_file: None,
        };
        let a = settings.http1_config().unwrap();
        let b = settings.http1_config().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.alpn_protocols, [b"http/1.1".to_vec()]);
        assert!(settings.client_config().unwrap().alpn_protocols.is_empty());
    }

    #[test]
    fn host_of_names_host_and_port() {
        assert_eq!(host_of("wss://127.0.0.1:8443/ws"), "127.0.0.1:8443");
        assert_eq!(host_of("https://example.org/"), "example.org:443");
        assert_eq!(host_of("not a url"), "not a url");
    }
}
