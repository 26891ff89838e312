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

const VARS: [&str; 6] = [
    "SWARM_USERS",
    "SWARM_RUN_TIME",
    "SWARM_TAGS",
    "SWARM_SEED",
    "SWARM_CONFIG",
    "SWARM_SPAWN_RATE",
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
         stop-timeout = \"3s\"\nhost = \"http://127.0.0.1:9\"\nexit-code-on-error = 9\n",
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
