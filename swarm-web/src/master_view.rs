//! The web UI beside another run mode (a master): a page of what that mode reports
//! through its [`MasterLink`] (its state, totals and workers), with Locust's `workers`
//! and `worker_count` in `GET /stats/requests`; when the master takes commands, Locust's
//! `POST /swarm`, `POST /stop` and `POST /stats/reset` steer it and the downloads give
//! its statistics so far; otherwise they are refused (read-only).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use swarm_core::Snapshot;

use crate::api::{Csv, Download};
use crate::auth::Credentials;
use crate::control::Refused;
use crate::master_link::{MasterCommand, MasterLink};

/// One worker of a master, with the fields of Locust's `/stats/requests` `workers` list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkerRow {
    /// Its node id.
    pub id: String,
    /// Its state as Locust names it (`ready`, `spawning`, `running`, `stopped`,
    /// `missing`, ...).
    pub state: String,
    /// The users it runs.
    pub user_count: u64,
    /// CPU use of its process, percent of one core.
    pub cpu_usage: f64,
    /// Resident memory of its process, bytes.
    pub memory_usage: u64,
}

/// What a master shows on the web UI at one moment.
#[derive(Debug, Clone, Default)]
pub struct MasterView {
    /// The run's state as Locust names it (`ready`, `spawning`, `running`, `stopping`,
    /// `stopped`).
    pub state: String,
    /// Users the workers run.
    pub user_count: u64,
    /// Users asked for.
    pub target_user_count: u64,
    /// Requests the workers reported so far.
    pub requests: u64,
    /// Failures the workers reported so far.
    pub failures: u64,
    /// Its workers.
    pub workers: Vec<WorkerRow>,
    /// The statistics its workers reported (per entry, errors), when it has them;
    /// without, the page shows the request and failure counts only.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Users the workers run, per user type (for `--metrics-bind`).
    pub user_counts: BTreeMap<String, u64>,
}

#[derive(Clone)]
struct Shared {
    link: Arc<dyn MasterLink>,
    /// The master takes commands.
    steer: bool,
    settings: Value,
    host: Option<String>,
}

impl Shared {
    fn view(&self) -> MasterView {
        self.link.view()
    }
}

const INDEX: &str = include_str!("../assets/index.html");

/// The master's router, behind the same credentials and headers as the full UI.
pub(crate) fn router(
    link: Arc<dyn MasterLink>,
    steer: bool,
    settings: Value,
    host: Option<String>,
    creds: Option<Arc<Credentials>>,
) -> Router {
    let shared = Shared {
        link,
        steer,
        settings,
        host,
    };
    type S = State<Shared>;
    let steering = if steer {
        Router::new()
            .route("/swarm", post(swarm))
            .route("/stop", post(stop))
            .route("/stats/reset", post(reset))
            .route("/stats/requests/csv", get(|s: S| csv(s, Csv::Requests)))
            .route("/stats/failures/csv", get(|s: S| csv(s, Csv::Failures)))
            .route("/exceptions/csv", get(|s: S| csv(s, Csv::Exceptions)))
            .route(
                "/stats/requests_full_history/csv",
                get(|s: S| csv(s, Csv::History)),
            )
            .route("/stats/report", get(report_html))
            .route("/stats/report.json", get(report_json))
    } else {
        Router::new()
            .route("/swarm", post(read_only))
            .route("/stop", post(read_only))
            .route("/stats/reset", post(read_only))
    };
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route("/assets/app.js", get(|| async { crate::api::app_js() }))
        .route(
            "/assets/style.css",
            get(|| async { crate::api::style_css() }),
        )
        .route(
            "/ui/settings",
            get(|State(s): State<Shared>| async move { Json(s.settings) }),
        )
        .route("/stats/requests", get(stats_requests))
        .route("/stats/history", get(history))
        .route("/exceptions", get(exceptions))
        .merge(steering)
        .with_state(shared)
        .layer(axum::middleware::from_fn(crate::auth::same_origin))
        .layer(axum::middleware::from_fn_with_state(
            creds,
            crate::auth::require,
        ))
        .layer(axum::middleware::from_fn(crate::auth::security_headers))
}

async fn read_only() -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({
            "success": false,
            "message": "this master runs from the command line (-u, -t): the web UI only shows it",
        })),
    )
        .into_response()
}

async fn swarm(State(s): State<Shared>, body: Bytes) -> Response {
    let req = match crate::api::parse_start(&body) {
        Ok(r) => r,
        Err(e) => return crate::api::answer(Err(e), s.host.as_deref()),
    };
    if !req.user_classes.is_empty() {
        return crate::api::answer(
            Err(Refused(
                "user_classes cannot be chosen on a master: its workers run the user types of the command line"
                    .to_owned(),
            )),
            s.host.as_deref(),
        );
    }
    let host = req.host.clone().filter(|h| !h.trim().is_empty());
    let answer = s
        .link
        .command(MasterCommand::Start {
            users: req.users,
            spawn_rate: req.spawn_rate,
            host: host.clone(),
            run_time: req.run_time,
        })
        .await;
    let shown = host.or(s.host.clone());
    match answer {
        Ok(m) => crate::api::answer(Ok(&m), shown.as_deref()),
        Err(e) => crate::api::answer(Err(Refused(e)), s.host.as_deref()),
    }
}

async fn stop(State(s): State<Shared>) -> Response {
    match s.link.command(MasterCommand::Stop).await {
        Ok(m) => Json(json!({"success": true, "message": m})).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"success": false, "message": e})),
        )
            .into_response(),
    }
}

async fn reset(State(s): State<Shared>) -> Response {
    match s.link.command(MasterCommand::ResetStats).await {
        Ok(_) => "ok".into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}

/// No report before the first run.
fn no_report() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no statistics yet: the master has not started a run\n",
    )
        .into_response()
}

async fn csv(State(s): State<Shared>, which: Csv) -> Response {
    match s.link.report() {
        Some((report, _)) => crate::api::csv_of(&report, which),
        None => no_report(),
    }
}

async fn report_html(State(s): State<Shared>, Query(q): Query<Download>) -> Response {
    match s.link.report() {
        Some((report, live)) => crate::api::html_of(report, live, &q),
        None => no_report(),
    }
}

async fn report_json(State(s): State<Shared>) -> Response {
    match s.link.report() {
        Some((report, live)) => crate::api::json_of(&report, live),
        None => no_report(),
    }
}

#[derive(serde::Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

/// The chart points of the master's per-second history after `since` (a point's `seq`
/// is its row's position, from 1).
async fn history(
    State(s): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<Since>,
) -> Json<Value> {
    let snap = s.view().snapshot;
    Json(json!({ "points": points(snap.as_deref(), q.since) }))
}

pub(crate) fn points(snap: Option<&Snapshot>, since: u64) -> Vec<Value> {
    let bucket =
        |ms: Option<f64>| ms.map(|v| swarm_core::locust_bucket_ms((v * 1000.0) as u64) as f64);
    snap.map(|s| s.history.as_slice())
        .unwrap_or_default()
        .iter()
        .zip(1u64..)
        .filter(|(_, seq)| *seq > since)
        .map(|(row, seq)| {
            json!({
                "seq": seq,
                "time": row.timestamp,
                "users": row.users,
                "rps": row.rps,
                "fails_per_sec": row.fails_per_sec,
                "p50_ms": bucket(row.p50_ms()),
                "p95_ms": bucket(row.p95_ms()),
            })
        })
        .collect()
}

async fn exceptions(State(s): State<Shared>) -> Json<Value> {
    Json(match s.view().snapshot {
        Some(snap) => crate::locust_json::exceptions(&snap),
        None => json!({ "exceptions": [] }),
    })
}

async fn stats_requests(State(s): State<Shared>) -> Json<Value> {
    Json(stats_json(&s.view(), s.host.as_deref(), s.steer))
}

/// `GET /stats/requests` of a master: the rows of its snapshot (or the request and
/// failure counts alone), Locust's `workers` and `worker_count`, and `read_only` (it
/// does not take commands).
pub(crate) fn stats_json(v: &MasterView, host: Option<&str>, steer: bool) -> Value {
    let mut out = match &v.snapshot {
        Some(snap) => {
            let total = snap.aggregated();
            let d = snap.duration_secs;
            json!({
                "stats": crate::locust_json::rows(snap),
                "errors": crate::locust_json::errors(snap),
                "total_rps": crate::locust_json::per_sec(total.requests, d),
                "total_fail_per_sec": crate::locust_json::per_sec(total.failures, d),
                "fail_ratio": total.fail_ratio(),
            })
        }
        None => counts_only(v),
    };
    let workers: Vec<Value> = v
        .workers
        .iter()
        .map(|w| {
            json!({
                "id": w.id,
                "state": w.state,
                "user_count": w.user_count,
                "cpu_usage": w.cpu_usage,
                "memory_usage": w.memory_usage,
            })
        })
        .collect();
    let active = matches!(v.state.as_str(), "spawning" | "running");
    let (rps, fails) = match &v.snapshot {
        Some(snap) if active => current_rates(snap),
        _ => (0.0, 0.0),
    };
    // The workers' rows have no window of their own: the total's goes on the
    // `Aggregated` row.
    if let Some(total) = out["stats"].as_array_mut().and_then(|rows| {
        rows.iter_mut()
            .find(|r| r["name"] == "Aggregated" && r["method"] == "")
    }) {
        total["current_rps"] = json!(rps);
        total["current_fail_per_sec"] = json!(fails);
    }
    let more = json!({
        "current_rps": rps,
        "current_fail_per_sec": fails,
        "current_response_time_percentiles": {
            "response_time_percentile_0.5": 0,
            "response_time_percentile_0.95": 0,
        },
        "state": v.state,
        "user_count": v.user_count,
        "target_user_count": v.target_user_count,
        "host": host,
        "workers": workers,
        "worker_count": v.workers.iter().filter(|w| w.state != "missing").count(),
        "read_only": !steer,
    });
    if let (Some(o), Value::Object(m)) = (out.as_object_mut(), more) {
        o.extend(m);
    }
    out
}

/// Requests and failures per second of the history's last row (the master's rows
/// carry its rates over the last 10 s, Locust's "current" window: the workers report
/// every 3 s, so a rate over one second alone jumps).
fn current_rates(snap: &Snapshot) -> (f64, f64) {
    snap.history
        .last()
        .map_or((0.0, 0.0), |r| (r.rps, r.fails_per_sec))
}

/// The `Aggregated` row from the request and failure counts alone.
fn counts_only(v: &MasterView) -> Value {
    let ratio = if v.requests > 0 {
        v.failures as f64 / v.requests as f64
    } else {
        0.0
    };
    let total = json!({
        "method": "",
        "name": "Aggregated",
        "num_requests": v.requests,
        "num_failures": v.failures,
        "min_response_time": 0,
        "max_response_time": 0,
        "current_rps": 0.0,
        "current_fail_per_sec": 0.0,
        "avg_response_time": 0.0,
        "median_response_time": 0,
        "total_rps": 0.0,
        "total_fail_per_sec": 0.0,
        "response_time_percentile_0.95": 0,
        "response_time_percentile_0.99": 0,
        "avg_content_length": 0.0,
    });
    json!({
        "stats": [total],
        "errors": [],
        "total_rps": 0.0,
        "total_fail_per_sec": 0.0,
        "fail_ratio": ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_in_locust_shape() {
        let v = MasterView {
            state: "running".into(),
            user_count: 6,
            target_user_count: 6,
            requests: 10,
            failures: 1,
            workers: vec![
                WorkerRow {
                    id: "a".into(),
                    state: "running".into(),
                    user_count: 3,
                    cpu_usage: 1.5,
                    memory_usage: 10,
                },
                WorkerRow {
                    id: "b".into(),
                    state: "missing".into(),
                    ..WorkerRow::default()
                },
            ],
            snapshot: None,
            user_counts: BTreeMap::new(),
        };
        let j = stats_json(&v, Some("http://127.0.0.1:1"), true);
        assert_eq!(j["read_only"], false);
        assert_eq!(j["workers"][0]["id"], "a");
        assert_eq!(j["workers"][0]["user_count"], 3);
        assert_eq!(j["workers"][0]["memory_usage"], 10);
        assert_eq!(j["workers"][1]["state"], "missing");
        assert_eq!(j["worker_count"], 1);
        assert_eq!(j["stats"][0]["num_requests"], 10);
        assert!((j["fail_ratio"].as_f64().unwrap() - 0.1).abs() < 1e-9);
    }
}
