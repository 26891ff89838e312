//! TLS for `wss://`: rustls with aws-lc-rs (the provider reqwest's `rustls` feature uses),
//! certificates checked by the platform verifier, or not checked at all on request.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::BuilderVerifierExt;

use super::WsError;

/// The client configurations of one run, built once per setting and shared by its users.
#[derive(Debug, Default)]
pub(crate) struct TlsConfigs {
    checked: std::sync::OnceLock<Result<Arc<ClientConfig>, String>>,
    unchecked: std::sync::OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl TlsConfigs {
    pub(crate) fn get(&self, accept_invalid_certs: bool) -> Result<Arc<ClientConfig>, WsError> {
        let cell = if accept_invalid_certs {
            &self.unchecked
        } else {
            &self.checked
        };
        cell.get_or_init(|| build(accept_invalid_certs).map(Arc::new))
            .clone()
            .map_err(|e| WsError::Config(format!("cannot build the TLS client: {e}")))
    }
}

fn build(accept_invalid_certs: bool) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth()
    } else {
        builder
            .with_platform_verifier()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
    };
    Ok(config)
}

/// Accepts any certificate (self-signed test targets); signatures are still checked, so
/// the peer must hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
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
