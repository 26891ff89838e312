//! Bad answers on a user's own connection and on the shared pool, against real servers on
//! loopback: a body over the configured limit (nginx serving a large file), a server that
//! closes mid-head and mid-body, a redirect loop, a server that accepts but never answers
//! (with the client's time-out, and with the default one). Each is a counted failure with
//! a clear message within a bounded wait, and the user goes on: its next request works.
//! (A certificate that fails verification: `http_tls.rs`.)

mod common;

use std::time::Duration;

use common::Peer;
use swarm_core::prelude::*;
use swarm_http::HttpClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A misbehaving HTTP/1.1 server: reads a request head, then for `/cut-head` writes half a
/// status line's headers and closes, for `/cut-body` promises 100 bytes and closes after 10,
/// for `/chunks` sends a 3000-byte chunked body, for `/then-close` answers and closes, for `/loop` redirects to itself, for
/// `/silent` holds the connection and never answers, else answers `ok`.
async fn bad_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match tcp.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let reply: Vec<u8> = match path.as_str() {
                        "/cut-head" => {
                            let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty").await;
                            return;
                        }
                        "/cut-body" => {
                            let _ = tcp
                                .write_all(
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
                                )
                                .await;
                            return;
                        }
                        "/chunks" => {
                            let mut r =
                                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                            for _ in 0..3 {
                                r.extend_from_slice(b"3e8\r\n");
                                r.extend_from_slice(&[b'x'; 1000]);
                                r.extend_from_slice(b"\r\n");
                            }
                            r.extend_from_slice(b"0\r\n\r\n");
                            r
                        }
                        "/then-close" => {
                            // A keep-alive answer, then the server closes the connection
                            // (as one does at its idle time-out).
                            let _ = tcp
                                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .await;
                            return;
                        }
                        "/loop" => {
                            b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
                                .to_vec()
                        }
                        "/silent" => {
                            // Accepted, read, never answered: held until the client leaves.
                            let _ = tcp.read(&mut chunk).await;
                            return;
                        }
                        _ => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
                    };
                    if tcp.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// The failure count and the error message of `name` in the report.
fn failed(report: &swarm_core::Report, name: &str) -> (u64, String) {
    let entry = report
        .snapshot
        .entry("GET", name)
        .unwrap_or_else(|| panic!("an entry for {name}: {report}"));
    let message = report
        .snapshot
        .errors
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.message.clone())
        .unwrap_or_default();
    (entry.failures, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_a_counted_failure_and_the_user_goes_on() {
    let nginx = Peer::start("nginx");
    // A 1 MB file beside nginx's index.
    let html = std::path::Path::new(nginx.var("DIR")).join("html");
    std::fs::write(html.join("big.bin"), vec![b'x'; 1 << 20]).unwrap();
    let port = bad_server().await;
    let bad = format!("http://127.0.0.1:{port}");
    let report = common::run_once(nginx.var("URL"), move |ctx| {
        let bad = bad.clone();
        Box::pin(async move {
            for shared in [false, true] {
                let mut b = HttpClient::builder(ctx).max_body_size(64 * 1024);
                if shared {
                    b = b.shared_pool();
                }
                let http = b.build()?;
                let err = http
                    .get("/big.bin")
                    .send()
                    .await
                    .expect_err("over the limit");
                assert!(
                    err.to_string()
                        .contains("the body is over the limit of 65536 bytes"),
                    "{err}"
                );
                // A body within the limit on the same client, headers and all.
                let status = http.get("/status").send().await?;
                assert_eq!(status.status(), 200);
                assert_eq!(status.headers()["content-type"], "application/json");
                assert_eq!(status.text(), r#"{"status":"ok"}"#);
                // Chunked: the limit counts the bytes as they come.
                let small = HttpClient::builder(ctx).max_body_size(2500);
                let small = if shared { small.shared_pool() } else { small }.build()?;
                let url = format!("{bad}/chunks");
                let err = small
                    .get(&url)
                    .name("/chunks")
                    .send()
                    .await
                    .expect_err("over");
                assert!(
                    err.to_string().contains("over the limit of 2500 bytes"),
                    "{err}"
                );
                let roomy = HttpClient::builder(ctx).max_body_size(3000).build()?;
                let ok = roomy.get(&url).name("/chunks-ok").send().await?;
                assert_eq!(ok.bytes().len(), 3000);
            }
            Ok(())
        })
    })
    .await;
    let (failures, message) = failed(&report, "/big.bin");
    assert_eq!(failures, 2, "{report}");
    assert!(message.contains("error reading the body"), "{message}");
    assert_eq!(failed(&report, "/chunks").0, 2, "{report}");
    assert_eq!(failed(&report, "/status").0, 0, "{report}");
    assert_eq!(failed(&report, "/chunks-ok").0, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_answers_loops_and_silence_are_counted_failures_with_clear_messages() {
    let port = bad_server().await;
    let report = common::run_once(&format!("http://127.0.0.1:{port}"), |ctx| {
        Box::pin(async move {
            for shared in [false, true] {
                let b = HttpClient::builder(ctx)
                    .timeout(Duration::from_millis(300))
                    .max_redirects(3);
                let http = if shared { b.shared_pool() } else { b }.build()?;
                for path in ["/cut-head", "/cut-body", "/loop", "/silent"] {
                    http.get(path).send().await.expect_err(path);
                    // The user goes on.
                    assert_eq!(http.get("/").send().await?.text(), "ok");
                }
            }
            Ok(())
        })
    })
    .await;
    for (path, says) in [
        ("/cut-head", "closed the connection mid-head"),
        ("/cut-body", "error reading the body"),
        ("/loop", "redirect"),
        ("/silent", "timed out"),
    ] {
        let (failures, message) = failed(&report, path);
        assert_eq!(failures, 2, "{path}: {report}");
        let own = report
            .snapshot
            .errors
            .iter()
            .filter(|e| e.name == path)
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>();
        assert!(
            own.iter().any(|m| m.contains(says)),
            "{path}: {own:?} (first: {message})"
        );
    }
    assert_eq!(failed(&report, "/").0, 0, "{report}");
    // Own connections say what happened in their own words.
    let own: Vec<&str> = report
        .snapshot
        .errors
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    for says in [
        "request error: the server closed the connection mid-head",
        "error reading the body: the server closed the connection after 10 of 100 bytes",
        "redirect error: more than 3 redirects (the last to /loop)",
        "timed out: no complete response within 300ms",
    ] {
        assert!(own.contains(&says), "{says:?} in {own:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_the_server_closed_is_replaced_without_a_failure() {
    let port = bad_server().await;
    let report = common::run_once(&format!("http://127.0.0.1:{port}"), |ctx| {
        Box::pin(async move {
            let http = HttpClient::builder(ctx).build()?;
            for round in 0..5 {
                assert_eq!(http.get("/then-close").send().await?.text(), "ok");
                if round % 2 == 1 {
                    // Time for the close to reach the client (noticed before sending), or
                    // not (the request meets it, and goes again on a new connection).
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Ok(())
        })
    })
    .await;
    let entry = report
        .snapshot
        .entry("GET", "/then-close")
        .expect("an entry");
    assert_eq!((entry.requests, entry.failures), (5, 0), "{report}");
}

/// With no time-out configured, a server that never answers still fails the request, after
/// the default 60 s (on the paused clock: no real wait).
#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_by_default() {
    let port = bad_server().await;
    let ctx = UserContext::detached(None, 1);
    for shared in [false, true] {
        let b = HttpClient::standalone(
            Some(&format!("http://127.0.0.1:{port}")),
            ctx.recorder().clone(),
        );
        let http = if shared { b.shared_pool() } else { b }.build().unwrap();
        let err = http.get("/silent").send().await.expect_err("no answer");
        assert!(err.to_string().contains("timed out"), "{err}");
    }
}
