//! The reference for Swarm's JSON-RPC client: a minimal reqwest loop. `CONCURRENCY`
//! tasks POST `{"jsonrpc":"2.0","id":N,"method":METHOD,"params":[]}` to `URL` for
//! `SECONDS`, parse each answer and check its id and result, then print
//! `calls=N failures=N ticks=CPU`.
//!
//! ```text
//! bare_jsonrpc http://127.0.0.1:PORT/rpc echo 32 20
//! ```
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use swarm_bench_ws::{arg, arg_str, cpu_ticks};

#[tokio::main]
async fn main() {
    let usage = "bare_jsonrpc URL METHOD CONCURRENCY SECONDS";
    let url = arg_str(1, usage);
    let method = arg_str(2, usage);
    let deadline = Instant::now() + Duration::from_secs(arg(4, 20));
    let client = reqwest::Client::new();
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let tasks: Vec<_> = (0..arg(3, 32u32))
        .map(|_| {
            let (client, url, method) = (client.clone(), url.clone(), method.clone());
            let (calls, failures) = (calls.clone(), failures.clone());
            tokio::spawn(async move {
                let mut id = 0u64;
                while Instant::now() < deadline {
                    id += 1;
                    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": []});
                    let answer = async {
                        let resp = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body.to_string())
                            .send()
                            .await
                            .ok()?;
                        serde_json::from_slice::<Value>(&resp.bytes().await.ok()?).ok()
                    };
                    match answer.await {
                        Some(v) if v["id"] == id && v.get("result").is_some() => {
                            calls.fetch_add(1, Relaxed)
                        }
                        _ => failures.fetch_add(1, Relaxed),
                    };
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let (c, f) = (calls.load(Relaxed), failures.load(Relaxed));
    println!("calls={c} failures={f} ticks={}", cpu_ticks());
}
