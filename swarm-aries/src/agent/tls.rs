//! TLS for the agent's transports: the shared rustls configurations of
//! [`swarm_http::tls`] (one per distinct setting in the process: accept any certificate,
//! trust an extra CA file), used alike by the HTTP client (reqwest) and the WebSockets
//! (tokio-tungstenite), so that every Swarm transport checks certificates the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::ClientConfig;
pub(crate) use swarm_http::tls::{tls_failure, TlsSettings};

use crate::error::TlsError;

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

fn build(settings: &TlsSettings) -> Result<Clients, TlsError> {
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured((*settings.http1_config()?).clone())
        .tcp_nodelay(true)
        .build()
        .map_err(|e| TlsError::Setup(format!("cannot build the HTTP client: {e}")))?;
    Ok(Clients {
        http,
        ws: settings.client_config()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
