//! Bad input gets one clear line naming the problem and a non-zero exit, never a panic
//! or a hang.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};

const LIMIT: Duration = Duration::from_secs(30);

fn check(args: &[&str], env: &[(&str, &str)], want_code: i32, want: &[&str]) {
    let mut cmd = example("http_basic");
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_bounded(&mut cmd, LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out.status), want_code, "args {args:?}: stderr:\n{err}");
    for w in want {
        assert!(err.contains(w), "args {args:?}: stderr lacks {w:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "args {args:?} panicked:\n{err}");
    assert!(out.stdout.is_empty(), "args {args:?}: nothing on stdout");
}

#[test]
fn unknown_flag() {
    check(&["--bogus"], &[], 2, &["unexpected argument '--bogus'"]);
}

#[test]
fn malformed_host() {
    check(
        &["-H", "localhost:8080", "-t", "1s"],
        &[],
        2,
        &["--host", "localhost:8080"],
    );
    check(&["-H", "not a url"], &[], 2, &["--host"]);
}

#[test]
fn config_file_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "users = [\n").unwrap();
    check(
        &["--config", path.to_str().unwrap()],
        &[],
        2,
        &["config file", "bad.toml"],
    );
    std::fs::write(&path, "userz = 3\n").unwrap();
    check(&["--config", path.to_str().unwrap()], &[], 2, &["userz"]);
    check(
        &["--config", "/nonexistent/swarm.toml"],
        &[],
        2,
        &["cannot read config file"],
    );
}

#[test]
fn bad_values_in_a_config_file_name_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let arg = path.to_str().unwrap();
    std::fs::write(&path, "run-time = \"forever\"\n").unwrap();
    check(
        &["--config", arg],
        &[],
        2,
        &["invalid run-time \"forever\"", "bad.toml"],
    );
    std::fs::write(&path, "shape = \"wave:1\"\n").unwrap();
    check(
        &["--config", arg],
        &[],
        2,
        &["shape", "bad.toml", "unknown shape"],
    );
    std::fs::write(&path, "thresholds = [\"p95 < 1s\"]\n").unwrap();
    check(
        &["--config", arg],
        &[],
        2,
        &[
            "unknown key `thresholds`",
            "did you mean `threshold`",
            "bad.toml",
        ],
    );
    // A bad value in the file is still reported when a flag would replace it: the file
    // is read whole before the layers are laid over each other.
    std::fs::write(&path, "users = -1\n").unwrap();
    check(
        &["--config", arg, "-u", "2"],
        &[],
        2,
        &["users", "bad.toml"],
    );
}

#[test]
fn unknown_user_type() {
    check(
        &["NoSuchUser", "-t", "1s"],
        &[],
        2,
        &["unknown user type \"NoSuchUser\"", "WebsiteUser"],
    );
}

#[test]
fn zero_users_with_a_run_time() {
    check(&["-u", "0", "-t", "5s"], &[], 2, &["--users is 0"]);
}

#[test]
fn bad_durations_and_rates() {
    check(&["-t", "-5"], &[], 2, &["--run-time"]);
    check(&["-t", "soon"], &[], 2, &["--run-time"]);
    check(&["-r", "0", "-t", "1s"], &[], 2, &["--spawn-rate"]);
    check(&["-t", "1s"], &[("SWARM_USERS", "many")], 2, &["many"]);
}

#[test]
fn unreachable_host() {
    // Port 1 on loopback: nothing listens there.
    check(
        &["-H", "http://127.0.0.1:1", "-t", "5s"],
        &[],
        3,
        &["cannot reach host http://127.0.0.1:1/"],
    );
}

#[test]
fn bad_issuer_headers() {
    let mut cmd = example("liveness");
    cmd.env("ISSUER_HEADERS", "not json").args(["-t", "1s"]);
    let out = run_bounded(&mut cmd, LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(out.status), 2, "{err}");
    assert!(err.contains("ISSUER_HEADERS is not a JSON object"), "{err}");
}

#[test]
fn list_names_the_user_types() {
    let out = run_bounded(example("http_basic").arg("--list"), LIMIT);
    assert_eq!(code(out.status), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "WebsiteUser");
}

#[test]
fn bad_load_models_are_refused_before_any_load() {
    check(
        &["--shape", "steps:users=10,every=3x,max=100,time=1m"],
        &[],
        2,
        &["--shape", "every=3x", "not a duration"],
    );
    check(&["--shape", "wave:1"], &[], 2, &["unknown shape"]);
    check(
        &["--arrival-rate", "100"],
        &[],
        2,
        &["--arrival-rate", "needs a --run-time"],
    );
    check(
        &[
            "--arrival-rate",
            "5",
            "-t",
            "1s",
            "--pre-allocated",
            "5",
            "--max-users",
            "1",
        ],
        &[],
        2,
        &["--max-users", "below --pre-allocated (5)"],
    );
    check(
        &["--arrival-stages", "30s@x", "-t", "1s"],
        &[],
        2,
        &["30s@x"],
    );
    check(&["--max-rps", "-3", "-t", "1s"], &[], 2, &["--max-rps"]);
    check(&["--threshold", "p95 < 2xx", "-t", "1s"], &[], 2, &["2xx"]);
}

#[test]
fn a_bad_baseline_or_a_relative_threshold_without_one_is_refused_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.csv");
    std::fs::write(&path, "Type,Name\n").unwrap();
    check(
        &["-t", "5s", "--baseline", path.to_str().unwrap()],
        &[],
        2,
        &["cannot use the baseline", "stats.csv", "it is not JSON"],
    );
    check(
        &["-t", "5s", "--threshold", "p95 < baseline * 1.1"],
        &[],
        2,
        &["relative to the baseline, but no baseline was given (--baseline PATH)"],
    );
    check(
        &["-t", "5s", "--threshold", "p95 < baseline + 1"],
        &[],
        2,
        &["is not a baseline limit"],
    );
}
