//! User types as the runner sees them: a name, a share, hooks, and a per-run spawner.

use std::fmt;
use std::sync::Arc;

use super::{arrival, user_loop};
use crate::task::Tasks;
use crate::user::{User, UserContext};

pub(crate) type HookFn =
    fn(
        crate::user::RunContext,
    ) -> futures::future::BoxFuture<'static, Result<(), crate::error::TaskError>>;

/// Starts one user: closed-model loop, or a pool user of the open model with its link.
pub(crate) type SpawnFn = Box<
    dyn Fn(
            UserContext,
            user_loop::Control,
            Option<arrival::Link>,
        ) -> futures::future::BoxFuture<'static, ()>
        + Send
        + Sync,
>;

/// A user type as the runner sees it.
pub(crate) struct UserSpec {
    pub(crate) name: &'static str,
    pub(crate) weight: u32,
    pub(crate) fixed_count: Option<u32>,
    /// Filters the tasks by tags; `None` when no task is left.
    pub(super) prepare: PrepareFn,
    pub(crate) test_start: HookFn,
    pub(crate) test_stop: HookFn,
}

impl fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSpec")
            .field("name", &self.name)
            .field("weight", &self.weight)
            .field("fixed_count", &self.fixed_count)
            .finish_non_exhaustive()
    }
}

impl UserSpec {
    pub(crate) fn of<U: User>() -> Self {
        UserSpec {
            name: U::name(),
            weight: U::weight(),
            fixed_count: U::fixed_count(),
            prepare: prepare::<U>,
            test_start: |run| Box::pin(async move { U::test_start(&run).await }),
            test_stop: |run| Box::pin(async move { U::test_stop(&run).await }),
        }
    }
}

/// Per-task rate limiters of a user type, by task index.
pub(crate) type TaskLimits = Vec<Option<crate::rate::RateLimiter>>;

/// Filters a user type's tasks by tags and makes its per-run spawner.
pub(crate) type PrepareFn = fn(&[String], &[String]) -> Option<(TaskLimits, SpawnFn)>;

fn prepare<U: User>(tags: &[String], exclude: &[String]) -> Option<(TaskLimits, SpawnFn)> {
    let tasks: Arc<Tasks<U>> = Arc::new(U::tasks().filtered(tags, exclude));
    if tasks.is_empty() {
        return None;
    }
    let per_task = tasks
        .iter()
        .map(|t| t.max_rps_cap().and_then(crate::rate::RateLimiter::new))
        .collect();
    Some((
        per_task,
        Box::new(move |ctx, ctl, link| match link {
            None => Box::pin(user_loop::run_user::<U>(tasks.clone(), ctx, ctl)),
            Some(link) => Box::pin(arrival::run_pool_user::<U>(tasks.clone(), ctx, ctl, link)),
        }),
    ))
}
