//! `--metrics-bind` beside a plain command-line run: the endpoint parses with two real
//! Prometheus text parsers and carries the per-entry counters, latency quantiles and
//! users. The `prometheus-parse` crate reads it in-process, but it skips lines it cannot
//! read rather than refuse them; the Prometheus project's own Python client
//! (`prometheus_client.parser`, `peers/install report-check`) refuses a malformed line,
//! unescapes labels and groups samples by their `# TYPE`, so the same scrape goes
//! through it too.

mod common;

use std::time::Duration;

use common::{client, report_check, Proc};
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
    let mut scraped = String::new();
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
            scraped = text;
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

    // The Prometheus client's parser reads the same text into typed families whose
    // samples agree with the crate's.
    let json = report_check(&["prometheus"], &scraped)
        .unwrap_or_else(|e| panic!("prometheus_client refused the scrape: {e}\n{scraped}"));
    let families: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no family {name} in {json}"))
    };
    for (name, kind) in [
        ("swarm_requests", "counter"),
        ("swarm_failures", "counter"),
        ("swarm_response_time_seconds", "summary"),
        ("swarm_users", "gauge"),
        ("swarm_user_type_users", "gauge"),
    ] {
        assert_eq!(family(name)["type"], kind, "{name}: {json}");
        assert!(
            family(name)["documentation"].as_str().unwrap().len() > 5,
            "{name} has its HELP"
        );
    }
    let mut checked = 0;
    for f in &families {
        for s in f["samples"].as_array().unwrap() {
            let labels = s["labels"].as_object().unwrap();
            let same = scrape.samples.iter().find(|c| {
                c.metric == s["name"]
                    && labels
                        .iter()
                        .filter(|(k, _)| *k != "quantile")
                        .all(|(k, v)| c.labels.get(k) == v.as_str())
            });
            let same = same.unwrap_or_else(|| panic!("{s} is not in the crate's parse"));
            let value = s["value"].as_f64();
            match (&same.value, labels.get("quantile")) {
                (Value::Counter(n) | Value::Gauge(n) | Value::Untyped(n), None) => {
                    // A summary's `_sum` and `_count` are untyped samples to the crate.
                    assert_eq!(value, Some(*n), "{s}");
                    checked += 1;
                }
                (Value::Summary(qs), Some(q)) => {
                    let q: f64 = q.as_str().unwrap().parse().unwrap();
                    let theirs = qs.iter().find(|x| (x.quantile - q).abs() < 1e-9).unwrap();
                    match value {
                        Some(v) => assert!((v - theirs.count).abs() < 1e-12, "{s}"),
                        None => assert!(theirs.count.is_nan(), "{s}"),
                    }
                    checked += 1;
                }
                (other, _) => panic!("{s} vs {other:?}"),
            }
        }
    }
    assert!(checked >= 12, "only {checked} samples compared");
    // And it is no rubber stamp: a broken line is refused.
    let broken = scraped.replacen("swarm_users ", "swarm_users{ ", 1);
    assert!(report_check(&["prometheus"], &broken).is_err());

    // The command-line run is as ever: the summary on stdout at the end, Ctrl-C stops it.
    let status = proc.terminate();
    assert!(status.code().is_some(), "{status}");
}
