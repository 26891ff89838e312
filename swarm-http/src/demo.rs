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
//! | anything else | 404 |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
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
