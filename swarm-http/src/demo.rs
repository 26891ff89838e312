//! The embedded demo target: a small HTTP server on 127.0.0.1 that the examples use when
//! no `--host` is given, and that tests use to compare what a run recorded with what the
//! server saw.
//!
//! | path | answer |
//! |---|---|
//! | `/`, `/index.html` | a small HTML page |
//! | `/status` | `{"status":"ok"}` |
//! | `/slow?ms=N` | the same JSON after N ms (default 200, at most 10 000) |
//! | `/fail` | 500, on purpose |
//! | `/ws/echo` | a WebSocket that echoes every text and binary message; with `?close_after=N` it closes (1000, `close_after reached`) on message N+1 instead of echoing it |
//! | `POST /login` | `{"user": U, ...}`: 200 `{"token": "demo-U"}` and a `session` cookie; 401 without a user |
//! | `GET /items` | 200 `{"items": [{"id": N, "item": ...}, ...]}` (at most 100) |
//! | `POST /items` | stores the JSON body as a new item: 201 `{"id":N,"item":BODY}`; 400 when the body is not JSON |
//! | `GET /items/N` | 200 `{"id":N,"item":...}`, or 404 |
//! | `DELETE /items/N` | 204, or 404 when there is no such item |
//! | `POST /rpc` | a small JSON-RPC 2.0 server (single calls, batches, notifications) whose methods misbehave on purpose: `echo` (the params back), `fail` (error -32000 `deliberate failure`), `wrong_id` (the answer carries another id), `truncated` (the body is cut short), `not_rpc` (JSON that is no JSON-RPC response); any other method: -32601 |
//! | anything else | 404 |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;

const PAGE: &str = "<!doctype html>\n<html><head><title>Swarm demo target</title></head>\n<body><h1>Swarm demo target</h1><p>This page is served by the in-process demo target of Swarm's examples.</p></body></html>\n";
const STATUS: &str = "{\"status\":\"ok\"}";

#[derive(Default)]
struct Counters {
    index: AtomicU64,
    root: AtomicU64,
    status: AtomicU64,
    slow: AtomicU64,
    fail: AtomicU64,
    not_found: AtomicU64,
    ws_connections: AtomicU64,
    ws_messages: AtomicU64,
    items_created: AtomicU64,
    items_deleted: AtomicU64,
    items: std::sync::Mutex<Items>,
}

#[derive(Default)]
struct Items {
    next_id: u64,
    stored: HashMap<u64, serde_json::Value>,
}

/// A running demo target. It runs until [`DemoServer::shutdown`] or until its Tokio
/// runtime ends; dropping the value leaves it running.
#[derive(Debug)]
pub struct DemoServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counters")
    }
}

impl DemoServer {
    /// Start on 127.0.0.1 on a free port.
    pub async fn start() -> std::io::Result<DemoServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let app = Router::new()
            .route("/", get(root))
            .route("/index.html", get(index))
            .route("/status", get(status))
            .route("/slow", get(slow))
            .route("/fail", get(fail))
            .route("/ws/echo", get(ws_echo))
            .route("/login", post(login))
            .route("/items", post(create_item).get(list_items))
            .route("/rpc", post(rpc))
            .route("/items/{id}", get(get_item).delete(delete_item))
            .fallback(not_found)
            .with_state(counters.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // Shut down on `shutdown()` only; a dropped sender keeps it running.
                    if rx.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                })
                .await;
        });
        Ok(DemoServer {
            addr,
            counters,
            stop: Some(tx),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests it answered for a path (`/`, `/index.html`, `/status`, `/slow`,
    /// `/fail`, or `other` for 404s).
    pub fn hits(&self, path: &str) -> u64 {
        let c = &self.counters;
        match path {
            "/" => c.root.load(Ordering::Relaxed),
            "/index.html" => c.index.load(Ordering::Relaxed),
            "/status" => c.status.load(Ordering::Relaxed),
            "/slow" => c.slow.load(Ordering::Relaxed),
            "/fail" => c.fail.load(Ordering::Relaxed),
            _ => c.not_found.load(Ordering::Relaxed),
        }
    }

    /// How many WebSocket connections `/ws/echo` accepted.
    pub fn ws_connections(&self) -> u64 {
        self.counters.ws_connections.load(Ordering::Relaxed)
    }

    /// How many WebSocket messages `/ws/echo` echoed.
    pub fn ws_messages(&self) -> u64 {
        self.counters.ws_messages.load(Ordering::Relaxed)
    }

    /// How many items `POST /items` created.
    pub fn items_created(&self) -> u64 {
        self.counters.items_created.load(Ordering::Relaxed)
    }

    /// How many items `DELETE /items/N` deleted.
    pub fn items_deleted(&self) -> u64 {
        self.counters.items_deleted.load(Ordering::Relaxed)
    }

    /// How many items are stored now.
    pub fn items_stored(&self) -> usize {
        self.counters
            .items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stored
            .len()
    }

    /// How many requests it answered in all.
    pub fn total(&self) -> u64 {
        ["/", "/index.html", "/status", "/slow", "/fail", "other"]
            .iter()
            .map(|p| self.hits(p))
            .sum()
    }

    /// How many deliberate failures (500 from `/fail`) it served.
    pub fn failures_served(&self) -> u64 {
        self.hits("/fail")
    }

    /// Stop accepting connections and finish.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Keep it running for the rest of the runtime, returning its URL.
    pub fn into_url(self) -> String {
        self.url()
    }
}

async fn root(State(c): State<Arc<Counters>>) -> Html<&'static str> {
    c.root.fetch_add(1, Ordering::Relaxed);
    Html(PAGE)
}

async fn index(State(c): State<Arc<Counters>>) -> Html<&'static str> {
    c.index.fetch_add(1, Ordering::Relaxed);
    Html(PAGE)
}

async fn status(State(c): State<Arc<Counters>>) -> Response {
    c.status.fetch_add(1, Ordering::Relaxed);
    ([("content-type", "application/json")], STATUS).into_response()
}

async fn slow(
    State(c): State<Arc<Counters>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ms = q
        .get("ms")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(200)
        .min(10_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    c.slow.fetch_add(1, Ordering::Relaxed);
    ([("content-type", "application/json")], STATUS).into_response()
}

async fn fail(State(c): State<Arc<Counters>>) -> Response {
    c.fail.fetch_add(1, Ordering::Relaxed);
    (StatusCode::INTERNAL_SERVER_ERROR, "deliberate failure\n").into_response()
}

async fn not_found(State(c): State<Arc<Counters>>, uri: Uri) -> Response {
    c.not_found.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::NOT_FOUND,
        format!("no such page: {}\n", uri.path()),
    )
        .into_response()
}

async fn ws_echo(
    State(c): State<Arc<Counters>>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let close_after = q.get("close_after").and_then(|v| v.parse::<u64>().ok());
    c.ws_connections.fetch_add(1, Ordering::Relaxed);
    upgrade.on_upgrade(move |socket| echo(socket, c, close_after))
}

async fn echo(mut socket: WebSocket, c: Arc<Counters>, close_after: Option<u64>) {
    let mut echoed = 0u64;
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                if close_after.is_some_and(|n| echoed >= n) {
                    let frame = CloseFrame {
                        code: 1000,
                        reason: "close_after reached".into(),
                    };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    // Read on until the client's answer ends the connection.
                    while let Some(Ok(_)) = socket.recv().await {}
                    return;
                }
                if socket.send(msg).await.is_err() {
                    return;
                }
                echoed += 1;
                c.ws_messages.fetch_add(1, Ordering::Relaxed);
            }
            // The answer to a close goes out on the next read, which then ends the loop.
            Message::Close(_) | Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

async fn create_item(State(c): State<Arc<Counters>>, body: axum::body::Bytes) -> Response {
    let Ok(item) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not JSON\n").into_response();
    };
    let id = {
        let mut items = c
            .items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        items.next_id += 1;
        let id = items.next_id;
        items.stored.insert(id, item.clone());
        id
    };
    c.items_created.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::json!({ "id": id, "item": item }).to_string();
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

async fn get_item(State(c): State<Arc<Counters>>, Path(id): Path<u64>) -> Response {
    let item = c
        .items
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .stored
        .get(&id)
        .cloned();
    match item {
        Some(item) => {
            let body = serde_json::json!({ "id": id, "item": item }).to_string();
            ([("content-type", "application/json")], body).into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("no item {id}\n")).into_response(),
    }
}

async fn delete_item(State(c): State<Arc<Counters>>, Path(id): Path<u64>) -> Response {
    let removed = c
        .items
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .stored
        .remove(&id);
    if removed.is_some() {
        c.items_deleted.fetch_add(1, Ordering::Relaxed);
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, format!("no item {id}\n")).into_response()
    }
}

/// One JSON-RPC answer of the demo server; `None` for a notification.
fn rpc_answer(req: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::json;
    let id = req.get("id")?.clone();
    let method = req
        .get("method")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    Some(match method {
        "echo" => {
            json!({"jsonrpc": "2.0", "id": id, "result": req.get("params").cloned().unwrap_or(serde_json::Value::Null)})
        }
        "fail" => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32000, "message": "deliberate failure"}})
        }
        "wrong_id" => {
            let other = id.as_u64().map_or(json!(0), |n| json!(n + 1000));
            json!({"jsonrpc": "2.0", "id": other, "result": "for someone else"})
        }
        "not_rpc" => json!({"hello": "world"}),
        _ => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}})
        }
    })
}

async fn rpc(body: axum::body::Bytes) -> Response {
    let json_response = |v: &serde_json::Value| {
        ([("content-type", "application/json")], v.to_string()).into_response()
    };
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return json_response(
            &serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}}),
        );
    };
    let truncated = |v: &serde_json::Value| {
        let text = v.to_string();
        let cut = text[..text.len() / 2].to_owned();
        ([("content-type", "application/json")], cut).into_response()
    };
    let wants_truncation = |r: &serde_json::Value| {
        r.get("method").and_then(serde_json::Value::as_str) == Some("truncated")
    };
    match &req {
        serde_json::Value::Array(items) => {
            let answers: Vec<_> = items.iter().filter_map(rpc_answer).collect();
            if answers.is_empty() {
                StatusCode::NO_CONTENT.into_response()
            } else if items.iter().any(wants_truncation) {
                truncated(&serde_json::Value::Array(answers))
            } else {
                json_response(&serde_json::Value::Array(answers))
            }
        }
        single => match rpc_answer(single) {
            None => StatusCode::NO_CONTENT.into_response(),
            Some(a) if wants_truncation(single) => truncated(&a),
            Some(a) => json_response(&a),
        },
    }
}

async fn login(body: axum::body::Bytes) -> Response {
    let user = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("user")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        });
    match user {
        Some(u) if !u.is_empty() => {
            let token = format!("demo-{u}");
            let body = serde_json::json!({ "token": token }).to_string();
            (
                [
                    ("content-type", "application/json".to_owned()),
                    ("set-cookie", format!("session={token}; Path=/")),
                ],
                body,
            )
                .into_response()
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            "a JSON body with a \"user\" is needed\n",
        )
            .into_response(),
    }
}

async fn list_items(State(c): State<Arc<Counters>>) -> Response {
    let items: Vec<serde_json::Value> = {
        let items = c
            .items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut ids: Vec<_> = items.stored.keys().copied().collect();
        ids.sort_unstable();
        ids.iter()
            .take(100)
            .map(|id| serde_json::json!({ "id": id, "item": items.stored[id] }))
            .collect()
    };
    let body = serde_json::json!({ "items": items }).to_string();
    ([("content-type", "application/json")], body).into_response()
}
