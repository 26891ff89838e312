//! HTTPS out of the box against a real HTTPS server on loopback: nginx terminating TLS
//! (`peers/start tls-proxy`) with a self-signed certificate the test makes, in front of a
//! plain nginx. Without trust the requests are counted failures naming the host and the
//! reason; `--insecure` (the run's setting), the builder's `accept_invalid_certs` and a CA
//! file each make them succeed.

mod common;

use std::time::Duration;

use common::Peer;
use swarm_core::prelude::*;
use swarm_http::{HttpClient, HttpClientBuilder};

/// nginx behind a TLS-terminating nginx, with a self-signed certificate for 127.0.0.1.
struct Https {
    proxy: Peer,
    _nginx: Peer,
    dir: tempfile::TempDir,
}

impl Https {
    fn start() -> Https {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let cert = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .expect("a self-signed certificate");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
        let nginx = Peer::start("nginx");
        let proxy = Peer::start_with(
            "tls-proxy",
            &[
                ("UPSTREAM_PORT", nginx.var("PORT")),
                ("TLS_CERT", cert_path.to_str().unwrap()),
                ("TLS_KEY", key_path.to_str().unwrap()),
            ],
        );
        assert!(
            proxy.var("URL").starts_with("https://"),
            "{}",
            proxy.var("URL")
        );
        Https {
            proxy,
            _nginx: nginx,
            dir,
        }
    }

    fn url(&self) -> &str {
        self.proxy.var("URL")
    }

    fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.proxy.var("PORT"))
    }

    fn cert(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }
}

async fn run(https: &Https, insecure: bool) -> swarm_core::Report {
    Swarm::new()
        .user::<common::StatusUser>()
        .users(4)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(1))
        .stop_timeout(Duration::from_secs(5))
        .host(https.url())
        .insecure(insecure)
        .run()
        .await
        .expect("the run completes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_counted_failure_naming_host_and_reason() {
    let https = Https::start();
    let report = run(&https, false).await;
    let entry = report
        .snapshot
        .entry("GET", "/status")
        .expect("a /status entry");
    assert!(entry.requests > 0, "{report}");
    assert_eq!(entry.failures, entry.requests, "{report}");
    let error = report
        .snapshot
        .errors
        .iter()
        .find(|e| e.name == "/status")
        .expect("a /status error");
    assert!(
        error.message.contains(&https.host_port()),
        "{}",
        error.message
    );
    assert!(error.message.contains("not trusted"), "{}", error.message);
    assert!(error.message.contains("--insecure"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_insecure_setting_accepts_a_self_signed_certificate() {
    let https = Https::start();
    let report = run(&https, true).await;
    let entry = report
        .snapshot
        .entry("GET", "/status")
        .expect("a /status entry");
    assert!(entry.requests > 0, "{report}");
    assert_eq!(report.failures(), 0, "{report}");
    assert_eq!(
        entry.codes.get("200").copied(),
        Some(entry.requests),
        "{report}"
    );
}

/// The status of `/status` through a standalone client `configure` sets up.
async fn status_with(
    https: &Https,
    configure: impl FnOnce(HttpClientBuilder) -> HttpClientBuilder,
) -> Result<u16, swarm_http::HttpError> {
    let ctx = UserContext::detached(None, 1);
    let client = configure(HttpClient::standalone(
        Some(https.url()),
        ctx.recorder().clone(),
    ))
    .build()?;
    let r = client.get("/status").send().await?;
    Ok(r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_accepts_invalid_certificates_or_trusts_a_ca_file() {
    let https = Https::start();
    let insecure = status_with(&https, |b| b.accept_invalid_certs(true)).await;
    assert_eq!(insecure.expect("insecure: a response"), 200);
    let trusting = status_with(&https, |b| b.ca_file(https.cert())).await;
    assert_eq!(
        trusting.expect("with the certificate as CA: a response"),
        200
    );
    let err = status_with(&https, |b| b).await.expect_err("untrusted");
    assert!(err.to_string().contains(&https.host_port()), "{err}");
    let missing = https.dir.path().join("missing.pem");
    let err = status_with(&https, |b| b.ca_file(missing))
        .await
        .expect_err("a CA file that does not exist");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plain_http_port_is_a_failure_naming_the_host() {
    let https = Https::start();
    let ctx = UserContext::detached(None, 1);
    // TLS to a port that speaks plain HTTP: a handshake failure naming the host.
    let plain_port = https._nginx.var("PORT");
    let tls_to_plain = HttpClient::standalone(
        Some(&format!("https://127.0.0.1:{plain_port}")),
        ctx.recorder().clone(),
    )
    .accept_invalid_certs(true)
    .timeout(Duration::from_secs(10))
    .build()
    .unwrap();
    let err = tls_to_plain
        .get("/status")
        .send()
        .await
        .expect_err("no TLS there");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{plain_port}")),
        "{err}"
    );
    assert!(err.to_string().contains("TLS"), "{err}");
}
