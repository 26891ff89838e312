//! The web UI in headless Chromium (Debian's `chromium` and `chromium-driver`, installed
//! by `peers/install chromium`, chromedriver started by `peers/start chromedriver`):
//! open the page, start a run against the demo target, change the users, see the three
//! charts draw, check the table against `/stats/requests`, stop. Screenshots go to
//! `target/artifacts/`. A missing browser fails the test.

#[path = "common/chrome.rs"]
mod chrome;
mod common;

use std::collections::HashMap;
use std::time::Duration;

use chrome::{screenshot, Driver};
use common::{client, get_json, Proc};
use fantoccini::{Client, Locator};
use serde_json::json;

async fn text(b: &Client, id: &str) -> String {
    b.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

/// Poll a condition of the page (at most 60 s, 300 times).
async fn wait_page(b: &Client, what: &str, script: &str) {
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        last = b.execute(script, vec![]).await.unwrap();
        if last == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let state = text(b, "state").await;
    screenshot(b, &format!("web_ui_failed_{}.png", what.replace(' ', "_"))).await;
    panic!("{what}: not reached (last {last}, state {state})");
}

async fn click(b: &Client, id: &str) {
    b.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Fill in the users and spawn rate of a form (`start` or `edit`) and submit it.
async fn submit(b: &Client, form: &str, users: &str, rate: &str) {
    for (field, value) in [("users", users), ("rate", rate)] {
        let input = b
            .find(Locator::Id(&format!("{form}-{field}")))
            .await
            .unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }
    click(b, &format!("{form}-btn")).await;
}

/// The table's cells by (method, name): [requests, failures, median].
async fn table(b: &Client) -> HashMap<(String, String), Vec<String>> {
    let rows = b
        .execute(
            "return [...document.querySelectorAll('#stats-table tbody tr')].map(tr => \
             [tr.dataset.method, tr.dataset.name, ...[...tr.cells].map(td => td.textContent)])",
            vec![],
        )
        .await
        .unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r: Vec<String> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            (
                (r[0].clone(), r[1].clone()),
                vec![r[4].clone(), r[5].clone(), r[6].clone()],
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_a_test_from_the_browser() {
    let driver = Driver::start();
    let mut app = Proc::start(&["--web", "--web-port", "0"]);
    let base = app.url("web UI: ");
    let b = driver.session(1400, 1100, json!({})).await;

    b.goto(&format!("{base}/")).await.unwrap();
    wait_page(
        &b,
        "the page loaded",
        "return document.getElementById('state').textContent === 'ready'",
    )
    .await;
    screenshot(&b, "web_ui_ready.png").await;

    // Start a run from the form.
    submit(&b, "start", "2", "10").await;
    wait_page(
        &b,
        "2 users running",
        "return document.getElementById('state').textContent === 'running' \
         && document.getElementById('users').textContent === '2'",
    )
    .await;

    // Change the users from the edit form.
    submit(&b, "edit", "5", "20").await;
    wait_page(
        &b,
        "5 users",
        "return document.getElementById('users').textContent === '5'",
    )
    .await;
    let c = client();
    let s = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_eq!(s["user_count"], 5, "the API agrees with the page: {s}");

    // The three charts draw: each has a path with at least two points.
    wait_page(
        &b,
        "the charts drew",
        "return ['chart-rps', 'chart-latency', 'chart-users'].every(id => \
           [...document.querySelectorAll('#' + id + ' path')].some(p => \
             (p.getAttribute('d') || '').split('L').length >= 3 && p.getTotalLength() > 0))",
    )
    .await;
    screenshot(&b, "web_ui_running.png").await;

    // Stop from the page; then the table shows the final numbers of /stats/requests.
    click(&b, "stop-btn").await;
    wait_page(
        &b,
        "stopped",
        "return document.getElementById('state').textContent === 'stopped'",
    )
    .await;
    let s = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_eq!(s["state"], "stopped");
    let total = s["stats"].as_array().unwrap().last().unwrap()["num_requests"].clone();
    wait_page(
        &b,
        "the table shows the final total",
        &format!(
            "const r = document.querySelector('#stats-table tr.total'); \
             return r !== null && r.cells[2].textContent === '{total}'"
        ),
    )
    .await;
    let rows = table(&b).await;
    let api = s["stats"].as_array().unwrap();
    assert_eq!(rows.len(), api.len(), "{rows:?} vs {s}");
    for e in api {
        let key = (
            e["method"].as_str().unwrap().to_owned(),
            e["name"].as_str().unwrap().to_owned(),
        );
        let cells = rows
            .get(&key)
            .unwrap_or_else(|| panic!("no row {key:?} in the table"));
        assert_eq!(cells[0], e["num_requests"].to_string(), "{key:?}");
        assert_eq!(cells[1], e["num_failures"].to_string(), "{key:?}");
        assert_eq!(cells[2], e["median_response_time"].to_string(), "{key:?}");
    }
    let fail_rows = b
        .execute(
            "return document.querySelectorAll('#failures-table tbody tr').length",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        fail_rows.as_u64().unwrap() >= 1,
        "the /fail errors are listed"
    );

    // Nothing was loaded from anywhere but the runner.
    let urls = b
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            vec![],
        )
        .await
        .unwrap();
    for u in urls.as_array().unwrap() {
        assert!(
            u.as_str().unwrap().starts_with(&base),
            "a request elsewhere: {u}"
        );
    }
    screenshot(&b, "web_ui_stopped.png").await;

    // The page's HTML report download, opened in the browser: styled under its own
    // policy (the verdict's colours come from its inline style) with its three charts.
    let href = b
        .execute("return document.getElementById('dl-html').href", vec![])
        .await
        .unwrap();
    let href = href.as_str().unwrap().replace("?download=1", "");
    b.goto(&href).await.unwrap();
    let shown = b
        .execute(
            "return [getComputedStyle(document.getElementById('verdict')).color, \
               document.querySelectorAll('svg[data-chart] path.series').length, \
               document.getElementById('verdict').textContent]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown[0], "rgb(255, 255, 255)", "styled: {shown}");
    assert!(
        shown[1].as_u64().unwrap() >= 5,
        "the charts' lines: {shown}"
    );
    assert_eq!(shown[2], "FAILED", "/fail answers 500: {shown}");
    screenshot(&b, "web_ui_html_report.png").await;
    b.close().await.unwrap();
    app.terminate();
}
