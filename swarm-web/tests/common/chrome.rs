//! Headless Chromium through chromedriver (`peers/install chromium`, `peers/start
//! chromedriver`), driven with fantoccini; screenshots go to `target/artifacts/`.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::common::repo_root;

/// chromedriver through `peers/`, stopped by PID when dropped.
pub struct Driver {
    vars: HashMap<String, String>,
}

impl Driver {
    /// Start chromedriver; a missing install fails the test.
    pub fn start() -> Driver {
        let root = repo_root();
        let out = Command::new(root.join("peers/start"))
            .arg("chromedriver")
            .current_dir(&root)
            .output()
            .expect("peers/start runs");
        assert!(
            out.status.success(),
            "chromedriver did not start (run `peers/install chromium`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Driver { vars }
    }

    /// A `KEY=VALUE` of `peers/start` (`URL`, `CHROMIUM`, `PID`).
    pub fn var(&self, key: &str) -> &str {
        &self.vars[key]
    }

    /// A headless Chromium session of this window size, with `extra` capabilities
    /// merged in (e.g. `goog:loggingPrefs`).
    pub async fn session(&self, width: u32, height: u32, extra: serde_json::Value) -> Client {
        let mut caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.var("CHROMIUM"),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", format!("--window-size={width},{height}"),
                         "--no-proxy-server"],
            },
        });
        if let (Some(caps), Some(extra)) = (caps.as_object_mut(), extra.as_object()) {
            caps.extend(extra.clone());
        }
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.as_object().unwrap().clone())
            .connect(self.var("URL"))
            .await
            .expect("a Chromium session through chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.vars.get("PID") {
            let _ = Command::new(repo_root().join("peers/stop"))
                .args(["chromedriver", pid])
                .output();
        }
    }
}

/// `target/artifacts/`, where the screenshots go.
pub fn artifacts() -> PathBuf {
    // target/<profile>/deps/<test> -> target/artifacts
    let exe = std::env::current_exe().unwrap();
    let dir = exe.ancestors().nth(3).unwrap().join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Save a screenshot of the window as `target/artifacts/NAME`.
pub async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = artifacts().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}
