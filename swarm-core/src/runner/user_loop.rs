//! The life of one user: start, tasks and waits until stopped, then stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::arrival::FirstTry;
use super::panic::{guarded, Guarded};
use super::signal::{Fired, Signal};
use crate::error::TaskError;
use crate::rate::RateLimiter;
use crate::stats::Sample;
use crate::task::Tasks;
use crate::user::{User, UserContext};

/// The kind (Locust's "Type") of the entries that count failed tasks, `on_start` and
/// `on_stop`; their name is `UserType.task`.
pub const TASK_KIND: &str = "TASK";

/// How long a user waits before it calls a failed `on_start` again, at first. The wait
/// doubles with each failure in a row, up to [`START_RETRY_MAX`]: a target that is down or
/// overloaded is not met with a retry storm (every user retrying each second).
pub(crate) const START_RETRY: Duration = Duration::from_secs(1);

/// The longest wait between two `on_start` attempts.
pub(crate) const START_RETRY_MAX: Duration = Duration::from_secs(30);

pub(crate) struct Control {
    /// Finish the current task, then stop (a wait is cut short).
    pub(crate) stop: Signal,
    /// Drop the current task at once.
    pub(crate) kill: Signal,
    /// Caps on task starts: the run's `--max-rps`, and one per task (by index).
    pub(crate) limits: Arc<Limits>,
}

/// The rate caps of one run.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    pub(crate) global: Option<RateLimiter>,
    pub(crate) per_task: Vec<Option<RateLimiter>>,
}

impl Limits {
    /// Wait for the caps of task `index`; `false` when the user is stopped meanwhile.
    pub(crate) async fn admit(&self, index: usize, stop: &CancellationToken) -> bool {
        for limiter in [
            self.global.as_ref(),
            self.per_task.get(index).and_then(Option::as_ref),
        ]
        .into_iter()
        .flatten()
        {
            tokio::select! {
                biased;
                () = stop.cancelled() => return false,
                () = limiter.acquire() => {}
            }
        }
        true
    }
}

pub(crate) async fn run_user<U: User>(
    tasks: Arc<Tasks<U>>,
    mut ctx: UserContext,
    mut ctl: Control,
) {
    let mut selector = tasks.selector();
    let Some(mut user) = start_user::<U>(&mut ctx, &mut ctl, None).await else {
        return;
    };

    // A feeder that ran out (stop-user, end-run) stops the user too.
    while !ctl.stop.fired() && !ctx.feeds.stopped() {
        let index = selector.next(&mut ctx.rng);
        if !ctl.limits.admit(index, ctl.stop.token()).await {
            break;
        }
        let task = tasks.get(index);
        let before = ctx.recorder.failures_recorded();
        let t0 = Instant::now();
        match guarded(task.call(&mut user, &mut ctx), &mut ctl.kill).await {
            Guarded::Done(Ok(())) => {}
            Guarded::Done(Err(e)) => report_error(&ctx, task.name(), &e, before, t0),
            Guarded::Panicked(msg) => report_panic(&ctx, task.name(), &msg, t0),
            Guarded::Killed => break,
        }
        if ctx.feeds.stopped() {
            // Out of rows: stop now, not after the wait.
            break;
        }
        let pause = user.wait_time().next(t0.elapsed(), &mut ctx.rng);
        if pause.is_zero() {
            // Let other users run even when a task never really waits.
            tokio::task::consume_budget().await;
        } else {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = Fired(&mut ctl.stop) => break,
            }
        }
    }

    stop_user(&mut user, &mut ctx).await;
}

/// Build the user with `on_start`, retrying while it fails (after [`START_RETRY`], then
/// twice as long each time, up to [`START_RETRY_MAX`]); `None` when the user is stopped
/// first. `first_try` is dropped once the first attempt has ended, whatever its outcome.
pub(crate) async fn start_user<U: User>(
    ctx: &mut UserContext,
    ctl: &mut Control,
    mut first_try: Option<FirstTry>,
) -> Option<U> {
    let mut retry = START_RETRY;
    loop {
        if ctl.stop.fired() || ctx.feeds.stopped() {
            return None;
        }
        let before = ctx.recorder.failures_recorded();
        let t0 = Instant::now();
        let outcome = guarded(U::on_start(ctx), &mut ctl.kill).await;
        drop(first_try.take());
        match outcome {
            Guarded::Done(Ok(user)) => return Some(user),
            Guarded::Done(Err(e)) => report_error(ctx, "on_start", &e, before, t0),
            Guarded::Panicked(msg) => report_panic(ctx, "on_start", &msg, t0),
            Guarded::Killed => return None,
        }
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            () = Fired(&mut ctl.stop) => return None,
        }
        retry = (retry * 2).min(START_RETRY_MAX);
    }
}

/// Call `on_stop`, counting its failure. It runs even after a kill; the runner aborts it
/// if it outlives the grace time.
pub(crate) async fn stop_user<U: User>(user: &mut U, ctx: &mut UserContext) {
    let before = ctx.recorder.failures_recorded();
    let t0 = Instant::now();
    let mut never = Signal::new(CancellationToken::new());
    match guarded(user.on_stop(ctx), &mut never).await {
        Guarded::Done(Ok(())) | Guarded::Killed => {}
        Guarded::Done(Err(e)) => report_error(ctx, "on_stop", &e, before, t0),
        Guarded::Panicked(msg) => report_panic(ctx, "on_stop", &msg, t0),
    }
}

fn entry_name(ctx: &UserContext, task: &str) -> String {
    format!("{}.{}", ctx.user_type, task)
}

/// A task error is counted unless the request that caused it already counted a failure.
pub(crate) fn report_error(
    ctx: &UserContext,
    task: &str,
    err: &TaskError,
    before: u64,
    t0: Instant,
) {
    // A feeder that ran out stops the user: its error is the way out, not a failure.
    if ctx.recorder.failures_recorded() != before || ctx.feeds.stopped() {
        return;
    }
    let name = entry_name(ctx, task);
    tracing::warn!(entry = %name, error = err.message(), "task failed");
    ctx.recorder
        .record(&Sample::new(TASK_KIND, &name, t0.elapsed()).failure(err.message()));
    ctx.recorder
        .exception(err.message(), &format!("error in {name}"));
}

pub(crate) fn report_panic(ctx: &UserContext, task: &str, msg: &str, t0: Instant) {
    let name = entry_name(ctx, task);
    tracing::error!(entry = %name, error = msg, "task panicked");
    ctx.recorder
        .record(&Sample::new(TASK_KIND, &name, t0.elapsed()).failure(msg));
    ctx.recorder.exception(msg, &format!("panic in {name}"));
}
