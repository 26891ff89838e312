//! The open model: iterations start on a schedule (k6's arrival-rate executors), each run
//! by an idle user of a pool, whatever the target's latency.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::panic::{guarded, Guarded};
use super::user_loop::{report_error, report_panic, start_user, stop_user, Control};
use crate::rate::ArrivalSchedule;
use crate::task::Tasks;
use crate::user::{User, UserContext};

/// The arrival-rate settings of a run.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub(crate) schedule: ArrivalSchedule,
    pub(crate) pre_allocated: u32,
    pub(crate) max_users: u32,
    /// How long an iteration may wait for a free user before it is dropped.
    pub(crate) max_lateness: Duration,
    /// Wake the scheduler with a sub-millisecond timer (real time only).
    pub(crate) precise_timer: bool,
}

/// The pool's shared state: idle users, iterations waiting for one, and drops.
#[derive(Debug, Default)]
pub(crate) struct PoolState {
    /// Users waiting for an iteration, by slot number.
    pub(crate) idle: Vec<usize>,
    /// Iterations due while every user was busy and the pool was full, oldest first.
    pub(crate) backlog: VecDeque<Instant>,
    /// Iterations that waited longer than the maximum lateness.
    pub(crate) dropped: u64,
    pub(crate) max_lateness: Duration,
}

impl PoolState {
    /// The oldest waiting iteration that is not too late; older ones are dropped.
    pub(crate) fn take_backlog(&mut self, now: Instant) -> Option<Instant> {
        while let Some(t) = self.backlog.pop_front() {
            if now.saturating_duration_since(t) <= self.max_lateness {
                return Some(t);
            }
            self.dropped += 1;
        }
        None
    }
}

/// The pool, shared by the scheduler and its users.
pub(crate) type IdlePool = Arc<Mutex<PoolState>>;

/// What ties a pool user to the scheduler.
pub(crate) struct Link {
    /// Scheduled starts of the iterations given to this user.
    pub(crate) tickets: mpsc::Receiver<Instant>,
    pub(crate) idle: IdlePool,
    pub(crate) slot: usize,
    /// The iteration this user was created for, if any.
    pub(crate) first: Option<Instant>,
}

pub(crate) async fn run_pool_user<U: User>(
    tasks: Arc<Tasks<U>>,
    mut ctx: UserContext,
    ctl: Control,
    mut link: Link,
) {
    let mut selector = tasks.selector();
    let Some(mut user) = start_user::<U>(&mut ctx, &ctl).await else {
        return;
    };

    let mut next = link.first.take();
    loop {
        let scheduled = match next.take() {
            Some(t) => t,
            None => {
                {
                    let mut pool = link.idle.lock();
                    if let Some(t) = pool.take_backlog(Instant::now()) {
                        next = Some(t);
                    } else {
                        pool.idle.push(link.slot);
                    }
                }
                if let Some(t) = next.take() {
                    t
                } else {
                    tokio::select! {
                    biased;
                    () = ctl.stop.cancelled() => break,
                    t = link.tickets.recv() => match t {
                        Some(t) => t,
                        None => break,
                    },
                    }
                }
            }
        };
        let index = selector.next(&mut ctx.rng);
        if !ctl.limits.admit(index, &ctl.stop).await {
            break;
        }
        let task = tasks.get(index);
        let before = ctx.recorder.failures_recorded();
        let t0 = Instant::now();
        ctx.recorder
            .begin_iteration(t0.saturating_duration_since(scheduled));
        let outcome = guarded(task.call(&mut user, &mut ctx), &ctl.kill).await;
        ctx.recorder.end_iteration();
        match outcome {
            Guarded::Done(Ok(())) => {}
            Guarded::Done(Err(e)) => report_error(&ctx, task.name(), &e, before, t0),
            Guarded::Panicked(msg) => report_panic(&ctx, task.name(), &msg, t0),
            Guarded::Killed => break,
        }
        if ctl.stop.is_cancelled() {
            break;
        }
    }

    stop_user(&mut user, &mut ctx).await;
}

/// Where the scheduler is.
#[derive(Debug)]
pub(crate) struct Cursor {
    /// Iterations dispatched or dropped so far.
    pub(crate) k: u64,
}

impl Cursor {
    /// When the next iteration is due, or `None` when the schedule is over.
    pub(crate) fn next_at(&self, schedule: &ArrivalSchedule, start: Instant) -> Option<Instant> {
        schedule.time_of(self.k).map(|d| start + d)
    }
}

/// How long a run of this schedule lasts.
pub(crate) fn duration(a: &Arrival) -> Duration {
    a.schedule.duration()
}
