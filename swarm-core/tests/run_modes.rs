//! A run mode plugged into the app: its flag joins the command line, selects it, and it
//! builds runs of the registered user types with the app's per-run settings.

use std::process::ExitCode;
use std::time::Duration;

use futures::future::BoxFuture;
use swarm_core::cli::{App, ModeContext, RunMode};
use swarm_core::prelude::*;

struct Tick;

struct Label(&'static str);

#[async_trait]
impl User for Tick {
    async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
        let label = ctx
            .setting::<Label>()
            .ok_or_else(|| TaskError::new("no Label"))?;
        assert_eq!(label.0, "from the app");
        Ok(Tick)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("tick", Self::tick)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(100))
    }
}

impl Tick {
    async fn tick(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .success("MODE", "tick", Duration::from_micros(10), 0);
        Ok(())
    }
}

swarm_core::register_user!(Tick);

/// Runs twice (as a worker runs one test after another) and exits with the number of
/// user types it saw plus 40 when both runs recorded ticks.
struct Twice;

impl RunMode for Twice {
    fn augment(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("twice")
                .long("twice")
                .action(clap::ArgAction::SetTrue)
                .help("Run twice"),
        )
    }

    fn selected(&self, matches: &clap::ArgMatches) -> bool {
        matches.get_flag("twice")
    }

    fn run(self: Box<Self>, ctx: ModeContext) -> BoxFuture<'static, Result<u8, swarm_core::Error>> {
        Box::pin(async move {
            let mut ok = 0;
            for _ in 0..2 {
                let report = ctx
                    .swarm()
                    .users(2)
                    .spawn_rate(100.0)
                    .run_time(Duration::from_millis(500))
                    .preflight(false)
                    .run()
                    .await?;
                if report
                    .snapshot
                    .entry("MODE", "tick")
                    .is_some_and(|e| e.requests > 0)
                {
                    ok += 1;
                }
            }
            let types = u8::try_from(ctx.user_types().len()).unwrap_or(0);
            Ok(if ok == 2 { 40 + types } else { 1 })
        })
    }
}

fn app() -> App {
    App::new().setting(Label("from the app")).mode(Twice)
}

#[test]
fn the_mode_flag_selects_the_mode() {
    let code = app().main_from(["scenario", "--twice", "--only-summary"]);
    assert_eq!(code, ExitCode::from(41));
}

#[test]
fn without_the_flag_a_local_run_uses_the_same_settings() {
    let code = app().main_from(["scenario", "-u", "2", "-t", "1s", "--only-summary"]);
    assert_eq!(code, ExitCode::SUCCESS);
}

#[test]
fn the_mode_flag_is_on_the_command_line() {
    let help = app()
        .augment(clap::Command::new("scenario"))
        .render_long_help()
        .to_string();
    assert!(help.contains("--twice"), "{help}");
}
