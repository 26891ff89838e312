//! A run's feeders: where each one is, and the draw.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use rand::Rng as _;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::WeakUnboundedSender;

use super::store::Store;
use super::{Feed, FeedError, FeedMode, OnExhausted};
use crate::runner::{Command, StopReason};
use crate::user::UserRng;

/// One feeder in one run.
struct RunFeed {
    store: Arc<Store>,
    mode: FeedMode,
    on_exhausted: OnExhausted,
    /// This process's partition: rows `first, first + step, ...`.
    first: u64,
    step: u64,
    /// Rows in the partition; `None` without end (a generator).
    len: Option<u64>,
    /// The next draw of the sequential and unique modes.
    next: AtomicU64,
    /// Whether a draw found no row left (with stop-user or end-run): logged, and with
    /// end-run the run asked to end, once.
    ran_out: AtomicBool,
}

/// The feeders of one run, shared by its users (put in the run's scope).
pub(crate) struct FeedSet {
    feeds: HashMap<String, RunFeed>,
    /// Ends the run (`end-run`); weak, so that it does not keep the run alive.
    stop: OnceLock<WeakUnboundedSender<Command>>,
}

impl std::fmt::Debug for FeedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedSet")
            .field("feeds", &self.feeds.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl FeedSet {
    /// The run's feeders (loaded), with this process's partition `(index, count)` of the
    /// unique and per-user ones.
    pub(crate) fn new(feeds: Vec<Feed>, partition: Option<(u32, u32)>) -> Result<Self, FeedError> {
        let (index, count) = partition.unwrap_or((0, 1));
        let mut map = HashMap::with_capacity(feeds.len());
        for feed in feeds {
            let on_exhausted = feed.policy();
            let Some(store) = feed.store().cloned() else {
                unreachable!("feeders are loaded before the run");
            };
            let split = feed.mode.partitioned() && count > 1;
            let unpartitionable = |reason: String| FeedError::Unpartitionable {
                name: feed.name.clone(),
                mode: feed.mode,
                partitions: count,
                reason,
            };
            if feed.mode.partitioned() && (count == 0 || index >= count) {
                return Err(unpartitionable(format!(
                    "this worker's index {index} is not below the partition count {count} \
                     (set --feed-partitions, or --expect-workers on the Locust master, to the \
                     number of workers)"
                )));
            }
            let (first, step) = if split {
                (u64::from(index), u64::from(count))
            } else {
                (0, 1)
            };
            let len = store.len().map(|n| {
                if n > first {
                    (n - first).div_ceil(step)
                } else {
                    0
                }
            });
            if len == Some(0) {
                return Err(unpartitionable(format!(
                    "it has {} rows, fewer than the partitions",
                    store.len().unwrap_or(0)
                )));
            }
            map.insert(
                feed.name.clone(),
                RunFeed {
                    store,
                    mode: feed.mode,
                    on_exhausted,
                    first,
                    step,
                    len,
                    next: AtomicU64::new(0),
                    ran_out: AtomicBool::new(false),
                },
            );
        }
        Ok(FeedSet {
            feeds: map,
            stop: OnceLock::new(),
        })
    }

    /// Whether the run has no feeder.
    pub(crate) fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// The feeders that ran out of rows (with stop-user or end-run), by name.
    pub(crate) fn ran_out(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .feeds
            .iter()
            .filter(|(_, f)| f.ran_out.load(Ordering::Relaxed))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    }

    /// Where `end-run` sends its stop.
    pub(crate) fn bind(&self, stop: WeakUnboundedSender<Command>) {
        let _ = self.stop.set(stop);
    }

    /// Draw a row of `name` for user `user`.
    fn draw<T: DeserializeOwned + Clone + 'static>(
        &self,
        name: &str,
        user: u64,
        rng: &mut UserRng,
    ) -> Result<T, Drawn> {
        let Some(f) = self.feeds.get(name) else {
            let mut known: Vec<String> = self.feeds.keys().cloned().collect();
            known.sort();
            return Err(Drawn::Error(FeedError::Unknown {
                name: name.to_owned(),
                known,
            }));
        };
        let j = match f.mode {
            FeedMode::Sequential | FeedMode::Unique => f.next.fetch_add(1, Ordering::Relaxed),
            FeedMode::PerUser => user,
            FeedMode::Random => match f.len {
                Some(n) => rng.random_range(0..n),
                None => rng.random(),
            },
        };
        let j = match f.len {
            Some(n) if j >= n => match f.on_exhausted {
                OnExhausted::Recycle => j % n,
                OnExhausted::StopUser => {
                    if !f.ran_out.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            feeder = name,
                            "the feeder ran out of rows: each user that draws from it now stops"
                        );
                    }
                    return Err(Drawn::Exhausted);
                }
                OnExhausted::EndRun => {
                    if !f.ran_out.swap(true, Ordering::Relaxed) {
                        self.end_run(name);
                    }
                    return Err(Drawn::Exhausted);
                }
            },
            _ => j,
        };
        f.store
            .row::<T>(name, f.first + j * f.step)
            .map_err(Drawn::Error)
    }

    /// Ask the runner to end the run.
    fn end_run(&self, name: &str) {
        tracing::warn!(feeder = name, "the feeder ran out of rows: ending the run");
        if let Some(tx) = self.stop.get().and_then(WeakUnboundedSender::upgrade) {
            let _ = tx.send(Command::End(StopReason::FeedExhausted));
        }
    }
}

/// Why a draw gave no row.
enum Drawn {
    /// Out of rows (the user stops; with `end-run` the run ends too).
    Exhausted,
    Error(FeedError),
}

/// What one user keeps of the run's feeders: the set (looked up once), and whether a
/// feeder stopped it.
#[derive(Debug, Default)]
pub(crate) struct UserFeeds {
    set: Option<Arc<FeedSet>>,
    stopped: bool,
}

impl UserFeeds {
    /// Whether a feeder ran out for this user with `stop-user` or `end-run`: the user
    /// stops, and the error it returned is not counted.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// Draw a row (see [`UserContext::feed`](crate::UserContext::feed)).
    pub(crate) fn draw<T: DeserializeOwned + Clone + 'static>(
        &mut self,
        scope: &crate::user::RunScope,
        name: &str,
        user: u64,
        rng: &mut UserRng,
    ) -> Result<T, FeedError> {
        if self.set.is_none() {
            self.set = scope.get::<FeedSet>();
        }
        let Some(set) = self.set.as_ref() else {
            return Err(FeedError::Unknown {
                name: name.to_owned(),
                known: Vec::new(),
            });
        };
        match set.draw::<T>(name, user, rng) {
            Ok(row) => Ok(row),
            Err(Drawn::Exhausted) => {
                self.stopped = true;
                Err(FeedError::Exhausted {
                    name: name.to_owned(),
                })
            }
            Err(Drawn::Error(e)) => Err(e),
        }
    }
}
