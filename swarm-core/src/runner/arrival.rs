//! The open model: iterations start on a schedule (k6's arrival-rate executors), each run
//! by an idle user of a pool, whatever the target's latency.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::panic::{guarded, Guarded};
use super::signal::Fired;
use super::user_loop::{report_error, report_panic, start_user, stop_user, Control};
use super::{Runner, StopReason};
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

/// The longest an iteration waits in the backlog (every user busy) before the pool grows
/// for it; less with a short `--max-lateness` (a tenth of it), none with none. Users
/// usually free up sooner: a stall of the process or of the target (another program on
/// their core) makes every user busy for a moment, and growing the pool then opens a
/// connection per new user just when both are behind, which sets them further behind
/// (measured: a pool grown from 100 to 1,000 users at 50,000/s kept start lateness p99
/// near 50 ms). A target that is really slow keeps iterations waiting, and the pool grows.
const GROW_AFTER: Duration = Duration::from_millis(100);

/// At most one precise wake per this gap: iterations due meanwhile start together at its
/// end, up to the gap late, never early. Only the scheduler starts the schedule's
/// iterations (a user that finishes takes only iterations already waiting for a user):
/// sent together, a window's requests cost the client one sleep and wake-up and wake an
/// idle target once, where iterations started one by one as they fall due each cost both
/// (the kernel's wake-ups, not Swarm's own work, are most of an iteration's CPU when
/// neither side is saturated). Measured on 2 cores with nginx on the other, runs
/// alternating: CPU per iteration at 10,000/s 38.6 us one by one, 22.6 us in 500 us
/// windows; at 50,000/s 14.9-15.9 us and 12.3-13.2 us (1.5-1.8x and 1.2-1.5x the closed
/// model's per request at full speed), start lateness p99 0.23-0.30 ms and 0.60-0.64 ms.
/// A 250 us window saved less (14.1-14.7 us); a 1 ms one put p99 past 1 ms.
const MIN_GAP: Duration = Duration::from_micros(500);

/// The longest the schedule waits for the pre-allocated users' first `on_start` (a
/// request's default time-out, and k6's `setupTimeout`): past it, iterations start
/// anyway, on the users that are ready, and a warning says so.
const POOL_READY_MAX: Duration = Duration::from_secs(60);

/// Counts the pre-allocated users whose first `on_start` has not ended: the schedule
/// starts once none is left, so that their `on_start` never shows as start lateness (k6
/// initializes its pre-allocated users before the test starts).
#[derive(Debug, Default)]
pub(crate) struct PoolReady {
    left: AtomicUsize,
    done: Notify,
}

impl PoolReady {
    /// Until every first attempt has ended (a failed one counts: it is retried later).
    async fn wait(&self) {
        while self.left.load(Ordering::Acquire) > 0 {
            // `notify_one` keeps a permit when no one waits yet: no wake-up is lost.
            self.done.notified().await;
        }
    }
}

/// Counts one pre-allocated user in [`PoolReady`] until its first `on_start` has ended.
pub(crate) struct FirstTry(Arc<PoolReady>);

impl FirstTry {
    fn new(ready: &Arc<PoolReady>) -> FirstTry {
        ready.left.fetch_add(1, Ordering::AcqRel);
        FirstTry(ready.clone())
    }
}

impl Drop for FirstTry {
    fn drop(&mut self) {
        if self.0.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.done.notify_one();
        }
    }
}

/// An iteration due while every user was busy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting {
    /// When it was due.
    pub(crate) scheduled: Instant,
    /// When the scheduler found no free user for it.
    pub(crate) queued: Instant,
}

/// Where the schedule is.
#[derive(Debug)]
pub(crate) struct Cursor {
    schedule: ArrivalSchedule,
    /// When the schedule's time 0 is (the start, or the last arrival-rate change).
    origin: Instant,
    /// Iterations started, queued or dropped since `origin`.
    k: u64,
    /// No iteration starts at or after this (the run's end).
    until: Instant,
}

impl Cursor {
    /// When the next iteration is due, or `None` when the schedule is over.
    fn next_at(&self) -> Option<Instant> {
        self.schedule
            .time_of(self.k)
            .map(|d| self.origin + d)
            .filter(|t| *t < self.until)
    }

    /// The next iteration if it is due by `now` (it is then taken).
    fn take_due(&mut self, now: Instant) -> Option<Instant> {
        let t = self.next_at().filter(|t| *t <= now)?;
        self.k += 1;
        Some(t)
    }
}

/// The pool's shared state: the schedule, idle users, iterations waiting for one, drops.
#[derive(Debug)]
pub(crate) struct PoolState {
    pub(crate) cursor: Cursor,
    /// Users waiting for an iteration, by slot number.
    pub(crate) idle: Vec<usize>,
    /// Iterations due while every user was busy, oldest first.
    pub(crate) backlog: VecDeque<Waiting>,
    /// Users made but not yet ready for iterations (in `on_start`).
    pub(crate) starting: usize,
    /// Iterations that waited longer than the maximum lateness.
    pub(crate) dropped: u64,
    pub(crate) max_lateness: Duration,
    /// How long a backlog iteration waits before the pool grows for it.
    grow_after: Duration,
}

impl PoolState {
    /// The oldest iteration waiting for a user that is not too late (older ones are
    /// dropped). The schedule's next iterations are left to the scheduler (see
    /// [`MIN_GAP`]).
    pub(crate) fn next_for_user(&mut self, now: Instant) -> Option<Instant> {
        while let Some(w) = self.backlog.pop_front() {
            if now.saturating_duration_since(w.scheduled) <= self.max_lateness {
                return Some(w.scheduled);
            }
            self.dropped += 1;
        }
        None
    }

    /// How many users to add for iterations that have waited `grow_after` (less the
    /// users already starting, which will take them).
    fn to_grow(&self, now: Instant) -> usize {
        let old = self
            .backlog
            .partition_point(|w| w.queued + self.grow_after <= now);
        old.saturating_sub(self.starting)
    }

    /// When the next iteration will have waited `grow_after` with no user starting for
    /// it, if any does.
    fn grow_at(&self) -> Option<Instant> {
        self.backlog
            .get(self.starting)
            .map(|w| w.queued + self.grow_after)
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
    /// Counts the user as starting until its `on_start` is done.
    pub(crate) starting: Option<Starting>,
    /// A pre-allocated user: holds the schedule's start until its first `on_start` ends.
    pub(crate) first_try: Option<FirstTry>,
}

/// Counts a pool user as starting (see [`PoolState::starting`]) until dropped.
pub(crate) struct Starting(IdlePool);

impl Starting {
    pub(crate) fn new(pool: &IdlePool) -> Starting {
        pool.lock().starting += 1;
        Starting(pool.clone())
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        let mut pool = self.0.lock();
        pool.starting = pool.starting.saturating_sub(1);
    }
}

pub(crate) async fn run_pool_user<U: User>(
    tasks: Arc<Tasks<U>>,
    mut ctx: UserContext,
    mut ctl: Control,
    mut link: Link,
) {
    let mut selector = tasks.selector();
    let starting = link.starting.take();
    let Some(mut user) = start_user::<U>(&mut ctx, &mut ctl, link.first_try.take()).await else {
        return;
    };
    drop(starting);

    let mut next = link.first.take();
    loop {
        let scheduled = match next.take() {
            Some(t) => t,
            None => {
                {
                    let mut pool = link.idle.lock();
                    if let Some(t) = pool.next_for_user(Instant::now()) {
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
                    () = Fired(&mut ctl.stop) => break,
                    t = link.tickets.recv() => match t {
                        Some(t) => t,
                        None => break,
                    },
                    }
                }
            }
        };
        let index = selector.next(&mut ctx.rng);
        if !ctl.limits.admit(index, ctl.stop.token()).await {
            break;
        }
        let task = tasks.get(index);
        let before = ctx.recorder.failures_recorded();
        let t0 = Instant::now();
        ctx.recorder
            .begin_iteration(t0.saturating_duration_since(scheduled));
        let outcome = guarded(task.call(&mut user, &mut ctx), &mut ctl.kill).await;
        ctx.recorder.end_iteration();
        match outcome {
            Guarded::Done(Ok(())) => {}
            Guarded::Done(Err(e)) => report_error(&ctx, task.name(), &e, before, t0),
            Guarded::Panicked(msg) => report_panic(&ctx, task.name(), &msg, t0),
            Guarded::Killed => break,
        }
        if ctl.stop.fired() {
            break;
        }
    }

    stop_user(&mut user, &mut ctx).await;
}

/// The open model's scheduler: the pool (with the schedule) and its limits.
pub(crate) struct OpenModel {
    /// The end of the schedule as first planned (a rate change keeps it).
    end: Instant,
    /// How long the schedule runs, from its start.
    duration: Duration,
    /// Until the schedule starts: the pre-allocated users' first `on_start` calls.
    ready: Option<Arc<PoolReady>>,
    idle: IdlePool,
    max_users: u32,
    precise: bool,
    last_wake: Instant,
}

impl OpenModel {
    /// Whether the scheduler wants the sub-millisecond timer.
    pub(crate) fn precise(&self) -> bool {
        self.precise
    }

    /// When the schedule ends.
    pub(crate) fn end(&self) -> Instant {
        self.end
    }

    /// When to wake the scheduler next, if at all: the next due iteration, or the pool's
    /// next growth for waiting iterations (with `running` users in the pool).
    pub(crate) fn next_wake(&self, running: usize) -> Option<Instant> {
        let pool = self.idle.lock();
        let next = pool.cursor.next_at().map(|next| {
            if self.precise {
                next.max(self.last_wake + MIN_GAP)
            } else {
                next
            }
        });
        let grow = if running < self.max_users as usize {
            pool.grow_at()
        } else {
            None
        };
        match (next, grow) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Start iterations at `rate` per second from `now` until the end (before the
    /// schedule's start: from its start).
    pub(crate) fn set_rate(&mut self, rate: f64, now: Instant) {
        let mut pool = self.idle.lock();
        let c = &mut pool.cursor;
        if self.ready.is_some() {
            c.schedule = ArrivalSchedule::constant(rate, self.duration);
            return;
        }
        c.schedule = ArrivalSchedule::constant(rate, c.until.saturating_duration_since(now));
        c.origin = now;
        c.k = 0;
    }

    /// Start the schedule at `now`; no iteration starts at or after the run's end (its
    /// run time or the schedule's end, whichever is first).
    fn begin(&mut self, now: Instant, run_time: Option<Duration>) {
        self.ready = None;
        self.end = now + self.duration;
        self.last_wake = now;
        let mut pool = self.idle.lock();
        let c = &mut pool.cursor;
        c.origin = now;
        c.k = 0;
        c.until = run_time.map_or(self.end, |d| (now + d).min(self.end));
    }
    /// Let the pool grow to `users` (never below the users it has).
    pub(crate) fn set_max_users(&mut self, users: u32, running: usize) {
        self.max_users = users.max(u32::try_from(running).unwrap_or(u32::MAX));
    }

    /// Once a tick: drop backlog iterations that are too late; the drops so far.
    pub(crate) fn tick(&self) -> u64 {
        let mut pool = self.idle.lock();
        let now = Instant::now();
        while pool
            .backlog
            .front()
            .is_some_and(|w| now.saturating_duration_since(w.scheduled) > pool.max_lateness)
        {
            pool.backlog.pop_front();
            pool.dropped += 1;
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
    /// the closed model). Iterations start on schedule once [`Runner::prepare_pool`] has
    /// seen the pool ready.
    pub(super) fn start_open(&mut self, plan: Arrival) {
        self.agg.open_model();
        let now = Instant::now();
        let duration = plan.schedule.duration();
        let idle: IdlePool = Arc::new(parking_lot::Mutex::new(PoolState {
            // Nothing is due until the schedule starts (`until` is its origin).
            cursor: Cursor {
                schedule: plan.schedule,
                origin: now,
                k: 0,
                until: now,
            },
            idle: Vec::new(),
            backlog: VecDeque::new(),
            starting: 0,
            dropped: 0,
            max_lateness: plan.max_lateness,
            grow_after: (plan.max_lateness / 10).min(GROW_AFTER),
        }));
        let ready = Arc::new(PoolReady::default());
        self.set_target(plan.pre_allocated, f64::INFINITY);
        while let Some(kind) = self.kind_to_grow() {
            let first_try = FirstTry::new(&ready);
            self.spawn_any(kind, Some((idle.clone(), None, Some(first_try))));
        }
        self.open = Some(OpenModel {
            end: now + duration,
            duration,
            ready: Some(ready),
            idle,
            max_users: plan.max_users,
            precise: plan.precise_timer,
            last_wake: now,
        });
    }

    /// Wait until every pre-allocated user's first `on_start` has ended (at most
    /// [`POOL_READY_MAX`]), answering commands meanwhile, then start the schedule and the
    /// run's clock: `on_start` takes none of the run time and shows in no lateness.
    /// `Some` when a command ends the run first.
    pub(super) async fn prepare_pool(&mut self) -> Option<StopReason> {
        let ready = self.open.as_ref()?.ready.clone()?;
        let limit = tokio::time::sleep(POOL_READY_MAX);
        tokio::pin!(limit);
        loop {
            tokio::select! {
                biased;
                cmd = self.rx.recv(), if self.rx_open => match cmd {
                    Some(cmd) => {
                        if let Some(reason) = self.command(cmd) {
                            return Some(reason);
                        }
                    }
                    // The schedule ends the run: it needs no handle.
                    None => self.rx_open = false,
                },
                () = ready.wait() => break,
                () = &mut limit => {
                    tracing::warn!(
                        "the pre-allocated users' on_start took over {} s; the schedule starts anyway",
                        POOL_READY_MAX.as_secs()
                    );
                    break;
                }
            }
        }
        let now = Instant::now();
        self.start = now;
        self.ramp_start = now;
        self.agg.restart_clock();
        let run_time = self.run_time;
        if let Some(open) = self.open.as_mut() {
            open.begin(now, run_time);
        }
        None
    }

    /// Start every iteration that is due (before `deadline`), each on an idle pool user;
    /// iterations with no free user wait in the backlog, and the pool grows for those
    /// that waited [`GROW_AFTER`]. With no maximum lateness an iteration never waits: it
    /// gets a new user while the pool may grow, else it is dropped.
    pub(super) fn dispatch_due(&mut self) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        let now = Instant::now();
        open.last_wake = now;
        let room = (open.max_users as usize).saturating_sub(self.slots.len());
        // New users and the iteration each is made for, if any.
        let mut grow: Vec<Option<Instant>> = Vec::new();
        {
            let mut pool = open.idle.lock();
            while let Some(t) = pool.cursor.take_due(now) {
                if self.hand_to_idle(&mut pool, t) {
                    continue;
                }
                if !pool.max_lateness.is_zero() {
                    pool.backlog.push_back(Waiting {
                        scheduled: t,
                        queued: now,
                    });
                } else if grow.len() < room {
                    grow.push(Some(t));
                } else {
                    pool.dropped += 1;
                }
            }
            let more = pool.to_grow(now).min(room - grow.len());
            grow.extend(std::iter::repeat_n(None, more));
        }
        for first in grow {
            let total = self.running() + 1;
            self.set_target(total, f64::INFINITY);
            match self.kind_to_grow() {
                Some(kind) => self.spawn_any(kind, Some((open.idle.clone(), first, None))),
                None => break,
            }
        }
        self.open = Some(open);
    }

    /// Give the iteration due at `scheduled` to an idle pool user; `false` when none is.
    fn hand_to_idle(&self, pool: &mut PoolState, scheduled: Instant) -> bool {
        while let Some(slot) = pool.idle.pop() {
            if let Some(tx) = self.slots.get(slot).and_then(|s| s.tickets.as_ref()) {
                if tx.try_send(scheduled).is_ok() {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool whose schedule (1,000/s for 10 s) began `ago` before `now`.
    fn pool(now: Instant, ago: Duration) -> PoolState {
        let origin = now.checked_sub(ago).unwrap();
        PoolState {
            cursor: Cursor {
                schedule: ArrivalSchedule::constant(1000.0, Duration::from_secs(10)),
                origin,
                k: 0,
                until: origin + Duration::from_secs(10),
            },
            idle: Vec::new(),
            backlog: VecDeque::new(),
            starting: 0,
            dropped: 0,
            max_lateness: Duration::from_secs(1),
            grow_after: GROW_AFTER,
        }
    }

    #[test]
    fn a_user_that_finishes_leaves_the_schedule_to_the_scheduler() {
        let now = Instant::now() + Duration::from_secs(60);
        let mut pool = pool(now, Duration::from_millis(10));
        assert!(pool.cursor.next_at().is_some_and(|t| t <= now));
        assert_eq!(pool.next_for_user(now), None);
        assert_eq!(pool.cursor.k, 0, "no iteration of the schedule was taken");
        // The scheduler takes it, on time 0 of the schedule.
        let origin = pool.cursor.origin;
        assert_eq!(pool.cursor.take_due(now), Some(origin));
    }

    #[test]
    fn a_user_that_finishes_takes_the_oldest_waiting_iteration_not_too_late() {
        let now = Instant::now() + Duration::from_secs(60);
        let mut pool = pool(now, Duration::from_millis(10));
        for ago in [2000, 900, 500] {
            let scheduled = now - Duration::from_millis(ago);
            pool.backlog.push_back(Waiting {
                scheduled,
                queued: scheduled,
            });
        }
        assert_eq!(
            pool.next_for_user(now),
            Some(now - Duration::from_millis(900))
        );
        assert_eq!(pool.dropped, 1, "the one 2 s late is dropped");
        assert_eq!(pool.backlog.len(), 1);
    }

    #[test]
    fn precise_wakes_are_a_window_apart() {
        let now = Instant::now() + Duration::from_secs(60);
        let model = |precise| OpenModel {
            end: now + Duration::from_secs(10),
            duration: Duration::from_secs(10),
            ready: None,
            idle: Arc::new(Mutex::new(pool(now, Duration::ZERO))),
            max_users: 100,
            precise,
            last_wake: now,
        };
        // The schedule's first iteration is due at `now`, the next 1 ms later.
        assert_eq!(model(true).next_wake(10), Some(now + MIN_GAP));
        assert_eq!(model(false).next_wake(10), Some(now));
        let far = model(true);
        far.idle.lock().cursor.k = 5;
        assert_eq!(far.next_wake(10), Some(now + Duration::from_millis(5)));
    }
}
