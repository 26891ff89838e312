//! The Workers table of a master's web UI in headless Chromium: the `distributed` example
//! of `swarm-examples` (build it first: `cargo build -p swarm-examples --examples`) as a
//! master with `--web` and two of it as workers against the demo target; the page lists
//! both workers, with the users `/stats/requests` gives them, shows their statistics,
//! and offers no start form.
//! The screenshot goes to `target/artifacts/web_ui_master.png`.

#[path = "common/chrome.rs"]
mod chrome;
mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrome::{screenshot, Driver};
use common::{client, get_json};
use fantoccini::Client;
use serde_json::{json, Value};
use swarm_http::demo::DemoServer;

/// The built `distributed` example, beside this test's `web_demo`.
fn distributed() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.ancestors().nth(2).unwrap().join("examples/distributed");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p swarm-examples --examples`",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A child process killed by PID when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Kill {
    Kill(
        Command::new(distributed())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the distributed example starts"),
    )
}

/// The Workers table's rows: [id, state, users].
async fn workers_table(b: &Client) -> Value {
    b.execute(
        "const p = document.getElementById('workers-panel'); \
         if (p.hidden) return null; \
         return [...document.querySelectorAll('#workers-table tbody tr')].map(tr => \
         [...tr.cells].slice(0, 3).map(td => td.textContent))",
        vec![],
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_of_a_master_lists_its_workers() {
    let target = DemoServer::start().await.unwrap();
    let driver = Driver::start();
    let (port, web) = (free_port().to_string(), free_port().to_string());
    let _master = spawn(&[
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        &port,
        "--expect-workers",
        "2",
        "--expect-workers-max-wait",
        "60",
        "-u",
        "6",
        "-r",
        "6",
        "-t",
        "60s",
        "-H",
        &target.url(),
        "--web",
        "--web-port",
        &web,
    ]);
    let base = format!("http://127.0.0.1:{web}");
    let c = client();
    // The page is up once the master is.
    let mut up = false;
    for _ in 0..300 {
        if c.get(format!("{base}/stats/requests")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(up, "the master's web UI never answered");
    let _w1 = spawn(&["--worker", "--master-port", &port]);
    let _w2 = spawn(&["--worker", "--master-port", &port]);
    let b = driver.session(1280, 900, json!({})).await;
    b.goto(&format!("{base}/")).await.unwrap();
    // Both workers with their 3 users each, in the table as in /stats/requests.
    let mut last = Value::Null;
    let mut rows = Vec::new();
    for _ in 0..300 {
        last = workers_table(&b).await;
        rows = last.as_array().cloned().unwrap_or_default();
        let users: Vec<&str> = rows.iter().filter_map(|r| r[2].as_str()).collect();
        if rows.len() == 2 && users == ["3", "3"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The workers' statistics in the stats table (they report every 3 s).
    let mut seen = json!(false);
    for _ in 0..300 {
        seen = b
            .execute(
                "return [...document.querySelectorAll('#stats-table tbody tr')].some(tr => \
                 tr.dataset.name === '/index.html' && Number(tr.cells[2].textContent) > 0)",
                vec![],
            )
            .await
            .unwrap();
        if seen == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The charts draw from the master's history: the users chart has a line.
    let mut drawn = json!(false);
    for _ in 0..100 {
        drawn = b
            .execute(
                "return document.querySelectorAll('#chart-users polyline, #chart-users path').length > 0",
                vec![],
            )
            .await
            .unwrap();
        if drawn == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&b, "web_ui_master.png").await;
    assert_eq!(drawn, json!(true), "the users chart draws");
    assert_eq!(
        seen,
        json!(true),
        "a /index.html row with requests in the stats table"
    );
    assert_eq!(rows.len(), 2, "two rows in the Workers table: {last}");
    let stats = get_json(&c, &format!("{base}/stats/requests")).await;
    let mut api: Vec<(String, u64)> = stats["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_owned(),
                w["user_count"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut page: Vec<(String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[2].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    api.sort();
    page.sort();
    assert_eq!(page, api, "the table shows what /stats/requests says");
    assert!(page.iter().all(|(_, u)| *u == 3), "{page:?}");
    let count = b
        .execute(
            "return document.getElementById('worker-count').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(count, json!("2"));
    // Read-only: no start form, no stop button to press, no reset, no downloads.
    let controls = b
        .execute(
            "return [document.getElementById('start-panel').hidden, \
             document.getElementById('stop-btn').disabled, \
             document.getElementById('reset-btn').hidden, \
             document.querySelector('.tabs button[data-tab=\"downloads\"]').hidden]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(controls, json!([true, true, true, true]));
    b.close().await.unwrap();
}
