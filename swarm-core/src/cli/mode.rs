//! Run modes: other ways a scenario binary can run than one local run, provided by
//! other crates (a distributed worker), selected by their own flags.

use futures::future::BoxFuture;
use url::Url;

use super::{HostFn, SwarmFn};
use crate::config::Config;
use crate::error::ConfigError;
use crate::error::Error;
use crate::report::{Baseline, Report, RunInfo};
use crate::runner::{RunnerHandle, StopReason};
use crate::stats::Snapshot;
use crate::threshold::Threshold;
use crate::Swarm;

/// Another way to run a scenario binary, plugged into [`App`](super::App) with
/// [`App::mode`](super::App::mode). The core knows no protocol: a crate such as
/// `swarm_distributed` implements this for its Locust worker, and the binary's `main`
/// composes it in one line.
pub trait RunMode: Send + 'static {
    /// Add this mode's flags to the command line (they show in `--help`).
    fn augment(&self, cmd: clap::Command) -> clap::Command;

    /// Whether the parsed command line selects this mode (say, `--worker` is set).
    fn selected(&self, matches: &clap::ArgMatches) -> bool;

    /// Run in this mode; the outcome is the process's exit code. Runs inside the app's
    /// Tokio runtime, with logging set up.
    fn run(self: Box<Self>, ctx: ModeContext) -> BoxFuture<'static, Result<u8, Error>>;
}

/// What a run mode gets from the app: the configuration, its own flags, the registered
/// user types and a builder for each run.
pub struct ModeContext {
    pub(super) config: Config,
    pub(super) matches: clap::ArgMatches,
    pub(super) default_host: Option<HostFn>,
    pub(super) settings: Vec<SwarmFn>,
    /// The thresholds with their baseline values filled in, and the baseline, once
    /// [`ModeContext::load_baseline`] has read it.
    pub(super) resolved: Option<(Vec<Threshold>, Option<Baseline>)>,
}

impl std::fmt::Debug for ModeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModeContext")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ModeContext {
    /// The configuration from the defaults, the config file, `SWARM_*` and the flags.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The parsed command line, for the mode's own flags.
    pub fn matches(&self) -> &clap::ArgMatches {
        &self.matches
    }

    /// The names of the user types this binary runs: those named on the command line,
    /// or every registered one.
    pub fn user_types(&self) -> Vec<String> {
        if self.config.user_types.is_empty() {
            crate::user::registered()
                .iter()
                .map(|r| r.name().to_owned())
                .collect()
        } else {
            self.config.user_types.clone()
        }
    }

    /// The app's default host (such as the in-process demo target), started on the first
    /// call; `None` when the app has none. Call it only when neither `--host` nor the
    /// mode's peer gives one.
    pub async fn default_host(&mut self) -> Result<Option<Url>, Error> {
        super::resolve_default_host(self.default_host.take()).await
    }

    /// A builder for one run: the configuration (without its report files: a mode
    /// writes its own), the user types of [`ModeContext::user_types`] and the app's
    /// per-run settings. Set the users, host and the rest on it before it starts.
    pub fn swarm(&self) -> Swarm {
        self.swarm_with(self.config.clone())
    }

    /// As [`ModeContext::swarm`], from a configuration of the mode's own (say, the app's
    /// with the load model taken out, because a master drives the users).
    pub fn swarm_with(&self, mut config: Config) -> Swarm {
        crate::report::ReportFiles::take(&mut config);
        config.user_types.clear();
        let mut swarm = Swarm::with_config(config).users_named(self.user_types());
        for add in &self.settings {
            swarm = add(swarm);
        }
        swarm
    }

    /// Run as a plain command-line run does (progress lines, Ctrl-C, the summary, the
    /// report files), handing the run's handle to `on_start` once it has started: for a
    /// mode that only adds a client of the control plane beside the run (a metrics
    /// endpoint).
    pub fn run_headless(
        self,
        on_start: impl FnOnce(RunnerHandle) + Send + 'static,
    ) -> BoxFuture<'static, Result<u8, Error>> {
        Box::pin(async move {
            let specs = super::select_users(&self.config.user_types).map_err(Error::Config)?;
            super::run_cli(
                self.config,
                specs,
                self.default_host,
                self.settings,
                Some(Box::new(on_start)),
            )
            .await
        })
    }

    /// Read `--baseline` (when given) and fill in the thresholds relative to it, as a
    /// local run does before any load: later [`ModeContext::report_of`] reports compare
    /// with the baseline, and [`ModeContext::thresholds`] gives the resolved thresholds.
    /// A mode that writes reports (a master) calls it once at its start; an unreadable
    /// baseline or a relative threshold without one is an error naming it.
    pub fn load_baseline(&mut self) -> Result<(), Error> {
        let baseline = self
            .config
            .baseline
            .as_ref()
            .map(Baseline::load)
            .transpose()?;
        let thresholds = self
            .config
            .thresholds
            .iter()
            .map(|t| t.resolve(baseline.as_ref().map(|b| &b.snapshot)))
            .collect::<Result<Vec<Threshold>, _>>()
            .map_err(ConfigError::from)?;
        self.resolved = Some((thresholds, baseline));
        Ok(())
    }

    /// The run's thresholds: resolved against the baseline after
    /// [`ModeContext::load_baseline`], as configured before.
    pub fn thresholds(&self) -> &[Threshold] {
        match &self.resolved {
            Some((t, _)) => t,
            None => &self.config.thresholds,
        }
    }

    /// A report of statistics taken while a run goes on (a web UI's downloads), with
    /// this configuration's settings and its thresholds evaluated on them. Its stop
    /// reason reads [`StopReason::Stopped`]: the run is not over, and the caller says so.
    pub fn report_of(&self, snapshot: Snapshot, user_types: Vec<String>) -> Report {
        let c = &self.config;
        let info = RunInfo {
            users: c.users,
            spawn_rate: c.spawn_rate,
            run_time_secs: c.run_time.map(|d| d.as_secs_f64()),
            host: c.host.as_ref().map(ToString::to_string),
            user_types,
            seed: c.seed.unwrap_or_default(),
            run_id: String::new(),
        };
        Report::new(snapshot, StopReason::Stopped, info, c.exit_code_on_error)
            .with_thresholds(self.thresholds())
            .with_baseline(self.resolved.as_ref().and_then(|(_, b)| b.as_ref()))
    }
}
