//! The router of `--metrics-bind`: `GET /metrics` from the run's control plane.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use swarm_core::{RunnerHandle, Snapshot};

use crate::auth::Credentials;
use crate::control::Controller;
use crate::master_link::MasterLink;

/// Where the numbers come from: a command-line run's handle, the web UI's runs, or a
/// master's workers.
#[derive(Clone)]
pub(crate) enum Source {
    Handle(RunnerHandle),
    Web(Arc<Controller>),
    Master(Arc<dyn MasterLink>),
}

impl Source {
    async fn now(&self) -> (Snapshot, u32, BTreeMap<String, u32>) {
        match self {
            Source::Handle(h) => {
                let status = h.status().borrow().clone();
                let snap = h.snapshot().await.unwrap_or_else(Snapshot::empty);
                (snap, status.users, status.user_counts)
            }
            Source::Web(c) => {
                let cur = c.current(false).await;
                (cur.snapshot, cur.users, cur.user_counts)
            }
            Source::Master(link) => {
                let v = link.view();
                let snap = v.snapshot.map_or_else(Snapshot::empty, |s| (*s).clone());
                let n = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
                let counts = v
                    .user_counts
                    .iter()
                    .map(|(k, v)| (k.clone(), n(*v)))
                    .collect();
                (snap, n(v.user_count), counts)
            }
        }
    }
}

async fn metrics(State(source): State<Source>) -> impl IntoResponse {
    let (snap, users, counts) = source.now().await;
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(&snap, users, &counts),
    )
}

/// `GET /metrics`, behind the credentials when there are some.
pub(crate) fn router(source: Source, creds: Option<Arc<Credentials>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(source)
        .layer(axum::middleware::from_fn_with_state(
            creds,
            crate::auth::require,
        ))
        .layer(axum::middleware::from_fn(crate::auth::security_headers))
}
