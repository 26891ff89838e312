//! TLS for the agent's transports: one rustls client configuration per distinct setting
//! (accept any certificate, trust an extra CA file), built once and shared by every agent
//! that asks for it, and used alike by the HTTP client (reqwest) and the WebSockets
//! (tokio-tungstenite). The crypto provider is the process default if one is installed,
//! else aws-lc-rs (what reqwest's `rustls` feature uses).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::error::TlsError;

/// What decides a TLS configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct TlsSettings {
    /// Accept any certificate (self-signed, expired, for another name).
    pub(crate) insecure: bool,
    /// Trust the CA certificates in this PEM file, besides the system's.
    pub(crate) ca_file: Option<PathBuf>,
}

impl TlsSettings {
    /// Whether these are the defaults (the system's trust store, verification on).
    pub(crate) fn is_default(&self) -> bool {
        !self.insecure && self.ca_file.is_none()
    }
}

/// The clients of one TLS setting.
#[derive(Debug)]
pub(crate) struct Clients {
    /// HTTP(S) posts.
    pub(crate) http: reqwest::Client,
    /// WebSocket handshakes over TLS (`wss://`).
    pub(crate) ws: Arc<ClientConfig>,
}

/// The clients for `settings`: built on first use, then shared (a CA file is read once;
/// a failed build is not kept, so the next call tries again).
pub(crate) fn clients(settings: &TlsSettings) -> Result<Arc<Clients>, TlsError> {
    static BUILT: OnceLock<Mutex<HashMap<TlsSettings, Arc<Clients>>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = built.get(settings) {
        return Ok(Arc::clone(c));
    }
    let c = Arc::new(build(settings)?);
    built.insert(settings.clone(), Arc::clone(&c));
    Ok(c)
}

/// An agent's TLS: the clients of its non-default settings, or `None` for the defaults,
/// which are built only when a `wss://` endpoint needs them (a machine without a system
/// trust store can still use plain `ws://` and `http://`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tls(Option<Arc<Clients>>);

impl Tls {
    pub(crate) fn new(settings: &TlsSettings) -> Result<Tls, TlsError> {
        if settings.is_default() {
            Ok(Tls(None))
        } else {
            clients(settings).map(|c| Tls(Some(c)))
        }
    }

    /// The HTTP client of the agent's own settings, when it has any.
    pub(crate) fn http(&self) -> Option<&reqwest::Client> {
        self.0.as_ref().map(|c| &c.http)
    }

    /// The configuration for a `wss://` handshake.
    pub(crate) fn ws_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        match &self.0 {
            Some(c) => Ok(Arc::clone(&c.ws)),
            None => clients(&TlsSettings::default()).map(|c| Arc::clone(&c.ws)),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

fn build(settings: &TlsSettings) -> Result<Clients, TlsError> {
    let config = config(settings)?;
    let mut for_http = config.clone();
    // Built without HTTP/2: ask for HTTP/1.1 only.
    for_http.alpn_protocols = vec![b"http/1.1".to_vec()];
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(for_http)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| TlsError::Setup(format!("cannot build the HTTP client: {e}")))?;
    Ok(Clients {
        http,
        ws: Arc::new(config),
    })
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
fn host_of(url: &str) -> String {
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
pub(crate) fn tls_failure(url: &str, err: &(dyn std::error::Error + 'static)) -> Option<TlsError> {
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
        let err = Tls::new(&settings).expect_err("no such file");
        assert!(matches!(err, TlsError::CaFile { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let path = std::env::temp_dir().join(format!("swarm-aries-no-cert-{}", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = read_ca_file(&path).expect_err("no certificate");
        std::fs::remove_file(&path).unwrap();
        assert!(err.to_string().contains("no certificate"), "{err}");
    }

    #[test]
    fn insecure_clients_are_built_once_and_shared() {
        let settings = TlsSettings {
            insecure: true,
            ca_file: None,
        };
        let a = clients(&settings).unwrap();
        let b = clients(&settings).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Tls::new(&settings).unwrap().http().is_some());
        assert!(Tls::new(&TlsSettings::default()).unwrap().http().is_none());
    }

    #[test]
    fn host_of_names_host_and_port() {
        assert_eq!(host_of("wss://127.0.0.1:8443/ws"), "127.0.0.1:8443");
        assert_eq!(host_of("https://example.org/"), "example.org:443");
        assert_eq!(host_of("not a url"), "not a url");
    }
}
