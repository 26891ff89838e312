//! The run's configuration, layered: defaults < TOML file < `SWARM_*` environment <
//! command-line flags. The options are defined once, in [`options`]; [`file`] reads the
//! TOML layer into them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::error::ConfigError;
use crate::shape::BuiltinShape;
use crate::threshold::Threshold;

pub(crate) mod file;
mod options;

pub use options::{Args, PlanArgs, ProcessArgs};

/// Everything a run needs to know. Fill it with the [`Swarm`](crate::Swarm) builder, or
/// from the command line with [`Args`](crate::cli::Args).
///
/// Its fields are flat, but built from two parts by construction: the run plan
/// ([`PlanArgs`]: users, rates, host, run time, shape, thresholds, user types) and the
/// process options ([`ProcessArgs`]: logging, report files, exit code, preflight).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Peak number of users (`-u/--users`).
    pub users: u32,
    /// Users started per second (`-r/--spawn-rate`).
    pub spawn_rate: f64,
    /// Stop after this long (`-t/--run-time`); `None` runs until stopped.
    pub run_time: Option<Duration>,
    /// The target (`-H/--host`).
    pub host: Option<Url>,
    /// How long running tasks may finish when the run stops (`--stop-timeout`).
    pub stop_timeout: Duration,
    /// Seed of every user's RNG (`--seed`); random when `None`.
    pub seed: Option<u64>,
    /// Run only tasks with one of these tags (`--tags`).
    pub tags: Vec<String>,
    /// Skip tasks with one of these tags (`--exclude-tags`).
    pub exclude_tags: Vec<String>,
    /// Write Locust-compatible CSV files with this prefix (`--csv`).
    pub csv: Option<PathBuf>,
    /// Write the JSON report to this file (`--json`).
    pub json: Option<PathBuf>,
    /// Write the self-contained HTML report to this file (`--html`).
    pub html: Option<PathBuf>,
    /// Write a JUnit XML file (a test case per threshold and per failing entry) here
    /// (`--junit`).
    pub junit: Option<PathBuf>,
    /// Compare the run with this earlier JSON report (`--baseline`); relative thresholds
    /// (`p95 < baseline * 1.1`) take their limits from it.
    pub baseline: Option<PathBuf>,
    /// The user types to run, by name (positional arguments); all when empty.
    pub user_types: Vec<String>,
    /// Log level (`-L/--loglevel`): error, warn, info, debug or trace.
    pub loglevel: String,
    /// Logs as JSON lines (`--log-json`).
    pub log_json: bool,
    /// Print only the final summary, no progress (`--only-summary`).
    pub only_summary: bool,
    /// Exit code when any request or task failed (`--exit-code-on-error`).
    pub exit_code_on_error: u8,
    /// Check that the host accepts TCP connections before sending load (`--preflight`).
    pub preflight: bool,
    /// A built-in load shape (`--shape`, see [`BuiltinShape`]); it replaces `users` and
    /// `spawn_rate`, and ends the run.
    pub shape: Option<BuiltinShape>,
    /// SLO thresholds (`--threshold`, see [`Threshold`]); when any is set, they alone
    /// decide whether the run passed.
    pub thresholds: Vec<Threshold>,
    /// End the run as soon as a threshold fails (`--threshold-abort`).
    pub threshold_abort: bool,
    /// Do not abort on a failed threshold before this much time (`--threshold-grace`).
    pub threshold_grace: Duration,
    /// Open model: a constant arrival rate, iterations per second (`--arrival-rate`),
    /// for the run time.
    pub arrival_rate: Option<f64>,
    /// Open model: ramping arrival rate stages `DURATION@RATE,...` (`--arrival-stages`).
    pub arrival_stages: Option<String>,
    /// Open model: the rate the first stage ramps from (`--arrival-start-rate`).
    pub arrival_start_rate: f64,
    /// Open model: users created before the start (`--pre-allocated`; default: `users`).
    pub pre_allocated: Option<u32>,
    /// Open model: the most users the pool may grow to (`--max-users`; default: the
    /// pre-allocated count).
    pub max_users: Option<u32>,
    /// At most this many task starts per second across the run (`--max-rps`).
    pub max_rps: Option<f64>,
    /// Open model: how long an iteration may wait for a free user when the pool is full
    /// before it is dropped (`--max-lateness`; 0 drops at once, as k6 does).
    pub max_lateness: Duration,
    /// Open model: wake the scheduler with a sub-millisecond timer (Linux `timerfd`)
    /// instead of Tokio's 1 ms timer. On for the command line; off by default in the
    /// builder, whose runs may use Tokio's paused clock (`--precise-timer`).
    pub precise_timer: bool,
    /// Feeders of test data (`--feed NAME=FILE[:MODE[:ON_EXHAUSTED]]`), laid over those
    /// of the builder by name.
    pub feeds: Vec<crate::feed::FeedArg>,
    /// A worker's number of partitions of the unique and per-user feeders
    /// (`--feed-partitions`; default: the master's expected worker count).
    pub feed_partitions: Option<u32>,
    /// Accept any TLS certificate (`--insecure`): handed to the users as a
    /// [`TransportOptions`] setting, which HTTP clients and WebSockets honour.
    pub insecure: bool,
    /// HTTP users share one connection pool instead of opening their own connections
    /// (`--shared-pool`; a [`TransportOptions`] setting).
    pub shared_pool: bool,
}

/// The run's transport options, a [setting](crate::UserContext::setting) of every run,
/// which transports (swarm-http's clients) honour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportOptions {
    /// Accept any certificate (`--insecure`).
    pub insecure: bool,
    /// HTTP users share one connection pool (`--shared-pool`).
    pub shared_pool: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            users: 1,
            spawn_rate: 1.0,
            run_time: None,
            host: None,
            stop_timeout: Duration::ZERO,
            seed: None,
            tags: Vec::new(),
            exclude_tags: Vec::new(),
            csv: None,
            json: None,
            html: None,
            junit: None,
            baseline: None,
            user_types: Vec::new(),
            loglevel: "warn".to_owned(),
            log_json: false,
            only_summary: false,
            exit_code_on_error: 1,
            preflight: true,
            shape: None,
            thresholds: Vec::new(),
            threshold_abort: false,
            threshold_grace: Duration::ZERO,
            arrival_rate: None,
            arrival_stages: None,
            arrival_start_rate: 0.0,
            pre_allocated: None,
            max_users: None,
            max_lateness: Duration::from_secs(1),
            precise_timer: false,
            max_rps: None,
            feeds: Vec::new(),
            feed_partitions: None,
            insecure: false,
            shared_pool: false,
        }
    }
}

impl Config {
    /// Check values that each layer cannot check alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.checked().map(drop)
    }

    /// Check the configuration, and return the open model's settings (`None` for the
    /// closed model), so that a run checks and parses them once.
    pub(crate) fn checked(&self) -> Result<Option<crate::runner::Arrival>, ConfigError> {
        if !(self.spawn_rate.is_finite() && self.spawn_rate > 0.0) {
            return Err(ConfigError::invalid(
                "--spawn-rate",
                self.spawn_rate.to_string(),
                "must be a number above 0",
            ));
        }
        let arrival = self.arrival()?;
        if let Some(r) = self.max_rps {
            if !(r.is_finite() && r > 0.0) {
                return Err(ConfigError::invalid(
                    "--max-rps",
                    r.to_string(),
                    "must be a number of requests per second above 0",
                ));
            }
        }
        if self.users == 0
            && self.run_time.is_some()
            && self.shape.is_none()
            && self.pre_allocated.is_none()
            && self.arrival_rate.is_none()
            && self.arrival_stages.is_none()
        {
            return Err(ConfigError::NoUsers);
        }
        if let Some(host) = &self.host {
            check_host(host)?;
        }
        if !matches!(
            self.loglevel.to_ascii_lowercase().as_str(),
            "error" | "warn" | "warning" | "info" | "debug" | "trace" | "off"
        ) {
            return Err(ConfigError::invalid(
                "--loglevel",
                &self.loglevel,
                "expected one of error, warn, info, debug, trace, off",
            ));
        }
        Ok(arrival)
    }

    /// The open model's settings, checked; `None` for the closed model.
    fn arrival(&self) -> Result<Option<crate::runner::Arrival>, ConfigError> {
        use crate::rate::ArrivalSchedule;
        let schedule = match (self.arrival_rate, &self.arrival_stages) {
            (None, None) => {
                if self.pre_allocated.is_some() || self.max_users.is_some() {
                    return Err(ConfigError::invalid(
                        "--pre-allocated/--max-users",
                        "",
                        "only apply to the open model: add --arrival-rate or --arrival-stages",
                    ));
                }
                return Ok(None);
            }
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    "--arrival-rate",
                    "",
                    "give either --arrival-rate or --arrival-stages, not both",
                ))
            }
            (Some(rate), None) => {
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(ConfigError::invalid(
                        "--arrival-rate",
                        rate.to_string(),
                        "must be a number of iterations per second above 0",
                    ));
                }
                let Some(d) = self.run_time.filter(|d| !d.is_zero()) else {
                    return Err(ConfigError::invalid(
                        "--arrival-rate",
                        rate.to_string(),
                        "needs a --run-time",
                    ));
                };
                ArrivalSchedule::constant(rate, d)
            }
            (None, Some(stages)) => {
                let start = self.arrival_start_rate;
                if !(start.is_finite() && start >= 0.0) {
                    return Err(ConfigError::invalid(
                        "--arrival-start-rate",
                        start.to_string(),
                        "must be a number >= 0",
                    ));
                }
                ArrivalSchedule::ramping(
                    start,
                    crate::rate::parse_stages("--arrival-stages", stages)?,
                )
            }
        };
        if let Some(shape) = &self.shape {
            return Err(ConfigError::invalid(
                "--shape",
                shape.to_string(),
                "a load shape drives the closed model: it cannot be combined with an arrival rate",
            ));
        }
        let pre = self.pre_allocated.unwrap_or(self.users);
        let max = self.max_users.unwrap_or(pre);
        if max < pre {
            return Err(ConfigError::invalid(
                "--max-users",
                max.to_string(),
                format!("is below --pre-allocated ({pre})"),
            ));
        }
        if max == 0 {
            return Err(ConfigError::invalid(
                "--max-users",
                "0",
                "the open model needs at least one user",
            ));
        }
        Ok(Some(crate::runner::Arrival {
            schedule,
            pre_allocated: pre,
            max_users: max,
            max_lateness: self.max_lateness,
            precise_timer: self.precise_timer,
        }))
    }

    /// Read a TOML config file and overlay it.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        for layer in file::read(path)? {
            self.overlay(layer);
        }
        Ok(())
    }
}

/// Parse and check a host URL.
pub fn parse_host(s: &str) -> Result<Url, String> {
    let url =
        Url::parse(s.trim()).map_err(|e| format!("{e} (expected e.g. http://127.0.0.1:8080)"))?;
    check_host(&url).map_err(|e| match e {
        ConfigError::InvalidValue { reason, .. } => reason,
        other => other.to_string(),
    })?;
    Ok(url)
}

pub(crate) fn parse_host_for(option: &str, s: &str) -> Result<Url, ConfigError> {
    parse_host(s).map_err(|reason| ConfigError::invalid(option, s, reason))
}

/// The schemes a host may have: what Swarm's transports speak.
const HOST_SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

fn check_host(url: &Url) -> Result<(), ConfigError> {
    if !HOST_SCHEMES.contains(&url.scheme()) {
        return Err(ConfigError::invalid(
            "--host",
            url.as_str(),
            format!(
                "the scheme {}:// is not supported (use http://, https://, ws:// or wss://)",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid(
            "--host",
            url.as_str(),
            "has no host name (expected e.g. http://127.0.0.1:8080)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(parse_host("http://127.0.0.1:8080").is_ok());
        assert!(parse_host("127.0.0.1:8080").is_err());
        assert!(parse_host("localhost:8080").is_err());
        assert!(parse_host("http://").is_err());
        assert!(parse_host("https://127.0.0.1:8443").is_ok());
        assert!(parse_host("wss://127.0.0.1:8443/ws").is_ok());
        let ftp = parse_host("ftp://127.0.0.1").unwrap_err();
        assert!(ftp.contains("ftp:// is not supported"), "{ftp}");
    }

    #[test]
    fn file_overlays_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("swarm.toml");
        std::fs::write(
            &p,
            "users = 7\nspawn-rate = 2.5\nrun-time = \"1m\"\ntags = [\"a\"]\ninsecure = true\n",
        )
        .unwrap();
        let mut c = Config::default();
        c.load_file(&p).unwrap();
        assert_eq!(c.users, 7);
        assert_eq!(c.spawn_rate, 2.5);
        assert_eq!(c.run_time, Some(Duration::from_secs(60)));
        assert_eq!(c.tags, ["a"]);
        assert!(c.insecure);
        std::fs::write(&p, "userz = 7\n").unwrap();
        let err = Config::default().load_file(&p).unwrap_err().to_string();
        assert!(err.contains("userz"), "{err}");
        std::fs::write(&p, "users = \n").unwrap();
        assert!(Config::default().load_file(&p).is_err());
        std::fs::write(&p, "run-time = \"forever\"\n").unwrap();
        let err = Config::default().load_file(&p).unwrap_err().to_string();
        assert!(err.contains("run-time"), "{err}");
    }

    #[test]
    fn validate_rejects_zero_users_with_run_time() {
        let c = Config {
            users: 0,
            run_time: Some(Duration::from_secs(1)),
            ..Config::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::NoUsers)));
        let c = Config {
            spawn_rate: 0.0,
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
