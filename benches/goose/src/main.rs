//! Goose counterpart of Swarm's `http_max` example: one scenario, one
//! transaction `GET /`, no wait time. Everything else (host, users, hatch
//! rate, run time, report file) comes from Goose's own command line, e.g.
//!
//! ```text
//! goose-bench --host http://127.0.0.1:8080 --users 50 --hatch-rate 50 \
//!     --run-time 20s --report-file /tmp/goose.json --no-reset-metrics
//! ```
//!
//! With `GOOSE_SCENARIO=liveness` it is the counterpart of Swarm's `liveness`
//! example instead (for the memory per user): `GET /status`, then a wait of
//! 1 to 2 s.
use std::time::Duration;

use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _goose = user.get("/").await?;
    Ok(())
}

async fn get_status(user: &mut GooseUser) -> TransactionResult {
    let _goose = user.get("/status").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let scenario = if std::env::var("GOOSE_SCENARIO").is_ok_and(|s| s == "liveness") {
        scenario!("Liveness")
            .set_wait_time(Duration::from_secs(1), Duration::from_secs(2))?
            .register_transaction(transaction!(get_status).set_name("/status"))
    } else {
        scenario!("HttpMax").register_transaction(transaction!(get_root).set_name("/"))
    };
    GooseAttack::initialize()?
        .register_scenario(scenario)
        .execute()
        .await?;
    Ok(())
}
