//! `Swarm`: the builder that runs a load test from code, inside a `#[tokio::test]` or a
//! `main` of your own.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::ConfigError;
use crate::error::Error;
use crate::feed::Feed;
use crate::report::{Report, ReportFiles};
use crate::runner::{Observer, Progress, RunnerHandle, UserSpec};
use crate::shape::LoadShape;
use crate::threshold::Threshold;
use crate::user::{RunScope, User};
use std::sync::Arc;

mod prepare;

use prepare::Prepared;

/// A load test to run.
///
/// ```no_run
/// # use swarm_core::prelude::*;
/// # struct Shopper;
/// # #[async_trait] impl User for Shopper {
/// #   async fn on_start(_: &mut UserContext) -> Result<Self, TaskError> { Ok(Shopper) }
/// #   fn tasks() -> Tasks<Self> { Tasks::new() } }
/// # async fn t() -> Result<(), swarm_core::Error> {
/// use std::time::Duration;
///
/// let report = Swarm::new()
///     .user::<Shopper>()
///     .users(50)
///     .spawn_rate(10.0)
///     .run_time(Duration::from_secs(20))
///     .host("http://127.0.0.1:8080")
///     .run()
///     .await?;
/// assert!(report.passed(), "{report}");
/// # Ok(()) }
/// ```
pub struct Swarm {
    config: Config,
    host: Option<String>,
    specs: Vec<UserSpec>,
    /// User types asked for by name, looked up among the registered ones at the start.
    named: Vec<String>,
    observers: Vec<Observer>,
    shape: Option<Box<dyn LoadShape>>,
    /// The first threshold given to [`Swarm::threshold`] that did not parse; `start`
    /// returns it.
    bad_threshold: Option<ConfigError>,
    deltas: bool,
    scope: Arc<RunScope>,
    /// Feeders of the builder (the configuration's `--feed` values are laid over them).
    feeds: Vec<Feed>,
    /// This process's partition of the unique and per-user feeders.
    feed_partition: Option<(u32, u32)>,
}

impl fmt::Debug for Swarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Swarm")
            .field("config", &self.config)
            .field("specs", &self.specs)
            .finish_non_exhaustive()
    }
}

impl Default for Swarm {
    fn default() -> Self {
        Self::new()
    }
}

impl Swarm {
    /// A run with the default configuration: 1 user, no run time, no host.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A run with this configuration (for example from [`crate::cli::Args::to_config`]).
    pub fn with_config(config: Config) -> Self {
        Swarm {
            config,
            host: None,
            specs: Vec::new(),
            named: Vec::new(),
            observers: Vec::new(),
            shape: None,
            bad_threshold: None,
            deltas: false,
            scope: Arc::new(RunScope::default()),
            feeds: Vec::new(),
            feed_partition: None,
        }
    }

    /// Add a user type, with its own weight and fixed count.
    #[must_use]
    pub fn user<U: User>(mut self) -> Self {
        self.specs.push(UserSpec::of::<U>());
        self
    }

    /// Add a user type with the given weight.
    #[must_use]
    pub fn user_weighted<U: User>(mut self, weight: u32) -> Self {
        let mut spec = UserSpec::of::<U>();
        spec.weight = weight;
        spec.fixed_count = None;
        self.specs.push(spec);
        self
    }

    /// Add a user type with a fixed number of users.
    #[must_use]
    pub fn user_count<U: User>(mut self, count: u32) -> Self {
        let mut spec = UserSpec::of::<U>();
        spec.fixed_count = Some(count);
        self.specs.push(spec);
        self
    }

    /// Add a user type registered with [`register_user!`](crate::register_user), by its
    /// name (as `--list` prints it). An unknown name makes [`Swarm::start`] fail with
    /// [`ConfigError::UnknownUser`], listing the registered names.
    #[must_use]
    pub fn user_named(mut self, name: impl Into<String>) -> Self {
        self.named.push(name.into());
        self
    }

    /// Add the registered user types of these names (see [`Swarm::user_named`]).
    #[must_use]
    pub fn users_named<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.named.extend(names.into_iter().map(Into::into));
        self
    }

    /// Hand a per-run setting to the users: every user reads it with
    /// [`UserContext::setting`](crate::UserContext::setting) and the run hooks with
    /// [`RunContext::setting`](crate::RunContext::setting), by its type. One value per
    /// type; a later call replaces an earlier one. Use this instead of process globals, so
    /// that two runs in one process (two tests, a worker's successive runs) each see
    /// their own settings.
    #[must_use]
    pub fn setting<T: Send + Sync + 'static>(self, value: T) -> Self {
        self.setting_arc(Arc::new(value))
    }

    /// As [`Swarm::setting`], with a value already shared (several runs, one value).
    #[must_use]
    pub fn setting_arc<T: Send + Sync + 'static>(self, value: Arc<T>) -> Self {
        self.scope.insert_arc(value);
        self
    }

    /// Add a feeder of test data rows that users draw from with
    /// [`UserContext::feed`](crate::UserContext::feed) (see [`Feed`]). A `--feed` value
    /// of the same name (in the configuration) replaces its file, mode and policy and
    /// keeps its row type check. Files are read when the run starts; a bad file is an
    /// [`Error::Feed`] before any load.
    #[must_use]
    pub fn feed(mut self, feed: Feed) -> Self {
        match self.feeds.iter().position(|f| f.name() == feed.name()) {
            Some(i) => self.feeds[i] = feed,
            None => self.feeds.push(feed),
        }
        self
    }

    /// Use partition `index` of `count` of every unique and per-user feeder: rows
    /// `index, index + count, ...` (what a distributed worker sets from its worker index,
    /// so that no row is used twice across workers). Without it, all rows.
    #[must_use]
    pub fn feed_partition(mut self, index: u32, count: u32) -> Self {
        self.feed_partition = Some((index, count));
        self
    }

    /// Keep statistics deltas: [`RunnerHandle::take_stats`] then hands out what was
    /// recorded since the last take (a worker's periodic reports). Off by default: it
    /// costs a little per request (each sample is also counted in Locust's buckets).
    #[must_use]
    pub fn stats_deltas(mut self, on: bool) -> Self {
        self.deltas = on;
        self
    }

    pub(crate) fn specs(mut self, specs: Vec<UserSpec>) -> Self {
        self.specs.extend(specs);
        self
    }

    /// Peak number of users.
    #[must_use]
    pub fn users(mut self, users: u32) -> Self {
        self.config.users = users;
        self
    }

    /// Users started per second.
    #[must_use]
    pub fn spawn_rate(mut self, per_second: f64) -> Self {
        self.config.spawn_rate = per_second;
        self
    }

    /// Stop after this long.
    #[must_use]
    pub fn run_time(mut self, run_time: Duration) -> Self {
        self.config.run_time = Some(run_time);
        self
    }

    /// The target host, such as `http://127.0.0.1:8080` (checked when the run starts).
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// How long running tasks may finish when the run stops.
    #[must_use]
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.config.stop_timeout = timeout;
        self
    }

    /// Accept any TLS certificate on `https://` and `wss://` (self-signed test targets),
    /// as `--insecure` does: users see it as the [`TransportOptions`](crate::TransportOptions) setting.
    #[must_use]
    pub fn insecure(mut self, on: bool) -> Self {
        self.config.insecure = on;
        self
    }

    /// HTTP users share one connection pool instead of each opening its own connections,
    /// as `--shared-pool` does (see swarm-http's `HttpClientBuilder::shared_pool`).
    #[must_use]
    pub fn shared_pool(mut self, on: bool) -> Self {
        self.config.shared_pool = on;
        self
    }

    /// Seed every user's RNG, for repeatable task choices.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Run only the tasks with one of these tags.
    #[must_use]
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.config.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Skip the tasks with one of these tags.
    #[must_use]
    pub fn exclude_tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.config.exclude_tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Also write Locust-compatible CSV files with this prefix.
    #[must_use]
    pub fn csv(mut self, prefix: impl Into<PathBuf>) -> Self {
        self.config.csv = Some(prefix.into());
        self
    }

    /// Also write the JSON report to this file.
    #[must_use]
    pub fn json(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.json = Some(path.into());
        self
    }

    /// Also write the self-contained HTML report to this file.
    #[must_use]
    pub fn html(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.html = Some(path.into());
        self
    }

    /// Also write a JUnit XML report (a test case per threshold and per failing entry).
    #[must_use]
    pub fn junit(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.junit = Some(path.into());
        self
    }

    /// Compare the run with an earlier run's JSON report ([`Report::comparison`]);
    /// thresholds such as `p95 < baseline * 1.1` take their limits from it. A file that
    /// is not a JSON report of this schema makes `run` fail before any load.
    #[must_use]
    pub fn baseline(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.baseline = Some(path.into());
        self
    }

    /// Check the host accepts TCP connections before the run (on by default).
    #[must_use]
    pub fn preflight(mut self, on: bool) -> Self {
        self.config.preflight = on;
        self
    }

    /// Open model: start `per_second` iterations per second for the run time, each on an
    /// idle user of the pool (k6's constant-arrival-rate). Size the pool with
    /// [`Swarm::pool`].
    #[must_use]
    pub fn arrival_rate(mut self, per_second: f64) -> Self {
        self.config.arrival_rate = Some(per_second);
        self
    }

    /// Open model: ramp the arrival rate from `start_rate` through `stages`, given as
    /// `--arrival-stages` writes them (`"30s@100,1m@500"`; k6's ramping-arrival-rate).
    #[must_use]
    pub fn arrival_stages(mut self, start_rate: f64, stages: impl Into<String>) -> Self {
        self.config.arrival_start_rate = start_rate;
        self.config.arrival_stages = Some(stages.into());
        self
    }

    /// Open model: create `pre_allocated` users before the start and grow the pool up to
    /// `max_users` when every user is busy; beyond, iterations are dropped and counted.
    /// An iteration that finds every user busy waits for one, and the pool grows for it
    /// only once it has waited 100 ms (a tenth of [`Swarm::max_lateness`] if that is
    /// shorter; at once with no lateness allowed): a moment's stall does not make it grow.
    #[must_use]
    pub fn pool(mut self, pre_allocated: u32, max_users: u32) -> Self {
        self.config.pre_allocated = Some(pre_allocated);
        self.config.max_users = Some(max_users);
        self
    }

    /// At most `per_second` task starts per second across all users (the Go worker's
    /// `--max-rps`), enforced without a busy loop and without a burst after a pause.
    #[must_use]
    pub fn max_rps(mut self, per_second: f64) -> Self {
        self.config.max_rps = Some(per_second);
        self
    }

    /// Open model: how long an iteration may wait for a free user when the pool is full
    /// before it is dropped (default 1 s; zero drops at once, as k6 does).
    #[must_use]
    pub fn max_lateness(mut self, wait: Duration) -> Self {
        self.config.max_lateness = wait;
        self
    }

    /// Open model: start iterations with a sub-millisecond timer (Linux `timerfd`)
    /// instead of Tokio's 1 ms timer. Leave it off under Tokio's paused clock.
    #[must_use]
    pub fn precise_timer(mut self, on: bool) -> Self {
        self.config.precise_timer = on;
        self
    }

    /// Drive the number of users with a load shape (it replaces `users` and
    /// `spawn_rate`, and ends the run when it returns `None`).
    #[must_use]
    pub fn shape(mut self, shape: impl LoadShape) -> Self {
        self.shape = Some(Box::new(shape));
        self
    }

    /// Add an SLO threshold such as `"p95 < 250ms"` or `"GET /status: fail_ratio < 1%"`
    /// (grammar: [`Threshold`]). A threshold that does not parse makes `run` fail with
    /// a configuration error before any load is sent.
    #[must_use]
    pub fn threshold(mut self, expr: impl Into<String>) -> Self {
        let expr = expr.into();
        match Threshold::parse(&expr) {
            Ok(t) => self.config.thresholds.push(t),
            Err(e) => {
                self.bad_threshold.get_or_insert_with(|| {
                    ConfigError::invalid("--threshold", expr, e.to_string())
                });
            }
        }
        self
    }

    /// Add a parsed threshold (with [`Threshold::abort_on_fail`] if it should end the run).
    #[must_use]
    pub fn threshold_parsed(mut self, threshold: Threshold) -> Self {
        self.config.thresholds.push(threshold);
        self
    }

    /// End the run as soon as any threshold fails, but not before `grace` has run.
    #[must_use]
    pub fn abort_on_threshold(mut self, grace: Duration) -> Self {
        self.config.threshold_abort = true;
        self.config.threshold_grace = grace;
        self
    }

    /// Call `f` once a second with the progress of the run (in the runner's loop: keep
    /// it short). Several may be added. To watch a run from another task, use
    /// [`RunnerHandle::subscribe`] or [`RunnerHandle::status`].
    #[must_use]
    pub fn on_progress(mut self, f: impl FnMut(&Progress<'_>) + Send + 'static) -> Self {
        self.observers.push(Box::new(f));
        self
    }

    /// The configuration as it stands.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Start the run in the background: the handle drives it, the future gives the
    /// report. Must be called inside a Tokio runtime.
    pub fn start(
        self,
    ) -> Result<(RunnerHandle, impl Future<Output = Result<Report, Error>>), Error> {
        let Prepared {
            runner,
            handle,
            config,
            info,
            thresholds,
            baseline,
            feeds,
        } = self.prepare()?;
        // Every log line of the run carries its id, which the reports show too.
        let span = tracing::info_span!("run", run_id = %info.run_id);
        let join: JoinHandle<Result<Report, Error>> =
            tokio::spawn(tracing::Instrument::instrument(
                async move {
                    tracing::info!(
                        users = info.users,
                        host = info.host.as_deref().unwrap_or(""),
                        user_types = %info.user_types.join(","),
                        "run started"
                    );
                    if config.preflight {
                        if let Some(host) = &config.host {
                            preflight(host).await?;
                        }
                    }
                    let run_ctx = runner.run_context();
                    let stops = runner.hooks(false);
                    for (user_type, hook) in runner.hooks(true) {
                        if let Err(message) = run_hook(hook, &run_ctx).await {
                            for (_, stop) in &stops {
                                let _ = run_hook(*stop, &run_ctx).await;
                            }
                            return Err(Error::TestStart {
                                user_type: user_type.to_owned(),
                                message,
                            });
                        }
                    }
                    let outcome = runner.run().await;
                    let mut hook_errors = Vec::new();
                    for (user_type, hook) in stops {
                        if let Err(message) = run_hook(hook, &run_ctx).await {
                            tracing::error!(user_type, %message, "test_stop failed");
                            hook_errors.push(format!("test_stop of {user_type} failed: {message}"));
                        }
                    }
                    let mut report = Report::new(
                        outcome.snapshot,
                        outcome.reason,
                        info,
                        config.exit_code_on_error,
                    )
                    .with_thresholds(&thresholds)
                    .with_baseline(baseline.as_ref());
                    report.hook_errors = hook_errors;
                    report.exhausted_feeders = feeds.ran_out();
                    tracing::info!(
                        requests = report.requests(),
                        failures = report.failures(),
                        reason = %report.reason,
                        passed = report.passed(),
                        "run finished"
                    );
                    ReportFiles::of(&config).write(&report)?;
                    Ok(report)
                },
                span,
            ));
        let fut = async move {
            match join.await {
                Ok(r) => r,
                Err(e) => Err(Error::Runner(e.to_string())),
            }
        };
        Ok((handle, fut))
    }

    /// Run to the end and return the report. Writes the CSV and JSON files when asked;
    /// never touches signal handlers, and prints nothing.
    pub async fn run(self) -> Result<Report, Error> {
        let (handle, fut) = self.start()?;
        let report = fut.await;
        drop(handle);
        report
    }
}

/// Run a hook, catching its panic.
async fn run_hook(
    hook: crate::runner::HookFn,
    ctx: &crate::user::RunContext,
) -> Result<(), String> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(hook(ctx.clone()))
        .catch_unwind()
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.message().to_owned()),
        Err(p) => Err(p
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .map_or_else(|| "panicked".to_owned(), |m| format!("panicked: {m}"))),
    }
}

/// Check that the host accepts a TCP connection (3 s at most).
pub(crate) async fn preflight(host: &url::Url) -> Result<(), Error> {
    let unreachable = |reason: String| Error::Unreachable {
        host: host.to_string(),
        reason,
    };
    let Some(port) = host.port_or_known_default() else {
        return Ok(());
    };
    let Some(name) = host.host_str() else {
        return Ok(());
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((name, port));
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable("no answer within 3 s".to_owned())),
    }
}
