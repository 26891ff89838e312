//! The worker as a run mode of a scenario binary: `--worker --master-host H
//! --master-port P`, Locust's flag names and environment variables.

use futures::future::BoxFuture;
use swarm_core::cli::{ModeContext, RunMode};

use crate::worker::{self, WorkerOptions};

/// The Locust worker mode of a scenario binary. Compose it into the binary's `main`:
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     swarm_core::cli::App::new()
///         .mode(swarm_distributed::LocustWorker::new())
///         .main()
/// }
/// ```
///
/// Then `scenario --worker --master-host locust-master --master-port 5557` joins that Locust
/// master (`LOCUST_MODE_WORKER=true`, `LOCUST_MASTER_NODE_HOST`,
/// `LOCUST_MASTER_NODE_PORT` as in Locust). The master's user classes are matched to the
/// binary's user types by name; the master's spawn messages set the users of each type,
/// its stop and quit end them, and statistics go to it every 3 s.
#[derive(Debug, Clone, Default)]
pub struct LocustWorker {
    options: WorkerOptions,
}

impl LocustWorker {
    /// The mode with Locust's defaults (master at 127.0.0.1:5557 unless the flags say
    /// otherwise).
    pub fn new() -> Self {
        Self::default()
    }

    /// Use these options (time-outs; the flags still set the master's address).
    #[must_use]
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }
}

impl RunMode for LocustWorker {
    fn augment(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("worker")
                .long("worker")
                .env("LOCUST_MODE_WORKER")
                .action(clap::ArgAction::SetTrue)
                .help("Join a Locust master as a worker (its spawn, stop and quit drive this process)")
                .help_heading("Distributed"),
        )
        .arg(
            clap::Arg::new("master_host")
                .long("master-host")
                .env("LOCUST_MASTER_NODE_HOST")
                .value_name("HOST")
                .default_value("127.0.0.1")
                .help("With --worker: the Locust master's host")
                .help_heading("Distributed"),
        )
        .arg(
            clap::Arg::new("master_port")
                .long("master-port")
                .env("LOCUST_MASTER_NODE_PORT")
                .value_name("PORT")
                .value_parser(clap::value_parser!(u16).range(1..))
                .default_value("5557")
                .help("With --worker: the Locust master's port")
                .help_heading("Distributed"),
        )
    }

    fn selected(&self, matches: &clap::ArgMatches) -> bool {
        matches
            .try_get_one::<bool>("worker")
            .ok()
            .flatten()
            .copied()
            == Some(true)
    }

    fn run(self: Box<Self>, ctx: ModeContext) -> BoxFuture<'static, Result<u8, swarm_core::Error>> {
        let mut options = self.options;
        if let Ok(Some(h)) = ctx.matches().try_get_one::<String>("master_host") {
            options.master_host.clone_from(h);
        }
        if let Ok(Some(p)) = ctx.matches().try_get_one::<u16>("master_port") {
            options.master_port = *p;
        }
        Box::pin(worker::run(ctx, options))
    }
}
