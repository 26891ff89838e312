//! The command line: Locust's flag names, a TOML config file and `SWARM_*` environment
//! variables, with the precedence defaults < file < environment < flags.

use std::ffi::OsString;
use std::future::Future;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures::future::BoxFuture;

use crate::config::{parse_host, set, Config};
use crate::duration::parse_duration;
use crate::error::{ConfigError, Error};
use crate::report::{console, exit_code, Report};
use crate::runner::RunnerHandle;
use crate::user::registered;
use crate::Swarm;

mod mode;
pub use mode::{ModeContext, RunMode};

/// The flags of a run. `#[command(flatten)]` it into a CLI of your own, then call
/// [`Args::to_config`].
#[derive(Debug, Clone, Default, clap::Args)]
#[non_exhaustive]
pub struct Args {
    /// Peak number of concurrent users
    #[arg(
        short = 'u',
        long,
        env = "SWARM_USERS",
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub users: Option<u32>,

    /// Users started (or stopped) per second
    #[arg(
        short = 'r',
        long,
        env = "SWARM_SPAWN_RATE",
        allow_negative_numbers = true,
        value_name = "PER_SEC"
    )]
    pub spawn_rate: Option<f64>,

    /// Stop after this long: 90, 30s, 5m, 1h30m (default: run until Ctrl-C)
    #[arg(short = 't', long, env = "SWARM_RUN_TIME", allow_negative_numbers = true, value_name = "TIME", value_parser = parse_duration)]
    pub run_time: Option<Duration>,

    /// The target, e.g. http://127.0.0.1:8080
    #[arg(short = 'H', long, env = "SWARM_HOST", value_name = "URL", value_parser = parse_host)]
    pub host: Option<url::Url>,

    /// Write Locust-compatible CSV files PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv and PREFIX_exceptions.csv
    #[arg(long, env = "SWARM_CSV", value_name = "PREFIX")]
    pub csv: Option<PathBuf>,

    /// Write the JSON report (schema swarm-report/1) to this file
    #[arg(long, env = "SWARM_JSON", value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Run only tasks with one of these tags (comma-separated)
    #[arg(short = 'T', long, env = "SWARM_TAGS", value_delimiter = ',', num_args = 1.., value_name = "TAG")]
    pub tags: Vec<String>,

    /// Skip tasks with one of these tags (comma-separated)
    #[arg(short = 'E', long, env = "SWARM_EXCLUDE_TAGS", value_delimiter = ',', num_args = 1.., value_name = "TAG")]
    pub exclude_tags: Vec<String>,

    /// How long running tasks may finish when the run stops, then they are cancelled
    #[arg(long, env = "SWARM_STOP_TIMEOUT", allow_negative_numbers = true, value_name = "TIME", value_parser = parse_duration)]
    pub stop_timeout: Option<Duration>,

    /// Seed of the users' random choices, for repeatable runs
    #[arg(long, env = "SWARM_SEED", value_name = "N")]
    pub seed: Option<u64>,

    /// Log level: error, warn, info, debug, trace
    #[arg(short = 'L', long, env = "SWARM_LOGLEVEL", value_name = "LEVEL")]
    pub loglevel: Option<String>,

    /// Logs as JSON lines on stderr
    #[arg(long, env = "SWARM_LOG_JSON", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub log_json: Option<bool>,

    /// Print only the final summary, no live progress
    #[arg(long, env = "SWARM_ONLY_SUMMARY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub only_summary: Option<bool>,

    /// Exit code when any request or task failed
    #[arg(long, env = "SWARM_EXIT_CODE_ON_ERROR", value_name = "CODE")]
    pub exit_code_on_error: Option<u8>,

    /// Check that the host accepts TCP connections before the run (default true)
    #[arg(long, env = "SWARM_PREFLIGHT", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub preflight: Option<bool>,

    /// Same as --preflight=false
    #[arg(long, conflicts_with = "preflight")]
    pub no_preflight: bool,

    /// A built-in load shape instead of -u/-r: steps:users=10,every=30s,max=100,time=10m | stages:30s@10,1m@50,30s@0 | spike:base=10,peak=100,after=1m,ramp=5s,hold=30s,time=3m
    #[arg(long, env = "SWARM_SHAPE", value_name = "SHAPE")]
    pub shape: Option<String>,

    /// An SLO that decides the exit code, e.g. "p95 < 200ms", "fail_ratio < 1%", "GET /status: p99 <= 1s" (repeatable)
    #[arg(
        long = "threshold",
        env = "SWARM_THRESHOLDS",
        value_delimiter = ';',
        value_name = "EXPR"
    )]
    pub thresholds: Vec<String>,

    /// End the run as soon as a threshold fails (after --threshold-grace)
    #[arg(long, env = "SWARM_THRESHOLD_ABORT", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub threshold_abort: Option<bool>,

    /// With --threshold-abort, do not abort before this much time has run
    #[arg(long, env = "SWARM_THRESHOLD_GRACE", value_name = "TIME", value_parser = parse_duration)]
    pub threshold_grace: Option<Duration>,

    /// Open model: start this many iterations per second, whatever the latency (k6's constant-arrival-rate; needs -t)
    #[arg(
        long,
        env = "SWARM_ARRIVAL_RATE",
        value_name = "PER_SEC",
        allow_negative_numbers = true
    )]
    pub arrival_rate: Option<f64>,

    /// Open model: ramp the arrival rate through stages DURATION@RATE,... e.g. 30s@100,1m@500,30s@0 (k6's ramping-arrival-rate)
    #[arg(long, env = "SWARM_ARRIVAL_STAGES", value_name = "STAGES")]
    pub arrival_stages: Option<String>,

    /// Open model: the rate the first stage ramps from (default 0)
    #[arg(
        long,
        env = "SWARM_ARRIVAL_START_RATE",
        value_name = "PER_SEC",
        allow_negative_numbers = true
    )]
    pub arrival_start_rate: Option<f64>,

    /// Open model: users created before the start (default: --users)
    #[arg(long, env = "SWARM_PRE_ALLOCATED", value_name = "N")]
    pub pre_allocated: Option<u32>,

    /// Open model: the most users the pool may grow to; iterations beyond are dropped (default: --pre-allocated)
    #[arg(long, env = "SWARM_MAX_USERS", value_name = "N")]
    pub max_users: Option<u32>,

    /// Open model: how long an iteration may wait for a free user when the pool is full before it is dropped; 0 drops at once as k6 does (default 1s)
    #[arg(long, env = "SWARM_MAX_LATENESS", value_name = "TIME", value_parser = parse_duration, allow_negative_numbers = true)]
    pub max_lateness: Option<Duration>,

    /// Open model: start iterations with a sub-millisecond timer (Linux timerfd) instead of Tokio's 1 ms timer (default true here)
    #[arg(long, env = "SWARM_PRECISE_TIMER", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub precise_timer: Option<bool>,

    /// At most this many task starts (typically requests) per second across all users, without bursts
    #[arg(
        long,
        env = "SWARM_MAX_RPS",
        value_name = "PER_SEC",
        allow_negative_numbers = true
    )]
    pub max_rps: Option<f64>,

    /// Read settings from this TOML file (keys are the long flag names)
    #[arg(long, env = "SWARM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// List the user types and exit
    #[arg(short = 'l', long)]
    pub list: bool,

    /// Accepted for Locust compatibility; Swarm always runs headless
    #[arg(long, hide = true)]
    pub headless: bool,

    /// User types to run (default: all registered)
    #[arg(value_name = "USER_TYPE")]
    pub user_types: Vec<String>,
}

impl Args {
    /// The configuration: defaults, then the config file, then these flags (which clap
    /// already filled from `SWARM_*` variables where a flag was absent).
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = &self.config {
            c.load_file(path)?;
        }
        let a = self.clone();
        let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
        set(&mut c.users, a.users);
        set(&mut c.spawn_rate, a.spawn_rate);
        set(&mut c.run_time, a.run_time.map(Some));
        set(&mut c.host, a.host.map(Some));
        set(&mut c.csv, a.csv.map(Some));
        set(&mut c.json, a.json.map(Some));
        set(&mut c.tags, some(a.tags));
        set(&mut c.exclude_tags, some(a.exclude_tags));
        set(&mut c.stop_timeout, a.stop_timeout);
        set(&mut c.seed, a.seed.map(Some));
        set(&mut c.loglevel, a.loglevel);
        set(&mut c.log_json, a.log_json);
        set(&mut c.only_summary, a.only_summary);
        set(&mut c.preflight, a.preflight);
        set(&mut c.exit_code_on_error, a.exit_code_on_error);
        if a.no_preflight {
            c.preflight = false;
        }
        set(&mut c.shape, a.shape.map(Some));
        set(&mut c.thresholds, some(a.thresholds));
        set(&mut c.threshold_abort, a.threshold_abort);
        set(&mut c.threshold_grace, a.threshold_grace);
        set(&mut c.arrival_rate, a.arrival_rate.map(Some));
        set(&mut c.arrival_stages, a.arrival_stages.map(Some));
        set(&mut c.arrival_start_rate, a.arrival_start_rate);
        set(&mut c.pre_allocated, a.pre_allocated.map(Some));
        set(&mut c.max_users, a.max_users.map(Some));
        set(&mut c.max_rps, a.max_rps.map(Some));
        // The command line runs in real time: the precise timer unless turned off.
        c.precise_timer = a.precise_timer.unwrap_or(true);
        set(&mut c.max_lateness, a.max_lateness);
        set(&mut c.user_types, some(a.user_types));
        c.validate()?;
        Ok(c)
    }
}

#[derive(Debug, Parser)]
#[command(name = "swarm", version, about = "Run a Swarm load test", long_about = None)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

pub(crate) type HostFn = Box<dyn FnOnce() -> BoxFuture<'static, Result<String, String>> + Send>;

/// Adds something to each run's builder (a per-run setting); a mode may build many runs.
pub(crate) type SwarmFn = Arc<dyn Fn(Swarm) -> Swarm + Send + Sync>;

/// The `main` of a scenario binary: parses the command line, runs the registered user
/// types and exits with the documented code. Most binaries call [`crate::main`].
pub struct App {
    default_host: Option<HostFn>,
    settings: Vec<SwarmFn>,
    modes: Vec<Box<dyn RunMode>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// An app with no default host.
    pub fn new() -> Self {
        App {
            default_host: None,
            settings: Vec::new(),
            modes: Vec::new(),
        }
    }

    /// Add a run mode: its flags join the command line, and when they select it (say
    /// `--worker`), it runs instead of a local run. A crate that offers another way to
    /// run (`swarm_distributed`'s Locust worker) provides one; a scenario's `main`
    /// composes them: `App::new().default_host(..).mode(..).main()`.
    #[must_use]
    pub fn mode(mut self, mode: impl RunMode) -> Self {
        self.modes.push(Box::new(mode));
        self
    }

    /// Hand a per-run setting to the users of the run (see [`Swarm::setting`]): the way a
    /// scenario's `main` passes what it read from its own flags or environment.
    #[must_use]
    pub fn setting<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        let value = Arc::new(value);
        self.settings.push(Arc::new(move |swarm: Swarm| {
            swarm.setting_arc(value.clone())
        }));
        self
    }

    /// When no `--host` is given, call `f` (inside the run's runtime) for one, such as an
    /// in-process demo target. It returns the host URL.
    #[must_use]
    pub fn default_host<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.default_host = Some(Box::new(move || Box::pin(f())));
        self
    }

    /// Run with the process's arguments and return its exit code.
    pub fn main(self) -> ExitCode {
        self.main_from(std::env::args_os())
    }

    /// Run with the given arguments (the first is the program name).
    pub fn main_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        for m in &self.modes {
            cmd = m.augment(cmd);
        }
        let parsed = cmd
            .try_get_matches_from(args)
            .and_then(|m| <Args as clap::FromArgMatches>::from_arg_matches(&m).map(|a| (a, m)));
        match parsed {
            Ok((args, matches)) => self.run_matches(&args, &matches),
            Err(e) => {
                let _ = e.print();
                ExitCode::from(if e.use_stderr() { exit_code::CONFIG } else { 0 })
            }
        }
    }

    /// Add the flags of this app's modes to a command line of your own (for a binary
    /// whose own clap parser flattens [`Args`]); then call [`App::run_matches`].
    pub fn augment(&self, mut cmd: clap::Command) -> clap::Command {
        for m in &self.modes {
            cmd = m.augment(cmd);
        }
        cmd
    }

    /// Run with flags already parsed, and the matches a mode reads its own flags from.
    pub fn run_matches(mut self, args: &Args, matches: &clap::ArgMatches) -> ExitCode {
        let Some(i) = self.modes.iter().position(|m| m.selected(matches)) else {
            return self.run_args(args);
        };
        let mode = self.modes.swap_remove(i);
        let config = match args.to_config() {
            Ok(c) => c,
            Err(e) => return fail(&Error::Config(e)),
        };
        init_logging(&config);
        if let Err(e) = select_users(&config.user_types) {
            return fail(&Error::Config(e));
        }
        let ctx = ModeContext {
            config,
            matches: matches.clone(),
            default_host: self.default_host,
            settings: self.settings,
        };
        block_on_runtime(mode.run(ctx))
    }

    /// Run with flags already parsed, for a binary whose own clap parser flattens
    /// [`Args`] beside flags of its own.
    pub fn run_args(self, args: &Args) -> ExitCode {
        let cli = Cli { args: args.clone() };
        if cli.args.list {
            for r in registered() {
                println!("{}", r.name());
            }
            return ExitCode::SUCCESS;
        }
        let config = match cli.args.to_config() {
            Ok(c) => c,
            Err(e) => return fail(&Error::Config(e)),
        };
        init_logging(&config);
        let specs = match select_users(&config.user_types) {
            Ok(s) => s,
            Err(e) => return fail(&Error::Config(e)),
        };
        block_on_runtime(run_cli(config, specs, self.default_host, self.settings))
    }
}

/// Run `fut` on a new multi-threaded runtime and turn its outcome into the exit code.
fn block_on_runtime(fut: impl Future<Output = Result<u8, Error>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(&Error::Runner(format!(
                "cannot start the Tokio runtime: {e}"
            )))
        }
    };
    crate::runner::install_quiet_hook();
    let result = runtime.block_on(fut);
    // Users still finishing on_stop must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(match e {
        Error::Config(_) => exit_code::CONFIG,
        Error::Unreachable { .. } => exit_code::UNREACHABLE,
        Error::Report(_) => exit_code::REPORT,
        Error::TestStart { .. } => exit_code::RUNNER,
        _ => exit_code::RUNNER,
    })
}

fn init_logging(config: &Config) {
    let level = match config.loglevel.to_ascii_lowercase().as_str() {
        "warning" => "warn".to_owned(),
        other => other.to_owned(),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub(crate) fn select_users(names: &[String]) -> Result<Vec<crate::runner::UserSpec>, ConfigError> {
    let all = registered();
    if all.is_empty() {
        return Err(ConfigError::NoUserTypes);
    }
    if names.is_empty() {
        return Ok(all.iter().map(|r| (r.spec)()).collect());
    }
    crate::user::specs_named(names)
}

pub(crate) async fn run_cli(
    mut config: Config,
    specs: Vec<crate::runner::UserSpec>,
    default_host: Option<HostFn>,
    settings: Vec<SwarmFn>,
) -> Result<u8, Error> {
    if config.host.is_none() {
        config.host = resolve_default_host(default_host).await?;
    }
    let only_summary = config.only_summary;
    let csv = config.csv.take();
    let json = config.json.take();
    let mut swarm = Swarm::with_config(config).specs(specs);
    for add in settings {
        swarm = add(swarm);
    }
    if !only_summary {
        let tty = std::io::stderr().is_terminal();
        swarm = swarm.on_progress(move |p| {
            // On a terminal, one line rewritten in place; otherwise a line every 5 s.
            let line = console::progress_line(p);
            let mut err = std::io::stderr().lock();
            if tty {
                let _ = write!(err, "\r\x1b[2K{line}");
            } else if p.elapsed.as_secs() % 5 == 0 {
                let _ = writeln!(err, "{line}");
            }
        });
    }
    let (handle, fut) = swarm.start()?;
    let signals = tokio::spawn(watch_signals(handle.clone()));
    let result = fut.await;
    signals.abort();
    drop(handle);
    if !only_summary && std::io::stderr().is_terminal() {
        eprintln!();
    }
    let report = result?;
    println!("{report}");
    write_reports(&report, csv.as_ref(), json.as_ref())?;
    Ok(report.exit_code())
}

/// Start the default host (the demo target), if the app has one.
pub(crate) async fn resolve_default_host(
    default_host: Option<HostFn>,
) -> Result<Option<url::Url>, Error> {
    let Some(f) = default_host else {
        return Ok(None);
    };
    let url = f()
        .await
        .map_err(|e| Error::Runner(format!("cannot start the demo target: {e}")))?;
    eprintln!("no --host given: using {url}");
    Ok(Some(crate::config::parse_host_for("host", &url)?))
}

fn write_reports(
    report: &Report,
    csv: Option<&PathBuf>,
    json: Option<&PathBuf>,
) -> Result<(), Error> {
    if let Some(prefix) = csv {
        for p in report.write_csv(prefix)? {
            eprintln!("wrote {}", p.display());
        }
    }
    if let Some(path) = json {
        report.write_json(path)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// First Ctrl-C or SIGTERM: stop gracefully (the stop timeout applies). Second: kill the
/// users' tasks at once. The report is written either way.
async fn watch_signals(handle: RunnerHandle) {
    let mut count = 0;
    loop {
        wait_signal().await;
        count += 1;
        if count == 1 {
            eprintln!("\nstopping (press Ctrl-C again to cancel running tasks)...");
            handle.stop();
        } else {
            handle.kill();
        }
    }
}

#[cfg(unix)]
async fn wait_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
