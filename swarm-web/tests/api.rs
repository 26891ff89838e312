//! The HTTP API against a real run: start from `POST /swarm`, change the users, the
//! numbers of `/stats/requests` against the CSV, JSON and metrics views of the same run,
//! reset, stop, and bad parameters (negative users, a rate that is no number, an unknown
//! user class) answered with 400 while the run goes on.

mod common;

use common::{client, count, get_json, get_text, row, wait_stats, Proc};

async fn post_form(
    c: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let res = c.post(url).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

fn csv_row<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|cols| cols.get(1) == Some(&name))
        .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_a_run_through_locusts_routes() {
    let mut proc = Proc::start(&["--web", "--web-port", "0", "--metrics-bind", "127.0.0.1:0"]);
    let base = proc.url("web UI: ");
    let metrics = proc.url("metrics: ");
    let c = client();

    // Nothing runs until the browser (here: the test) starts it.
    let s = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_eq!(s["state"], "ready", "{s}");
    assert_eq!(s["user_count"], 0);

    // Bad parameters: 400 with a message naming the field; nothing starts.
    for (form, field) in [
        (
            vec![("user_count", "-1"), ("spawn_rate", "1")],
            "user_count",
        ),
        (
            vec![("user_count", "abc"), ("spawn_rate", "1")],
            "user_count",
        ),
        (
            vec![("user_count", "2"), ("spawn_rate", "fast")],
            "spawn_rate",
        ),
        (
            vec![("user_count", "2"), ("spawn_rate", "-3")],
            "spawn_rate",
        ),
        (vec![("user_count", "2")], "spawn_rate"),
        (
            vec![
                ("user_count", "2"),
                ("spawn_rate", "1"),
                ("host", "not a url"),
            ],
            "host",
        ),
        (
            vec![
                ("user_count", "2"),
                ("spawn_rate", "1"),
                ("user_classes", "Nobody"),
            ],
            "unknown user class \"Nobody\"",
        ),
    ] {
        let (status, body) = post_form(&c, &format!("{base}/swarm"), &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert_eq!(body["success"], false);
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{form:?}: {body}"
        );
    }
    let s = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_eq!(
        s["state"], "ready",
        "a refused start started something: {s}"
    );

    // Start, as Locust's UI posts it (its class picker names the user types).
    let (status, body) = post_form(
        &c,
        &format!("{base}/swarm"),
        &[
            ("user_count", "2"),
            ("spawn_rate", "10"),
            ("user_classes", "Visitor"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "Swarming started");
    wait_stats(&c, &base, "2 users running", |s| {
        s["state"] == "running" && s["user_count"] == 2
    })
    .await;

    // Change the users while it runs; a bad value now is a 400 and the run goes on.
    let (status, body) = post_form(
        &c,
        &format!("{base}/swarm"),
        &[("user_count", "5"), ("spawn_rate", "20")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_form(
        &c,
        &format!("{base}/swarm"),
        &[("user_count", "-5"), ("spawn_rate", "20")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let s = wait_stats(&c, &base, "5 users and some failures", |s| {
        s["user_count"] == 5 && count(s, "GET", "/fail", "num_failures") > 0
    })
    .await;
    assert_eq!(s["user_counts"]["Visitor"], 5, "{s}");
    // Every field Locust 2.47.0's /stats/requests has (captured from a real Locust UI).
    for key in [
        "current_fail_per_sec",
        "current_response_time_percentiles",
        "current_rps",
        "errors",
        "fail_ratio",
        "state",
        "stats",
        "total_fail_per_sec",
        "total_rps",
        "user_count",
    ] {
        assert!(s.get(key).is_some(), "no {key} in {s}");
    }
    assert!(s["current_response_time_percentiles"]["response_time_percentile_0.95"].is_u64());
    for key in [
        "avg_content_length",
        "avg_response_time",
        "current_fail_per_sec",
        "current_rps",
        "max_response_time",
        "median_response_time",
        "method",
        "min_response_time",
        "name",
        "num_failures",
        "num_requests",
        "response_time_percentile_0.95",
        "response_time_percentile_0.99",
        "total_fail_per_sec",
        "total_rps",
    ] {
        assert!(
            row(&s, "GET", "/").get(key).is_some(),
            "no {key} in a row of {s}"
        );
    }
    for key in [
        "error",
        "first_seen",
        "last_seen",
        "method",
        "name",
        "occurrences",
    ] {
        assert!(
            s["errors"][0].get(key).is_some(),
            "no {key} in an error of {s}"
        );
    }
    assert_eq!(s["target_user_count"], 5);
    // The HTML report of the run so far, as Locust's /stats/report.
    let res = c.get(format!("{base}/stats/report")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert!(res.headers().get("content-disposition").is_none());
    let page = res.text().await.unwrap();
    assert!(page.contains("so far</span> the run goes on"), "{page}");
    assert!(page.contains("data-chart=\"rps\""), "{page}");
    assert!(s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "/fail" && e["error"].as_str().unwrap().contains("500")));

    // Reset with no user running: every count goes back to 0.
    let (status, _) = post_form(
        &c,
        &format!("{base}/swarm"),
        &[("user_count", "0"), ("spawn_rate", "100")],
    )
    .await;
    assert_eq!(status, 200);
    wait_stats(&c, &base, "0 users", |s| s["user_count"] == 0).await;
    let before = get_json(&c, &format!("{base}/stats/requests")).await;
    assert!(
        row(&before, "", "Aggregated")["num_requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        c.get(format!("{base}/stats/reset"))
            .send()
            .await
            .unwrap()
            .status(),
        405,
        "reset is a POST, as in Locust 2"
    );
    let res = c.post(format!("{base}/stats/reset")).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "ok");
    let after = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_eq!(row(&after, "", "Aggregated")["num_requests"], 0, "{after}");

    // Load again, then stop: the final numbers agree across every view.
    post_form(
        &c,
        &format!("{base}/swarm"),
        &[("user_count", "3"), ("spawn_rate", "30")],
    )
    .await;
    wait_stats(&c, &base, "requests after the reset", |s| {
        count(s, "GET", "/", "num_requests") > 20
    })
    .await;
    let res = c.post(format!("{base}/stop")).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["success"], true);
    let s = wait_stats(&c, &base, "stopped with the final numbers", |s| {
        s["state"] == "stopped" && count(s, "", "Aggregated", "num_requests") > 20
    })
    .await;
    let index = row(&s, "GET", "/")["num_requests"].as_u64().unwrap();
    let fails = row(&s, "GET", "/fail")["num_failures"].as_u64().unwrap();
    let total = row(&s, "", "Aggregated")["num_requests"].as_u64().unwrap();
    assert_eq!(
        total,
        index + row(&s, "GET", "/fail")["num_requests"].as_u64().unwrap()
    );

    let res = c
        .get(format!("{base}/stats/requests/csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;filename="));
    let csv = res.text().await.unwrap();
    assert!(
        csv.starts_with("Type,Name,Request Count,Failure Count,"),
        "{csv}"
    );
    assert_eq!(csv_row(&csv, "/")[2], index.to_string());
    assert_eq!(csv_row(&csv, "Aggregated")[2], total.to_string());

    let failures = get_text(&c, &format!("{base}/stats/failures/csv")).await;
    assert!(
        failures.starts_with("Method,Name,Error,Occurrences,First Seen,Last Seen"),
        "{failures}"
    );
    assert_eq!(
        csv_row(&failures, "/fail")[3],
        fails.to_string(),
        "{failures}"
    );
    let exceptions = get_text(&c, &format!("{base}/exceptions/csv")).await;
    assert!(
        exceptions.starts_with("Count,Message,Traceback,Nodes"),
        "{exceptions}"
    );
    let history = get_text(&c, &format!("{base}/stats/requests_full_history/csv")).await;
    assert!(history.starts_with("Timestamp,User Count,"), "{history}");
    assert!(history.lines().count() > 1, "{history}");

    let res = c
        .get(format!("{base}/stats/report?download=1"))
        .send()
        .await
        .unwrap();
    let disposition = res.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment;filename=swarm_") && disposition.ends_with(".html"),
        "{disposition}"
    );
    let page = res.text().await.unwrap();
    assert!(page.contains("ended: stopped"), "the final report: {page}");
    assert!(
        page.contains(&format!("<td>{total}</td>")),
        "the total of /stats/requests ({total}) in {page}"
    );
    let report = get_json(&c, &format!("{base}/stats/report.json")).await;
    assert_eq!(report["schema"], "swarm-report/1");
    assert_eq!(report["live"], false);
    assert_eq!(report["stop_reason"], "stopped");
    assert_eq!(report["total"]["requests"], total);

    let text = c.get(&metrics).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(&format!(
            "swarm_requests_total{{kind=\"GET\",name=\"/\"}} {index}\n"
        )),
        "{text}"
    );

    let ex = get_json(&c, &format!("{base}/exceptions")).await;
    assert!(ex["exceptions"].is_array());

    // A new start after the stop is a new run with fresh numbers.
    post_form(
        &c,
        &format!("{base}/swarm"),
        &[("user_count", "1"), ("spawn_rate", "1"), ("run_time", "1s")],
    )
    .await;
    wait_stats(&c, &base, "the second run ended by its run time", |s| {
        s["state"] == "stopped" && count(s, "", "Aggregated", "num_requests") < total
    })
    .await;

    let status = proc.terminate();
    assert!(status.code().is_some(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_u_starts_at_once_and_autoquit_ends_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let mut proc = Proc::start(&[
        "--web",
        "--web-port",
        "0",
        "-u",
        "2",
        "-r",
        "10",
        "-t",
        "2s",
        "--autoquit",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    let base = proc.url("web UI: ");
    let c = client();
    let s = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_ne!(s["state"], "ready", "-u did not start the run: {s}");
    let status = proc.wait(std::time::Duration::from_secs(60));
    // /fail answers 500 on purpose, so the run "failed" (exit code 1).
    assert_eq!(status.code(), Some(1), "{}", proc.stderr());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["stop_reason"], "run_time");
    assert!(report["total"]["requests"].as_u64().unwrap() > 0);
}
