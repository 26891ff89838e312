//! Every user owns its connection (the default), against real servers: nginx counts one
//! established connection per user, while a shared pool stays an explicit choice; cookies,
//! default headers and redirects still work on the users' own connections; a server that
//! never answers, one that cuts a response short and a redirect loop are counted failures
//! with clear messages, within bounded waits. The small server here is a real HTTP/1.1 peer
//! on loopback (a tokio listener), for the answers nginx cannot be made to give.

mod common;

use std::time::Duration;

use common::Peer;
use swarm_core::prelude::*;
use swarm_http::HttpClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Established TCP connections from this machine to 127.0.0.1:`port` (the client sides).
fn established_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp is readable");
    let want = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[2] == want && f[3] == "01"
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_holds_its_own_keep_alive_connection() {
    let nginx = Peer::start("nginx");
    let port: u16 = nginx.var("PORT").parse().unwrap();
    let ctx = UserContext::detached(None, 1);
    let users = 40;
    let mut clients = Vec::new();
    for _ in 0..users {
        let c = HttpClient::standalone(Some(nginx.var("URL")), ctx.recorder().clone())
            .build()
            .unwrap();
        for _ in 0..3 {
            assert_eq!(c.get("/status").send().await.unwrap().status(), 200);
        }
        clients.push(c);
    }
    // Three requests each, one keep-alive connection each.
    assert_eq!(established_to(port), users);
    drop(clients);
    // Dropped clients close their connections (bounded wait).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while established_to(port) > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(established_to(port), 0);
}

/// A user that asks for `/status` once a second: its requests overlap another user's only
/// when one takes most of a second, so a shared pool needs far fewer connections than
/// users even on a loaded machine (with 50 ms waits, latency spikes there made the shared
/// pool open one connection per user).
struct SecondlyUser {
    http: HttpClient,
}

#[swarm_core::async_trait]
impl User for SecondlyUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(SecondlyUser {
            http: HttpClient::new(ctx)?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("status", Self::status)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl SecondlyUser {
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/status").send().await?;
        Ok(())
    }
}

async fn connections_mid_run(shared_pool: bool) -> usize {
    let nginx = Peer::start("nginx");
    let port: u16 = nginx.var("PORT").parse().unwrap();
    let (handle, report) = Swarm::new()
        .user::<SecondlyUser>()
        .users(30)
        // Spread over 1.5 s: a shared pool then reuses the connections of the first users.
        .spawn_rate(20.0)
        .run_time(Duration::from_secs(4))
        .host(nginx.var("URL"))
        .shared_pool(shared_pool)
        .start()
        .expect("the run starts");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let seen = established_to(port);
    drop(handle);
    let report = report.await.expect("the run completes");
    assert_eq!(report.failures(), 0, "{report}");
    assert!(report.requests() > 30, "{report}");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_opens_a_connection_per_user_unless_the_pool_is_shared() {
    assert_eq!(connections_mid_run(false).await, 30);
    let shared = connections_mid_run(true).await;
    assert!(shared < 30, "a shared pool: {shared} connections");
}

/// A tiny HTTP/1.1 server: `/set` sets a cookie, `/echo` answers with the request's
/// `Cookie` and `X-Default` headers, `/hop` redirects to `/echo`, `/loop` to itself,
/// `/hang` never answers, `/cut` promises 100 bytes and closes after 10.
async fn tiny_server() -> u16 {
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
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                            })
                            .unwrap_or_default()
                    };
                    let reply = match path.as_str() {
                        "/set" => "HTTP/1.1 200 OK\r\nSet-Cookie: session=abc; Path=/\r\nContent-Length: 2\r\n\r\nok".to_owned(),
                        "/echo" => {
                            let body = format!("{}|{}", header("cookie"), header("x-default"));
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                        }
                        "/hop" => "HTTP/1.1 302 Found\r\nLocation: /echo\r\nContent-Length: 0\r\n\r\n".to_owned(),
                        "/loop" => "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n".to_owned(),
                        "/hang" => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            return;
                        }
                        "/cut" => {
                            let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789").await;
                            return;
                        }
                        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
                    };
                    if tcp.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_default_headers_and_redirects_work_on_own_connections() {
    let port = tiny_server().await;
    let ctx = UserContext::detached(None, 1);
    let http = HttpClient::standalone(
        Some(&format!("http://127.0.0.1:{port}")),
        ctx.recorder().clone(),
    )
    .header("x-default", "yes")
    .unwrap()
    .timeout(Duration::from_secs(5))
    .build()
    .unwrap();
    assert_eq!(http.get("/echo").send().await.unwrap().text(), "|yes");
    http.get("/set").send().await.unwrap();
    assert_eq!(
        http.get("/echo").send().await.unwrap().text(),
        "session=abc|yes"
    );
    let hop = http.get("/hop").send().await.unwrap();
    assert_eq!(hop.text(), "session=abc|yes");
    assert_eq!(hop.url().path(), "/echo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_a_cut_response_and_a_redirect_loop_are_clear_failures() {
    let port = tiny_server().await;
    let ctx = UserContext::detached(None, 1);
    let http = HttpClient::standalone(
        Some(&format!("http://127.0.0.1:{port}")),
        ctx.recorder().clone(),
    )
    .timeout(Duration::from_millis(500))
    .max_redirects(3)
    .build()
    .unwrap();
    let err = http.get("/hang").send().await.expect_err("no answer");
    assert!(err.to_string().contains("timed out"), "{err}");
    let err = http.get("/cut").send().await.expect_err("a cut body");
    assert!(err.to_string().contains("error reading the body"), "{err}");
    let err = http.get("/loop").send().await.expect_err("a loop");
    assert!(err.to_string().contains("more than 3 redirects"), "{err}");
    // After all that, the client still works.
    assert_eq!(http.get("/echo").send().await.unwrap().status(), 200);
}
