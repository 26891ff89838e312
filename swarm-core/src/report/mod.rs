//! Reports: the final console summary, Locust-compatible CSV files and a versioned JSON
//! document, all from one [`Snapshot`].

mod baseline;
pub(crate) mod console;
mod csv;
mod html;
mod json;
mod junit;
mod locust_fmt;
mod svg;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::runner::StopReason;
use crate::stats::Snapshot;
use crate::threshold::{Threshold, ThresholdResult};

pub use baseline::{Baseline, Change, Comparison, EntryChange};
pub use json::JSON_SCHEMA;

/// The documented exit codes of a run.
///
/// | code | meaning |
/// |---|---|
/// | 0 | the run finished and nothing failed |
/// | 1 | the run finished and some requests or tasks failed (`--exit-code-on-error`) |
/// | 2 | bad command line or configuration: nothing was sent |
/// | 3 | the host could not be reached before the run: nothing was sent |
/// | 4 | a report file could not be written |
/// | 5 | the runner itself failed, or a `test_start` / `test_stop` hook failed |
/// | 99 | a threshold failed (as k6) |
///
/// When thresholds are set they alone decide between 0 and 99; failed requests then
/// matter only through a threshold such as `fail_ratio < 1%`.
pub mod exit_code {
    /// The run finished and nothing failed.
    pub const OK: u8 = 0;
    /// Some requests or tasks failed (the default of `--exit-code-on-error`).
    pub const FAILURES: u8 = 1;
    /// Bad command line or configuration.
    pub const CONFIG: u8 = 2;
    /// The host could not be reached before the run.
    pub const UNREACHABLE: u8 = 3;
    /// A report file could not be written.
    pub const REPORT: u8 = 4;
    /// The runner itself failed.
    pub const RUNNER: u8 = 5;
    /// A threshold failed.
    pub const THRESHOLDS: u8 = 99;
}

/// The settings a report shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// Peak users asked for.
    pub users: u32,
    /// Spawn rate asked for.
    pub spawn_rate: f64,
    /// Run time asked for, in seconds.
    pub run_time_secs: Option<f64>,
    /// The host.
    pub host: Option<String>,
    /// The user types that ran.
    pub user_types: Vec<String>,
    /// The RNG seed of the run.
    pub seed: u64,
    /// The run's id: every log line of the run carries it (`--log-json`: the `run` span's
    /// `run_id`).
    #[serde(default)]
    pub run_id: String,
}

/// The outcome of a run: what an embedding test asserts on, and what every report
/// writer formats.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// Everything measured.
    pub snapshot: Snapshot,
    /// Why the run ended.
    pub reason: StopReason,
    /// The settings of the run.
    pub info: RunInfo,
    /// Each threshold with its measured value, in the order given.
    pub thresholds: Vec<ThresholdResult>,
    /// Failures of the run-level hooks (`test_stop`); any makes the run fail.
    pub hook_errors: Vec<String>,
    /// This run against the baseline (`--baseline`), when one was given.
    pub comparison: Option<Comparison>,
    /// The feeders that ran out of rows during the run (with `stop-user` or `end-run`),
    /// by name.
    pub exhausted_feeders: Vec<String>,
    pub(crate) exit_code_on_error: u8,
    /// The numbers of a run that goes on (see [`Report::in_progress`]).
    pub(crate) in_progress: bool,
}

impl Report {
    pub(crate) fn new(
        snapshot: Snapshot,
        reason: StopReason,
        info: RunInfo,
        exit_code_on_error: u8,
    ) -> Self {
        Report {
            snapshot,
            reason,
            info,
            thresholds: Vec::new(),
            hook_errors: Vec::new(),
            comparison: None,
            exhausted_feeders: Vec::new(),
            exit_code_on_error,
            in_progress: false,
        }
    }

    /// Mark this as a report of a run that goes on (a web UI's download while it runs):
    /// the HTML report then says the run is in progress and its verdict is so far, rather
    /// than how it ended.
    #[must_use]
    pub fn in_progress(mut self) -> Self {
        self.in_progress = true;
        self
    }

    /// Whether this is a report of a run that goes on ([`Report::in_progress`]).
    pub fn is_in_progress(&self) -> bool {
        self.in_progress
    }

    /// Evaluate thresholds against the final numbers.
    pub(crate) fn with_thresholds(mut self, thresholds: &[Threshold]) -> Self {
        self.thresholds = crate::threshold::evaluate_all(thresholds, &self.snapshot);
        self
    }

    /// Compare with a baseline run.
    pub(crate) fn with_baseline(mut self, baseline: Option<&Baseline>) -> Self {
        self.comparison = baseline.map(|b| b.compare(&self.snapshot));
        self
    }

    /// Whether the run passed: every threshold held, or, with no threshold, no request
    /// or task failed.
    pub fn passed(&self) -> bool {
        if !self.hook_errors.is_empty() {
            false
        } else if self.thresholds.is_empty() {
            self.snapshot.total_failures() == 0
        } else {
            self.thresholds.iter().all(|t| t.passed)
        }
    }

    /// The thresholds that failed.
    pub fn failed_thresholds(&self) -> impl Iterator<Item = &ThresholdResult> {
        self.thresholds.iter().filter(|t| !t.passed)
    }

    /// The process exit code for this outcome (see [`exit_code`]).
    pub fn exit_code(&self) -> u8 {
        if !self.hook_errors.is_empty() {
            return exit_code::RUNNER;
        }
        match (self.passed(), self.thresholds.is_empty()) {
            (true, _) => exit_code::OK,
            (false, true) => self.exit_code_on_error,
            (false, false) => exit_code::THRESHOLDS,
        }
    }

    /// Total requests recorded.
    pub fn requests(&self) -> u64 {
        self.snapshot.total_requests()
    }

    /// Total failures recorded.
    pub fn failures(&self) -> u64 {
        self.snapshot.total_failures()
    }

    /// How long the run took.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.snapshot.duration_secs.max(0.0))
    }

    /// Write `PREFIX_stats.csv`, `PREFIX_stats_history.csv`, `PREFIX_failures.csv` and
    /// `PREFIX_exceptions.csv` in Locust's format. Returns the paths written.
    pub fn write_csv(&self, prefix: impl AsRef<Path>) -> Result<Vec<PathBuf>, ReportError> {
        csv::write(prefix.as_ref(), &self.snapshot)
    }

    /// The text of `_stats.csv`.
    pub fn stats_csv(&self) -> String {
        csv::stats_csv(&self.snapshot)
    }

    /// The JSON report (schema [`JSON_SCHEMA`], documented in `docs/report-json.md`).
    pub fn to_json(&self) -> serde_json::Value {
        json::to_json(self)
    }

    /// Write the JSON report to `path`.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<(), ReportError> {
        let path = path.as_ref();
        let mut text = serde_json::to_vec_pretty(&self.to_json()).unwrap_or_default();
        text.push(b'\n');
        write_atomic(path, &text)
    }
}

impl Report {
    /// The self-contained HTML report: one file with its CSS and SVG charts inline,
    /// which loads nothing from the network.
    pub fn to_html(&self) -> String {
        html::to_html(self)
    }

    /// Write the HTML report to `path`.
    pub fn write_html(&self, path: impl AsRef<Path>) -> Result<(), ReportError> {
        write_atomic(path.as_ref(), self.to_html().as_bytes())
    }

    /// The JUnit XML report: a test case per threshold and per entry with failures.
    pub fn to_junit(&self) -> String {
        junit::to_xml(self)
    }

    /// Write the JUnit XML report to `path`.
    pub fn write_junit(&self, path: impl AsRef<Path>) -> Result<(), ReportError> {
        write_atomic(path.as_ref(), self.to_junit().as_bytes())
    }
}

impl fmt::Display for Report {
    /// The console summary: Locust's stats table, percentile table and error report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&console::summary(self))
    }
}

/// The report files a run writes (`--csv`, `--json`, `--html`, `--junit`): for a run
/// mode that writes its run's report itself (see [`crate::cli::ModeContext`]).
#[derive(Debug, Clone, Default)]
pub struct ReportFiles {
    csv: Option<PathBuf>,
    json: Option<PathBuf>,
    html: Option<PathBuf>,
    junit: Option<PathBuf>,
}

impl ReportFiles {
    /// The files a configuration asks for.
    pub fn of(config: &crate::config::Config) -> Self {
        ReportFiles {
            csv: config.csv.clone(),
            json: config.json.clone(),
            html: config.html.clone(),
            junit: config.junit.clone(),
        }
    }

    /// Take the files out of a configuration, for a caller that writes them itself.
    pub(crate) fn take(config: &mut crate::config::Config) -> Self {
        ReportFiles {
            csv: config.csv.take(),
            json: config.json.take(),
            html: config.html.take(),
            junit: config.junit.take(),
        }
    }

    /// Write every file asked for; the paths written, in order.
    ///
    /// # Errors
    /// The first file that cannot be written, with its path.
    pub fn write(&self, report: &Report) -> Result<Vec<PathBuf>, ReportError> {
        let mut written = Vec::new();
        if let Some(prefix) = &self.csv {
            written.extend(report.write_csv(prefix)?);
        }
        if let Some(path) = &self.json {
            report.write_json(path)?;
            written.push(path.clone());
        }
        if let Some(path) = &self.html {
            report.write_html(path)?;
            written.push(path.clone());
        }
        if let Some(path) = &self.junit {
            report.write_junit(path)?;
            written.push(path.clone());
        }
        Ok(written)
    }
}

/// Write a file whole: to a temporary file beside it, then rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)
}
