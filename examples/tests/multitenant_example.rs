//! The `multitenant_mediator` example as a user runs it, against a real ACA-Py multi-tenant
//! agent (`peers/start multitenant`, its admin API behind a key given in `ISSUER_HEADERS`)
//! and a real ACA-Py mediator: the staircase's tenants onboard with no failure and the key
//! is printed nowhere; a wrong key is a counted failure that names `ISSUER_HEADERS`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{code, example, run_bounded};
use serde_json::Value;

const KEY: &str = "pl4tform-key-never-shown";

/// A peer from `peers/start`, stopped by PID when dropped.
struct Peer {
    name: &'static str,
    vars: HashMap<String, String>,
}

impl Peer {
    fn start(name: &'static str, env: &[(&str, &str)]) -> Peer {
        let out = std::process::Command::new(common::repo_root().join("peers/start"))
            .arg(name)
            .envs(env.iter().copied())
            .output()
            .expect("peers/start runs");
        assert!(
            out.status.success(),
            "peers/start {name} failed (peers/install {name}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = common::key_values(&String::from_utf8_lossy(&out.stdout));
        Peer { name, vars }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(common::repo_root().join("peers/stop"))
            .args([self.name, &self.vars["PID"]])
            .status();
    }
}

fn entry<'a>(report: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    report["entries"]
        .as_array()?
        .iter()
        .find(|e| e["kind"] == kind && e["name"] == name)
}

/// Runs the example with these arguments and headers; its exit code, JSON report and output.
fn run(platform: &Peer, mediator: &Peer, headers: &str, args: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut cmd = example("multitenant_mediator");
    cmd.args(args)
        .args(["--min-wait", "0.2", "--max-wait", "0.4", "--only-summary"])
        .arg("--json")
        .arg(&report)
        .env("MULTITENANT_URL", &platform.vars["ADMIN_URL"])
        .env("MEDIATION_URL", &mediator.vars["INVITATION"])
        .env("ISSUER_HEADERS", headers);
    let out = run_bounded(&mut cmd, Duration::from_secs(180));
    let output = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap())
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {output}"));
    (code(out.status), v, output)
}

#[test]
fn tenants_onboard_on_a_given_platform_and_wrong_headers_name_the_setting() {
    let platform = Peer::start("multitenant", &[("ISSUER_API_KEY", KEY)]);
    let mediator = Peer::start("mediator", &[("MEDIATOR_RAW_KEY", "1")]);

    let right = format!(r#"{{"X-API-Key": "{KEY}"}}"#);
    // A tenant still onboarding when the run ends finishes (the stop timeout) rather than
    // being cut, however slow the shared machine is.
    let staircase = [
        "--shape",
        "steps:users=1,every=1s,max=2,time=5s",
        "--stop-timeout",
        "60s",
    ];
    let (status, report, output) = run(&platform, &mediator, &right, &staircase);
    assert_eq!(status, 0, "{output}");
    assert!(!output.contains(KEY), "{output}");
    assert_eq!(report["total"]["failures"], 0, "{output}");
    let onboard = entry(&report, "DIDCOMM", "tenant_onboard").expect("tenants");
    assert_eq!(onboard["requests"], 2, "{output}");
    assert!(
        entry(&report, "POST", "/connections/[id]/send-ping").is_some(),
        "{output}"
    );

    // A wrong base-wallet key: every wallet creation is a counted 401 naming the setting.
    let wrong = r#"{"X-API-Key": "wrong-key"}"#;
    let (status, report, output) = run(&platform, &mediator, wrong, &["-u", "1", "-t", "3s"]);
    assert_ne!(status, 0, "{output}");
    assert!(!output.contains(KEY), "{output}");
    let created = entry(&report, "POST", "/multitenancy/wallet").expect("tried");
    assert_eq!(created["failures"], created["requests"], "{output}");
    assert!(
        output.contains("HTTP 401: not authorized (check ISSUER_HEADERS)"),
        "{output}"
    );
    assert!(
        entry(&report, "DIDCOMM", "tenant_onboard").is_none(),
        "{output}"
    );
}
