//! Bad command-line values are refused with an error that names the option.
//!
//! (No test here touches the environment; see `config_precedence.rs`.)

use std::time::Duration;

use clap::Parser;
use swarm_core::cli::Args;
use swarm_core::prelude::*;
use swarm_core::{ConfigError, Error};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

/// The error text of parsing `argv`, from clap or from `to_config`.
fn error(argv: &[&str]) -> String {
    match Cli::try_parse_from(std::iter::once("t").chain(argv.iter().copied())) {
        Err(e) => e.to_string(),
        Ok(cli) => match cli.args.to_config() {
            Err(e) => e.to_string(),
            Ok(c) => panic!("{argv:?} was accepted: {c:?}"),
        },
    }
}

#[test]
fn bad_flag_values_name_their_option() {
    for (argv, option) in [
        (&["--users", "many"][..], "--users"),
        (&["--users=-3"][..], "--users"),
        (&["--spawn-rate", "quick"][..], "--spawn-rate"),
        (&["--spawn-rate", "0"][..], "--spawn-rate"),
        (&["--spawn-rate", "inf"][..], "--spawn-rate"),
        (&["--run-time", "forever"][..], "--run-time"),
        (&["--run-time=-5s"][..], "--run-time"),
        (&["--stop-timeout", "soon"][..], "--stop-timeout"),
        (&["--host", "localhost:8080"][..], "--host"),
        (&["--host", "http://"][..], "--host"),
        (&["--seed", "x"][..], "--seed"),
        (&["--loglevel", "loud"][..], "--loglevel"),
        (&["--exit-code-on-error", "300"][..], "--exit-code-on-error"),
        (&["--users", "0", "--run-time", "10s"][..], "--users"),
    ] {
        let err = error(argv);
        assert!(err.contains(option), "{argv:?}: {err}");
    }
    // A value parsed on its way in is shown as it was written.
    let err = error(&["--shape", "stages:10s@5", "--arrival-rate", "5", "-t", "1m"]);
    assert!(
        err.starts_with("invalid --shape \"stages:10s@5\": "),
        "{err}"
    );
}

#[test]
fn typed_errors_from_to_config() {
    let cli = Cli::try_parse_from(["t", "--spawn-rate", "-1"]);
    // clap may read "-1" as a flag; either way it is refused.
    if let Ok(cli) = cli {
        let err = cli.args.to_config().unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidValue { ref option, .. } if option == "--spawn-rate"),
            "{err:?}"
        );
    }
    let cli = Cli::try_parse_from(["t", "-u", "0", "-t", "1s"]).unwrap();
    assert!(matches!(cli.args.to_config(), Err(ConfigError::NoUsers)));
    let cli = Cli::try_parse_from(["t", "-u", "0"]).unwrap();
    assert_eq!(
        cli.args.to_config().unwrap().users,
        0,
        "no run time: users come later"
    );

    let cli = Cli::try_parse_from([
        "t",
        "-u",
        "5",
        "-r",
        "2",
        "-t",
        "1m30s",
        "-T",
        "a,b",
        "--no-preflight",
    ])
    .unwrap();
    let c = cli.args.to_config().unwrap();
    assert_eq!((c.users, c.spawn_rate), (5, 2.0));
    assert_eq!(c.run_time, Some(Duration::from_secs(90)));
    assert_eq!(c.tags, ["a", "b"]);
    assert!(!c.preflight);
}

struct Nobody;

#[async_trait]
impl User for Nobody {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Nobody)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
}

impl Nobody {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_builder_refuses_bad_settings_before_running() {
    let err = Swarm::new().run().await.unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::NoUserTypes)),
        "{err:?}"
    );

    let err = Swarm::new()
        .user::<Nobody>()
        .host("localhost:80")
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(ConfigError::InvalidValue { option, .. }) if option.contains("host")),
        "{err:?}"
    );

    let err = Swarm::new()
        .user::<Nobody>()
        .users(0)
        .run_time(Duration::from_secs(1))
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::NoUsers)),
        "{err:?}"
    );

    let err = Swarm::new()
        .user::<Nobody>()
        .spawn_rate(f64::NAN)
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Config(ConfigError::InvalidValue { .. })),
        "{err:?}"
    );
}
