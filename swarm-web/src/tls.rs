//! The TLS configuration from `--tls-cert` and `--tls-key` (rustls, aws-lc-rs).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::WebError;

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, WebError> {
    std::fs::read(path).map_err(|source| WebError::ReadFile {
        what,
        path: path.to_owned(),
        source,
    })
}

/// A server configuration for HTTP/1.1 from a PEM certificate chain and its key; each
/// error names the file.
pub(crate) fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, WebError> {
    let bad = |what: &'static str, path: &Path, reason: String| WebError::BadPem {
        what,
        path: path.to_owned(),
        reason,
    };
    let cert_pem = read("the TLS certificate", cert)?;
    let key_pem = read("the TLS key", key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("the TLS certificate", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(
            "the TLS certificate",
            cert,
            "no CERTIFICATE block in it".to_owned(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| bad("the TLS key", key, format!("no private key in it ({e})")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("the TLS certificate", cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            bad(
                "the TLS key",
                key,
                format!("it does not fit the certificate: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
