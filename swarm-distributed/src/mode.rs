//! The worker and the master as run modes of a scenario binary: `--worker --master-host H
//! --master-port P` and `--master --expect-workers N`, Locust's flag names and
//! environment variables.

use futures::future::BoxFuture;
use swarm_core::cli::{ModeContext, RunMode};

use crate::master::{self, MasterHandle, MasterOptions};
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

/// The Swarm master mode of a scenario binary: `--master` drives Swarm workers and
/// Python Locust workers (Locust's protocol, Locust's flag names), splits the users
/// over them as Locust's master does, and writes the normal Swarm report (console
/// summary, `--csv`, `--json`, `--html`, `--junit`, thresholds and exit code) of what
/// they reported.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     swarm_core::cli::App::new()
///         .mode(swarm_distributed::LocustWorker::new())
///         .mode(swarm_distributed::LocustMaster::new())
///         .main()
/// }
/// ```
///
/// Then `scenario --master --expect-workers 2 -u 30 -r 10 -t 1m --csv out` waits for
/// two workers (`scenario --worker`, or `locust -f twin.py --worker` with the same
/// class names), runs the test on them and writes `out_stats.csv` and the rest.
/// [`LocustMaster::handle`] gives a live view of the workers (for a web UI).
#[derive(Debug, Clone, Default)]
pub struct LocustMaster {
    options: MasterOptions,
    handle: MasterHandle,
}

impl LocustMaster {
    /// The mode with Locust's defaults (bind every interface, port 5557, one worker).
    pub fn new() -> Self {
        Self::default()
    }

    /// Use these options (time-outs; the flags still set the address and the workers
    /// expected).
    #[must_use]
    pub fn options(mut self, options: MasterOptions) -> Self {
        self.options = options;
        self
    }

    /// A live view of this master's workers and phase, to hand to a web UI or a test
    /// before the mode is composed into the app.
    pub fn handle(&self) -> MasterHandle {
        self.handle.clone()
    }
}

impl RunMode for LocustMaster {
    fn augment(&self, cmd: clap::Command) -> clap::Command {
        let heading = "Distributed";
        cmd.arg(
            clap::Arg::new("master")
                .long("master")
                .env("LOCUST_MODE_MASTER")
                .action(clap::ArgAction::SetTrue)
                .help("Run as a master: drive Swarm and Locust workers, and report what they did")
                .help_heading(heading),
        )
        .arg(
            clap::Arg::new("master_bind_host")
                .long("master-bind-host")
                .env("LOCUST_MASTER_BIND_HOST")
                .value_name("HOST")
                .default_value("*")
                .help("With --master: the interface to listen on for workers (* = all)")
                .help_heading(heading),
        )
        .arg(
            clap::Arg::new("master_bind_port")
                .long("master-bind-port")
                .env("LOCUST_MASTER_BIND_PORT")
                .value_name("PORT")
                .value_parser(clap::value_parser!(u16))
                .default_value("5557")
                .help("With --master: the port to listen on for workers (0 = any free port)")
                .help_heading(heading),
        )
        .arg(
            clap::Arg::new("expect_workers")
                .long("expect-workers")
                .env("LOCUST_EXPECT_WORKERS")
                .value_name("N")
                .value_parser(clap::value_parser!(u32).range(1..))
                .default_value("1")
                .help("With --master: wait for this many workers before the test starts")
                .help_heading(heading),
        )
        .arg(
            clap::Arg::new("expect_workers_max_wait")
                .long("expect-workers-max-wait")
                .env("LOCUST_EXPECT_WORKERS_MAX_WAIT")
                .value_name("SECONDS")
                .value_parser(clap::value_parser!(u64))
                .default_value("0")
                .help("With --master: give up (exit 3) when the workers are not there after this long (0 = wait forever)")
                .help_heading(heading),
        )
    }

    fn selected(&self, matches: &clap::ArgMatches) -> bool {
        matches
            .try_get_one::<bool>("master")
            .ok()
            .flatten()
            .copied()
            == Some(true)
    }

    fn run(self: Box<Self>, ctx: ModeContext) -> BoxFuture<'static, Result<u8, swarm_core::Error>> {
        let mut options = self.options;
        let m = ctx.matches();
        if m.try_get_one::<bool>("worker").ok().flatten().copied() == Some(true) {
            return Box::pin(async {
                Err(swarm_core::Error::Config(
                    swarm_core::ConfigError::InvalidValue {
                        option: "--master".to_owned(),
                        value: "with --worker".to_owned(),
                        reason: "a process is either a master or a worker".to_owned(),
                        file: None,
                    },
                ))
            });
        }
        if let Ok(Some(h)) = m.try_get_one::<String>("master_bind_host") {
            options.bind_host.clone_from(h);
        }
        if let Ok(Some(p)) = m.try_get_one::<u16>("master_bind_port") {
            options.bind_port = *p;
        }
        if let Ok(Some(n)) = m.try_get_one::<u32>("expect_workers") {
            options.expect_workers = *n as usize;
        }
        if let Ok(Some(s)) = m.try_get_one::<u64>("expect_workers_max_wait") {
            options.expect_workers_max_wait = (*s > 0).then(|| std::time::Duration::from_secs(*s));
        }
        Box::pin(master::run(ctx, options, self.handle))
    }
}
