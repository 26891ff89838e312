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
use super::{precise, Command, RunOutcome, Runner, StopReason};
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

impl Runner {
    /// The open model: pre-allocate the pool, then start iterations on schedule.
    pub(super) async fn run_arrival(mut self, plan: Arrival) -> RunOutcome {
        self.agg.reset();
        self.agg.open_model();
        let idle: IdlePool = Arc::new(parking_lot::Mutex::new(PoolState {
            max_lateness: plan.max_lateness,
            ..PoolState::default()
        }));
        // Pre-allocate, spread over the types by weight as in the closed model.
        self.set_target(plan.pre_allocated, f64::INFINITY);
        while let Some(kind) = self.kind_to_grow() {
            self.spawn_any(kind, Some((idle.clone(), None)));
        }
        let start = Instant::now();
        let end = start + duration(&plan);
        let deadline = self.run_time.map_or(end, |d| (start + d).min(end));
        let mut cursor = Cursor { k: 0 };
        let timer = precise::Timer::new(plan.precise_timer);
        // At most one precise wake per this gap (iterations due meanwhile start together,
        // up to the gap late, never early): bounds the scheduler's CPU at high rates.
        let min_gap = Duration::from_micros(50);
        let mut last_wake = start;
        let mut tick = tokio::time::interval_at(start + self.tick, self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        let reason = loop {
            let next = cursor
                .next_at(&plan.schedule, start)
                .filter(|t| *t < deadline);
            let wake_at = match next {
                Some(t) if plan.precise_timer => Some(t.max(last_wake + min_gap)),
                other => other,
            };
            tokio::select! {
                biased;
                cmd = self.rx.recv() => match cmd {
                    Some(Command::Stop) => break StopReason::Stopped,
                    Some(Command::Snapshot(tx)) => {
                        let _ = tx.send(self.snapshot());
                    }
                    Some(Command::SetUsers { .. }) => {
                        tracing::warn!("set users ignored: the open model sets its own pool");
                    }
                    None => {}
                },
                () = tokio::time::sleep_until(deadline) => break StopReason::RunTime,
                () = timer.sleep_until(wake_at.unwrap_or(deadline)), if wake_at.is_some() => {
                    let now = Instant::now();
                    last_wake = now;
                    while let Some(t) = cursor.next_at(&plan.schedule, start).filter(|t| *t <= now && *t < deadline) {
                        self.dispatch(t, &plan, &idle);
                        cursor.k += 1;
                    }
                }
                _ = tick.tick() => {
                    {
                        let mut pool = idle.lock();
                        let _ = pool.take_backlog(Instant::now()).map(|t| pool.backlog.push_front(t));
                        self.agg.set_dropped(pool.dropped);
                    }
                    self.on_tick(start);
                    if self.threshold_abort(start.elapsed()) {
                        break StopReason::ThresholdAbort;
                    }
                }
                Some(_) = self.join.join_next(), if !self.join.is_empty() => {}
            }
        };
        {
            // Iterations still waiting for a user never started.
            let mut pool = idle.lock();
            let waiting = pool.backlog.len() as u64;
            pool.backlog.clear();
            pool.dropped += waiting;
            self.agg.set_dropped(pool.dropped);
        }
        // Pool users waiting for a ticket stop at once; busy ones get the stop timeout.
        for slot in &mut self.slots {
            slot.tickets = None;
        }
        self.stop_all().await;
        self.agg.tick(0);
        let snapshot = self.agg.snapshot(0);
        RunOutcome { snapshot, reason }
    }

    /// Give the iteration due at `scheduled` to an idle pool user, or a new one while the
    /// pool may grow; otherwise it is dropped.
    fn dispatch(&mut self, scheduled: Instant, plan: &Arrival, idle: &IdlePool) {
        loop {
            let Some(slot) = idle.lock().idle.pop() else {
                break;
            };
            if let Some(tx) = self.slots.get(slot).and_then(|s| s.tickets.as_ref()) {
                if tx.try_send(scheduled).is_ok() {
                    return;
                }
            }
        }
        if self.running() < plan.max_users {
            let total = self.running() + 1;
            self.set_target(total, f64::INFINITY);
            if let Some(kind) = self.kind_to_grow() {
                self.spawn_any(kind, Some((idle.clone(), Some(scheduled))));
                return;
            }
        }
        // Every user busy and the pool full: the iteration waits for a user (its
        // lateness then shows in the corrected latency), or is dropped when too late.
        let mut pool = idle.lock();
        if !pool.max_lateness.is_zero() {
            pool.backlog.push_back(scheduled);
        } else {
            pool.dropped += 1;
        }
    }
}
