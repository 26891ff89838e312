//! A master steered from its web UI in headless Chromium: the `distributed` example of
//! `swarm-examples` (build it first: `cargo build -p swarm-examples --examples`) as a
//! master with `--web` and no `-u`, one Swarm worker and one real Python Locust worker
//! (`peers/start locust`) against the demo target, steered with the page's forms and
//! buttons alone: start 4 users (2 a worker), raise them to 6 and lower them to 2 (the
//! Workers table and the header follow, and agree with `/stats/requests`), see the
//! stats table show the workers' statistics as `/stats/requests`, stop (the workers go
//! back to ready, without users) and start again. Screenshots go to `target/artifacts/`:
//! `web_ui_master_ready.png`, `web_ui_master.png` (6 users), `web_ui_master_fewer.png`,
//! `web_ui_master_stopped.png`, and `web_ui_master_failed_*.png` when a step is not
//! reached.

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
/// if it never does, a screenshot `web_ui_master_failed_WHAT.png` and a panic saying
/// what was awaited, with the Workers table and the page's message.
async fn wait_page(b: &Client, what: &str, script: &str) {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = b.execute(script, vec![]).await.unwrap();
        if last == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let name = what.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    screenshot(b, &format!("web_ui_master_failed_{name}.png")).await;
    panic!(
        "{what}: not reached (last {last}); workers {}; message {:?}",
        workers_table(b).await,
        message(b).await
    );
}

/// The page's message (the answer to its last command).
async fn message(b: &Client) -> String {
    b.find(Locator::Id("message"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Fill in the users and spawn rate of a form (`start` or `edit`) and submit it.
async fn submit(b: &Client, form: &str, users: &str, rate: &str) {
    set(b, &format!("{form}-users"), users).await;
    set(b, &format!("{form}-rate"), rate).await;
    click(b, &format!("{form}-btn")).await;
}

async fn click(b: &Client, id: &str) {
    b.find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The page shows `state`, `message` (the answer to its last command), these users on
/// the workers' rows (sorted) and `users` in all.
fn shows(state: &str, message: &str, per_worker: &str, users: u64) -> String {
    format!(
        "return document.getElementById('state').textContent === '{state}' && \
         document.getElementById('message').textContent === '{message}' && \
         document.getElementById('users').textContent === '{users}' && \
         [...document.querySelectorAll('#workers-table tbody tr')].map(tr => \
         tr.cells[2].textContent).sort().join() === '{per_worker}'"
    )
}

/// `/stats/requests` says `state` with `target` users asked and `users` running, and
/// the Workers table shows its workers (`per_worker` users each).
async fn agree(
    b: &Client,
    c: &reqwest::Client,
    base: &str,
    (state, target, users, per_worker): (&str, u64, u64, u64),
) {
    let (page, api) = same_workers(b, c, base).await;
    assert_eq!(page, api, "the Workers table shows /stats/requests");
    assert_eq!(api.len(), 2, "{api:?}");
    assert!(api.iter().all(|(_, u)| *u == per_worker), "{api:?}");
    let stats = get_json(c, &format!("{base}/stats/requests")).await;
    assert_eq!(stats["state"], state, "{stats}");
    assert_eq!(stats["target_user_count"], target, "{stats}");
    assert_eq!(stats["user_count"], users, "{stats}");
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
    wait_page(
        &b,
        "two ready workers and the start form",
        "return document.getElementById('worker-count').textContent === '2' && \
         [...document.querySelectorAll('#workers-table tbody tr')].every(tr => \
         tr.cells[1].textContent === 'ready') && \
         !document.getElementById('start-panel').hidden",
    )
    .await;
    screenshot(&b, "web_ui_master_ready.png").await;

    // Start 4 users from the form: 2 on each worker (Locust's dispatcher).
    submit(&b, "start", "4", "10").await;
    wait_page(
        &b,
        "running, 2 users a worker",
        &shows("running", "Swarming started", "2,2", 4),
    )
    .await;
    agree(&b, &c, &base, ("running", 4, 4, 2)).await;

    // Up to 6 users from the edit form: 3 on each.
    wait_page(
        &b,
        "the edit form",
        "return !document.getElementById('edit-panel').hidden",
    )
    .await;
    submit(&b, "edit", "6", "10").await;
    wait_page(
        &b,
        "6 users, 3 a worker",
        &shows("running", "Users changed", "3,3", 6),
    )
    .await;
    agree(&b, &c, &base, ("running", 6, 6, 3)).await;
    // The stats table shows the workers' statistics as /stats/requests (both change
    // every 3 s as the workers report: compare until one poll of the page agrees).
    wait_page(
        &b,
        "rows with requests for /index.html, /status and /fail",
        "const rows = [...document.querySelectorAll('#stats-table tbody tr')]; \
         return ['/index.html', '/status', '/fail'].every(n => rows.some(tr => \
         tr.dataset.name === n && Number(tr.cells[2].textContent) > 0))",
    )
    .await;
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
    // The workers' memory comes with their heartbeats once sampled (every 5 s).
    wait_page(
        &b,
        "the workers' memory",
        "const rows = [...document.querySelectorAll('#workers-table tbody tr')]; \
         return rows.length === 2 && rows.every(tr => Number(tr.cells[4].textContent) > 0)",
    )
    .await;
    screenshot(&b, "web_ui_master.png").await;

    // Down to 2 users from the edit form (they go at the spawn rate, the last come
    // first): 1 on each worker.
    submit(&b, "edit", "2", "1").await;
    wait_page(
        &b,
        "2 users, 1 a worker",
        &shows("running", "Users changed", "1,1", 2),
    )
    .await;
    agree(&b, &c, &base, ("running", 2, 2, 1)).await;
    screenshot(&b, "web_ui_master_fewer.png").await;

    // Stop: the workers go back to ready with no users; the start form comes back.
    click(&b, "stop-btn").await;
    wait_page(
        &b,
        "stopped, workers ready",
        "return document.getElementById('state').textContent === 'stopped' && \
         document.getElementById('message').textContent === 'Stopping' && \
         [...document.querySelectorAll('#workers-table tbody tr')].every(tr => \
         tr.cells[1].textContent === 'ready' && tr.cells[2].textContent === '0') && \
         !document.getElementById('start-panel').hidden",
    )
    .await;
    agree(&b, &c, &base, ("stopped", 0, 0, 0)).await;
    screenshot(&b, "web_ui_master_stopped.png").await;

    // And start again from the form: 1 user on one worker.
    submit(&b, "start", "1", "10").await;
    wait_page(
        &b,
        "running again, 1 user",
        &shows("running", "Swarming started", "0,1", 1),
    )
    .await;
    b.close().await.unwrap();
}
