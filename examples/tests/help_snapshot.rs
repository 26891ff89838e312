//! `--help` is documentation users read: a snapshot keeps it from drifting unnoticed.
//! Regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p swarm-examples --test help_snapshot`.

mod common;

use std::time::Duration;

use common::{code, example, run_bounded};

#[test]
fn help_matches_the_snapshot() {
    let mut cmd = example("http_basic");
    cmd.arg("--help").env("COLUMNS", "100");
    for (k, _) in std::env::vars() {
        if k.starts_with("SWARM_") {
            cmd.env_remove(k);
        }
    }
    let out = run_bounded(&mut cmd, Duration::from_secs(30));
    assert_eq!(code(out.status), 0);
    let help = String::from_utf8(out.stdout).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/help.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &help).unwrap();
    }
    let want =
        std::fs::read_to_string(&path).expect("snapshot exists (UPDATE_SNAPSHOTS=1 writes it)");
    assert_eq!(
        help, want,
        "--help changed: review, then UPDATE_SNAPSHOTS=1 to accept"
    );
    for flag in [
        "--users",
        "--spawn-rate",
        "--run-time",
        "--host",
        "--csv",
        "--json",
        "--tags",
        "--exclude-tags",
        "--stop-timeout",
        "--seed",
        "--loglevel",
        "--list",
        "--config",
    ] {
        assert!(help.contains(flag), "--help lists {flag}");
    }
    // The run plan apart from the process options, each flag under its group.
    let plan = help.find("\nRun plan:\n").expect("a Run plan group");
    let process = help.find("\nProcess:\n").expect("a Process group");
    for flag in ["--users", "--shape", "--threshold", "--max-rps"] {
        let at = help.find(flag).unwrap();
        assert!(plan < at && at < process, "{flag} is in the run plan");
    }
    for flag in ["--csv", "--loglevel", "--exit-code-on-error", "--config"] {
        assert!(
            help.find(flag).unwrap() > process,
            "{flag} is a process option"
        );
    }
}
