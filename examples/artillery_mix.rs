//! The Artillery suite as Swarm users: weighted scenarios mixing HTTP and WebSocket
//! sessions, each response's status (and each WebSocket connect's) recorded as its code.
//!
//! | user (weight) | scenario |
//! |---|---|
//! | `Browser` (6) | log in (`POST /login`), load data (`GET /items`, `GET /status`), idle 1-3 s |
//! | `WsSession` (3) | open `/ws/echo`, five correlated round trips, close |
//! | `ItemCrud` (2) | create an item (`POST /items`, 201) and delete it (`DELETE /items/[id]`, 204) |
//! | `QueueSocket` (1) | Socket.IO: connect `/queue`, join a room, take a ticket (acknowledged), wait for the room's push |
//!
//! ```text
//! cargo run --example artillery_mix -- -u 30 -r 10 -t 1m        # the demo target (+ the Socket.IO peer if installed)
//! cargo run --example artillery_mix -- -H http://127.0.0.1:8080 --socketio-url http://127.0.0.1:5000 -u 100 -t 5m --json out.json
//! ```
//!
//! With no `--host`, the HTTP and WebSocket scenarios run against the embedded demo target.
//! The Socket.IO scenario talks to `--socketio-url` (`SOCKETIO_URL`); without one it
//! starts the python-socketio peer (`peers/install socketio`) and stops it at the end,
//! and when that is not installed it leaves the scenario out and says so. The JSON
//! report (`--json`) carries each entry's counts per status code.
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::json;
use swarm_core::prelude::*;
use swarm_http::socketio::SioClient;
use swarm_http::ws::WsClient;
use swarm_http::HttpClient;

#[path = "common/local_peer.rs"]
mod local_peer;
use local_peer::LocalPeer;

#[derive(Debug, Parser)]
#[command(
    name = "artillery_mix",
    about = "Weighted HTTP, WebSocket and Socket.IO scenarios, as the Artillery suite"
)]
struct Cli {
    #[command(flatten)]
    swarm: swarm_core::cli::Args,

    /// The Socket.IO server's base URL; default: start the local python-socketio peer
    #[arg(long, env = "SOCKETIO_URL", value_name = "URL")]
    socketio_url: Option<String>,
}

/// Where the Socket.IO scenario connects: set once by `main` before the run.
/// The Socket.IO server of the run (a per-run setting from `main`).
struct SocketIoUrl(String);

/// Log in, load data, idle.
struct Browser {
    http: HttpClient,
}

#[async_trait]
impl User for Browser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let http = HttpClient::builder(ctx)
            .timeout(Duration::from_secs(10))
            .build()?;
        let user = format!("user{}", ctx.user_id());
        http.post("/login")
            .json(&json!({ "user": user, "password": "secret" }))
            .send()
            .await?;
        Ok(Browser { http })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("load", Self::load)
    }
    fn wait_time(&self) -> Wait {
        Wait::between_secs(1.0, 3.0)
    }
    fn weight() -> u32 {
        6
    }
}

impl Browser {
    async fn load(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/items").send().await?;
        self.http.get("/status").send().await?;
        Ok(())
    }
}

/// A WebSocket session: connect, round trips, close.
struct WsSession;

#[async_trait]
impl User for WsSession {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(WsSession)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("session", Self::session)
    }
    fn wait_time(&self) -> Wait {
        Wait::between_secs(0.5, 1.5)
    }
    fn weight() -> u32 {
        3
    }
}

impl WsSession {
    async fn session(&mut self, ctx: &mut UserContext) -> TaskResult {
        let mut ws = WsClient::connect(ctx, "/ws/echo")
            .correlate_json("/id")
            .timeout(Duration::from_secs(10))
            .connect()
            .await?;
        for i in 0..5 {
            let id = format!("{}-{i}", ctx.user_id());
            ws.request("echo", json!({ "id": id, "payload": "ping" }), &id)
                .await?;
        }
        ws.close().await?;
        Ok(())
    }
}

/// Create an item and delete it.
struct ItemCrud {
    http: HttpClient,
}

#[async_trait]
impl User for ItemCrud {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let http = HttpClient::builder(ctx)
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(ItemCrud { http })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("create_delete", Self::create_delete)
    }
    fn wait_time(&self) -> Wait {
        Wait::between_secs(0.5, 1.5)
    }
    fn weight() -> u32 {
        2
    }
}

impl ItemCrud {
    async fn create_delete(&mut self, ctx: &mut UserContext) -> TaskResult {
        let n: u32 = ctx.rng().random_range(0..1_000_000);
        let created = self
            .http
            .post("/items")
            .json(&json!({ "name": format!("item {n}") }))
            .expect_status([201])
            .send()
            .await?;
        let id = created.json::<serde_json::Value>()?["id"]
            .as_u64()
            .ok_or_else(|| TaskError::new("POST /items answered without an id"))?;
        self.http
            .delete(&format!("/items/{id}"))
            .name("/items/[id]")
            .expect_status([204])
            .send()
            .await?;
        Ok(())
    }
}

/// Socket.IO: the queue service's client.
struct QueueSocket {
    sio: Option<SioClient>,
}

#[async_trait]
impl User for QueueSocket {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let url = ctx
            .setting::<SocketIoUrl>()
            .ok_or_else(|| TaskError::new("no Socket.IO server (--socketio-url)"))?;
        let mut sio = SioClient::standalone(&url.0, "/queue", ctx.recorder().clone())
            .timeout(Duration::from_secs(10))
            .connect()
            .await?;
        sio.emit_ack("join", json!({ "room": "main" })).await?;
        Ok(QueueSocket { sio: Some(sio) })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("ticket", Self::ticket)
    }
    fn wait_time(&self) -> Wait {
        Wait::between_secs(1.0, 2.0)
    }
    fn weight() -> u32 {
        1
    }
    async fn on_stop(&mut self, _ctx: &mut UserContext) -> Result<(), TaskError> {
        if let Some(sio) = self.sio.take() {
            sio.disconnect().await?;
        }
        Ok(())
    }
}

impl QueueSocket {
    async fn ticket(&mut self, _ctx: &mut UserContext) -> TaskResult {
        let sio = self
            .sio
            .as_mut()
            .ok_or_else(|| TaskError::new("not connected"))?;
        sio.emit_ack("take_ticket", json!({ "queue": "main" }))
            .await?;
        sio.wait_event("queue_update", Duration::from_secs(10))
            .await?;
        Ok(())
    }
}

swarm_core::register_user!(Browser);
swarm_core::register_user!(WsSession);
swarm_core::register_user!(ItemCrud);
swarm_core::register_user!(QueueSocket);

/// Start the local python-socketio peer; `None` (with a note) when it cannot start.
fn start_socketio() -> Option<(String, LocalPeer)> {
    match LocalPeer::start("socketio", "no --socketio-url given") {
        Ok(peer) => Some((peer.var("URL").ok()?, peer)),
        Err(e) => {
            eprintln!("note: {e}\nnote: the QueueSocket scenario is left out");
            None
        }
    }
}

fn main() -> ExitCode {
    // The worker mode's flags (--worker, --master-host, --master-port) and the web UI's
    // (--web, --metrics-bind, ...) join ours.
    let mut app = swarm_http::app()
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new());
    let matches = app
        .augment(<Cli as clap::CommandFactory>::command())
        .get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let mut args = cli.swarm.clone();
    let mut _local = None;
    let named = args.to_config().map_or(true, |c| !c.user_types.is_empty());
    if !args.list {
        let url = match cli.socketio_url {
            Some(u) => Some(u),
            None => start_socketio().map(|(url, guard)| {
                _local = Some(guard);
                url
            }),
        };
        match url {
            Some(u) => app = app.setting(SocketIoUrl(u)),
            // Without a Socket.IO server, and no user type named: the other three.
            None if !named => {
                args.user_types = vec![
                    "Browser".to_owned(),
                    "WsSession".to_owned(),
                    "ItemCrud".to_owned(),
                ];
            }
            None => {}
        }
    }
    app.run_matches(&args, &matches)
}
