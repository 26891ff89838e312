//! The command line: Locust's flag names, a TOML config file and `SWARM_*` environment
//! variables, with the precedence defaults < file < environment < flags. The options are
//! defined once, in [`Args`] ([`PlanArgs`] and [`ProcessArgs`]); this module runs them.

use std::ffi::OsString;
use std::future::Future;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures::future::BoxFuture;

use crate::config::Config;
pub use crate::config::{Args, PlanArgs, ProcessArgs};
use crate::error::{ConfigError, Error};
use crate::feed::Feed;
use crate::report::{console, exit_code, ReportFiles};
use crate::runner::RunnerHandle;
use crate::user::registered;
use crate::Swarm;

mod live;
mod mode;
pub use mode::{ModeContext, RunMode};

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
    feeds: Vec<Feed>,
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
            feeds: Vec::new(),
        }
    }

    /// Add a feeder of test data (see [`Feed`]), or declare the row type of one whose
    /// file `--feed` names: `App::new().feed(Feed::csv("accounts",
    /// "accounts.csv").mode(FeedMode::Unique).typed::<Account>())` reads `accounts.csv`
    /// unless `--feed accounts=other.csv[:MODE]` names another file, and checks every row
    /// as an `Account` before any load.
    #[must_use]
    pub fn feed(mut self, feed: Feed) -> Self {
        self.feeds.push(feed);
        self
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
        // Read the feeders once, before any load: a mode may start many runs (a worker's
        // successive tests), each drawing from the same rows.
        let feeds = match crate::feed::resolve(self.feeds, &config.feeds) {
            Ok(f) => f,
            Err(e) => return fail(&Error::Feed(e)),
        };
        let mut config = config;
        config.feeds.clear();
        let mut settings = self.settings;
        settings.extend(feeds.into_iter().map(feed_fn));
        let ctx = ModeContext {
            config,
            matches: matches.clone(),
            default_host: self.default_host,
            settings,
            resolved: None,
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
        let mut settings = self.settings;
        settings.extend(self.feeds.into_iter().map(feed_fn));
        block_on_runtime(run_cli(config, specs, self.default_host, settings, None))
    }
}

/// Adds a feeder to each run.
fn feed_fn(feed: Feed) -> SwarmFn {
    Arc::new(move |swarm: Swarm| swarm.feed(feed.clone()))
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
        Error::Config(_) | Error::Feed(_) => exit_code::CONFIG,
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
    // Colour only where a person reads it: a terminal, and not when NO_COLOR is set
    // (no-color.org); a log piped to a file or CI keeps plain text.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
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

/// Called with the run's handle once a command-line run has started (a client of the
/// control plane that runs beside it, such as a metrics endpoint).
pub(crate) type OnStart = Box<dyn FnOnce(RunnerHandle) + Send>;

pub(crate) async fn run_cli(
    mut config: Config,
    specs: Vec<crate::runner::UserSpec>,
    default_host: Option<HostFn>,
    settings: Vec<SwarmFn>,
    on_start: Option<OnStart>,
) -> Result<u8, Error> {
    if config.host.is_none() {
        config.host = resolve_default_host(default_host).await?;
    }
    let only_summary = config.only_summary;
    let files = ReportFiles::take(&mut config);
    let mut swarm = Swarm::with_config(config).specs(specs);
    for add in settings {
        swarm = add(swarm);
    }
    // On a terminal, a live view redrawn in place; otherwise a line every 5 s.
    let tty = std::io::stderr().is_terminal();
    let run_time = swarm.config().run_time;
    if !only_summary && !tty {
        swarm = swarm.on_progress(move |p| {
            if p.elapsed.as_secs() % 5 == 0 {
                eprintln!("{}", console::progress_line(p));
            }
        });
    }
    let (handle, fut) = swarm.start()?;
    if let Some(f) = on_start {
        f(handle.clone());
    }
    let live = (!only_summary && tty).then(|| live::spawn(handle.clone(), run_time));
    let signals = tokio::spawn(watch_signals(handle.clone()));
    let result = fut.await;
    signals.abort();
    drop(handle);
    if let Some(live) = live {
        let _ = live.await;
    }
    let report = result?;
    println!("{report}");
    for path in files.write(&report)? {
        eprintln!("wrote {}", path.display());
    }
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
