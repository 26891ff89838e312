//! The first load test: GET `/index.html?ok=<random>`, grouped as
//! `/index.html?ok=[random]`, with a 0.1 s wait between requests (`LOCUST_MIN_WAIT` and
//! `LOCUST_MAX_WAIT` seconds, as its Locust twin `peers/locustfiles/http_basic.py` reads
//! them too).
//!
//! ```text
//! cargo run --example http_basic -- -u 10 -r 10 -t 10s            # the demo target
//! cargo run --example http_basic -- -H http://127.0.0.1:8080 -u 50 -t 1m --csv out
//! ```
use swarm_core::prelude::*;
use swarm_http::HttpClient;

struct WebsiteUser {
    http: HttpClient,
    wait: Wait,
}

/// The wait between requests, seconds.
struct Waits(f64, f64);

fn wait_var(name: &str) -> Result<f64, String> {
    match std::env::var(name) {
        Err(_) => Ok(0.1),
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(format!("{name}={v:?} is not a number of seconds >= 0")),
        },
    }
}

#[async_trait]
impl User for WebsiteUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let waits = ctx.setting::<Waits>().map_or((0.1, 0.1), |w| (w.0, w.1));
        Ok(WebsiteUser {
            http: HttpClient::new(ctx)?,
            wait: Wait::between_secs(waits.0, waits.1),
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("index", Self::index)
    }

    fn wait_time(&self) -> Wait {
        self.wait.clone()
    }
}

impl WebsiteUser {
    async fn index(&mut self, ctx: &mut UserContext) -> TaskResult {
        let ok: u32 = ctx.rng().random_range(0..1_000_000);
        self.http
            .get(&format!("/index.html?ok={ok}"))
            .name("/index.html?ok=[random]")
            .send()
            .await?;
        Ok(())
    }
}

swarm_core::register_user!(WebsiteUser);

fn main() -> std::process::ExitCode {
    let waits = match (wait_var("LOCUST_MIN_WAIT"), wait_var("LOCUST_MAX_WAIT")) {
        (Ok(min), Ok(max)) if min <= max => Waits(min, max),
        (Ok(min), Ok(max)) => {
            eprintln!("error: LOCUST_MIN_WAIT ({min}) is above LOCUST_MAX_WAIT ({max})");
            return std::process::ExitCode::from(2);
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    swarm_http::app()
        .setting(waits)
        .mode(swarm_distributed::LocustWorker::new())
        .mode(swarm_web::WebUi::new())
        .main()
}
