//! Runnable Swarm load tests; see the `[[example]]`s of this package:
//! `cargo run --example http_basic`, `liveness`, `http_max`.
