//! The runner: owns the clock, spawns and stops users, merges statistics every tick and
//! answers the command channel that the command line, a web UI or a distributed worker
//! drive.

mod arrival;
mod distribute;
mod handle;
mod panic;
mod precise;
mod spec;
mod user_loop;

use distribute::{distribute, mix};
pub(crate) use handle::Observer;
pub use handle::{Command, Progress, RunnerHandle, StopReason};
use spec::SpawnFn;
pub(crate) use spec::{HookFn, UserSpec};

pub(crate) use arrival::Arrival;

pub use user_loop::TASK_KIND;

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

pub(crate) use panic::install_quiet_hook;

use crate::stats::{Aggregator, Snapshot};
use crate::user::{RunScope, UserContext, UserRng};

/// How long `on_stop` may still run after the users were killed.
const ON_STOP_GRACE: Duration = Duration::from_secs(2);

/// What the runner needs to know, checked beforehand by the config layer.
pub(crate) struct Plan {
    pub(crate) specs: Vec<UserSpec>,
    pub(crate) users: u32,
    pub(crate) spawn_rate: f64,
    pub(crate) run_time: Option<Duration>,
    pub(crate) stop_timeout: Duration,
    pub(crate) host: Option<Url>,
    pub(crate) seed: u64,
    pub(crate) tags: Vec<String>,
    pub(crate) exclude_tags: Vec<String>,
    pub(crate) shape: Option<Box<dyn crate::shape::LoadShape>>,
    /// Thresholds that end the run when they fail, and from when they may.
    pub(crate) abort_on: Vec<crate::threshold::Threshold>,
    pub(crate) abort_grace: Duration,
    /// The open model instead of the closed one.
    pub(crate) arrival: Option<Arrival>,
    /// The run-wide cap on task starts per second.
    pub(crate) max_rps: Option<crate::rate::RateLimiter>,
}

pub(crate) struct RunOutcome {
    pub(crate) snapshot: Snapshot,
    pub(crate) reason: StopReason,
}

struct Slot {
    kind: usize,
    stop: CancellationToken,
    kill: CancellationToken,
    abort: AbortHandle,
    /// Open model: hands iterations to this pool user.
    tickets: Option<mpsc::Sender<Instant>>,
}

struct TypeState {
    name: &'static str,
    limits: Arc<user_loop::Limits>,
    test_start: HookFn,
    test_stop: HookFn,
    spawn: SpawnFn,
    weight: u32,
    fixed: Option<u32>,
    target: u32,
    running: u32,
    spawned_total: u64,
}

pub(crate) struct Runner {
    types: Vec<TypeState>,
    slots: Vec<Slot>,
    stopping: Vec<(Instant, CancellationToken)>,
    join: JoinSet<()>,
    agg: Aggregator,
    scope: Arc<RunScope>,
    host: Option<Arc<Url>>,
    seed: u64,
    next_id: u64,
    target: u32,
    spawn_rate: f64,
    ramp_start: Instant,
    ramp_steps: u64,
    run_time: Option<Duration>,
    stop_timeout: Duration,
    tick: Duration,
    run_kill: CancellationToken,
    rx: mpsc::UnboundedReceiver<Command>,
    observer: Option<Observer>,
    shape: Option<Box<dyn crate::shape::LoadShape>>,
    abort_on: Vec<crate::threshold::Threshold>,
    abort_grace: Duration,
    arrival: Option<Arrival>,
}

impl Runner {
    /// Build a runner; fails when no user type has a task left after tag filtering.
    pub(crate) fn new(plan: Plan) -> Result<(Self, RunnerHandle), crate::error::ConfigError> {
        let mut types = Vec::new();
        for spec in plan.specs {
            if let Some((per_task, spawn)) = (spec.prepare)(&plan.tags, &plan.exclude_tags) {
                types.push(TypeState {
                    limits: Arc::new(user_loop::Limits {
                        global: plan.max_rps.clone(),
                        per_task,
                    }),
                    name: spec.name,
                    test_start: spec.test_start,
                    test_stop: spec.test_stop,
                    spawn,
                    weight: spec.weight,
                    fixed: spec.fixed_count,
                    target: 0,
                    running: 0,
                    spawned_total: 0,
                });
            }
        }
        if types.is_empty() {
            return Err(crate::error::ConfigError::NoTasks {
                tags: plan.tags,
                exclude_tags: plan.exclude_tags,
            });
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let now = Instant::now();
        let run_kill = CancellationToken::new();
        let mut runner = Runner {
            types,
            slots: Vec::new(),
            stopping: Vec::new(),
            join: JoinSet::new(),
            agg: Aggregator::new(),
            scope: Arc::new(RunScope::default()),
            host: plan.host.map(Arc::new),
            seed: plan.seed,
            next_id: 0,
            target: 0,
            spawn_rate: 1.0,
            ramp_start: now,
            ramp_steps: 0,
            run_time: plan.run_time,
            stop_timeout: plan.stop_timeout,
            tick: Duration::from_secs(1),
            run_kill: run_kill.clone(),
            rx,
            observer: None,
            shape: plan.shape,
            abort_on: plan.abort_on,
            abort_grace: plan.abort_grace,
            arrival: plan.arrival,
        };
        runner.set_target(plan.users, plan.spawn_rate);
        Ok((runner, RunnerHandle { tx, kill: run_kill }))
    }

    pub(crate) fn run_context(&self) -> crate::user::RunContext {
        crate::user::RunContext {
            host: self.host.clone(),
            recorder: self.agg.recorder(),
            scope: self.scope.clone(),
        }
    }

    /// Each user type's `test_start` (or `test_stop`) hook.
    pub(crate) fn hooks(&self, start: bool) -> Vec<(&'static str, HookFn)> {
        self.types
            .iter()
            .map(|t| (t.name, if start { t.test_start } else { t.test_stop }))
            .collect()
    }

    /// The user types that run (those with a task left after tag filtering).
    pub(crate) fn type_names(&self) -> Vec<String> {
        self.types.iter().map(|t| t.name.to_owned()).collect()
    }

    pub(crate) fn observe(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    fn running(&self) -> u32 {
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// Split `users` over the types: fixed counts first, the rest by weight (largest
    /// remainder, ties to the first declared).
    fn set_target(&mut self, users: u32, spawn_rate: f64) {
        self.set_target_from(users, spawn_rate, true);
    }

    /// As [`Runner::set_target`]; when `immediate` is false, the first user starts one
    /// interval (1 / spawn rate) from now rather than at once (a shape's ramp).
    fn set_target_from(&mut self, users: u32, spawn_rate: f64, immediate: bool) {
        let targets = distribute(
            users,
            &self
                .types
                .iter()
                .map(|t| (t.weight, t.fixed))
                .collect::<Vec<_>>(),
        );
        for (t, n) in self.types.iter_mut().zip(targets) {
            t.target = n;
        }
        self.target = users;
        self.spawn_rate = if spawn_rate.is_finite() && spawn_rate > 0.0 {
            spawn_rate
        } else {
            f64::INFINITY
        };
        self.ramp_start = Instant::now();
        self.ramp_steps = u64::from(!immediate && self.spawn_rate.is_finite());
    }

    /// Ask the shape for its target; `false` when it ends the run.
    fn follow_shape(&mut self, elapsed: Duration) -> bool {
        let running = self.running();
        let Some(shape) = self.shape.as_mut() else {
            return true;
        };
        match shape.tick(elapsed, running) {
            None => false,
            Some(t) => {
                let rate = if t.spawn_rate.is_finite() && t.spawn_rate > 0.0 {
                    t.spawn_rate
                } else {
                    f64::INFINITY
                };
                if t.users != self.target || rate != self.spawn_rate {
                    self.set_target_from(t.users, rate, false);
                }
                true
            }
        }
    }

    fn needs_change(&self) -> bool {
        self.types.iter().any(|t| t.running != t.target)
    }

    fn next_step_at(&self) -> Instant {
        if self.spawn_rate.is_infinite() {
            return self.ramp_start;
        }
        let secs = self.ramp_steps as f64 / self.spawn_rate;
        self.ramp_start + Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX / 4)
    }

    /// Start or stop one user, towards the targets.
    fn step(&mut self) {
        self.ramp_steps += 1;
        let grow = self.kind_to_grow();
        if let Some(kind) = grow {
            self.spawn_user(kind);
            return;
        }
        let shrink = self
            .types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.running > t.target)
            .max_by_key(|(_, t)| t.running - t.target)
            .map(|(i, _)| i);
        if let Some(kind) = shrink {
            if let Some(pos) = self.slots.iter().rposition(|s| s.kind == kind) {
                let slot = self.slots.remove(pos);
                self.types[kind].running -= 1;
                slot.stop.cancel();
                self.stopping
                    .push((Instant::now() + self.stop_timeout, slot.kill.clone()));
                drop(slot.abort);
            }
        }
    }

    fn spawn_user(&mut self, kind: usize) {
        self.spawn_any(kind, None);
    }

    /// Start a user; with `pool`, a pool user of the open model (its first iteration
    /// scheduled at `first`, if any).
    fn spawn_any(&mut self, kind: usize, pool: Option<(arrival::IdlePool, Option<Instant>)>) {
        let slot = self.slots.len();
        let (tickets, link) = match pool {
            None => (None, None),
            Some((idle, first)) => {
                let (tx, rx) = mpsc::channel(1);
                (
                    Some(tx),
                    Some(arrival::Link {
                        tickets: rx,
                        idle,
                        slot,
                        first,
                    }),
                )
            }
        };
        let t = &mut self.types[kind];
        let id = self.next_id;
        self.next_id += 1;
        let rng = UserRng::seed_from_u64(mix(self.seed, t.name, t.spawned_total));
        t.spawned_total += 1;
        t.running += 1;
        let ctx = UserContext {
            id,
            user_type: t.name,
            rng,
            host: self.host.clone(),
            recorder: self.agg.recorder(),
            scope: self.scope.clone(),
        };
        let stop = CancellationToken::new();
        let kill = self.run_kill.child_token();
        let fut = (t.spawn)(
            ctx,
            user_loop::Control {
                stop: stop.clone(),
                kill: kill.clone(),
                limits: t.limits.clone(),
            },
            link,
        );
        let abort = self.join.spawn(fut);
        self.slots.push(Slot {
            kind,
            stop,
            kill,
            abort,
            tickets,
        });
    }

    fn on_tick(&mut self, start: Instant) {
        let users = self.running();
        self.agg.tick(users);
        if let (Some(obs), Some(row)) = (self.observer.as_mut(), self.agg.last_row()) {
            obs(&Progress {
                elapsed: start.elapsed(),
                users,
                target_users: self.target,
                row,
            });
        }
    }

    /// Whether an abort-on-fail threshold fails now (after the grace time).
    fn threshold_abort(&mut self, elapsed: Duration) -> bool {
        if self.abort_on.is_empty() || elapsed < self.abort_grace {
            return false;
        }
        let snap = self.agg.snapshot(self.running());
        self.abort_on.iter().any(|t| !t.evaluate(&snap).passed)
    }

    fn snapshot(&mut self) -> Snapshot {
        self.agg.collect();
        self.agg.snapshot(self.running())
    }

    /// The type to start a user of next: types with a fixed count first (Locust spawns
    /// them first), then the type furthest below its share, in proportion; ties go to
    /// the type declared first. `None` when every type has its share.
    fn kind_to_grow(&self) -> Option<usize> {
        self.types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.running < t.target)
            .max_by(|(_, a), (_, b)| {
                let fa = f64::from(a.target - a.running) / f64::from(a.target);
                let fb = f64::from(b.target - b.running) / f64::from(b.target);
                (a.fixed.is_some().cmp(&b.fixed.is_some()))
                    .then(fa.total_cmp(&fb))
                    .then(std::cmp::Ordering::Greater)
            })
            .map(|(i, _)| i)
    }

    pub(crate) async fn run(mut self) -> RunOutcome {
        if let Some(plan) = self.arrival.take() {
            return self.run_arrival(plan).await;
        }
        self.agg.reset();
        let start = Instant::now();
        self.ramp_start = start;
        let deadline = self.run_time.map(|d| start + d);
        let mut tick = tokio::time::interval_at(start + self.tick, self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let far = start + Duration::from_secs(86_400 * 365);
        if !self.follow_shape(Duration::ZERO) {
            self.stop_all().await;
            self.agg.tick(0);
            let snapshot = self.agg.snapshot(0);
            return RunOutcome {
                snapshot,
                reason: StopReason::ShapeDone,
            };
        }

        let reason = loop {
            let step_at = if self.needs_change() {
                Some(self.next_step_at())
            } else {
                None
            };
            let kill_at = self.stopping.iter().map(|(t, _)| *t).min();
            tokio::select! {
                biased;
                cmd = self.rx.recv() => match cmd {
                    Some(Command::SetUsers { users, spawn_rate }) => self.set_target(users, spawn_rate),
                    Some(Command::Stop) => break StopReason::Stopped,
                    Some(Command::Snapshot(tx)) => {
                        let _ = tx.send(self.snapshot());
                    }
                    None => {
                        if deadline.is_none() {
                            break StopReason::Detached;
                        }
                        // No one can send commands any more; wait for the run time.
                        let (tx, rx) = mpsc::unbounded_channel();
                        drop(tx);
                        self.rx = rx;
                        let d = deadline.unwrap_or(far);
                        self.wait_until(d, &mut tick, start).await;
                        break StopReason::RunTime;
                    }
                },
                () = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {
                    break StopReason::RunTime;
                }
                () = tokio::time::sleep_until(step_at.unwrap_or(far)), if step_at.is_some() => {
                    let now = Instant::now();
                    while self.needs_change() && self.next_step_at() <= now {
                        self.step();
                    }
                }
                () = tokio::time::sleep_until(kill_at.unwrap_or(far)), if kill_at.is_some() => {
                    let now = Instant::now();
                    self.stopping.retain(|(t, kill)| {
                        if *t <= now { kill.cancel(); false } else { true }
                    });
                }
                _ = tick.tick() => {
                    // The shape first, and the users it wants now started, so the tick's
                    // row shows them.
                    if !self.follow_shape(start.elapsed()) {
                        break StopReason::ShapeDone;
                    }
                    let now = Instant::now();
                    while self.needs_change() && self.next_step_at() <= now {
                        self.step();
                    }
                    self.on_tick(start);
                    if self.threshold_abort(start.elapsed()) {
                        break StopReason::ThresholdAbort;
                    }
                }
                Some(_) = self.join.join_next(), if !self.join.is_empty() => {}
            }
        };

        self.stop_all().await;
        self.agg.tick(0);
        let snapshot = self.agg.snapshot(0);
        RunOutcome { snapshot, reason }
    }

    /// Keep ticking and spawning until `deadline` (used once the handles are gone).
    async fn wait_until(
        &mut self,
        deadline: Instant,
        tick: &mut tokio::time::Interval,
        start: Instant,
    ) {
        loop {
            let step_at = self.needs_change().then(|| self.next_step_at());
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(deadline) => return,
                () = tokio::time::sleep_until(step_at.unwrap_or(deadline)), if step_at.is_some() => {
                    let now = Instant::now();
                    while self.needs_change() && self.next_step_at() <= now {
                        self.step();
                    }
                }
                _ = tick.tick() => self.on_tick(start),
                Some(_) = self.join.join_next(), if !self.join.is_empty() => {}
            }
        }
    }

    /// Stop every user: let running tasks finish for the stop timeout, then kill them,
    /// then give `on_stop` a short grace before aborting.
    async fn stop_all(&mut self) {
        for slot in self.slots.drain(..) {
            slot.stop.cancel();
        }
        for t in &mut self.types {
            t.running = 0;
        }
        let join = &mut self.join;
        let drained = async { while join.join_next().await.is_some() {} };
        if tokio::time::timeout(self.stop_timeout, drained)
            .await
            .is_ok()
        {
            return;
        }
        self.run_kill.cancel();
        let join = &mut self.join;
        let drained = async { while join.join_next().await.is_some() {} };
        if tokio::time::timeout(ON_STOP_GRACE, drained).await.is_err() {
            self.join.abort_all();
            while self.join.join_next().await.is_some() {}
        }
    }
}
