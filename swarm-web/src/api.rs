//! The routes of the web UI: Locust's, plus a few of Swarm's own (see the crate's
//! README for the list).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::Credentials;
use crate::control::{Controller, Refused, StartRequest};
use crate::locust_json;

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

type Ctl = State<Arc<Controller>>;

/// The router of the web UI, behind the credentials when there are some.
pub(crate) fn router(ctl: Arc<Controller>, creds: Option<Arc<Credentials>>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript", APP_JS) }),
        )
        .route(
            "/assets/style.css",
            get(|| async { asset("text/css", STYLE) }),
        )
        .route("/ui/settings", get(settings))
        .route("/swarm", post(swarm))
        .route("/stop", post(stop))
        .route("/stats/reset", post(reset))
        .route("/stats/requests", get(stats_requests))
        .route("/stats/history", get(history))
        .route("/exceptions", get(exceptions))
        .route("/stats/requests/csv", get(|s: Ctl| csv(s, Csv::Requests)))
        .route("/stats/failures/csv", get(|s: Ctl| csv(s, Csv::Failures)))
        .route("/exceptions/csv", get(|s: Ctl| csv(s, Csv::Exceptions)))
        .route(
            "/stats/requests_full_history/csv",
            get(|s: Ctl| csv(s, Csv::History)),
        )
        .route("/stats/report", get(report_html))
        .route("/stats/report.json", get(report_json))
        .with_state(ctl)
        .layer(axum::middleware::from_fn(crate::auth::same_origin))
        .layer(axum::middleware::from_fn_with_state(
            creds,
            crate::auth::require,
        ))
        .layer(axum::middleware::from_fn(crate::auth::security_headers))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The page's script, for the read-only master view too.
pub(crate) fn app_js() -> Response {
    asset("text/javascript", APP_JS)
}

/// The page's styles, for the read-only master view too.
pub(crate) fn style_css() -> Response {
    asset("text/css", STYLE)
}

async fn settings(State(ctl): Ctl) -> Json<serde_json::Value> {
    Json(ctl.settings())
}

/// Locust's answer to `/swarm`, with a 400 status when it is a refusal.
pub(crate) fn answer(ok: Result<&str, Refused>, host: Option<&str>) -> Response {
    match ok {
        Ok(message) => {
            Json(json!({"success": true, "message": message, "host": host})).into_response()
        }
        Err(Refused(message)) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"success": false, "message": message, "host": host})),
        )
            .into_response(),
    }
}

/// Read Locust's form fields (`user_count`, `spawn_rate`, `host`, `run_time`,
/// `user_classes`, checked by the controller); other fields (Locust's `shape_class`, ...)
/// are ignored.
pub(crate) fn parse_start(body: &[u8]) -> Result<StartRequest, Refused> {
    let mut users = None;
    let mut rate = None;
    let mut req = StartRequest::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        let v = v.trim();
        match k.as_ref() {
            "user_count" => {
                users = Some(v.parse::<u32>().map_err(|_| {
                    Refused(format!(
                        "invalid user_count {v:?}: must be a whole number from 0 to {}",
                        u32::MAX
                    ))
                })?);
            }
            "spawn_rate" => {
                let r = v.parse::<f64>().ok().filter(|r| r.is_finite() && *r > 0.0);
                rate = Some(r.ok_or_else(|| {
                    Refused(format!(
                        "invalid spawn_rate {v:?}: must be a number above 0"
                    ))
                })?);
            }
            "host" => req.host = Some(v.to_owned()),
            "user_classes" if !v.is_empty() => req.user_classes.push(v.to_owned()),
            "run_time" if !v.is_empty() => {
                req.run_time = Some(swarm_core::parse_duration(v).map_err(|e| {
                    Refused(format!("invalid run_time {v:?}: {e} (20, 20s, 3m, 1h20m)"))
                })?);
            }
            _ => {}
        }
    }
    match (users, rate) {
        (Some(u), Some(r)) => {
            req.users = u;
            req.spawn_rate = r;
            Ok(req)
        }
        _ => Err(Refused(
            "missing user_count or spawn_rate (form fields of POST /swarm)".to_owned(),
        )),
    }
}

async fn swarm(State(ctl): Ctl, body: Bytes) -> Response {
    let result = parse_start(&body).and_then(|req| ctl.start(&req));
    let host = ctl.current(false).await.host;
    answer(result, host.as_deref())
}

async fn stop(State(ctl): Ctl) -> Json<serde_json::Value> {
    ctl.stop();
    Json(json!({"success": true, "message": "Test stopped"}))
}

async fn reset(State(ctl): Ctl) -> &'static str {
    ctl.reset_stats();
    "ok"
}

async fn stats_requests(State(ctl): Ctl) -> Json<serde_json::Value> {
    Json(locust_json::stats_requests(&ctl.current(false).await))
}

#[derive(serde::Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn history(State(ctl): Ctl, Query(q): Query<Since>) -> Json<serde_json::Value> {
    Json(json!({ "points": ctl.points(q.since) }))
}

async fn exceptions(State(ctl): Ctl) -> Json<serde_json::Value> {
    Json(locust_json::exceptions(&ctl.current(false).await.snapshot))
}

/// The CSV downloads (Locust's routes).
#[derive(Clone, Copy)]
pub(crate) enum Csv {
    Requests,
    Failures,
    Exceptions,
    History,
}

fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment;filename={filename}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

async fn csv(State(ctl): Ctl, which: Csv) -> Response {
    let (report, _) = ctl.report().await;
    csv_of(&report, which)
}

/// One of the CSV files of `report`, as a download.
pub(crate) fn csv_of(report: &swarm_core::Report, which: Csv) -> Response {
    let (suffix, file) = match which {
        Csv::Requests => ("requests", None),
        Csv::Failures => ("failures", Some("_failures.csv")),
        Csv::Exceptions => ("exceptions", Some("_exceptions.csv")),
        Csv::History => ("requests_full_history", Some("_stats_history.csv")),
    };
    let name = format!(
        "swarm_{}_{suffix}.csv",
        report.snapshot.start_unix_secs as u64
    );
    let text = match file {
        None => report.stats_csv(),
        // The core writes these three only as files: write them to a private temporary
        // directory and read the one asked for back.
        Some(file) => {
            let read = tempfile::tempdir().and_then(|dir| {
                let prefix = dir.path().join("swarm");
                report
                    .write_csv(&prefix)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                std::fs::read_to_string(dir.path().join(format!("swarm{file}")))
            });
            match read {
                Ok(t) => t,
                Err(e) => {
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("cannot build the CSV: {e}\n"),
                    )
                        .into_response()
                }
            }
        }
    };
    download("text/csv", &name, text)
}

/// `?download=` of `/stats/report`.
#[derive(serde::Deserialize)]
pub(crate) struct Download {
    download: Option<String>,
}

/// Locust's `/stats/report`: the HTML report of the run so far (or of the last run), as
/// a page, or as a file with `?download=1`. It carries its own policy: no script, no load
/// of any kind, only its inline styles.
async fn report_html(State(ctl): Ctl, Query(q): Query<Download>) -> Response {
    let (report, live) = ctl.report().await;
    html_of(report, live, &q)
}

/// The HTML report of `report` (a run that goes on when `live`).
pub(crate) fn html_of(report: swarm_core::Report, live: bool, q: &Download) -> Response {
    let report = if live { report.in_progress() } else { report };
    let mut res = Html(report.to_html()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
        ),
    );
    // As Locust: any non-empty `download` makes it a file.
    if q.download.as_ref().is_some_and(|d| !d.is_empty()) {
        let name = format!(
            "attachment;filename=swarm_{}_report.html",
            report.snapshot.start_unix_secs as u64
        );
        if let Ok(v) = HeaderValue::from_str(&name) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    res
}

async fn report_json(State(ctl): Ctl) -> Response {
    let (report, live) = ctl.report().await;
    json_of(&report, live)
}

/// The JSON report of `report` (a run that goes on when `live`), as a download.
pub(crate) fn json_of(report: &swarm_core::Report, live: bool) -> Response {
    let mut value = report.to_json();
    if live {
        // The run goes on: it has no stop reason yet.
        value["stop_reason"] = serde_json::Value::Null;
    }
    value["live"] = json!(live);
    let name = format!(
        "swarm_{}_report.json",
        report.snapshot.start_unix_secs as u64
    );
    let body = serde_json::to_string_pretty(&value).unwrap_or_default();
    download("application/json", &name, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_checked() {
        let ok =
            parse_start(b"user_count=10&spawn_rate=2.5&host=http%3A%2F%2F127.0.0.1%3A1").unwrap();
        assert_eq!(ok.users, 10);
        assert!((ok.spawn_rate - 2.5).abs() < f64::EPSILON);
        assert_eq!(ok.host.as_deref(), Some("http://127.0.0.1:1"));
        for (body, needle) in [
            (&b"user_count=-1&spawn_rate=1"[..], "user_count"),
            (b"user_count=1&spawn_rate=abc", "spawn_rate"),
            (b"user_count=1&spawn_rate=0", "spawn_rate"),
            (b"user_count=1&spawn_rate=NaN", "spawn_rate"),
            (b"user_count=1", "missing"),
            (b"user_count=1&spawn_rate=1&run_time=soon", "run_time"),
        ] {
            let e = parse_start(body).unwrap_err();
            assert!(
                e.0.contains(needle),
                "{}: {}",
                String::from_utf8_lossy(body),
                e.0
            );
        }
    }
}
