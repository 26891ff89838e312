//! The many-names scenario of `benches/http_throughput.sh`: GET `/?n=<k>` with no wait and
//! no `.name()`, so that each distinct URL asks for a statistics entry of its own (the
//! mistake issue 10 measured: a URL with a random part and no grouping name).
//! `SWARM_NAMES` distinct URLs (default 100000) are sent in turn by all the users; with
//! `SWARM_NAMES=1` every request is `/?n=0`, the one-name baseline at the same cost per
//! request.
//!
//! ```text
//! cargo run --release -p swarm-http --example http_names -- -H http://127.0.0.1:8080 -u 50 -r 50 -t 20s
//! ```
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use swarm_core::prelude::*;
use swarm_http::HttpClient;

/// How many distinct URLs the run sends.
struct Names(u64);

/// The next URL's number, shared by every user.
static NEXT: AtomicU64 = AtomicU64::new(0);

struct NamesUser {
    http: HttpClient,
    names: u64,
}

#[async_trait]
impl User for NamesUser {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let names = ctx.setting::<Names>().map_or(100_000, |n| n.0);
        Ok(NamesUser {
            http: HttpClient::new(ctx)?,
            names,
        })
    }

    fn tasks() -> Tasks<Self> {
        Tasks::new().task("distinct", Self::distinct)
    }
}

impl NamesUser {
    async fn distinct(&mut self, _ctx: &mut UserContext) -> TaskResult {
        let k = NEXT.fetch_add(1, Ordering::Relaxed) % self.names;
        self.http.get(&format!("/?n={k}")).send().await?;
        Ok(())
    }
}

swarm_core::register_user!(NamesUser);

fn main() -> ExitCode {
    let names = match std::env::var("SWARM_NAMES") {
        Err(_) => 100_000,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("error: SWARM_NAMES={v:?} is not a whole number above 0");
                return ExitCode::from(2);
            }
        },
    };
    swarm_http::app().setting(Names(names)).main()
}
