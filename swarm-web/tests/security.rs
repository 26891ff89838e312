//! Secure by default: a non-loopback address without credentials is refused at startup,
//! with credentials every route needs them (401 otherwise) and the password shows
//! nowhere, TLS serves HTTPS, an unreadable certificate is a startup error naming the
//! file, and a cross-site POST is refused.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{client, web_demo_path, Proc};

#[test]
fn non_loopback_without_credentials_is_refused() {
    for args in [
        &["--web", "--web-host", "0.0.0.0", "--web-port", "0"][..],
        &["--web", "--web-port", "0", "--metrics-bind", "0.0.0.0:0"][..],
        &["-u", "1", "-t", "1s", "--metrics-bind", "0.0.0.0:0"][..],
    ] {
        let mut proc = Proc::start(args);
        let status = proc.wait(Duration::from_secs(30));
        let err = proc.stderr();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("refusing to serve") && err.contains("--web-auth"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("web UI: "), "{args:?} served anyway: {err}");
    }
}

fn basic(user_pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
}

/// `GET url` with these credentials.
async fn get_with(c: &reqwest::Client, url: &str, user_pass: &str) -> reqwest::Response {
    c.get(url)
        .header("authorization", basic(user_pass))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("creds");
    std::fs::write(&file, "ann:s3cret-pw\n").unwrap();
    // With credentials, a non-loopback address is allowed; the test talks to it on
    // loopback.
    let mut proc = Proc::start(&[
        "--web",
        "--web-host",
        "0.0.0.0",
        "--web-port",
        "0",
        "--web-auth-file",
        file.to_str().unwrap(),
        "--metrics-bind",
        "127.0.0.1:0",
    ]);
    let base = proc.url("web UI: ").replace("0.0.0.0", "127.0.0.1");
    let metrics = proc.url("metrics: ");
    let c = client();
    for path in [
        "/",
        "/assets/app.js",
        "/stats/requests",
        "/stats/requests/csv",
        "/exceptions/csv",
        "/stats/report.json",
        "/stats/report",
    ] {
        let res = c.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic "),
            "{path}"
        );
        let wrong = get_with(&c, &format!("{base}{path}"), "ann:wrong").await;
        assert_eq!(wrong.status(), 401, "{path} with a wrong password");
        let res = get_with(&c, &format!("{base}{path}"), "ann:s3cret-pw").await;
        assert_eq!(res.status(), 200, "{path} with the password");
        let body = res.text().await.unwrap();
        assert!(!body.contains("s3cret-pw"), "{path} shows the password");
    }
    let res = c
        .post(format!("{base}/swarm"))
        .form(&[("user_count", "1"), ("spawn_rate", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a command without credentials");
    let res = c.get(&metrics).send().await.unwrap();
    assert_eq!(res.status(), 401, "metrics without credentials");
    let res = get_with(&c, &metrics, "ann:s3cret-pw").await;
    assert_eq!(res.status(), 200);
    let s: serde_json::Value = c
        .get(format!("{base}/stats/requests"))
        .basic_auth("ann", Some("s3cret-pw"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["state"], "ready", "the failed commands started nothing");
    proc.terminate();
    assert!(!proc.stderr().contains("s3cret-pw"), "{}", proc.stderr());
}

#[test]
fn help_hides_the_password_from_the_environment() {
    let out = std::process::Command::new(web_demo_path())
        .arg("--help")
        .env("SWARM_WEB_AUTH", "ann:env-secret")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--web-auth"), "{text}");
    assert!(!text.contains("env-secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_from_the_environment_and_cross_site_posts() {
    let mut proc = Proc::start_with(
        &["--web", "--web-port", "0"],
        &[("SWARM_WEB_AUTH", "bob:env-pw")],
    );
    let base = proc.url("web UI: ");
    let c = client();
    let res = c
        .get(format!("{base}/stats/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = c
        .post(format!("{base}/swarm"))
        .basic_auth("bob", Some("env-pw"))
        .header("origin", "http://evil.example")
        .form(&[("user_count", "1"), ("spawn_rate", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a POST from another site");
    let host = base.trim_start_matches("http://");
    let res = c
        .post(format!("{base}/stop"))
        .basic_auth("bob", Some("env-pw"))
        .header("origin", format!("http://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a POST from the page itself");
    proc.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut proc = Proc::start(&[
        "--web",
        "--web-port",
        "0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let base = proc.url("web UI: ");
    assert!(base.starts_with("https://"), "{base}");
    let c = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let res = c
        .get(format!("{base}/stats/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Plain HTTP to the TLS port gets no answer.
    let plain = base.replace("https://", "http://");
    assert!(client()
        .get(format!("{plain}/stats/requests"))
        .send()
        .await
        .is_err());
    proc.terminate();
}

#[test]
fn unreadable_or_unusable_certificates_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-cert.pem");
    let junk = dir.path().join("junk-key.pem");
    std::fs::write(&junk, "not a key\n").unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    for (args, needle) in [
        (
            vec![
                "--tls-cert",
                missing.to_str().unwrap(),
                "--tls-key",
                junk.to_str().unwrap(),
            ],
            missing.display().to_string(),
        ),
        (
            vec![
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                junk.to_str().unwrap(),
            ],
            junk.display().to_string(),
        ),
        (
            vec!["--tls-cert", cert.to_str().unwrap()],
            "--tls-key".to_owned(),
        ),
    ] {
        let mut all = vec!["--web", "--web-port", "0"];
        all.extend(args.iter().copied());
        let mut proc = Proc::start(&all);
        let status = proc.wait(Duration::from_secs(30));
        let err = proc.stderr();
        assert_eq!(status.code(), Some(2), "{all:?}: {err}");
        assert!(err.contains(&needle), "{all:?} should name {needle}: {err}");
    }
}

#[test]
fn the_password_is_in_no_report_and_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let secret = "pw-not-in-reports";
    let (csv, json, html, junit) = (
        out("run"),
        out("run.json"),
        out("run.html"),
        out("junit.xml"),
    );
    // A web run that starts at once, ends by its run time and quits, writing every
    // report, with JSON logs at debug level.
    let mut proc = Proc::start(&[
        "--web",
        "--web-host",
        "0.0.0.0",
        "--web-port",
        "0",
        "--web-auth",
        &format!("ann:{secret}"),
        "--metrics-bind",
        "127.0.0.1:0",
        "-u",
        "2",
        "-r",
        "10",
        "-t",
        "2s",
        "--autoquit",
        "0",
        "--csv",
        &csv,
        "--json",
        &json,
        "--html",
        &html,
        "--junit",
        &junit,
        "--log-json",
        "-L",
        "debug",
    ]);
    let status = proc.wait(Duration::from_secs(90));
    let err = proc.stderr();
    assert!(status.code().is_some(), "{err}");
    assert!(err.contains("web UI: "), "{err}");
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("ann:{secret}"));
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.is_empty(), "{}", path.display());
        assert!(
            !text.contains(secret) && !text.contains(&encoded),
            "{} holds the password",
            path.display()
        );
        files += 1;
    }
    // The four CSV files, the JSON, HTML and JUnit reports.
    assert_eq!(files, 7, "{err}");
    assert!(!err.contains(secret) && !err.contains(&encoded), "{err}");
}
