//! The reference for Swarm's WebSocket client: a minimal tokio-tungstenite loop.
//!
//! `bare_ws echo URL CONNECTIONS SECONDS`: each connection sends a text message and waits
//! for its echo, for `SECONDS`; prints `messages=N failures=N ticks=CPU`.
//! `bare_ws idle URL CONNECTIONS SECONDS`: opens the connections, each read by a task of
//! its own, and holds them for `SECONDS` (2,000 connects a second); prints `connected=N`.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use swarm_bench_ws::{arg, arg_str, cpu_ticks};
use tokio_tungstenite::tungstenite::Message;

const PAYLOAD: &str = r#"{"id":1,"text":"a WebSocket echo of some 48 bytes"}"#;

#[tokio::main]
async fn main() {
    let usage = "bare_ws echo|idle URL CONNECTIONS SECONDS";
    let (mode, url) = (arg_str(1, usage), arg_str(2, usage));
    let seconds = Duration::from_secs(arg(4, 20));
    let deadline = Instant::now() + seconds;
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tasks: Vec<_> = (0..arg(3, 50u64))
        .map(|i| {
            let (url, mode, ok, failed) = (url.clone(), mode.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                if mode == "idle" {
                    // 2,000 connects a second, as the Swarm run spawns its users.
                    tokio::time::sleep(Duration::from_micros(500 * i)).await;
                }
                let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
                    failed.fetch_add(1, Relaxed);
                    return;
                };
                if mode == "idle" {
                    ok.fetch_add(1, Relaxed);
                    let _ = tokio::time::timeout_at(deadline.into(), ws.next()).await;
                    return;
                }
                while Instant::now() < deadline {
                    if ws.send(Message::text(PAYLOAD)).await.is_err() {
                        failed.fetch_add(1, Relaxed);
                        return;
                    }
                    if let Some(Ok(Message::Text(_))) = ws.next().await {
                        ok.fetch_add(1, Relaxed);
                    } else {
                        failed.fetch_add(1, Relaxed);
                        return;
                    }
                }
                let _ = ws.close(None).await;
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let (n, f) = (ok.load(Relaxed), failed.load(Relaxed));
    if mode == "idle" {
        println!("connected={n} failures={f}");
    } else {
        println!("messages={n} failures={f} ticks={}", cpu_ticks());
    }
}
