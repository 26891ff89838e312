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
use super::Runner;
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

/// The open model's scheduler: the arrival schedule, where it is, and the pool.
pub(crate) struct OpenModel {
    schedule: ArrivalSchedule,
    /// When the schedule's time 0 is (the start, or the last arrival-rate change).
    origin: Instant,
    /// Iterations dispatched or dropped since `origin`.
    k: u64,
    /// The end of the schedule as first planned (a rate change keeps it).
    end: Instant,
    idle: IdlePool,
    max_users: u32,
    precise: bool,
    last_wake: Instant,
}

/// At most one precise wake per this gap (iterations due meanwhile start together, up to
/// the gap late, never early): bounds the scheduler's CPU at high rates.
const MIN_GAP: Duration = Duration::from_micros(50);

impl OpenModel {
    /// Whether the scheduler wants the sub-millisecond timer.
    pub(crate) fn precise(&self) -> bool {
        self.precise
    }

    /// When the schedule ends.
    pub(crate) fn end(&self) -> Instant {
        self.end
    }

    /// When the next iteration is due, or `None` when the schedule is over.
    fn next_at(&self) -> Option<Instant> {
        self.schedule.time_of(self.k).map(|d| self.origin + d)
    }

    /// When to wake the scheduler next (before `deadline`), if at all.
    pub(crate) fn next_wake(&self, deadline: Option<Instant>) -> Option<Instant> {
        let next = self.next_at().filter(|t| deadline.is_none_or(|d| *t < d))?;
        Some(if self.precise {
            next.max(self.last_wake + MIN_GAP)
        } else {
            next
        })
    }

    /// Start iterations at `rate` per second from `now` until `deadline`.
    pub(crate) fn set_rate(&mut self, rate: f64, now: Instant, deadline: Option<Instant>) {
        let rest = deadline.unwrap_or(self.end).saturating_duration_since(now);
        self.schedule = ArrivalSchedule::constant(rate, rest);
        self.origin = now;
        self.k = 0;
    }

    /// Let the pool grow to `users` (never below the users it has).
    pub(crate) fn set_max_users(&mut self, users: u32, running: usize) {
        self.max_users = users.max(u32::try_from(running).unwrap_or(u32::MAX));
    }

    /// Once a tick: drop backlog iterations that are too late; the drops so far.
    pub(crate) fn tick(&self) -> u64 {
        let mut pool = self.idle.lock();
        if let Some(t) = pool.take_backlog(Instant::now()) {
            pool.backlog.push_front(t);
        }
        pool.dropped
    }

    /// At the end: iterations still waiting for a user never started; the drops in all.
    pub(crate) fn finish(&mut self) -> u64 {
        let mut pool = self.idle.lock();
        let waiting = pool.backlog.len() as u64;
        pool.backlog.clear();
        pool.dropped += waiting;
        pool.dropped
    }
}

impl Runner {
    /// The open model: pre-allocate the pool (spread over the types by weight, as in
    /// the closed model); iterations then start on schedule from the run's start.
    pub(super) fn start_open(&mut self, plan: Arrival) {
        self.agg.open_model();
        let idle: IdlePool = Arc::new(parking_lot::Mutex::new(PoolState {
            max_lateness: plan.max_lateness,
            ..PoolState::default()
        }));
        self.set_target(plan.pre_allocated, f64::INFINITY);
        while let Some(kind) = self.kind_to_grow() {
            self.spawn_any(kind, Some((idle.clone(), None)));
        }
        // The run starts once the pool is made.
        let now = Instant::now();
        self.start = now;
        self.open = Some(OpenModel {
            end: now + plan.schedule.duration(),
            schedule: plan.schedule,
            origin: now,
            k: 0,
            idle,
            max_users: plan.max_users,
            precise: plan.precise_timer,
            last_wake: now,
        });
    }

    /// Start every iteration that is due (before `deadline`).
    pub(super) fn dispatch_due(&mut self, deadline: Option<Instant>) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let now = Instant::now();
        open.last_wake = now;
        while let Some(t) = open
            .next_at()
            .filter(|t| *t <= now && deadline.is_none_or(|d| *t < d))
        {
            self.dispatch(t, &mut open);
            open.k += 1;
        }
        self.open = Some(open);
    }

    /// Give the iteration due at `scheduled` to an idle pool user, or a new one while the
    /// pool may grow; otherwise it waits for a user or is dropped.
    fn dispatch(&mut self, scheduled: Instant, open: &mut OpenModel) {
        loop {
            let Some(slot) = open.idle.lock().idle.pop() else {
                break;
            };
            if let Some(tx) = self.slots.get(slot).and_then(|s| s.tickets.as_ref()) {
                if tx.try_send(scheduled).is_ok() {
                    return;
                }
            }
        }
        if self.running() < open.max_users {
            let total = self.running() + 1;
            self.set_target(total, f64::INFINITY);
            if let Some(kind) = self.kind_to_grow() {
                self.spawn_any(kind, Some((open.idle.clone(), Some(scheduled))));
                return;
            }
        }
        // Every user busy and the pool full: the iteration waits for a user (its
        // lateness then shows in the corrected latency), or is dropped when too late.
        let mut pool = open.idle.lock();
        if !pool.max_lateness.is_zero() {
            pool.backlog.push_back(scheduled);
        } else {
            pool.dropped += 1;
        }
    }
}
