//! Serving a router on a bound listener, over plain HTTP or rustls, until shut down.

use std::net::TcpListener;
use std::sync::Arc;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

/// Serve `router` on `listener` in the background; `handle` shuts it down.
pub(crate) fn spawn(
    what: &'static str,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    handle: Handle<std::net::SocketAddr>,
) {
    tokio::spawn(async move {
        let service = router.into_make_service();
        let result = match tls {
            Some(config) => {
                match axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(config)) {
                    Ok(server) => server.handle(handle).serve(service).await,
                    Err(e) => Err(e),
                }
            }
            None => match axum_server::from_tcp(listener) {
                Ok(server) => server.handle(handle).serve(service).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            tracing::error!(%e, "the {what} server stopped");
            eprintln!("error: the {what} server stopped: {e}");
        }
    });
}
