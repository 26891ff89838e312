//! `--metrics-bind` beside a plain command-line run: the endpoint parses with a real
//! Prometheus text parser and carries the per-entry counters, latency quantiles and
//! users.

mod common;

use std::time::Duration;

use common::{client, Proc};
use prometheus_parse::{Sample, Scrape, Value};

fn find<'a>(scrape: &'a Scrape, metric: &str, name: &str) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && s.labels.get("name") == Some(name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_beside_a_headless_run_parse() {
    let mut proc = Proc::start(&[
        "-u",
        "3",
        "-r",
        "30",
        "-t",
        "60s",
        "--metrics-bind",
        "127.0.0.1:0",
    ]);
    let url = proc.url("metrics: ");
    let c = client();
    let mut scrape = None;
    // Scrape until both entries have failures or requests (bounded: 300 scrapes).
    for _ in 0..300 {
        let res = c.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = res.text().await.unwrap();
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let parsed = Scrape::parse(lines).expect("the Prometheus parser reads it");
        let ready = find(&parsed, "swarm_failures_total", "/fail")
            .first()
            .is_some_and(|s| matches!(s.value, Value::Counter(n) if n > 0.0))
            && find(&parsed, "swarm_requests_total", "/")
                .first()
                .is_some_and(|s| matches!(s.value, Value::Counter(n) if n > 0.0));
        if ready {
            scrape = Some(parsed);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let scrape = scrape.expect("counters for / and /fail within 300 scrapes");
    let users = scrape
        .samples
        .iter()
        .find(|s| s.metric == "swarm_users")
        .expect("swarm_users");
    assert!(
        matches!(users.value, Value::Gauge(n) if n > 0.0),
        "{users:?}"
    );
    let per_type = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "swarm_user_type_users" && s.labels.get("user_type") == Some("Visitor")
        })
        .expect("per-type users");
    assert!(matches!(per_type.value, Value::Gauge(_)));
    let summary = find(&scrape, "swarm_response_time_seconds", "/");
    let Some(Value::Summary(quantiles)) = summary.first().map(|s| &s.value) else {
        panic!("no summary for /: {summary:?}");
    };
    let qs: Vec<f64> = quantiles.iter().map(|q| q.quantile).collect();
    assert_eq!(qs, [0.5, 0.9, 0.95, 0.99, 1.0]);
    assert!(quantiles
        .iter()
        .all(|q| q.count.is_finite() && q.count >= 0.0));
    assert!(
        quantiles.windows(2).all(|w| w[0].count <= w[1].count),
        "quantiles grow: {quantiles:?}"
    );
    let failures_of_index = find(&scrape, "swarm_failures_total", "/");
    assert!(matches!(failures_of_index[0].value, Value::Counter(n) if n == 0.0));
    assert_eq!(
        find(&scrape, "swarm_requests_total", "/")[0]
            .labels
            .get("kind"),
        Some("GET")
    );

    // The command-line run is as ever: the summary on stdout at the end, Ctrl-C stops it.
    let status = proc.terminate();
    assert!(status.code().is_some(), "{status}");
}
