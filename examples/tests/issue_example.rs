//! The `issue` example as a user runs it: against a real ACA-Py issuer (`peers/start
//! issuer`, given as `ISSUER_URL` with an API key in `ISSUER_HEADERS`) credentials are
//! issued with no failure and the key is printed nowhere; with no `ISSUER_URL` it starts
//! its own issuer (and, for `MediatorIssue`, its own mediator); bad settings are refused
//! with a line naming them, before any load.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};
use serde_json::Value;

/// `peers/start issuer` with `ISSUER_API_KEY`: its admin URL; stopped by PID when dropped.
struct KeyedIssuer {
    admin_url: String,
    pid: String,
}

impl KeyedIssuer {
    fn start(api_key: &str) -> KeyedIssuer {
        let peers = common::repo_root().join("peers");
        let out = std::process::Command::new(peers.join("start"))
            .arg("issuer")
            .env("ISSUER_API_KEY", api_key)
            .output()
            .expect("peers/start runs");
        assert!(
            out.status.success(),
            "peers/start issuer failed (peers/install issuer):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = common::key_values(&String::from_utf8_lossy(&out.stdout));
        KeyedIssuer {
            admin_url: vars["ADMIN_URL"].clone(),
            pid: vars["PID"].clone(),
        }
    }
}

impl Drop for KeyedIssuer {
    fn drop(&mut self) {
        let _ = std::process::Command::new(common::repo_root().join("peers/stop"))
            .args(["issuer", &self.pid])
            .status();
    }
}

/// The entry `kind name` of a JSON report.
fn entry<'a>(report: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    report["entries"]
        .as_array()?
        .iter()
        .find(|e| e["kind"] == kind && e["name"] == name)
}

fn run_issue(args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut cmd = example("issue");
    cmd.args(args)
        .args([
            "-t",
            "5s",
            "--min-wait",
            "0.2",
            "--max-wait",
            "0.4",
            "--only-summary",
        ])
        .arg("--json")
        .arg(&report);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_bounded(&mut cmd, Duration::from_secs(180));
    let output = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(code(out.status), 0, "{output}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (v, output)
}

#[test]
fn credentials_are_issued_by_a_given_issuer_and_the_key_is_never_printed() {
    let issuer = KeyedIssuer::start("k3y-never-shown");
    let (report, output) = run_issue(
        &["-u", "2", "-r", "2"],
        &[
            ("ISSUER_URL", &issuer.admin_url),
            ("ISSUER_HEADERS", r#"{"X-API-Key": "k3y-never-shown"}"#),
            ("CRED_ATTR", r#"[{"name": "score", "value": "test"}]"#),
        ],
    );
    assert!(!output.contains("k3y-never-shown"), "{output}");
    assert_eq!(report["total"]["failures"], 0, "{output}");
    let issued = entry(&report, "DIDCOMM", "issue_credential").expect("credentials");
    assert!(issued["requests"].as_u64().unwrap() >= 4, "{output}");
    let offers = entry(&report, "POST", "/issue-credential-2.0/send-offer").unwrap();
    assert_eq!(offers["requests"], issued["requests"]);
}

#[test]
fn without_urls_it_starts_its_own_issuer_and_mediator() {
    let (report, output) = run_issue(&["MediatorIssue", "-u", "1", "-r", "1"], &[]);
    assert!(
        output.contains("no ISSUER_URL given: started a local issuer"),
        "{output}"
    );
    assert!(
        output.contains("no MEDIATION_URL given: started a local mediator"),
        "{output}"
    );
    assert_eq!(report["total"]["failures"], 0, "{output}");
    let mediate = entry(&report, "DIDCOMM", "mediate").expect("mediation");
    assert_eq!(mediate["requests"], 1);
    assert!(
        entry(&report, "DIDCOMM", "issue_credential").is_some(),
        "{output}"
    );
}

#[test]
fn bad_settings_are_refused_before_any_load() {
    for (var, value, want) in [
        ("ISSUER_HEADERS", "{not json", "ISSUER_HEADERS: not JSON"),
        ("CRED_ATTR", "score=test", "CRED_ATTR: not JSON"),
        ("ISSUER_URL", "127.0.0.1:8021", "ISSUER_URL: "),
    ] {
        let mut cmd = example("issue");
        cmd.env(var, value).args(["-t", "1s"]);
        let out = run_bounded(&mut cmd, Duration::from_secs(30));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(out.status), 2, "{var}: {err}");
        assert!(err.contains(want), "{var}: {err}");
        assert!(!err.contains("started a local"), "{var}: {err}");
        assert!(!err.contains("panicked"), "{var}: {err}");
    }
}
