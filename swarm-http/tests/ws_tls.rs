//! wss:// through rustls against a TLS WebSocket echo server on loopback (tungstenite
//! behind tokio-rustls, with a self-signed certificate made for the test): a round trip
//! works when invalid certificates are accepted, and the certificate is refused when they
//! are not. Needs the `tls` feature (`cargo test -p swarm-http --features tls`).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use swarm_core::UserContext;
use swarm_http::ws::{WsClient, WsError};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS WebSocket echo server on 127.0.0.1; returns its port. It runs until the test's
/// runtime ends.
async fn tls_echo_server() -> u16 {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = CertificateDer::from(certified.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn wss_round_trips_and_checks_certificates() {
    let port = tls_echo_server().await;
    let ctx = UserContext::detached(None, 1);
    let url = format!("wss://127.0.0.1:{port}/echo");

    let mut ws = WsClient::connect(&ctx, &url)
        .accept_invalid_certs(true)
        .correlate_json("/id")
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let reply = ws
        .request("echo", r#"{"id":7,"over":"tls"}"#, "7")
        .await
        .unwrap();
    assert_eq!(reply.as_text(), Some(r#"{"id":7,"over":"tls"}"#));
    ws.close().await.unwrap();

    // The same server with certificate checks on: its self-signed certificate is refused.
    let err = WsClient::connect(&ctx, &url)
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_err();
    match &err {
        WsError::Connect {
            status, message, ..
        } => {
            assert_eq!(*status, None);
            assert!(message.to_lowercase().contains("certificate"), "{message}");
        }
        other => panic!("expected a refused certificate, got {other:?}"),
    }
}
