//! The options of a run, each defined once: a field of [`PlanArgs`] or [`ProcessArgs`]
//! carries its flag names, its `SWARM_*` variable and its help (for clap) and its config
//! file key, the long flag name (for serde); both read its value with the same parser
//! (`parse_duration`, `parse_host`, `BuiltinShape::parse`, `Threshold::parse`), so a
//! value is parsed once, where it enters.
//!
//! How the layers are computed, and why. Every field is an `Option` (`None`: this layer
//! says nothing), with no clap default. clap fills one layer from the flags and, where a
//! flag is absent, the `SWARM_*` variables (so environment < flags is clap's own rule);
//! serde fills another from the TOML file, key by key (`file`), into the very same
//! struct. [`Args::to_config`] lays them over the defaults with [`Config::overlay`]:
//! defaults < file < environment < flags.
//!
//! - Not clap's `ArgMatches::value_source`: `to_config` works on an `Args` value that a
//!   binary built or changed by hand (one that flattens `Args` into its own parser, a
//!   test, `mediator_ping` picking its default user type), which has no `ArgMatches` to
//!   ask; and clap defaults would show in `--help` but hide the file's values.
//! - Not a generic merge through serde (serialise each layer, merge the tables,
//!   deserialise again): every value would be printed and parsed a second time, shapes
//!   and thresholds included, and an error could no longer say which layer it came from.
//! - Not a macro: the struct stays a plain derive that rustfmt, rustdoc and the IDE read.
//!
//! What is left per option beside its field here is its typed field in [`Config`], its
//! default in `Config::default` and one line in [`Config::overlay`], which destructures
//! both structs so that an option added here and not resolved there does not compile.
//! `config_file_keys.rs` checks that every flag reads the same from a file, and
//! `readme_flags.rs` that the README's table matches the command.

use std::path::PathBuf;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use url::Url;

use super::{parse_host, Config};
use crate::duration::parse_duration;
use crate::error::ConfigError;
use crate::feed::FeedArg;
use crate::shape::BuiltinShape;
use crate::threshold::Threshold;

/// The flags of a run. `#[command(flatten)]` it into a CLI of your own, then call
/// [`Args::to_config`].
///
/// The options are split by what they are about: the [run plan](PlanArgs) (what a
/// Locust master or a web UI may change) and the [process options](ProcessArgs)
/// (logging, report files). The user types to run belong to the plan; they stay a field
/// of their own here, as the positional arguments.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
// The doc comment is for rustdoc, not the `--help` of a command that flattens this.
#[command(about = None, long_about = None)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Args {
    /// What to run: users, rates, host, run time, shape, thresholds.
    #[command(flatten)]
    #[serde(flatten)]
    pub plan: PlanArgs,

    /// How this process runs: logging, report files, exit code, preflight.
    #[command(flatten)]
    #[serde(flatten)]
    pub process: ProcessArgs,

    /// Same as --preflight=false
    // No clap conflict with --preflight: clap counts a SWARM_PREFLIGHT value as given,
    // and would refuse the flag that should win over it. In one layer, this one wins.
    #[arg(long, help_heading = PROCESS)]
    #[serde(default)]
    pub no_preflight: bool,

    /// Read settings from this TOML file (keys are the long flag names)
    #[arg(long, env = "SWARM_CONFIG", value_name = "FILE", help_heading = PROCESS)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// List the user types and exit
    #[arg(short = 'l', long, help_heading = PROCESS)]
    #[serde(skip)]
    pub list: bool,

    /// Accepted for Locust compatibility; Swarm always runs headless
    #[arg(long, hide = true)]
    #[serde(skip)]
    pub headless: bool,

    /// User types to run (default: all registered)
    #[arg(value_name = "USER_TYPE", help_heading = PLAN)]
    #[serde(default)]
    pub user_types: Vec<String>,
}

const PLAN: &str = "Run plan";
const PROCESS: &str = "Process";

/// The run plan: what a run does, and what a Locust master or a web UI may send
/// (users, spawn rate, host, run time, shape, arrival rate, rate caps, tags, thresholds).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
// The doc comment is for rustdoc, not the `--help` of a command that flattens this.
#[command(about = None, long_about = None)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct PlanArgs {
    /// Peak number of concurrent users
    #[arg(
        help_heading = PLAN,
        short = 'u',
        long,
        env = "SWARM_USERS",
        allow_negative_numbers = true,
        value_name = "N"
    )]
    #[serde(default)]
    pub users: Option<u32>,

    /// Users started (or stopped) per second
    #[arg(
        help_heading = PLAN,
        short = 'r',
        long,
        env = "SWARM_SPAWN_RATE",
        allow_negative_numbers = true,
        value_name = "PER_SEC"
    )]
    #[serde(default)]
    pub spawn_rate: Option<f64>,

    /// Stop after this long: 90, 30s, 5m, 1h30m (default: run until Ctrl-C)
    #[arg(help_heading = PLAN, short = 't', long, env = "SWARM_RUN_TIME", allow_negative_numbers = true, value_name = "TIME", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "duration")]
    pub run_time: Option<Duration>,

    /// The target, e.g. http://127.0.0.1:8080
    #[arg(help_heading = PLAN, short = 'H', long, env = "SWARM_HOST", value_name = "URL", value_parser = parse_host)]
    #[serde(default, deserialize_with = "host")]
    pub host: Option<Url>,

    /// Run only tasks with one of these tags (comma-separated)
    #[arg(help_heading = PLAN, short = 'T', long, env = "SWARM_TAGS", value_delimiter = ',', num_args = 1.., value_name = "TAG")]
    #[serde(default)]
    pub tags: Option<Vec<String>>,

    /// Skip tasks with one of these tags (comma-separated)
    #[arg(help_heading = PLAN, short = 'E', long, env = "SWARM_EXCLUDE_TAGS", value_delimiter = ',', num_args = 1.., value_name = "TAG")]
    #[serde(default)]
    pub exclude_tags: Option<Vec<String>>,

    /// How long running tasks may finish when the run stops (at least 2 s), then they are cancelled
    #[arg(help_heading = PLAN, long, env = "SWARM_STOP_TIMEOUT", allow_negative_numbers = true, value_name = "TIME", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "duration")]
    pub stop_timeout: Option<Duration>,

    /// Seed of the users' random choices, for repeatable runs
    #[arg(help_heading = PLAN, long, env = "SWARM_SEED", value_name = "N")]
    #[serde(default)]
    pub seed: Option<u64>,

    /// A built-in load shape instead of -u/-r: steps:users=10,every=30s,max=100,time=10m | stages:30s@10,1m@50,30s@0 | spike:base=10,peak=100,after=1m,ramp=5s,hold=30s,time=3m
    #[arg(help_heading = PLAN, long, env = "SWARM_SHAPE", value_name = "SHAPE", value_parser = shape_arg)]
    #[serde(default, deserialize_with = "shape")]
    pub shape: Option<BuiltinShape>,

    /// An SLO that decides the exit code, e.g. "p95 < 200ms", "fail_ratio < 1%", "GET /status: p99 <= 1s" (repeatable)
    #[arg(
        help_heading = PLAN,
        long = "threshold",
        env = "SWARM_THRESHOLDS",
        value_delimiter = ';',
        value_name = "EXPR",
        value_parser = threshold_arg
    )]
    #[serde(default, rename = "threshold")]
    pub thresholds: Option<Vec<Threshold>>,

    /// End the run as soon as a threshold fails (after --threshold-grace)
    #[arg(help_heading = PLAN, long, env = "SWARM_THRESHOLD_ABORT", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub threshold_abort: Option<bool>,

    /// With --threshold-abort, do not abort before this much time has run
    #[arg(help_heading = PLAN, long, env = "SWARM_THRESHOLD_GRACE", value_name = "TIME", value_parser = parse_duration)]
    #[serde(default, deserialize_with = "duration")]
    pub threshold_grace: Option<Duration>,

    /// Open model: start this many iterations per second, whatever the latency (k6's constant-arrival-rate; needs -t)
    #[arg(
        help_heading = PLAN,
        long,
        env = "SWARM_ARRIVAL_RATE",
        value_name = "PER_SEC",
        allow_negative_numbers = true
    )]
    #[serde(default)]
    pub arrival_rate: Option<f64>,

    /// Open model: ramp the arrival rate through stages DURATION@RATE,... e.g. 30s@100,1m@500,30s@0 (k6's ramping-arrival-rate)
    #[arg(help_heading = PLAN, long, env = "SWARM_ARRIVAL_STAGES", value_name = "STAGES")]
    #[serde(default)]
    pub arrival_stages: Option<String>,

    /// Open model: the rate the first stage ramps from (default 0)
    #[arg(
        help_heading = PLAN,
        long,
        env = "SWARM_ARRIVAL_START_RATE",
        value_name = "PER_SEC",
        allow_negative_numbers = true
    )]
    #[serde(default)]
    pub arrival_start_rate: Option<f64>,

    /// Open model: users created before the start (default: --users)
    #[arg(help_heading = PLAN, long, env = "SWARM_PRE_ALLOCATED", value_name = "N")]
    #[serde(default)]
    pub pre_allocated: Option<u32>,

    /// Open model: the most users the pool may grow to; iterations beyond are dropped (default: --pre-allocated)
    #[arg(help_heading = PLAN, long, env = "SWARM_MAX_USERS", value_name = "N")]
    #[serde(default)]
    pub max_users: Option<u32>,

    /// Open model: how long an iteration may wait for a free user when the pool is full before it is dropped; 0 drops at once as k6 does (default 1s)
    #[arg(help_heading = PLAN, long, env = "SWARM_MAX_LATENESS", value_name = "TIME", value_parser = parse_duration, allow_negative_numbers = true)]
    #[serde(default, deserialize_with = "duration")]
    pub max_lateness: Option<Duration>,

    /// Open model: start iterations with a sub-millisecond timer (Linux timerfd) instead of Tokio's 1 ms timer (default true here)
    #[arg(help_heading = PLAN, long, env = "SWARM_PRECISE_TIMER", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub precise_timer: Option<bool>,

    /// At most this many task starts (typically requests) per second across all users, without bursts
    #[arg(
        help_heading = PLAN,
        long,
        env = "SWARM_MAX_RPS",
        value_name = "PER_SEC",
        allow_negative_numbers = true
    )]
    #[serde(default)]
    pub max_rps: Option<f64>,

    /// Test data users draw from: NAME=FILE:MODE:ON_EXHAUSTED (the last two optional), e.g. accounts=users.csv:unique; MODE sequential, unique, random or per-user; ON_EXHAUSTED recycle, stop-user or end-run (repeatable)
    #[arg(
        help_heading = PLAN,
        long = "feed",
        env = "SWARM_FEED",
        value_delimiter = ';',
        value_name = "NAME=FILE",
        value_parser = feed_arg
    )]
    #[serde(default, deserialize_with = "feeds")]
    pub feed: Option<Vec<FeedArg>>,

    /// Worker: split unique and per-user feeders into this many partitions, one per worker (default: the master's --expect-workers)
    #[arg(help_heading = PLAN, long, env = "SWARM_FEED_PARTITIONS", value_name = "N")]
    #[serde(default)]
    pub feed_partitions: Option<u32>,
    /// Accept any TLS certificate (self-signed, expired, for another name) on https:// and wss://
    #[arg(help_heading = PLAN, long, env = "SWARM_INSECURE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub insecure: Option<bool>,

    /// HTTP users share one connection pool instead of each opening its own connections
    #[arg(help_heading = PLAN, long, env = "SWARM_SHARED_POOL", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub shared_pool: Option<bool>,
}

/// The process options: how this process logs, where it writes its reports, its exit
/// code; not part of what a run does, and never sent by a master.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
// The doc comment is for rustdoc, not the `--help` of a command that flattens this.
#[command(about = None, long_about = None)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct ProcessArgs {
    /// Write Locust-compatible CSV files PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv and PREFIX_exceptions.csv
    #[arg(help_heading = PROCESS, long, env = "SWARM_CSV", value_name = "PREFIX")]
    #[serde(default)]
    pub csv: Option<PathBuf>,

    /// Write the JSON report (schema swarm-report/1) to this file
    #[arg(help_heading = PROCESS, long, env = "SWARM_JSON", value_name = "PATH")]
    #[serde(default)]
    pub json: Option<PathBuf>,

    /// Write a self-contained HTML report (charts, tables, thresholds; no network) to this file
    #[arg(help_heading = PROCESS, long, env = "SWARM_HTML", value_name = "PATH")]
    #[serde(default)]
    pub html: Option<PathBuf>,

    /// Write a JUnit XML file (a test case per threshold and per failing entry) for CI
    #[arg(help_heading = PROCESS, long, env = "SWARM_JUNIT", value_name = "PATH")]
    #[serde(default)]
    pub junit: Option<PathBuf>,

    /// Compare with an earlier run's JSON report (--json); thresholds may say `p95 < baseline * 1.1`
    #[arg(help_heading = PROCESS, long, env = "SWARM_BASELINE", value_name = "PATH")]
    #[serde(default)]
    pub baseline: Option<PathBuf>,

    /// Print only the final summary, no live progress
    #[arg(help_heading = PROCESS, long, env = "SWARM_ONLY_SUMMARY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub only_summary: Option<bool>,

    /// Log level: error, warn, info, debug, trace
    #[arg(help_heading = PROCESS, short = 'L', long, env = "SWARM_LOGLEVEL", value_name = "LEVEL")]
    #[serde(default)]
    pub loglevel: Option<String>,

    /// Logs as JSON lines on stderr
    #[arg(help_heading = PROCESS, long, env = "SWARM_LOG_JSON", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub log_json: Option<bool>,

    /// Exit code when any request or task failed
    #[arg(help_heading = PROCESS, long, env = "SWARM_EXIT_CODE_ON_ERROR", value_name = "CODE")]
    #[serde(default)]
    pub exit_code_on_error: Option<u8>,

    /// Check that the host accepts TCP connections before the run (default true)
    #[arg(help_heading = PROCESS, long, env = "SWARM_PREFLIGHT", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub preflight: Option<bool>,
}

impl Args {
    /// The configuration: the defaults, then the config file (`--config`), then these
    /// values (which clap filled from the `SWARM_*` variables where a flag was absent);
    /// checked.
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        let mut c = Config {
            // The command line runs in real time: the precise timer unless turned off.
            precise_timer: true,
            ..Config::default()
        };
        if let Some(path) = &self.config {
            c.load_file(path)?;
        }
        c.overlay(self.clone());
        c.validate()?;
        Ok(c)
    }
}

impl Config {
    /// Lay the options a layer sets over this configuration; what it leaves unset stays.
    pub(crate) fn overlay(&mut self, layer: Args) {
        let Args {
            plan,
            process,
            no_preflight,
            config: _,
            list: _,
            headless: _,
            user_types,
        } = layer;
        let PlanArgs {
            users,
            spawn_rate,
            run_time,
            host,
            tags,
            exclude_tags,
            stop_timeout,
            seed,
            shape,
            thresholds,
            threshold_abort,
            threshold_grace,
            arrival_rate,
            arrival_stages,
            arrival_start_rate,
            pre_allocated,
            max_users,
            max_lateness,
            precise_timer,
            max_rps,
            feed,
            feed_partitions,
            insecure,
            shared_pool,
        } = plan;
        set(&mut self.users, users);
        set(&mut self.spawn_rate, spawn_rate);
        set(&mut self.run_time, run_time.map(Some));
        set(&mut self.host, host.map(Some));
        set(&mut self.tags, tags);
        set(&mut self.exclude_tags, exclude_tags);
        set(&mut self.stop_timeout, stop_timeout);
        set(&mut self.seed, seed.map(Some));
        set(&mut self.shape, shape.map(Some));
        set(&mut self.thresholds, thresholds);
        set(&mut self.threshold_abort, threshold_abort);
        set(&mut self.threshold_grace, threshold_grace);
        set(&mut self.arrival_rate, arrival_rate.map(Some));
        set(&mut self.arrival_stages, arrival_stages.map(Some));
        set(&mut self.arrival_start_rate, arrival_start_rate);
        set(&mut self.pre_allocated, pre_allocated.map(Some));
        set(&mut self.max_users, max_users.map(Some));
        set(&mut self.max_lateness, max_lateness);
        set(&mut self.precise_timer, precise_timer);
        set(&mut self.max_rps, max_rps.map(Some));
        set(&mut self.feeds, feed);
        set(&mut self.feed_partitions, feed_partitions.map(Some));
        set(&mut self.insecure, insecure);
        set(&mut self.shared_pool, shared_pool);
        set(
            &mut self.user_types,
            (!user_types.is_empty()).then_some(user_types),
        );

        let ProcessArgs {
            csv,
            json,
            html,
            junit,
            baseline,
            only_summary,
            loglevel,
            log_json,
            exit_code_on_error,
            preflight,
        } = process;
        set(&mut self.csv, csv.map(Some));
        set(&mut self.json, json.map(Some));
        set(&mut self.html, html.map(Some));
        set(&mut self.junit, junit.map(Some));
        set(&mut self.baseline, baseline.map(Some));
        set(&mut self.only_summary, only_summary);
        set(&mut self.loglevel, loglevel);
        set(&mut self.log_json, log_json);
        set(&mut self.exit_code_on_error, exit_code_on_error);
        set(&mut self.preflight, preflight);
        if no_preflight {
            self.preflight = false;
        }
    }
}

/// Overlay a layer's value, when it has one.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// `--shape` for clap: the reason alone (clap names the flag and the value).
fn shape_arg(s: &str) -> Result<BuiltinShape, String> {
    BuiltinShape::parse(s).map_err(reason)
}

/// `--feed` for clap.
fn feed_arg(s: &str) -> Result<FeedArg, String> {
    s.parse::<FeedArg>().map_err(|e| e.to_string())
}

/// `feed` in a config file: a string or a list of strings, as `--feed` writes them.
fn feeds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<FeedArg>>, D::Error> {
    let list = match toml::Value::deserialize(d)? {
        toml::Value::String(s) => vec![s],
        toml::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s),
                other => Err(D::Error::custom(format!(
                    "expected a string such as \"accounts=users.csv:unique\", found a {}",
                    other.type_str()
                ))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(D::Error::custom(format!(
                "expected a string or a list of strings, found a {}",
                other.type_str()
            )))
        }
    };
    list.iter()
        .map(|s| s.parse::<FeedArg>().map_err(D::Error::custom))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `--threshold` for clap.
fn threshold_arg(s: &str) -> Result<Threshold, String> {
    Threshold::parse(s).map_err(|e| e.to_string())
}

fn reason(e: ConfigError) -> String {
    match e {
        ConfigError::InvalidValue { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// A duration in a config file: a string as on the command line (`"30s"`), or a number
/// of seconds.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = match toml::Value::deserialize(d)? {
        toml::Value::String(s) => s,
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(n) => n.to_string(),
        other => {
            return Err(D::Error::custom(format!(
                "expected a duration such as \"30s\" or a number of seconds, found a {}",
                other.type_str()
            )))
        }
    };
    parse_duration(&text).map(Some).map_err(D::Error::custom)
}

/// A host URL in a config file, checked as `--host` checks it.
fn host<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let s = String::deserialize(d)?;
    parse_host(&s).map(Some).map_err(D::Error::custom)
}

/// A load shape in a config file, as `--shape` writes it.
fn shape<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BuiltinShape>, D::Error> {
    let s = String::deserialize(d)?;
    BuiltinShape::parse(&s)
        .map(Some)
        .map_err(|e| D::Error::custom(reason(e)))
}
