//! A master steered from its web UI in headless Chromium: the `distributed` example of
//! `swarm-examples` (build it first: `cargo build -p swarm-examples --examples`) as a
//! master with `--web` and no `-u`, one Swarm worker and one real Python Locust worker
//! (`peers/start locust`) against the demo target. From the page: start a run, change
//! its users, see the Workers table and the stats table show what `/stats/requests`
//! says, and stop it (the workers go back to ready).
//! The screenshot goes to `target/artifacts/web_ui_master.png`.

#[path = "common/chrome.rs"]
mod chrome;
mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrome::{screenshot, Driver};
use common::{client, get_json, repo_root};
use fantoccini::{Client, Locator};
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

/// A Python Locust worker through `peers/start locust`, stopped by PID when dropped.
struct Locust(HashMap<String, String>);

impl Locust {
    fn worker(port: &str) -> Locust {
        let root = repo_root();
        let file = root.join("peers/locustfiles/dist_http.py");
        let out = Command::new(root.join("peers/start"))
            .args(["locust", "-f", file.to_str().unwrap(), "--worker"])
            .args(["--master-port", port])
            .output()
            .expect("peers/start runs");
        assert!(
            out.status.success(),
            "the Locust worker did not start (run `peers/install locust`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Locust(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

impl Drop for Locust {
    fn drop(&mut self) {
        if let Some(pid) = self.0.get("PID") {
            let _ = Command::new(repo_root().join("peers/stop"))
                .args(["locust", pid])
                .output();
        }
    }
}

/// Run `script` in the page until it returns `true` (at most 300 times, 200 ms apart);
/// whether it did.
async fn until(b: &Client, script: &str) -> bool {
    for _ in 0..300 {
        if b.execute(script, vec![]).await.unwrap() == json!(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// The Workers table's (id, users), sorted.
async fn table_workers(b: &Client) -> Vec<(String, u64)> {
    let rows = workers_table(b).await;
    let mut out: Vec<(String, u64)> = rows
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[2].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn api_workers(stats: &Value) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = stats["workers"]
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
    out.sort();
    out
}

/// The Workers table and `/stats/requests`'s workers, once they agree (at most 300
/// tries, 300 ms apart), or as last seen.
async fn same_workers(
    b: &Client,
    c: &reqwest::Client,
    base: &str,
) -> (Vec<(String, u64)>, Vec<(String, u64)>) {
    let mut seen = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let page = table_workers(b).await;
        let api = api_workers(&get_json(c, &format!("{base}/stats/requests")).await);
        if page == api && !api.is_empty() {
            return (page, api);
        }
        seen = (page, api);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    seen
}

/// The stats table's (method, name, requests, failures), and the same of the JSON.
async fn table_rows(b: &Client) -> Value {
    b.execute(
        "return [...document.querySelectorAll('#stats-table tbody tr')].map(tr => \
         [tr.dataset.method, tr.dataset.name, tr.cells[2].textContent, tr.cells[3].textContent])",
        vec![],
    )
    .await
    .unwrap()
}

fn api_rows(stats: &Value) -> Value {
    Value::Array(
        stats["stats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                json!([
                    r["method"],
                    r["name"],
                    r["num_requests"].to_string(),
                    r["num_failures"].to_string()
                ])
            })
            .collect(),
    )
}

async fn set(b: &Client, id: &str, value: &str) {
    let e = b.find(Locator::Id(id)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_is_steered_from_its_page() {
    let target = DemoServer::start().await.unwrap();
    let driver = Driver::start();
    let (port, web) = (free_port().to_string(), free_port().to_string());
    let _master = spawn(&[
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        &port,
        "-H",
        &target.url(),
        "--web",
        "--web-port",
        &web,
    ]);
    let base = format!("http://127.0.0.1:{web}");
    let c = client();
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
    let _python = Locust::worker(&port);
    let b = driver.session(1280, 1000, json!({})).await;
    b.goto(&format!("{base}/")).await.unwrap();
    // Both workers ready, and the start form offered.
    assert!(
        until(
            &b,
            "return document.getElementById('worker-count').textContent === '2' && \
             [...document.querySelectorAll('#workers-table tbody tr')].every(tr => \
             tr.cells[1].textContent === 'ready') && \
             !document.getElementById('start-panel').hidden"
        )
        .await,
        "two ready workers and the start form: {}",
        workers_table(&b).await
    );
    // Start 4 users from the form.
    set(&b, "start-users", "4").await;
    set(&b, "start-rate", "10").await;
    b.find(Locator::Id("start-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &b,
            "return document.getElementById('state').textContent === 'running' && \
             [...document.querySelectorAll('#workers-table tbody tr')].map(tr => \
             tr.cells[2].textContent).join() === '2,2'"
        )
        .await,
        "running, 2 users a worker: {}",
        workers_table(&b).await
    );
    // Change to 6 users from the edit form.
    assert!(until(&b, "return !document.getElementById('edit-panel').hidden").await);
    set(&b, "edit-users", "6").await;
    set(&b, "edit-rate", "10").await;
    b.find(Locator::Id("edit-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &b,
            "return [...document.querySelectorAll('#workers-table tbody tr')].map(tr => \
             tr.cells[2].textContent).join() === '3,3' && \
             document.getElementById('users').textContent === '6'"
        )
        .await,
        "3 users a worker: {}",
        workers_table(&b).await
    );
    // The Workers table shows what /stats/requests says (a worker's report may move
    // its count between two polls of the page: compare until they agree).
    let (page, api) = same_workers(&b, &c, &base).await;
    assert_eq!(page, api, "the Workers table shows /stats/requests");
    assert!(api.iter().all(|(_, u)| *u == 3), "{api:?}");
    // The stats table shows the workers' statistics as /stats/requests (both change
    // every 3 s as the workers report: compare until one poll of the page agrees).
    assert!(
        until(
            &b,
            "const rows = [...document.querySelectorAll('#stats-table tbody tr')]; \
             return ['/index.html', '/status', '/fail'].every(n => rows.some(tr => \
             tr.dataset.name === n && Number(tr.cells[2].textContent) > 0))"
        )
        .await,
        "rows with requests for /index.html, /status and /fail"
    );
    let mut same = false;
    let (mut page, mut api) = (Value::Null, Value::Null);
    for _ in 0..300 {
        page = table_rows(&b).await;
        api = api_rows(&get_json(&c, &format!("{base}/stats/requests")).await);
        if page == api {
            same = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        same,
        "the stats table shows /stats/requests:\n{page}\n{api}"
    );
    assert!(page.as_array().unwrap().len() >= 4, "{page}");
    // The downloads are offered.
    let tab = b
        .execute(
            "return document.querySelector('.tabs button[data-tab=\"downloads\"]').hidden",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(tab, json!(false), "the Downloads tab shows");
    screenshot(&b, "web_ui_master.png").await;
    // Stop: the workers go back to ready with no users; the start form comes back.
    b.find(Locator::Id("stop-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &b,
            "return document.getElementById('state').textContent === 'stopped' && \
             [...document.querySelectorAll('#workers-table tbody tr')].every(tr => \
             tr.cells[1].textContent === 'ready' && tr.cells[2].textContent === '0') && \
             !document.getElementById('start-panel').hidden"
        )
        .await,
        "stopped, workers ready: {}",
        workers_table(&b).await
    );
    let stats = get_json(&c, &format!("{base}/stats/requests")).await;
    assert_eq!(stats["state"], "stopped");
    let (page, api) = same_workers(&b, &c, &base).await;
    assert_eq!(page, api, "the Workers table shows /stats/requests");
    assert!(api.iter().all(|(_, u)| *u == 0), "{api:?}");
    screenshot(&b, "web_ui_master_stopped.png").await;
    b.close().await.unwrap();
}
