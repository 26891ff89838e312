//! Tasks: named, weighted, tagged async methods of a user, and how the next one is chosen.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rand::Rng;

use crate::error::TaskResult;
use crate::user::{UserContext, UserRng};

/// One lifetime of a task call. Implemented for every `async fn(&mut U, &mut UserContext)
/// -> TaskResult`; you never implement it yourself.
pub trait TaskCall<'a, U: 'a>: Send + Sync {
    /// The future the call returns.
    type Fut: Future<Output = TaskResult> + Send + 'a;
    /// Start the task.
    fn call(&self, user: &'a mut U, ctx: &'a mut UserContext) -> Self::Fut;
}

impl<'a, U, F, Fut> TaskCall<'a, U> for F
where
    U: 'a,
    F: Fn(&'a mut U, &'a mut UserContext) -> Fut + Send + Sync,
    Fut: Future<Output = TaskResult> + Send + 'a,
{
    type Fut = Fut;
    fn call(&self, user: &'a mut U, ctx: &'a mut UserContext) -> Fut {
        self(user, ctx)
    }
}

/// A task function: any `async fn(&mut U, &mut UserContext) -> TaskResult`, typically a
/// method of the user (`Self::index`).
pub trait TaskFn<U>: for<'a> TaskCall<'a, U> + 'static {}
impl<U, F> TaskFn<U> for F where F: for<'a> TaskCall<'a, U> + 'static {}

trait ErasedTask<U>: Send + Sync {
    fn call<'a>(&'a self, user: &'a mut U, ctx: &'a mut UserContext) -> BoxFuture<'a, TaskResult>;
}

struct Erased<F>(F);

impl<U: 'static, F: TaskFn<U>> ErasedTask<U> for Erased<F> {
    fn call<'a>(&'a self, user: &'a mut U, ctx: &'a mut UserContext) -> BoxFuture<'a, TaskResult> {
        Box::pin(TaskCall::call(&self.0, user, ctx))
    }
}

/// A named task with a weight and tags.
pub struct Task<U> {
    name: Arc<str>,
    weight: u32,
    tags: Vec<String>,
    max_rps: Option<f64>,
    f: Arc<dyn ErasedTask<U>>,
}

impl<U: 'static> Task<U> {
    /// A task of weight 1 and no tags.
    pub fn new(name: impl Into<Arc<str>>, f: impl TaskFn<U>) -> Self {
        Task {
            name: name.into(),
            weight: 1,
            tags: Vec::new(),
            max_rps: None,
            f: Arc::new(Erased(f)),
        }
    }

    /// How often the task is picked relative to the others (weight 0 disables it).
    #[must_use]
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Add a tag, for `--tags` and `--exclude-tags`.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Run this task at most `per_second` times per second across all users of the run
    /// (users wait for their turn; no busy loop, no burst after an idle spell).
    #[must_use]
    pub fn max_rps(mut self, per_second: f64) -> Self {
        self.max_rps = Some(per_second);
        self
    }

    /// The per-task cap, if any.
    pub fn max_rps_cap(&self) -> Option<f64> {
        self.max_rps
    }

    /// The task's name (used for the `TASK` entry when the task itself fails).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task's tags.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub(crate) fn call<'a>(
        &'a self,
        user: &'a mut U,
        ctx: &'a mut UserContext,
    ) -> BoxFuture<'a, TaskResult> {
        self.f.call(user, ctx)
    }
}

impl<U> Clone for Task<U> {
    fn clone(&self) -> Self {
        Task {
            name: self.name.clone(),
            weight: self.weight,
            tags: self.tags.clone(),
            max_rps: self.max_rps,
            f: self.f.clone(),
        }
    }
}

impl<U> fmt::Debug for Task<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("weight", &self.weight)
            .field("tags", &self.tags)
            .field("max_rps", &self.max_rps)
            .finish_non_exhaustive()
    }
}

/// How the next task is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Selection {
    /// Weighted random choice, from the user's seeded RNG (Locust's default).
    #[default]
    Random,
    /// In declaration order, each task run `weight` times in a row, then from the start
    /// (Locust's `SequentialTaskSet`).
    Sequential,
    /// Smooth weighted round-robin: deterministic, and interleaved so that a task of
    /// weight 3 beside one of weight 1 runs `A A B A A A B A`-like rather than in blocks.
    RoundRobin,
}

/// The tasks of a user type.
///
/// ```
/// use swarm_core::prelude::*;
///
/// struct Shopper;
/// impl Shopper {
///     async fn browse(&mut self, _ctx: &mut UserContext) -> TaskResult { Ok(()) }
///     async fn buy(&mut self, _ctx: &mut UserContext) -> TaskResult { Ok(()) }
/// }
///
/// let tasks = Tasks::<Shopper>::new()
///     .with(Task::new("browse", Shopper::browse).weight(9))
///     .with(Task::new("buy", Shopper::buy).tag("checkout"));
/// assert_eq!(tasks.len(), 2);
/// ```
pub struct Tasks<U> {
    tasks: Vec<Task<U>>,
    selection: Selection,
}

impl<U: 'static> Tasks<U> {
    /// No tasks yet, random selection.
    pub fn new() -> Self {
        Tasks {
            tasks: Vec::new(),
            selection: Selection::Random,
        }
    }

    /// Add a task of weight 1.
    #[must_use]
    pub fn task(self, name: impl Into<Arc<str>>, f: impl TaskFn<U>) -> Self {
        self.with(Task::new(name, f))
    }

    /// Add a task of the given weight.
    #[must_use]
    pub fn weighted(self, name: impl Into<Arc<str>>, weight: u32, f: impl TaskFn<U>) -> Self {
        self.with(Task::new(name, f).weight(weight))
    }

    /// Add a task built with [`Task::new`].
    #[must_use]
    pub fn with(mut self, task: Task<U>) -> Self {
        self.tasks.push(task);
        self
    }

    /// Choose tasks in declaration order.
    #[must_use]
    pub fn sequential(mut self) -> Self {
        self.selection = Selection::Sequential;
        self
    }

    /// Choose tasks by smooth weighted round-robin.
    #[must_use]
    pub fn round_robin(mut self) -> Self {
        self.selection = Selection::RoundRobin;
        self
    }

    /// Choose tasks with the given rule.
    #[must_use]
    pub fn selection(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// How many tasks there are.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there is no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The tasks, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = &Task<U>> {
        self.tasks.iter()
    }

    /// Keep the tasks that carry one of `tags` (all when `tags` is empty) and none of
    /// `exclude`, and drop tasks of weight 0.
    pub(crate) fn filtered(&self, tags: &[String], exclude: &[String]) -> Self {
        let keep = |t: &Task<U>| {
            t.weight > 0
                && (tags.is_empty() || t.tags.iter().any(|x| tags.contains(x)))
                && !t.tags.iter().any(|x| exclude.contains(x))
        };
        Tasks {
            tasks: self.tasks.iter().filter(|t| keep(t)).cloned().collect(),
            selection: self.selection,
        }
    }

    pub(crate) fn get(&self, index: usize) -> &Task<U> {
        &self.tasks[index]
    }

    pub(crate) fn selector(&self) -> Selector {
        let weights: Vec<u32> = self.tasks.iter().map(|t| t.weight).collect();
        let total = weights.iter().map(|w| u64::from(*w)).sum();
        Selector {
            state: vec![0; weights.len()],
            weights: weights.into(),
            total,
            selection: self.selection,
            pos: 0,
            repeat: 0,
        }
    }
}

impl<U: 'static> Default for Tasks<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U> fmt::Debug for Tasks<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tasks")
            .field("tasks", &self.tasks)
            .field("selection", &self.selection)
            .finish()
    }
}

/// Per-user state of task selection.
#[derive(Debug)]
pub(crate) struct Selector {
    weights: Arc<[u32]>,
    total: u64,
    selection: Selection,
    /// Current weights of the smooth round-robin.
    state: Vec<i64>,
    pos: usize,
    repeat: u32,
}

impl Selector {
    /// The index of the next task. There is at least one task of positive weight.
    pub(crate) fn next(&mut self, rng: &mut UserRng) -> usize {
        match self.selection {
            Selection::Random => {
                let mut pick = rng.random_range(0..self.total);
                for (i, w) in self.weights.iter().enumerate() {
                    let w = u64::from(*w);
                    if pick < w {
                        return i;
                    }
                    pick -= w;
                }
                self.weights.len() - 1
            }
            Selection::Sequential => {
                while self.repeat >= self.weights[self.pos] {
                    self.repeat = 0;
                    self.pos = (self.pos + 1) % self.weights.len();
                }
                self.repeat += 1;
                self.pos
            }
            Selection::RoundRobin => {
                let total = i64::try_from(self.total).unwrap_or(i64::MAX);
                let mut best = 0;
                for (i, w) in self.weights.iter().enumerate() {
                    self.state[i] += i64::from(*w);
                    if self.state[i] > self.state[best] {
                        best = i;
                    }
                }
                self.state[best] -= total;
                best
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    struct U;
    impl U {
        async fn a(&mut self, _c: &mut UserContext) -> TaskResult {
            Ok(())
        }
        async fn b(&mut self, _c: &mut UserContext) -> TaskResult {
            Ok(())
        }
    }

    fn tasks(sel: Selection) -> Tasks<U> {
        Tasks::new()
            .with(Task::new("a", U::a).weight(3).tag("x"))
            .with(Task::new("b", U::b).tag("y"))
            .selection(sel)
    }

    fn picks(sel: Selection, n: usize, seed: u64) -> Vec<usize> {
        let mut s = tasks(sel).selector();
        let mut rng = UserRng::seed_from_u64(seed);
        (0..n).map(|_| s.next(&mut rng)).collect()
    }

    #[test]
    fn sequential_repeats_by_weight() {
        assert_eq!(picks(Selection::Sequential, 8, 1), [0, 0, 0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn round_robin_interleaves() {
        assert_eq!(picks(Selection::RoundRobin, 8, 1), [0, 0, 1, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn random_follows_weights_and_seed() {
        let p = picks(Selection::Random, 40_000, 3);
        let a = p.iter().filter(|i| **i == 0).count();
        assert!((29_000..31_000).contains(&a), "{a}");
        assert_eq!(p, picks(Selection::Random, 40_000, 3));
        assert_ne!(p, picks(Selection::Random, 40_000, 4));
    }

    #[test]
    fn tags_filter() {
        let t = tasks(Selection::Random);
        assert_eq!(t.filtered(&["x".into()], &[]).len(), 1);
        assert_eq!(
            t.filtered(&[], &["x".into()]).iter().next().unwrap().name(),
            "b"
        );
        assert_eq!(t.filtered(&["z".into()], &[]).len(), 0);
        assert_eq!(t.filtered(&[], &[]).len(), 2);
    }
}
