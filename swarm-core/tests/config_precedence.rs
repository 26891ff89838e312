//! Settings come from defaults < TOML file < `SWARM_*` environment < flags.
//!
//! Everything that touches the environment is in one test function: the tests of one
//! file run in parallel threads of one process.

use std::time::Duration;

use clap::Parser;
use swarm_core::cli::Args;
use swarm_core::{Config, ConfigError};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn config(argv: &[&str]) -> Result<Config, String> {
    let cli = Cli::try_parse_from(std::iter::once("t").chain(argv.iter().copied()))
        .map_err(|e| e.to_string())?;
    cli.args.to_config().map_err(|e| e.to_string())
}

fn thresholds(c: &Config) -> Vec<String> {
    c.thresholds.iter().map(ToString::to_string).collect()
}

const VARS: [&str; 9] = [
    "SWARM_USERS",
    "SWARM_RUN_TIME",
    "SWARM_TAGS",
    "SWARM_SEED",
    "SWARM_CONFIG",
    "SWARM_SPAWN_RATE",
    "SWARM_PRECISE_TIMER",
    "SWARM_THRESHOLDS",
    "SWARM_PREFLIGHT",
];

#[test]
fn file_then_env_then_flags() {
    for v in VARS {
        std::env::remove_var(v);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swarm.toml");
    std::fs::write(
        &file,
        "users = 7\nspawn-rate = 2.5\nrun-time = \"1m\"\ntags = [\"file\"]\nseed = 1\n\
         stop-timeout = \"3s\"\nhost = \"http://127.0.0.1:9\"\nexit-code-on-error = 9\n\
         precise-timer = false\nthreshold = [\"p95 < 1s\"]\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    // Defaults alone.
    let c = config(&[]).unwrap();
    assert_eq!(
        (c.users, c.spawn_rate, c.run_time, c.seed),
        (1, 1.0, None, None)
    );
    assert_eq!(c.stop_timeout, Duration::ZERO);
    assert!(c.tags.is_empty() && c.host.is_none() && c.preflight);
    assert_eq!(c.exit_code_on_error, 1);

    // The file over the defaults.
    let c = config(&["--config", path]).unwrap();
    assert_eq!(c.users, 7);
    assert_eq!(c.spawn_rate, 2.5);
    assert_eq!(c.run_time, Some(Duration::from_secs(60)));
    assert_eq!(c.tags, ["file"]);
    assert_eq!(c.seed, Some(1));
    assert_eq!(c.stop_timeout, Duration::from_secs(3));
    assert_eq!(
        c.host.as_ref().map(url::Url::as_str),
        Some("http://127.0.0.1:9/")
    );
    assert_eq!(c.exit_code_on_error, 9);
    assert!(!c.precise_timer);
    assert_eq!(thresholds(&c), ["p95 < 1s"]);

    // The environment over the file.
    std::env::set_var("SWARM_USERS", "8");
    std::env::set_var("SWARM_RUN_TIME", "2m");
    std::env::set_var("SWARM_TAGS", "env1,env2");
    let c = config(&["--config", path]).unwrap();
    assert_eq!(c.users, 8);
    assert_eq!(c.run_time, Some(Duration::from_secs(120)));
    assert_eq!(c.tags, ["env1", "env2"]);
    assert_eq!(c.spawn_rate, 2.5, "still from the file");
    assert_eq!(c.seed, Some(1), "still from the file");
    std::env::set_var("SWARM_PRECISE_TIMER", "true");
    std::env::set_var("SWARM_THRESHOLDS", "p99 < 2s;fail_ratio < 1%");
    let c = config(&["--config", path]).unwrap();
    assert!(c.precise_timer, "SWARM_PRECISE_TIMER over the file");
    assert_eq!(thresholds(&c), ["p99 < 2s", "fail_ratio < 1%"]);
    let c = config(&["--config", path, "--precise-timer=false"]).unwrap();
    assert!(!c.precise_timer, "the flag over SWARM_PRECISE_TIMER");
    std::env::remove_var("SWARM_PRECISE_TIMER");
    std::env::remove_var("SWARM_THRESHOLDS");

    // --no-preflight, a flag, wins over SWARM_PREFLIGHT.
    std::env::set_var("SWARM_PREFLIGHT", "true");
    assert!(config(&[]).unwrap().preflight);
    assert!(!config(&["--no-preflight"]).unwrap().preflight);
    std::env::set_var("SWARM_PREFLIGHT", "false");
    assert!(!config(&[]).unwrap().preflight);
    assert!(config(&["--preflight"]).unwrap().preflight);
    std::env::remove_var("SWARM_PREFLIGHT");

    // Flags over the environment.
    let c = config(&["--config", path, "-u", "9", "--tags", "flag", "--seed", "3"]).unwrap();
    assert_eq!(c.users, 9);
    assert_eq!(c.tags, ["flag"]);
    assert_eq!(c.seed, Some(3));
    assert_eq!(
        c.run_time,
        Some(Duration::from_secs(120)),
        "still from the environment"
    );
    assert_eq!(c.spawn_rate, 2.5, "still from the file");

    // The file itself can be named in the environment.
    std::env::set_var("SWARM_CONFIG", path);
    let c = config(&[]).unwrap();
    assert_eq!((c.users, c.spawn_rate), (8, 2.5));

    // A bad value in the environment names the option.
    std::env::set_var("SWARM_SPAWN_RATE", "fast");
    let err = config(&[]).unwrap_err();
    assert!(err.contains("--spawn-rate"), "{err}");
    std::env::set_var("SWARM_SPAWN_RATE", "0");
    let err = config(&[]).unwrap_err();
    assert!(err.contains("--spawn-rate"), "{err}");
    // ... unless a flag replaces it.
    let c = config(&["-r", "4"]).unwrap();
    assert_eq!(c.spawn_rate, 4.0);

    for v in VARS {
        std::env::remove_var(v);
    }
}

#[test]
fn config_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    let missing = dir.path().join("missing.toml");
    assert!(matches!(
        c.load_file(&missing),
        Err(ConfigError::ReadFile { .. })
    ));

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "users = 2\nspawn_rate = 3\n").unwrap();
    match Config::default().load_file(&file) {
        Err(ConfigError::ParseFile { path, message }) => {
            assert_eq!(path, file);
            assert!(message.contains("spawn_rate"), "{message}");
        }
        other => panic!("expected ParseFile, got {other:?}"),
    }

    std::fs::write(&file, "stop-timeout = \"soon\"\n").unwrap();
    match Config::default().load_file(&file) {
        Err(ConfigError::InvalidValue { option, value, .. }) => {
            assert_eq!(option, "stop-timeout");
            assert_eq!(value, "soon");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

#[test]
fn a_bad_value_in_a_file_names_the_key_the_value_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swarm.toml");
    for (text, key, value) in [
        ("run-time = \"forever\"\n", "run-time", "forever"),
        ("users = \"many\"\n", "users", "many"),
        ("host = \"localhost:8080\"\n", "host", "localhost:8080"),
        ("threshold = [\"p95 < 2xx\"]\n", "threshold", "2xx"),
        ("shape = \"wave:1\"\n", "shape", "wave:1"),
        ("exit-code-on-error = 300\n", "exit-code-on-error", "300"),
        (
            "precise-timer = \"sometimes\"\n",
            "precise-timer",
            "sometimes",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = Config::default().load_file(&file).unwrap_err();
        match &err {
            ConfigError::InvalidValue {
                option,
                value: v,
                file: Some(f),
                ..
            } => {
                assert_eq!(option, key, "{text}");
                assert!(v.contains(value), "{text}: {v}");
                assert_eq!(f, &file);
            }
            other => panic!("{text}: expected InvalidValue, got {other:?}"),
        }
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("invalid {key} ")) && shown.contains("swarm.toml"),
            "{shown}"
        );
    }
}

#[test]
fn an_unknown_key_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("swarm.toml");
    for (key, hint) in [
        ("thresholds", Some("threshold")),
        ("spawn_rate", Some("spawn-rate")),
        ("userz", None),
        ("config", None),
        ("list", None),
    ] {
        std::fs::write(&file, format!("{key} = 1\n")).unwrap();
        match Config::default().load_file(&file) {
            Err(ConfigError::ParseFile { path, message }) => {
                assert_eq!(path, file);
                assert!(
                    message.contains(&format!("unknown key `{key}`")),
                    "{message}"
                );
                if let Some(h) = hint {
                    assert!(
                        message.contains(&format!("did you mean `{h}`")),
                        "{message}"
                    );
                }
                assert!(message.contains("spawn-rate"), "lists the keys: {message}");
            }
            other => panic!("{key}: expected ParseFile, got {other:?}"),
        }
    }
}
