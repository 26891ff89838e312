//! `jsonrpc_transfer` with accounts funded beforehand, drawn from a `keys` feeder (one per
//! user), against a real ganache: the transfers land with no failure, users beyond the
//! keys stop cleanly, and without a feeder `--num-accounts 0` is a clear failure.

mod common;
#[path = "../common/local_peer.rs"]
#[allow(dead_code)]
mod local_peer;

use std::time::Duration;

use common::{code, example, run_bounded};
use local_peer::LocalPeer;
use serde_json::Value;

/// Ganache's funded keys, in the order of its keys file (the first is the main key).
fn funded_keys(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<String> = doc["private_keys"]
        .as_object()
        .unwrap()
        .values()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    keys.sort_by_key(|k| text.find(k.as_str()));
    keys
}

#[test]
fn users_send_from_the_funded_accounts_of_a_keys_feeder() {
    let ganache = LocalPeer::start("ganache", "the test needs ganache").unwrap();
    let (url, keys_file) = (ganache.var("URL").unwrap(), ganache.var("KEYS").unwrap());
    let keys = funded_keys(&keys_file);
    assert!(keys.len() >= 4, "{keys_file}");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("funded.csv");
    let rows: String = keys[1..4].iter().map(|k| format!("{k}\n")).collect();
    std::fs::write(&csv, format!("key\n{rows}")).unwrap();
    let report = dir.path().join("report.json");

    // Five users, three keys: two users stop at the start, nothing fails.
    let mut cmd = example("jsonrpc_transfer");
    cmd.args([
        "-H",
        &url,
        "--main-key-file",
        &keys_file,
        "--chain-id",
        "1337",
    ])
    .args([
        "-u",
        "5",
        "-r",
        "5",
        "-t",
        "4s",
        "--only-summary",
        "--num-accounts",
        "0",
    ])
    .arg("--feed")
    .arg(format!("keys={}:per-user", csv.display()))
    .arg("--json")
    .arg(&report);
    let out = run_bounded(&mut cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out.status), 0, "{stdout}\n{stderr}");
    for k in &keys[1..4] {
        assert!(
            !stdout.contains(&k[4..]) && !stderr.contains(&k[4..]),
            "a key was printed"
        );
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["total"]["failures"], 0, "{stdout}");
    let sent = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "eth_sendRawTransaction")
        .unwrap_or_else(|| panic!("no transfer recorded: {stdout}"));
    assert!(sent["requests"].as_u64().unwrap() > 0);

    // Without the feeder, no account to send from: every user's start fails, clearly.
    let mut cmd = example("jsonrpc_transfer");
    cmd.args([
        "-H",
        &url,
        "--main-key-file",
        &keys_file,
        "--chain-id",
        "1337",
    ])
    .args([
        "-u",
        "2",
        "-r",
        "2",
        "-t",
        "2s",
        "--only-summary",
        "--num-accounts",
        "0",
    ]);
    let out = run_bounded(&mut cmd, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(out.status), 1, "{stdout}");
    assert!(
        stdout.contains("--num-accounts 0 needs funded keys from a feeder"),
        "{stdout}"
    );
}
