//! Swarm's side of `benches/ws_jsonrpc.sh`, and the demo target it loads.
//!
//! ```text
//! swarm_ws target SECONDS                  # the demo target; prints URL=, exits after SECONDS
//! swarm_ws rpc URL METHOD USERS SECONDS    # RpcClient over HTTP, no wait: calls=N failures=N ticks=CPU
//! swarm_ws ws URL USERS SECONDS            # WsClient send + recv on /ws/echo: messages=N failures=N ticks=CPU
//! swarm_ws idle URL USERS SECONDS RATE     # users that connect to /ws/echo and idle: connected=N failures=N
//! ```
use std::sync::Arc;
use std::time::Duration;

use swarm_bench_ws::{arg, arg_str, cpu_ticks};
use swarm_core::prelude::*;
use swarm_http::jsonrpc::{RpcClient, KIND as RPC};
use swarm_http::ws::{WsClient, CONNECT_KIND, KIND as WS};
use swarm_http::HttpClient;

const USAGE: &str = "swarm_ws target SECONDS | rpc URL METHOD USERS SECONDS | ws URL USERS SECONDS | idle URL USERS SECONDS RATE";
const PAYLOAD: &str = r#"{"id":1,"text":"a WebSocket echo of some 48 bytes"}"#;

/// The endpoint and method the JSON-RPC users call (a run setting).
struct Method {
    url: String,
    name: String,
}

struct Rpc {
    rpc: RpcClient,
    method: Arc<Method>,
}

#[async_trait]
impl User for Rpc {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let http = HttpClient::new(ctx)?;
        let method = ctx
            .setting::<Method>()
            .ok_or_else(|| TaskError::new("no method setting"))?;
        Ok(Rpc {
            rpc: RpcClient::http(&http, &method.url)?,
            method,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("call", Self::call)
    }
}

impl Rpc {
    async fn call(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.rpc.call(&self.method.name, ()).await?;
        Ok(())
    }
}

struct Echo {
    ws: WsClient,
}

#[async_trait]
impl User for Echo {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Echo {
            ws: WsClient::connect(ctx, "/ws/echo").connect().await?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("echo", Self::echo)
    }
}

impl Echo {
    async fn echo(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.ws.send(PAYLOAD).await?;
        self.ws.recv("echo").await?;
        Ok(())
    }
}

struct Idle {
    _ws: WsClient,
}

#[async_trait]
impl User for Idle {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Idle {
            _ws: WsClient::connect(ctx, "/ws/echo").connect().await?,
        })
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(3600))
    }
}

impl Idle {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

fn run(swarm: Swarm, host: String, users: u32, rate: f64, seconds: u64) -> Report {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(
        swarm
            .users(users)
            .spawn_rate(rate)
            .run_time(Duration::from_secs(seconds))
            .stop_timeout(Duration::from_secs(10))
            .host(host)
            .run(),
    )
    .unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    })
}

/// Successes and failures of one entry of the report.
fn counts(r: &Report, kind: &str, name: &str) -> (u64, u64) {
    r.snapshot
        .entry(kind, name)
        .map_or((0, 0), |e| (e.requests - e.failures, e.failures))
}

fn main() {
    match arg_str(1, USAGE).as_str() {
        "target" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async {
                let server = swarm_http::demo::DemoServer::start()
                    .await
                    .expect("the demo target starts");
                println!("URL={}", server.url());
                tokio::time::sleep(Duration::from_secs(arg(2, 600))).await;
            });
        }
        "rpc" => {
            let users = arg(4, 32u32);
            let (url, name) = (arg_str(2, USAGE), arg_str(3, USAGE));
            let swarm = Swarm::new().user::<Rpc>().setting(Method {
                url: url.clone(),
                name: name.clone(),
            });
            let r = run(swarm, url, users, f64::from(users), arg(5, 20));
            let (ok, failed) = counts(&r, RPC, &name);
            println!("calls={ok} failures={failed} ticks={}", cpu_ticks());
        }
        "ws" => {
            let users = arg(3, 50u32);
            let r = run(
                Swarm::new().user::<Echo>(),
                arg_str(2, USAGE),
                users,
                f64::from(users),
                arg(4, 20),
            );
            let (ok, failed) = counts(&r, WS, "echo");
            println!("messages={ok} failures={failed} ticks={}", cpu_ticks());
        }
        "idle" => {
            let r = run(
                Swarm::new().user::<Idle>(),
                arg_str(2, USAGE),
                arg(3, 10_000u32),
                arg(5, 2000.0),
                arg(4, 30),
            );
            let (ok, failed) = counts(&r, CONNECT_KIND, "/ws/echo");
            println!("connected={ok} failures={failed}");
        }
        _ => {
            eprintln!("usage: {USAGE}");
            std::process::exit(2)
        }
    }
}
