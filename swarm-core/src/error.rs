//! Error types of the engine.

use std::fmt;
use std::path::PathBuf;

/// Anything that stops a run from starting or finishing cleanly.
///
/// Failures of individual tasks are *not* errors of the run: they are counted in the
/// statistics and the run goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (flags, file, environment or builder calls) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The target host could not be reached before any load was sent.
    #[error("cannot reach host {host}: {reason}")]
    Unreachable {
        /// The host as configured.
        host: String,
        /// What went wrong (connection refused, DNS failure, time-out).
        reason: String,
    },
    /// A report could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A user type's `test_start` hook failed: the run did not start.
    #[error("test_start of {user_type} failed: {message}")]
    TestStart {
        /// The user type.
        user_type: String,
        /// Its error.
        message: String,
    },
    /// A feeder cannot be used (a missing file, a header that does not match its row
    /// type, a malformed row, no rows, a partition it cannot give): the run did not start.
    #[error(transparent)]
    Feed(#[from] crate::feed::FeedError),
    /// The runner stopped unexpectedly (its task panicked or was cancelled).
    #[error("the runner stopped unexpectedly: {0}")]
    Runner(String),
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value of an option does not parse or is out of range.
    #[error("invalid {option} {value:?}{}: {reason}", in_file(.file.as_deref()))]
    InvalidValue {
        /// The option, as the user wrote it (`--run-time`, or `run-time` in a file).
        option: String,
        /// The value given.
        value: String,
        /// Why it is rejected.
        reason: String,
        /// The config file that holds the value, when it came from one.
        file: Option<PathBuf>,
    },
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML or holds an unknown key.
    #[error("config file {path} is invalid: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A user type name given on the command line is not registered.
    #[error("unknown user type {name:?}; known user types: {}", known.join(", "))]
    UnknownUser {
        /// The name given.
        name: String,
        /// The names that are registered.
        known: Vec<String>,
    },
    /// No user type was registered or selected.
    #[error(
        "no user types to run (register one with `swarm_core::register_user!` or `Swarm::user`)"
    )]
    NoUserTypes,
    /// A user type has no task left (none declared, or all removed by `--tags` / `--exclude-tags`).
    #[error("no user type has a task left to run{}", tags_hint(.tags, .exclude_tags))]
    NoTasks {
        /// The `--tags` filter.
        tags: Vec<String>,
        /// The `--exclude-tags` filter.
        exclude_tags: Vec<String>,
    },
    /// `--users 0` was asked for a run that has a run time.
    #[error("--users is 0: a run with a run time needs at least one user")]
    NoUsers,
    /// The baseline report (`--baseline`) cannot be used.
    #[error("cannot use the baseline {}: {reason}", path.display())]
    Baseline {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A threshold cannot be set (a relative one without a baseline value).
    #[error(transparent)]
    Threshold(#[from] crate::threshold::ThresholdError),
}

fn tags_hint(tags: &[String], exclude: &[String]) -> String {
    let mut s = String::new();
    if !tags.is_empty() {
        s.push_str(&format!(" with --tags {}", tags.join(",")));
    }
    if !exclude.is_empty() {
        s.push_str(&format!(" with --exclude-tags {}", exclude.join(",")));
    }
    s
}

fn in_file(file: Option<&std::path::Path>) -> String {
    file.map(|f| format!(" in config file {}", f.display()))
        .unwrap_or_default()
}

impl ConfigError {
    pub(crate) fn invalid(
        option: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ConfigError::InvalidValue {
            option: option.into(),
            value: value.into(),
            reason: reason.into(),
            file: None,
        }
    }
}

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct ReportError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// The error a task, `on_start` or `on_stop` returns.
///
/// Any error type converts into it with `?`, so a task reads like ordinary async Rust.
/// A task error is counted as a failure (unless the request that caused it already
/// recorded its own failure) and the user goes on with its next task.
pub struct TaskError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TaskError {
    /// An error with a message of your own.
    pub fn new(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            source: None,
        }
    }

    /// The message recorded in the statistics.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The underlying error, when the task error was made from one.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl<E> From<E> for TaskError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(err: E) -> Self {
        TaskError {
            message: err.to_string(),
            source: Some(Box::new(err)),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskError")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a task returns.
pub type TaskResult = Result<(), TaskError>;
