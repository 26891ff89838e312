//! Goose counterpart of Swarm's `http_max` example: one scenario, one
//! transaction `GET /`, no wait time. Everything else (host, users, hatch
//! rate, run time, report file) comes from Goose's own command line, e.g.
//!
//! ```text
//! goose-bench --host http://127.0.0.1:8080 --users 50 --hatch-rate 50 \
//!     --run-time 20s --report-file /tmp/goose.json --no-reset-metrics
//! ```
use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _goose = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(
            scenario!("HttpMax").register_transaction(transaction!(get_root).set_name("/")),
        )
        .execute()
        .await?;
    Ok(())
}
