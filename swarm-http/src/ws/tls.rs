//! TLS for `wss://`: the shared [`crate::tls`] configurations (one per setting in the
//! process), certificates checked by the platform verifier, or not checked at all on
//! request.

use std::sync::Arc;

use rustls::ClientConfig;

use super::WsError;
use crate::tls::TlsSettings;

/// The TLS of one run's WebSockets (the configurations themselves are shared process-wide
/// by [`crate::tls`]).
#[derive(Debug, Default)]
pub(crate) struct TlsConfigs;

impl TlsConfigs {
    #[allow(clippy::unused_self)] // kept for ws/mod.rs, which holds one per run
    pub(crate) fn get(&self, accept_invalid_certs: bool) -> Result<Arc<ClientConfig>, WsError> {
        let settings = TlsSettings {
            insecure: accept_invalid_certs,
            ca_file: None,
        };
        settings
            .client_config()
            .map_err(|e| WsError::Config(format!("cannot build the TLS client: {e}")))
    }
}
