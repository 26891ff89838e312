//! Liveness of an issuer's admin API: GET `/status`, with optional headers and a wait
//! between `LOCUST_MIN_WAIT` and `LOCUST_MAX_WAIT` seconds (default 1 and 2).
//!
//! The headers come from the `headers` feeder: one JSON object of headers a row. By
//! default it has one row, `ISSUER_HEADERS` (e.g. `{"Authorization": "Bearer ..."}`) or
//! no headers; `--feed headers=tenants.jsonl:per-user:recycle` gives each user the headers
//! of its own tenant instead (one object a line), checked before any load.
//!
//! ```text
//! cargo run --example liveness -- -u 100 -r 20 -t 30s                    # the demo target
//! ISSUER_HEADERS='{"X-API-Key":"..."}' cargo run --example liveness -- -H http://127.0.0.1:8021
//! cargo run --example liveness -- -H http://127.0.0.1:8021 --feed headers=tenants.jsonl:per-user:recycle
//! ```
use std::collections::BTreeMap;
use std::process::ExitCode;

use swarm_core::prelude::*;
use swarm_core::{Feed, FeedMode};
use swarm_http::HttpClient;

/// One row of the `headers` feeder: header name to value. Values are API keys and bearer
/// tokens: its `Debug` shows the names only.
#[derive(Clone, Default, serde::Deserialize)]
struct Headers(BTreeMap<String, String>);

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

struct Settings {
    min_wait: f64,
    max_wait: f64,
}

fn wait_var(name: &str, default: f64) -> Result<f64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(format!("{name}={v:?} is not a number of seconds >= 0")),
        },
    }
}

/// The default `headers` feeder: its one row is `ISSUER_HEADERS`, or no headers.
fn headers_feed() -> Result<Feed, String> {
    let headers = match std::env::var("ISSUER_HEADERS") {
        Ok(h) if !h.trim().is_empty() => serde_json::from_str::<Headers>(&h).map_err(|_| {
            "ISSUER_HEADERS is not a JSON object of strings such as {\"Authorization\": \"Bearer ...\"}"
                .to_owned()
        })?,
        _ => Headers::default(),
    };
    // `--feed headers=FILE` replaces the row; its rows are checked as `Headers` first.
    Ok(Feed::rows("headers", vec![headers])
        .mode(FeedMode::Sequential)
        .typed::<Headers>())
}

fn settings() -> Result<Settings, String> {
    let min_wait = wait_var("LOCUST_MIN_WAIT", 1.0)?;
    let max_wait = wait_var("LOCUST_MAX_WAIT", 2.0)?;
    if min_wait > max_wait {
        return Err(format!(
            "LOCUST_MIN_WAIT ({min_wait}) is above LOCUST_MAX_WAIT ({max_wait})"
        ));
    }
    Ok(Settings { min_wait, max_wait })
}

struct Liveness {
    http: HttpClient,
    wait: Wait,
}

#[async_trait]
impl User for Liveness {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let s = ctx
            .setting::<Settings>()
            .ok_or_else(|| TaskError::new("no Settings for this run"))?;
        let headers = ctx.feed::<Headers>("headers")?;
        let mut b = HttpClient::builder(ctx);
        for (name, value) in &headers.0 {
            b = b.header(name, value)?;
        }
        Ok(Liveness {
            http: b.build()?,
            wait: Wait::between_secs(s.min_wait, s.max_wait),
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("status", Self::status)
    }

    fn wait_time(&self) -> Wait {
        self.wait.clone()
    }
}

impl Liveness {
    async fn status(&mut self, _ctx: &mut UserContext) -> TaskResult {
        self.http.get("/status").send().await?;
        Ok(())
    }
}

swarm_core::register_user!(Liveness);

fn main() -> ExitCode {
    match settings().and_then(|s| Ok((s, headers_feed()?))) {
        Ok((s, headers)) => swarm_http::app()
            .setting(s)
            .feed(headers)
            .mode(swarm_distributed::LocustWorker::new())
            .mode(swarm_web::WebUi::new())
            .main(),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
