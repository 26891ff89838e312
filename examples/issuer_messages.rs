//! Aries issuer messages load test (`IssueMessage` by default): each user is a native
//! holder connected to the ACA-Py issuer, and each iteration the issuer's admin API sends it
//! a basic message (`POST /connections/{id}/send-message`); the latency from the admin call
//! to the holder's receipt is recorded (`DIDCOMM issuer_message`). `MediatorIssueMessage`
//! does the same with the holders behind a mediator (the messages arrive forwarded).
//!
//! ```text
//! ISSUER_URL=http://127.0.0.1:8021 cargo run --release --example issuer_messages -- -u 50 -r 5 -t 5m
//! cargo run --release --example issuer_messages -- -u 10 -r 2 -t 1m                        # a local issuer
//! cargo run --release --example issuer_messages -- MediatorIssueMessage -u 10 -r 1 -t 1m   # and a local mediator
//! ```
//!
//! The `issue` example with another default: the same flags, settings (`ISSUER_URL`,
//! `ISSUER_HEADERS`, `MEDIATION_URL`, ...) and user types, and local ACA-Py peers from
//! `peers/` when no URLs are given.
use std::process::ExitCode;

#[path = "issue.rs"]
#[allow(dead_code)] // its own `main`
mod issue;

fn main() -> ExitCode {
    issue::run(
        "issuer_messages",
        "Basic messages from an ACA-Py issuer to many native holders",
        "IssueMessage",
    )
}
