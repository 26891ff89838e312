//! The WebSocket client against the demo target's echo endpoint: round trips and connects
//! counted as the server saw them, text and binary frames, a server-side close counted as
//! a failure of the entry it interrupted, and bad URLs refused with a clear error.

use std::time::Duration;

use swarm_core::prelude::*;
use swarm_http::demo::DemoServer;
use swarm_http::ws::{WsClient, WsError, CONNECT_KIND, KIND};

struct Echoer {
    ws: Option<WsClient>,
    next_id: u64,
}

#[async_trait]
impl User for Echoer {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let ws = WsClient::connect(ctx, "/ws/echo")
            .correlate_json("/id")
            .timeout(Duration::from_secs(5))
            .connect()
            .await?;
        Ok(Echoer {
            ws: Some(ws),
            next_id: 0,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .weighted("text", 3, Self::text)
            .task("binary", Self::binary)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(5))
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        if let Some(ws) = self.ws.take() {
            ws.close().await?;
        }
        Ok(())
    }
}

impl Echoer {
    fn ws(&mut self) -> &mut WsClient {
        self.ws.as_mut().expect("connected in on_start")
    }

    async fn text(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.next_id += 1;
        let id = self.next_id.to_string();
        let msg = serde_json::json!({ "id": id, "text": "hello" });
        let reply = self.ws().request("echo", msg.clone(), &id).await?;
        let back: serde_json::Value = reply.parse_json()?;
        assert_eq!(back, msg);
        Ok(())
    }

    async fn binary(&mut self, ctx: &mut UserContext) -> TaskResult {
        let data: Vec<u8> = (0..64).map(|_| ctx.rng().random()).collect();
        self.ws().send(data.clone()).await?;
        let reply = self.ws().recv("binary").await?;
        assert!(!reply.is_text());
        assert_eq!(reply.as_bytes().as_ref(), data.as_slice());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_and_connects_are_counted_as_the_server_saw_them() {
    let server = DemoServer::start().await.unwrap();
    let report = Swarm::new()
        .user::<Echoer>()
        .users(4)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(2))
        .stop_timeout(Duration::from_secs(2))
        .host(server.url())
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    assert_eq!(s.total_failures(), 0, "{report}");
    let connect = s.entry(CONNECT_KIND, "/ws/echo").unwrap();
    assert_eq!(connect.requests, 4);
    assert_eq!(connect.requests, server.ws_connections());
    assert_eq!(connect.codes.get("101"), Some(&4));
    let text = s.entry(KIND, "echo").unwrap();
    let binary = s.entry(KIND, "binary").unwrap();
    assert!(text.requests > 0 && binary.requests > 0, "{report}");
    assert_eq!(text.requests + binary.requests, server.ws_messages());
    assert_eq!(binary.bytes, 64 * binary.requests);
    let close = s.entry(KIND, "close /ws/echo").unwrap();
    assert_eq!(close.requests, 4);
    assert_eq!(close.codes.get("1000"), Some(&4));
}

/// Five round trips on a socket the server closes after three echoes.
struct Interrupted {
    done: bool,
}

#[async_trait]
impl User for Interrupted {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Interrupted { done: false })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("five", Self::five)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(50))
    }
}

impl Interrupted {
    async fn five(&mut self, ctx: &mut UserContext) -> TaskResult {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let mut ws = WsClient::connect(ctx, "/ws/echo?close_after=3")
            .name("closing")
            .correlate_json("/id")
            .timeout(Duration::from_secs(5))
            .connect()
            .await?;
        let mut outcomes = Vec::new();
        for id in 0..5 {
            let msg = serde_json::json!({ "id": id });
            outcomes.push(ws.request("echo", msg, &id.to_string()).await);
        }
        assert!(outcomes[..3].iter().all(Result::is_ok), "{outcomes:?}");
        for o in &outcomes[3..] {
            match o {
                Err(WsError::Closed { name, reason }) => {
                    assert_eq!(name, "echo");
                    assert_eq!(reason, "closed by the server (1000 close_after reached)");
                }
                other => panic!("expected a close, got {other:?}"),
            }
        }
        assert!(ws.is_closed());
        // Closing what the server closed is a failure of the close entry.
        assert!(ws.close().await.is_err());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_close_is_a_failure_of_the_interrupted_entry() {
    let server = DemoServer::start().await.unwrap();
    let report = Swarm::new()
        .user::<Interrupted>()
        .users(1)
        .spawn_rate(10.0)
        .run_time(Duration::from_secs(1))
        .stop_timeout(Duration::from_secs(5))
        .host(server.url())
        .run()
        .await
        .unwrap();
    let s = &report.snapshot;
    let echo = s.entry(KIND, "echo").unwrap();
    assert_eq!((echo.requests, echo.failures), (5, 2), "{report}");
    assert_eq!(echo.codes.get("1000"), Some(&2));
    assert_eq!(server.ws_messages(), 3);
    let errors: Vec<_> = s.errors.iter().filter(|e| e.name == "echo").collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].message,
        "closed by the server (1000 close_after reached)"
    );
    assert_eq!(errors[0].occurrences, 2);
    let close = s.entry(KIND, "close closing").unwrap();
    assert_eq!((close.requests, close.failures), (1, 1));
    // The task returned Ok: nothing is counted twice as a task error.
    assert!(s.entry(swarm_core::TASK_KIND, "Interrupted.five").is_none());
}

#[tokio::test]
async fn bad_urls_and_refused_upgrades_are_clear_errors() {
    let server = DemoServer::start().await.unwrap();
    let host = url::Url::parse(&server.url()).unwrap();
    let ctx = UserContext::detached(Some(host), 1);

    let err = WsClient::connect(&ctx, "ftp://127.0.0.1/ws")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::InvalidUrl { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("scheme \"ftp\" is not ws, wss, http or https"),
        "{err}"
    );

    // An HTTP page that does not upgrade.
    let err = WsClient::connect(&ctx, "/status")
        .connect()
        .await
        .unwrap_err();
    match &err {
        WsError::Connect { name, status, .. } => {
            assert_eq!(name, "/status");
            assert_eq!(*status, Some(200));
        }
        other => panic!("expected a refused upgrade, got {other:?}"),
    }

    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = WsClient::connect(&ctx, &format!("ws://127.0.0.1:{port}/ws"))
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("connection refused"), "{err}");

    // A receive that nothing answers ends at its time-out.
    let mut ws = WsClient::connect(&ctx, "/ws/echo").connect().await.unwrap();
    let err = ws
        .recv_timeout("nothing", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::Timeout { .. }), "{err:?}");
    // A round trip needs a correlation key.
    let err = ws.request("echo", "x", "1").await.unwrap_err();
    assert!(err.to_string().contains("no correlation key"), "{err}");
    ws.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_that_sends_without_reading_is_not_wedged() {
    let server = DemoServer::start().await.unwrap();
    let host = url::Url::parse(&server.url()).unwrap();
    let ctx = UserContext::detached(Some(host), 1);
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut ws = WsClient::connect(&ctx, "/ws/echo").connect().await.unwrap();
        // Far more than the socket task's queues hold: the echoes pile up unread.
        for i in 0..1000u32 {
            ws.send(i.to_be_bytes().to_vec()).await.unwrap();
        }
        for i in 0..1000u32 {
            let m = ws.recv("echo").await.unwrap();
            assert_eq!(m.as_bytes().as_ref(), i.to_be_bytes());
        }
        ws.close().await.unwrap();
    })
    .await
    .expect("no wedge");
    assert_eq!(server.ws_messages(), 1000);
}

#[tokio::test]
async fn a_server_that_closes_mid_handshake_is_a_connect_failure() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut s, _)) = listener.accept().await {
            // Read part of the upgrade request, then hang up.
            let mut buf = [0u8; 16];
            let _ = s.read(&mut buf).await;
            drop(s);
        }
    });
    let ctx = UserContext::detached(None, 1);
    let err = WsClient::connect(&ctx, &format!("ws://127.0.0.1:{port}/ws"))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_err();
    match &err {
        WsError::Connect {
            status, message, ..
        } => {
            assert_eq!(*status, None);
            assert!(!message.is_empty());
        }
        other => panic!("expected a connect failure, got {other:?}"),
    }
}
