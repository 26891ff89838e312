//! HTTP for Swarm load tests.
//!
//! [`HttpClient`] is a user's client (Locust's `self.client`): requests to the run's
//! host, per-user cookies and default headers, a `name` to group requests, and
//! validation that turns a response into a failure. Every request is timed from send
//! to the end of its body and recorded into the run's statistics with its size and
//! status.
//!
//! [`WsClient`] is a user's WebSocket: a recorded connect, sends, receives with a
//! time-out, round trips matched by a correlation key, and a recorded close.
//!
//! [`RpcClient`] speaks JSON-RPC 2.0 over HTTP or a WebSocket: calls, batches,
//! notifications and subscriptions, each method its own entry.
//!
//! [`SioClient`] is a Socket.IO client (Engine.IO v4 over a WebSocket): a recorded
//! connect, emits, acknowledged emits and awaited server events.
//!
//! With the `demo` feature (on by default), [`demo::DemoServer`] is a small in-process
//! target, and [`main`] runs a scenario binary against it when no `--host` is given.
#![forbid(unsafe_code)]

mod client;
mod conn;
#[cfg(feature = "demo")]
pub mod demo;
mod error;
mod h1;
pub mod jsonrpc;
mod request;
pub mod socketio;
#[cfg(feature = "tls")]
pub mod tls;
pub mod ws;

pub use client::{HttpClient, HttpClientBuilder, DEFAULT_TIMEOUT};
pub use error::HttpError;
pub use jsonrpc::{RpcClient, RpcError};
pub use request::{CheckedResponse, RequestBuilder, Response};
pub use reqwest::{Method, StatusCode};
pub use socketio::{SioClient, SioError, SioPayload};
pub use ws::{WsClient, WsError, WsMessage};

/// The `main` of a scenario binary whose users speak HTTP: like [`swarm_core::main`],
/// and when no `--host` is given it starts the [demo target](demo::DemoServer) and runs
/// against it.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     swarm_http::main()
/// }
/// ```
#[cfg(feature = "demo")]
pub fn main() -> std::process::ExitCode {
    app().main()
}

/// The [`swarm_core::cli::App`] of [`main`], with the demo target as its default host,
/// for a `main` that adds to it (e.g. `app().main_from(args)`).
#[cfg(feature = "demo")]
pub fn app() -> swarm_core::cli::App {
    swarm_core::cli::App::new().default_host(|| async {
        let server = demo::DemoServer::start()
            .await
            .map_err(|e| format!("cannot bind 127.0.0.1: {e}"))?;
        Ok(server.into_url())
    })
}

/// The top-level README's snippets, compiled as doc tests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
