//! Feeders: named sources of test data rows that users draw from (see [`Feed`]).

mod error;
mod run;
mod store;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::DeserializeOwned;

pub use error::FeedError;
pub(crate) use run::{FeedSet, UserFeeds};
use store::{Check, GenFn, Store};

/// How users share a feeder's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FeedMode {
    /// Rows in file order, shared by all users (each draw takes the next row).
    Sequential,
    /// Each row at most once in the whole run (and across workers).
    Unique,
    /// A row chosen at random (the user's seeded RNG), with replacement.
    Random,
    /// User N gets row N, on every draw ("each user is one account").
    PerUser,
}

impl FeedMode {
    /// The mode's name, as `--feed` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedMode::Sequential => "sequential",
            FeedMode::Unique => "unique",
            FeedMode::Random => "random",
            FeedMode::PerUser => "per-user",
        }
    }

    /// Whether the mode is split across workers.
    fn partitioned(self) -> bool {
        matches!(self, FeedMode::Unique | FeedMode::PerUser)
    }
}

impl fmt::Display for FeedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "sequential" => FeedMode::Sequential,
            "unique" => FeedMode::Unique,
            "random" => FeedMode::Random,
            "per-user" => FeedMode::PerUser,
            other => {
                return Err(format!(
                    "unknown mode {other:?}; use sequential, unique, random or per-user"
                ))
            }
        })
    }
}

/// What a draw does when a feeder has no row left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnExhausted {
    /// Start again from the first row.
    Recycle,
    /// Stop the user that drew (the others go on).
    StopUser,
    /// End the run, with the reason in the report.
    EndRun,
}

impl OnExhausted {
    /// The policy's name, as `--feed` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OnExhausted::Recycle => "recycle",
            OnExhausted::StopUser => "stop-user",
            OnExhausted::EndRun => "end-run",
        }
    }

    /// The default of a mode.
    fn default_for(mode: FeedMode) -> Self {
        match mode {
            FeedMode::Sequential | FeedMode::Random => OnExhausted::Recycle,
            FeedMode::Unique | FeedMode::PerUser => OnExhausted::StopUser,
        }
    }
}

impl fmt::Display for OnExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OnExhausted {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "recycle" => OnExhausted::Recycle,
            "stop-user" => OnExhausted::StopUser,
            "end-run" => OnExhausted::EndRun,
            other => {
                return Err(format!(
                    "unknown policy {other:?}; use recycle, stop-user or end-run"
                ))
            }
        })
    }
}

/// A `--feed` value: `NAME=FILE[:MODE[:ON_EXHAUSTED]]`, such as
/// `accounts=users.csv:unique` or `ids=ids.jsonl:sequential:end-run`. The format comes
/// from the file's extension (`.csv`; `.jsonl`, `.ndjson` or `.json` for JSON lines).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedArg {
    /// The feeder's name, as users ask for it.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// The mode (default: sequential, or the mode the scenario's declaration gives).
    pub mode: Option<FeedMode>,
    /// The exhaustion policy (default: the mode's).
    pub on_exhausted: Option<OnExhausted>,
}

impl FromStr for FeedArg {
    type Err = FeedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| FeedError::Invalid {
            value: s.to_owned(),
            reason,
        };
        let (name, rest) = s
            .split_once('=')
            .ok_or_else(|| invalid("expected NAME=FILE[:MODE[:ON_EXHAUSTED]]".to_owned()))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("the feeder's name is empty".to_owned()));
        }
        // The mode and policy are the last `:`-separated words, when they are known
        // words; anything before is the path (which may hold a `:` of its own).
        let mut path = rest;
        let mut words: Vec<&str> = Vec::new();
        while words.len() < 2 {
            let Some((head, tail)) = path.rsplit_once(':') else {
                break;
            };
            let known = tail.parse::<FeedMode>().is_ok() || tail.parse::<OnExhausted>().is_ok();
            if !known {
                break;
            }
            words.insert(0, tail);
            path = head;
        }
        let mut mode = None;
        let mut on_exhausted = None;
        for w in words {
            if let Ok(m) = w.parse::<FeedMode>() {
                if mode.is_some() || on_exhausted.is_some() {
                    return Err(invalid(format!(
                        "the mode {w:?} must come right after the file"
                    )));
                }
                mode = Some(m);
            } else if let Ok(p) = w.parse::<OnExhausted>() {
                on_exhausted = Some(p);
            }
        }
        if path.is_empty() {
            return Err(invalid("the file is empty".to_owned()));
        }
        let arg = FeedArg {
            name: name.to_owned(),
            path: PathBuf::from(path),
            mode,
            on_exhausted,
        };
        check_policy(mode.unwrap_or(FeedMode::Sequential), on_exhausted).map_err(invalid)?;
        Ok(arg)
    }
}

impl fmt::Display for FeedArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.path.display())?;
        if let Some(m) = self.mode {
            write!(f, ":{m}")?;
        }
        if let Some(p) = self.on_exhausted {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// A mode and policy that contradict each other.
fn check_policy(mode: FeedMode, policy: Option<OnExhausted>) -> Result<(), String> {
    if mode == FeedMode::Unique && policy == Some(OnExhausted::Recycle) {
        return Err(
            "unique mode cannot recycle (a row would be used twice): use stop-user or end-run, \
             or the sequential mode"
                .to_owned(),
        );
    }
    Ok(())
}

/// Where a feeder's rows come from.
#[derive(Clone)]
enum Source {
    Csv(PathBuf),
    JsonLines(PathBuf),
    /// Rows in memory or a generator, or a file already read.
    Loaded(Arc<Store>),
}

/// A named source of test data rows for the users of a run: add it with
/// [`Swarm::feed`](crate::Swarm::feed) or [`App::feed`](crate::cli::App::feed); users
/// draw with [`UserContext::feed`](crate::UserContext::feed).
///
/// A load test that touches real state needs data: accounts to log in with, funded keys
/// to sign with, item ids. A [`Feed`] names such a source (a CSV file with a header, JSON
/// lines, an in-memory `Vec`, or a generator function), says how users share it
/// ([`FeedMode`]) and what happens when it runs out ([`OnExhausted`]). A user draws a
/// typed row with [`UserContext::feed`](crate::UserContext::feed):
///
/// ```no_run
/// # use swarm_core::prelude::*;
/// use swarm_core::{Feed, FeedMode};
///
/// #[derive(serde::Deserialize, Clone)]
/// struct Account { username: String, password: String }
///
/// struct Shopper { account: Account }
///
/// #[async_trait]
/// impl User for Shopper {
///     async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
///         // Each user its own account, never one twice in the run.
///         let account = ctx.feed::<Account>("accounts")?;
///         Ok(Shopper { account })
///     }
///     fn tasks() -> Tasks<Self> { Tasks::new() }
/// }
///
/// # async fn t() -> Result<(), swarm_core::Error> {
/// let report = Swarm::new()
///     .user::<Shopper>()
///     .feed(Feed::csv("accounts", "users.csv").mode(FeedMode::Unique).typed::<Account>())
///     .run()
///     .await?;
/// # Ok(()) }
/// ```
///
/// From the command line: `--feed accounts=users.csv:unique` (and `:stop-user`,
/// `:end-run` or `:recycle` after the mode), or `feed = ["accounts=users.csv:unique"]` in
/// the config file. A scenario's `main` declares the row type of a name with
/// [`App::feed`](crate::cli::App::feed) so that the file is checked row by row before
/// any load; the command line then only names the file.
///
/// # Running out
/// | mode | rows | when none is left (default first) |
/// |---|---|---|
/// | `sequential` | in order, shared by all users | `recycle` from the first, `stop-user`, `end-run` |
/// | `unique` | each row at most once in the run | `stop-user`, `end-run` (recycling is refused) |
/// | `random` | uniformly at random, with replacement | never runs out |
/// | `per-user` | user N gets row N, every time it draws | `stop-user`, `end-run`, `recycle` (user N gets row N mod rows) |
///
/// `stop-user`: the draw returns [`FeedError::Exhausted`]; return it from the task or
/// `on_start` (`?`) and the user stops cleanly at once (`on_stop` runs, nothing is
/// counted as a failure); the run goes on with the others. It no longer counts as
/// running, and (as after Locust's `StopUser`) the ramp replaces it only when the user
/// count is set again (a shape's next step, a command). In the open model (arrival rates) the pool
/// user is not stopped: its iterations end at once. `end-run`: the same, and the run ends
/// with the stop reason `feed_exhausted` in the report (`stop_reason` in the JSON
/// report), the feeder's name in the log.
///
/// # Across workers
/// Under a Locust master each Swarm worker takes its own partition of every `unique` and
/// `per-user` feeder: with `k` partitions, worker `i` (the index of the master's `ack`)
/// uses rows `i, i + k, i + 2k, ...`, so no row is used twice in the cluster, and a worker
/// that registers again (same client id) gets the same index, so the same rows. The
/// master does not send the number of workers: `k` is `--feed-partitions` when given,
/// else the master's `--expect-workers` (sent in every spawn's options). A worker whose
/// index is not below `k` refuses to start a run with such a feeder, and so does a
/// feeder with fewer rows than partitions. `sequential` and `random` feeders are not
/// split: each worker walks all their rows. Embedded runs set it with
/// [`Swarm::feed_partition`](crate::Swarm::feed_partition).
///
/// # Secrets
/// The feeder never logs or reports a row: errors name the feeder, file, line and column
/// and replace the values a parser quotes by `"…"`. The row is your type: when it holds a
/// password or a key, give it a `Debug` that hides it (a hand-written one, or a wrapper
/// type whose `Debug` prints `***`) so that your own logs cannot leak it, and never put a
/// row into a sample's name or failure message.
///
/// # Cost
/// Rows from files stay in memory as the file's text plus a 4-byte index per field (CSV)
/// or line (JSON lines): about 1.2x the file. A draw is one atomic step and the
/// conversion of one row into your type.
#[derive(Clone)]
pub struct Feed {
    name: String,
    source: Source,
    mode: FeedMode,
    on_exhausted: Option<OnExhausted>,
    check: Option<Check>,
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the rows.
        f.debug_struct("Feed")
            .field("name", &self.name)
            .field("source", &self.describe())
            .field("mode", &self.mode)
            .field("on_exhausted", &self.policy())
            .finish()
    }
}

impl Feed {
    fn new(name: impl Into<String>, source: Source) -> Self {
        Feed {
            name: name.into(),
            source,
            mode: FeedMode::Sequential,
            on_exhausted: None,
            check: None,
        }
    }

    /// Rows of a CSV file with a header line; the columns map to the row type's fields
    /// by name (serde). The file is read when the run starts (before any load).
    pub fn csv(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self::new(name, Source::Csv(path.into()))
    }

    /// Rows of a JSON lines file: one JSON object (or any JSON value) a line.
    pub fn json_lines(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self::new(name, Source::JsonLines(path.into()))
    }

    /// A file, its format from its extension (`.csv`; `.jsonl`, `.ndjson`, `.json`).
    pub fn file(name: impl Into<String>, path: impl Into<PathBuf>) -> Result<Self, FeedError> {
        let name = name.into();
        let path = path.into();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(Self::csv(name, path)),
            Some("jsonl" | "ndjson" | "json") => Ok(Self::json_lines(name, path)),
            _ => Err(FeedError::UnknownFormat { name, path }),
        }
    }

    /// Rows in memory; users draw clones of them (as `ctx.feed::<T>(..)`).
    pub fn rows<T: Clone + Send + Sync + 'static>(name: impl Into<String>, rows: Vec<T>) -> Self {
        let len = rows.len() as u64;
        Self::new(
            name,
            Source::Loaded(Arc::new(Store::Values {
                rows: Box::new(rows),
                len,
                holds: std::any::type_name::<T>(),
            })),
        )
    }

    /// Rows made on demand: row `i` is `f(i)`, without end (the `i` follow the mode:
    /// 0, 1, 2, ... for sequential and unique, the user's number for per-user).
    pub fn generator<T, F>(name: impl Into<String>, f: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(u64) -> T + Send + Sync + 'static,
    {
        let f: GenFn<T> = Arc::new(f);
        Self::new(
            name,
            Source::Loaded(Arc::new(Store::Generator {
                f: Box::new(f),
                holds: std::any::type_name::<T>(),
            })),
        )
    }

    /// How users share the rows (default [`FeedMode::Sequential`]).
    #[must_use]
    pub fn mode(mut self, mode: FeedMode) -> Self {
        self.mode = mode;
        self
    }

    /// What a draw does when no row is left (default: recycle for sequential and
    /// random, stop the user for unique and per-user). Unique with recycle is refused
    /// when the run starts.
    #[must_use]
    pub fn on_exhausted(mut self, policy: OnExhausted) -> Self {
        self.on_exhausted = Some(policy);
        self
    }

    /// Check every row of the file as a `T` when it loads, so a header that does not
    /// match `T` or a malformed row is an error before any load (naming its line and
    /// column), not a failure during the run.
    ///
    /// Without it (a scenario that chooses to skip bad rows), only the file's structure
    /// is checked when it loads (a CSV row with the wrong number of fields, a line that
    /// is not JSON), and a row that does not fit the type asked for is
    /// [`FeedError::BadRow`] when drawn: with `?`, a counted failure of that task, and
    /// the run goes on.
    #[must_use]
    pub fn typed<T: DeserializeOwned>(mut self) -> Self {
        self.check = Some(Check::of::<T>());
        self
    }

    /// The feeder's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its mode.
    pub fn feed_mode(&self) -> FeedMode {
        self.mode
    }

    /// Its exhaustion policy (the mode's default unless set).
    pub fn policy(&self) -> OnExhausted {
        self.on_exhausted
            .unwrap_or_else(|| OnExhausted::default_for(self.mode))
    }

    /// Where the rows come from, for messages.
    fn describe(&self) -> String {
        match &self.source {
            Source::Csv(p) => format!("CSV file {}", p.display()),
            Source::JsonLines(p) => format!("JSON lines file {}", p.display()),
            Source::Loaded(s) => match s.len() {
                Some(n) => format!("{n} rows"),
                None => "a generator".to_owned(),
            },
        }
    }

    /// This feeder with the file, mode and policy of a `--feed` value (the row type
    /// check stays).
    pub(crate) fn with_arg(self, arg: &FeedArg) -> Result<Self, FeedError> {
        let mut f = Feed::file(arg.name.clone(), arg.path.clone())?;
        f.check = self.check;
        f.mode = arg.mode.unwrap_or(self.mode);
        f.on_exhausted = arg.on_exhausted.or(if arg.mode.is_some() {
            None
        } else {
            self.on_exhausted
        });
        Ok(f)
    }

    /// Read the file now (once for many runs: a worker's successive tests), checking
    /// every row; the result holds the rows.
    pub fn load(self) -> Result<Self, FeedError> {
        check_policy(self.mode, self.on_exhausted).map_err(|reason| FeedError::Invalid {
            value: format!("{} ({}, {})", self.name, self.mode, self.policy()),
            reason,
        })?;
        let store = match &self.source {
            Source::Loaded(s) => {
                if s.len() == Some(0) {
                    return Err(FeedError::Empty {
                        name: self.name,
                        source_desc: "an empty Vec".to_owned(),
                    });
                }
                return Ok(self);
            }
            Source::Csv(p) => Store::load_csv(&self.name, p, self.check)?,
            Source::JsonLines(p) => Store::load_json_lines(&self.name, p, self.check)?,
        };
        tracing::info!(
            feeder = %self.name,
            rows = store.len().unwrap_or(0),
            source = %self.describe(),
            "feeder loaded"
        );
        Ok(Feed {
            source: Source::Loaded(Arc::new(store)),
            ..self
        })
    }

    /// The loaded rows (after [`Feed::load`]).
    fn store(&self) -> Option<&Arc<Store>> {
        match &self.source {
            Source::Loaded(s) => Some(s),
            _ => None,
        }
    }
}

/// The feeders of a run: those of the builder, with the command line's `--feed` values
/// laid over them by name, loaded (a declared feeder with no source is an error).
pub(crate) fn resolve(feeds: Vec<Feed>, args: &[FeedArg]) -> Result<Vec<Feed>, FeedError> {
    let mut out: Vec<Feed> = feeds;
    for arg in args {
        match out.iter().position(|f| f.name == arg.name) {
            Some(i) => {
                let old = out.remove(i);
                out.insert(i, old.with_arg(arg)?);
            }
            None => {
                let mut f = Feed::file(arg.name.clone(), arg.path.clone())?;
                if let Some(m) = arg.mode {
                    f.mode = m;
                }
                f.on_exhausted = arg.on_exhausted;
                out.push(f);
            }
        }
    }
    out.into_iter().map(Feed::load).collect()
}
