//! Liveness of an issuer's admin API: GET `/status`, with optional headers from
//! `ISSUER_HEADERS` (a JSON object, e.g. `{"Authorization": "Bearer ..."}`) and a wait
//! between `LOCUST_MIN_WAIT` and `LOCUST_MAX_WAIT` seconds (default 1 and 2).
//!
//! ```text
//! cargo run --example liveness -- -u 100 -r 20 -t 30s                    # the demo target
//! ISSUER_HEADERS='{"X-API-Key":"..."}' cargo run --example liveness -- -H http://127.0.0.1:8021
//! ```
use std::process::ExitCode;

use swarm_core::prelude::*;
use swarm_http::HttpClient;

struct Settings {
    headers: Option<String>,
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

fn settings() -> Result<Settings, String> {
    let headers = std::env::var("ISSUER_HEADERS")
        .ok()
        .filter(|h| !h.trim().is_empty());
    if let Some(h) = &headers {
        match serde_json::from_str::<serde_json::Value>(h) {
            Ok(serde_json::Value::Object(_)) => {}
            _ => return Err(
                "ISSUER_HEADERS is not a JSON object such as {\"Authorization\": \"Bearer ...\"}"
                    .into(),
            ),
        }
    }
    let min_wait = wait_var("LOCUST_MIN_WAIT", 1.0)?;
    let max_wait = wait_var("LOCUST_MAX_WAIT", 2.0)?;
    if min_wait > max_wait {
        return Err(format!(
            "LOCUST_MIN_WAIT ({min_wait}) is above LOCUST_MAX_WAIT ({max_wait})"
        ));
    }
    Ok(Settings {
        headers,
        min_wait,
        max_wait,
    })
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
        let mut b = HttpClient::builder(ctx);
        if let Some(h) = s.headers.as_deref() {
            b = b.headers_json(h)?;
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
    match settings() {
        Ok(s) => swarm_http::app()
            .setting(s)
            .mode(swarm_distributed::LocustWorker::new())
            .mode(swarm_web::WebUi::new())
            .main(),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
