//! A config file accepts every option the command line does, under its long flag name,
//! and a value in the file means what the same value means on the command line.
//!
//! (No test here sets the environment; see `config_precedence.rs`.)

use std::collections::BTreeSet;

use clap::Parser;
use swarm_core::cli::Args;
use swarm_core::Config;

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn config(argv: &[&str]) -> Config {
    let cli = Cli::try_parse_from(std::iter::once("t").chain(argv.iter().copied()))
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    cli.args
        .to_config()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}

/// The keys a file may hold, from the command itself: every long flag but the actions
/// and `--config`, and `user-types` for the positional user types.
fn command_keys() -> BTreeSet<String> {
    let cmd = <Args as clap::Args>::augment_args(clap::Command::new("t"));
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| match a.get_long() {
            Some("config" | "list") => None,
            Some(long) => Some(long.to_owned()),
            None => Some(a.get_id().as_str().replace('_', "-")),
        })
        .collect()
}

/// (key, the value in TOML, the same on the command line, other flags it needs)
const CASES: &[(&str, &str, &[&str], &[&str])] = &[
    ("users", "7", &["--users", "7"], &[]),
    ("spawn-rate", "2.5", &["--spawn-rate", "2.5"], &[]),
    ("run-time", "\"1m30s\"", &["--run-time", "1m30s"], &[]),
    (
        "host",
        "\"http://127.0.0.1:9\"",
        &["--host", "http://127.0.0.1:9"],
        &[],
    ),
    ("tags", "[\"a\", \"b\"]", &["--tags", "a,b"], &[]),
    (
        "exclude-tags",
        "[\"slow\"]",
        &["--exclude-tags", "slow"],
        &[],
    ),
    ("stop-timeout", "\"3s\"", &["--stop-timeout", "3s"], &[]),
    ("seed", "42", &["--seed", "42"], &[]),
    (
        "shape",
        "\"stages:10s@5,10s@0\"",
        &["--shape", "stages:10s@5,10s@0"],
        &[],
    ),
    (
        "threshold",
        "[\"p95 < 200ms\", \"fail_ratio < 1%\"]",
        &[
            "--threshold",
            "p95 < 200ms",
            "--threshold",
            "fail_ratio < 1%",
        ],
        &[],
    ),
    ("threshold-abort", "true", &["--threshold-abort"], &[]),
    (
        "threshold-grace",
        "\"5s\"",
        &["--threshold-grace", "5s"],
        &[],
    ),
    (
        "arrival-rate",
        "50",
        &["--arrival-rate", "50"],
        &["-t", "1m"],
    ),
    (
        "arrival-stages",
        "\"10s@5,10s@0\"",
        &["--arrival-stages", "10s@5,10s@0"],
        &[],
    ),
    (
        "arrival-start-rate",
        "2",
        &["--arrival-start-rate", "2"],
        &["--arrival-stages", "10s@5"],
    ),
    (
        "pre-allocated",
        "3",
        &["--pre-allocated", "3"],
        &["--arrival-rate", "5", "-t", "1m"],
    ),
    (
        "max-users",
        "9",
        &["--max-users", "9"],
        &["--arrival-rate", "5", "-t", "1m"],
    ),
    (
        "max-lateness",
        "\"250ms\"",
        &["--max-lateness", "250ms"],
        &[],
    ),
    ("precise-timer", "false", &["--precise-timer", "false"], &[]),
    ("max-rps", "100", &["--max-rps", "100"], &[]),
    (
        "feed",
        "[\"accounts=users.csv:unique\", \"ids=ids.jsonl:sequential:end-run\"]",
        &[
            "--feed",
            "accounts=users.csv:unique",
            "--feed",
            "ids=ids.jsonl:sequential:end-run",
        ],
        &[],
    ),
    ("feed-partitions", "4", &["--feed-partitions", "4"], &[]),
    ("insecure", "true", &["--insecure"], &[]),
    ("shared-pool", "true", &["--shared-pool"], &[]),
    ("csv", "\"out/run\"", &["--csv", "out/run"], &[]),
    ("json", "\"out/run.json\"", &["--json", "out/run.json"], &[]),
    ("html", "\"out/run.html\"", &["--html", "out/run.html"], &[]),
    (
        "junit",
        "\"out/junit.xml\"",
        &["--junit", "out/junit.xml"],
        &[],
    ),
    (
        "baseline",
        "\"base.json\"",
        &["--baseline", "base.json"],
        &[],
    ),
    ("only-summary", "true", &["--only-summary"], &[]),
    ("loglevel", "\"debug\"", &["--loglevel", "debug"], &[]),
    ("log-json", "true", &["--log-json"], &[]),
    (
        "exit-code-on-error",
        "7",
        &["--exit-code-on-error", "7"],
        &[],
    ),
    ("preflight", "false", &["--preflight", "false"], &[]),
    ("no-preflight", "true", &["--no-preflight"], &[]),
    (
        "user-types",
        "[\"WebsiteUser\", \"Admin\"]",
        &["WebsiteUser", "Admin"],
        &[],
    ),
];

#[test]
fn every_option_reads_the_same_from_a_file_as_from_its_flag() {
    let want = command_keys();
    let have: BTreeSet<String> = CASES.iter().map(|c| c.0.to_owned()).collect();
    assert_eq!(have, want, "this test covers exactly the command's options");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swarm.toml");
    let path = file.to_str().unwrap();
    for (key, toml, flags, extra) in CASES {
        std::fs::write(&file, format!("{key} = {toml}\n")).unwrap();
        let from_file = config(&[&["--config", path][..], extra].concat());
        let from_flag = config(&[*flags, extra].concat());
        let neither = config(extra);
        assert_eq!(
            format!("{from_file:?}"),
            format!("{from_flag:?}"),
            "{key}: the file and the flag disagree"
        );
        assert_ne!(
            format!("{from_file:?}"),
            format!("{neither:?}"),
            "{key}: the value changed nothing"
        );
    }
}

#[test]
fn durations_in_a_file_may_be_numbers_of_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swarm.toml");
    std::fs::write(&file, "run-time = 90\nstop-timeout = 1.5\n").unwrap();
    let c = config(&["--config", file.to_str().unwrap()]);
    assert_eq!(c.run_time, Some(std::time::Duration::from_secs(90)));
    assert_eq!(c.stop_timeout, std::time::Duration::from_millis(1500));
}

#[test]
fn flags_win_over_the_file_for_the_options_it_once_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swarm.toml");
    std::fs::write(&file, "precise-timer = false\nthreshold = [\"p95 < 1s\"]\n").unwrap();
    let path = file.to_str().unwrap();
    let c = config(&["--config", path]);
    assert!(!c.precise_timer, "the file turns the precise timer off");
    assert_eq!(c.thresholds.len(), 1);
    let c = config(&[
        "--config",
        path,
        "--precise-timer",
        "--threshold",
        "p99 < 2s",
    ]);
    assert!(c.precise_timer, "the flag turns it back on");
    assert_eq!(
        c.thresholds
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["p99 < 2s"]
    );
    // Without either, the command line runs with the precise timer; the builder does not.
    assert!(config(&[]).precise_timer);
    assert!(!Config::default().precise_timer);
}
