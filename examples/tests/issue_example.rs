//! The `issue` example as a user runs it: against a real ACA-Py issuer (`peers/start
//! issuer`, given as `ISSUER_URL` with an API key in `ISSUER_HEADERS`) credentials are
//! issued with no failure and the key is printed nowhere; with no `ISSUER_URL` it starts
//! its own issuer (and, for `MediatorIssue`, its own mediator); `Verify` has every
//! presentation verified (the verifier's records, read through its admin API, are `done`
//! with `verified == "true"`) and a request the holders cannot answer is a counted
//! failure; bad settings are refused with a line naming them, before any load.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};
use serde_json::Value;
use swarm_aries::issuer::{IssuerClient, IssuerConfig, IssuerHeaders, PresExRecord};

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

/// Runs the example (for 5 s unless `args` say `-t`) with a JSON report: the report, stdout and stderr, the exit code.
fn run_issue_status(args: &[&str], env: &[(&str, &str)]) -> (Value, String, i32) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut cmd = example("issue");
    cmd.args(args);
    if !args.contains(&"-t") {
        cmd.args(["-t", "5s"]);
    }
    cmd.args(["--min-wait", "0.2", "--max-wait", "0.4", "--only-summary"])
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
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {output}"));
    (v, output, code(out.status))
}

/// [`run_issue_status`] that must exit 0.
fn run_issue(args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let (v, output, status) = run_issue_status(args, env);
    assert_eq!(status, 0, "{output}");
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

/// The verifier's present-proof records, through its admin API with the key.
fn verifier_records(admin_url: &str, api_key: &str) -> Vec<PresExRecord> {
    let headers = IssuerHeaders::parse(&format!(r#"{{"X-API-Key": "{api_key}"}}"#))
        .expect("the key as ISSUER_HEADERS");
    let config = IssuerConfig::new(admin_url).unwrap().headers(headers);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = swarm_core::UserContext::detached(None, 1);
        let client = IssuerClient::standalone(&config, ctx.recorder().clone()).unwrap();
        tokio::time::timeout(Duration::from_secs(30), client.presentation_records(None))
            .await
            .expect("the admin API answers")
            .expect("the verifier lists its records")
    })
}

#[test]
fn verify_has_every_presentation_verified_and_counts_a_request_it_cannot_answer() {
    let key = "v3rify-k3y";
    let issuer = KeyedIssuer::start(key);
    let env = |proof_attr| {
        [
            ("ISSUER_URL", issuer.admin_url.as_str()),
            ("ISSUER_HEADERS", r#"{"X-API-Key": "v3rify-k3y"}"#),
            ("CRED_ATTR", r#"{"score": "test", "name": "Alice"}"#),
            ("PROOF_ATTR", proof_attr),
        ]
    };
    let (report, output) = run_issue(
        &[
            "Verify",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "15s",
            "--keep-records",
        ],
        &env("score,name"),
    );
    assert!(!output.contains(key), "{output}");
    assert_eq!(report["total"]["failures"], 0, "{output}");
    let issued = entry(&report, "DIDCOMM", "issue_credential").expect("credentials");
    assert_eq!(issued["requests"], 2, "one credential per holder: {output}");
    let presented = entry(&report, "DIDCOMM", "present_proof").expect("presentations");
    let presented = presented["requests"].as_u64().unwrap();
    assert!(presented >= 2, "{output}");
    let requests = entry(&report, "POST", "/present-proof-2.0/send-request").unwrap();
    assert_eq!(requests["requests"], presented);
    // The verifier itself says: each exchange done, each presentation verified.
    let records = verifier_records(&issuer.admin_url, key);
    assert_eq!(records.len() as u64, presented, "{records:?}");
    for r in &records {
        assert_eq!(
            (r.state.as_str(), r.verified.as_deref()),
            ("done", Some("true")),
            "{r:?}"
        );
    }

    // A request the holders cannot answer: every presentation a counted failure naming the
    // attribute, exit code 1, no hang.
    let (report, output, status) = run_issue_status(
        &["Verify", "-u", "1", "-r", "1", "-t", "10s"],
        &env(r#"["age"]"#),
    );
    assert_eq!(status, 1, "{output}");
    let failed = entry(&report, "DIDCOMM", "present_proof").expect("presentations tried");
    assert!(failed["requests"].as_u64().unwrap() >= 1, "{output}");
    assert_eq!(failed["failures"], failed["requests"], "{output}");
    assert!(
        output.contains("$.credentialSubject.age")
            || report.to_string().contains("$.credentialSubject.age"),
        "the failure names the attribute: {output}"
    );
}

const CRED_DEF: &str = "WgWxqztrNooG92RXvxSTWv:3:CL:20:tag";

#[test]
fn bad_settings_are_refused_before_any_load() {
    let indy = ("CRED_FORMAT", "indy");
    for (env, args, want) in [
        (
            vec![("ISSUER_HEADERS", "{not json")],
            vec![],
            "ISSUER_HEADERS: not JSON",
        ),
        (
            vec![("CRED_ATTR", "score=test")],
            vec![],
            "CRED_ATTR: not JSON",
        ),
        (
            vec![("ISSUER_URL", "127.0.0.1:8021")],
            vec![],
            "ISSUER_URL: ",
        ),
        (vec![("PROOF_ATTR", "score,,name")], vec![], "PROOF_ATTR: "),
        (
            vec![("CRED_FORMAT", "jwt")],
            vec![],
            "CRED_FORMAT: \"jwt\" is not",
        ),
        (vec![indy], vec![], "CRED_DEF: CRED_FORMAT=indy needs"),
        (
            vec![("CRED_DEF", CRED_DEF)],
            vec![],
            "CRED_DEF: applies to CRED_FORMAT=indy or anoncreds only",
        ),
        (
            vec![indy, ("CRED_DEF", "20")],
            vec![],
            "CRED_DEF: \"20\" is not an Indy",
        ),
        (
            vec![indy, ("CRED_DEF", CRED_DEF), ("SCHEMA", "score")],
            vec![],
            "SCHEMA: ",
        ),
        (
            vec![
                indy,
                ("CRED_DEF", CRED_DEF),
                ("CRED_ATTR", r#"{"a": {"b": 1}}"#),
            ],
            vec![],
            "CRED_ATTR: the value of \"a\" is not a string",
        ),
        (
            vec![indy, ("CRED_DEF", CRED_DEF)],
            vec!["Verify"],
            "CRED_FORMAT: Verify presents ld_proof",
        ),
        // The flags too.
        (
            vec![],
            vec!["--cred-format", "anoncreds"],
            "CRED_DEF: CRED_FORMAT=anoncreds needs",
        ),
        (
            vec![],
            vec!["--schema", "WgWxqztrNooG92RXvxSTWv:2:s:1.0"],
            "SCHEMA: applies to",
        ),
    ] {
        let mut cmd = example("issue");
        cmd.envs(env.iter().copied()).args(&args).args(["-t", "1s"]);
        let out = run_bounded(&mut cmd, Duration::from_secs(30));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(out.status), 2, "{env:?} {args:?}: {err}");
        assert!(err.contains(want), "{env:?} {args:?}: {err}");
        assert!(!err.contains("started a local"), "{env:?}: {err}");
        assert!(!err.contains("panicked"), "{env:?}: {err}");
    }
}

#[test]
fn indy_offers_are_refused_by_an_issuer_without_a_ledger_and_counted() {
    // The example's own issuer (no ledger): every offer refused with ACA-Py's reason, the
    // failures counted (exit code 1), the run ended at its run time.
    let (report, output, status) = run_issue_status(
        &[
            "-u",
            "1",
            "-r",
            "1",
            "--cred-format",
            "indy",
            "--cred-def",
            CRED_DEF,
        ],
        &[(
            "CRED_ATTR",
            r#"[{"name": "score", "value": "test", "mime-type": "text/plain"}]"#,
        )],
    );
    assert_eq!(status, 1, "{output}");
    let offers = entry(&report, "POST", "/issue-credential-2.0/send-offer").expect("offers");
    assert!(offers["requests"].as_u64().unwrap() >= 2, "{output}");
    assert_eq!(offers["failures"], offers["requests"], "{output}");
    let issued = entry(&report, "DIDCOMM", "issue_credential").expect("iterations");
    assert_eq!(issued["failures"], offers["requests"], "{output}");
    assert!(
        report
            .to_string()
            .contains("Issuer has no operable cred def for proposal spec"),
        "{output}"
    );
}
