//! Aries issuer load test with the holders behind a mediator (`MediatorIssue` by default):
//! each user is a native holder that connects to the mediator, gets mediation, then
//! connects to the ACA-Py issuer with a DID that names the mediator, so the issuer's
//! offers and credentials arrive forwarded; one iteration, offer to ack, is the recorded
//! latency (`DIDCOMM issue_credential`).
//!
//! ```text
//! ISSUER_URL=http://127.0.0.1:8021 MEDIATION_URL='http://127.0.0.1:8000?oob=...' \
//!   cargo run --release --example mediator_issue -- -u 20 -r 1 -t 5m
//! cargo run --release --example mediator_issue -- -u 10 -r 1 -t 1m   # starts a local issuer and mediator
//! ```
//!
//! The `issue` example with another default: the same flags, settings (`ISSUER_URL`,
//! `ISSUER_HEADERS`, `MEDIATION_URL`, `CRED_ATTR`, `CRED_FORMAT`, `CRED_DEF`, `SCHEMA`, ...)
//! and user types (name one to run it instead), and local ACA-Py peers from `peers/` when
//! no URLs are given.
use std::process::ExitCode;

#[path = "issue.rs"]
#[allow(dead_code)] // its own `main`
mod issue;

fn main() -> ExitCode {
    issue::run(
        "mediator_issue",
        "Issue credentials from an ACA-Py issuer to many native holders behind a mediator",
        "MediatorIssue",
    )
}
