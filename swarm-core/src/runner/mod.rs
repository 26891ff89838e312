//! The runner: owns the clock, spawns and stops users, merges statistics every tick and
//! answers the one command channel that the command line, a web UI or a distributed
//! worker drive.
//!
//! One loop serves the closed model, load shapes and the open model, with one command
//! handler (`Runner::command`). Who wins when a shape and a command disagree: a command
//! that sets users (set users, set user counts) takes over from the shape for the rest
//! of the run; the shape is still asked once a second and still ends the run when it
//! returns `None`. A spawn-rate command changes the rate of the ramp in progress, and a
//! shape that steers sets its own rate again on its next change.

mod arrival;
mod closed;
mod control;
mod distribute;
mod observe;
mod panic;
mod precise;
mod signal;
mod spec;
mod user_loop;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use control::Observer;
pub use control::{
    Command, CommandError, Progress, ProgressEvent, RunEvent, RunState, RunStatus, RunnerHandle,
    StopReason,
};
use distribute::mix;
use spec::SpawnFn;
pub(crate) use spec::{HookFn, UserSpec};

pub(crate) use arrival::Arrival;
use arrival::OpenModel;

pub use user_loop::TASK_KIND;

use rand::SeedableRng;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

pub(crate) use panic::install_quiet_hook;

use crate::stats::{Aggregator, Snapshot};
use crate::user::{RunScope, UserContext, UserRng};

/// How long `on_stop` may still run after the users were killed.
const ON_STOP_GRACE: Duration = Duration::from_secs(2);

/// The least time running tasks get to finish when the run ends, whatever the stop
/// timeout (k6's graceful stop, shorter): requests in flight then complete and are counted
/// instead of being dropped unrecorded (issue 10). `--stop-timeout` lengthens it.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(2);

/// How many events a subscriber may fall behind before it loses the oldest.
const EVENT_BUFFER: usize = 1024;

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
    /// Keep statistics deltas for [`RunnerHandle::take_stats`].
    pub(crate) deltas: bool,
    /// The run's shared values, pre-filled with its settings.
    pub(crate) scope: Arc<RunScope>,
}

pub(crate) struct RunOutcome {
    pub(crate) snapshot: Snapshot,
    pub(crate) reason: StopReason,
}

impl TypeState {
    /// The users the ramp counts towards the target: those running and those that left
    /// by themselves.
    fn counted(&self) -> u32 {
        self.running.saturating_add(self.left)
    }
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
    /// Users that ended by themselves (a feeder ran out) since the last target: they no
    /// longer run, and are not replaced until a new target (as Locust's `StopUser`).
    left: u32,
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
    /// Whether a handle may still send commands.
    rx_open: bool,
    observers: Vec<Observer>,
    events: broadcast::Sender<RunEvent>,
    status: watch::Sender<RunStatus>,
    state: RunState,
    start: Instant,
    shape: Option<Box<dyn crate::shape::LoadShape>>,
    /// Whether the shape sets the users; a users command ends that.
    shape_steers: bool,
    abort_on: Vec<crate::threshold::Threshold>,
    abort_grace: Duration,
    arrival: Option<Arrival>,
    open: Option<OpenModel>,
    deltas: bool,
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
                    left: 0,
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
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let now = Instant::now();
        let (status, status_rx) = watch::channel(RunStatus {
            state: RunState::Spawning,
            users: 0,
            target_users: 0,
            user_counts: types.iter().map(|t| (t.name.to_owned(), 0)).collect(),
            elapsed: Duration::ZERO,
        });
        let run_kill = CancellationToken::new();
        let mut agg = Aggregator::new();
        if plan.deltas {
            agg.enable_deltas();
        }
        let handle = RunnerHandle {
            tx,
            kill: run_kill.clone(),
            events: events.clone(),
            status: status_rx,
            types: types.iter().map(|t| t.name.to_owned()).collect(),
            open_model: plan.arrival.is_some(),
        };
        let mut runner = Runner {
            types,
            slots: Vec::new(),
            stopping: Vec::new(),
            join: JoinSet::new(),
            agg,
            scope: plan.scope,
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
            run_kill,
            rx,
            rx_open: true,
            observers: Vec::new(),
            events,
            status,
            state: RunState::Spawning,
            start: now,
            shape_steers: plan.shape.is_some(),
            shape: plan.shape,
            abort_on: plan.abort_on,
            abort_grace: plan.abort_grace,
            arrival: plan.arrival,
            open: None,
            deltas: plan.deltas,
        };
        runner.set_target(plan.users, plan.spawn_rate);
        Ok((runner, handle))
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
        self.observers.push(observer);
    }

    fn running(&self) -> u32 {
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// Start a user; with `pool`, a pool user of the open model (its first iteration
    /// scheduled at `first`, if any; a pre-allocated one with its first try).
    fn spawn_any(
        &mut self,
        kind: usize,
        pool: Option<(
            arrival::IdlePool,
            Option<Instant>,
            Option<arrival::FirstTry>,
        )>,
    ) {
        let slot = self.slots.len();
        let (tickets, link) = match pool {
            None => (None, None),
            Some((idle, first, first_try)) => {
                let (tx, rx) = mpsc::channel(1);
                (
                    Some(tx),
                    Some(arrival::Link {
                        tickets: rx,
                        slot,
                        first,
                        starting: Some(arrival::Starting::new(&idle)),
                        first_try,
                        idle,
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
            feeds: crate::feed::UserFeeds::default(),
        };
        let stop = CancellationToken::new();
        let kill = self.run_kill.child_token();
        let fut = (t.spawn)(
            ctx,
            user_loop::Control {
                stop: signal::Signal::new(stop.clone()),
                kill: signal::Signal::new(kill.clone()),
                limits: t.limits.clone(),
            },
            link,
        );
        // Every log line of the user carries its type and id (and, from the run's span,
        // the run id).
        let span = tracing::info_span!("user", user_type = t.name, user_id = id);
        let abort = self.join.spawn(tracing::Instrument::instrument(fut, span));
        self.slots.push(Slot {
            kind,
            stop,
            kill,
            abort,
            tickets,
        });
    }

    /// Apply one command; `Some` when it ends the run.
    fn command(&mut self, cmd: Command) -> Option<StopReason> {
        match cmd {
            Command::SetUsers { users, spawn_rate } => {
                if let Some(open) = self.open.as_mut() {
                    open.set_max_users(users, self.slots.len());
                } else {
                    self.shape_steers = false;
                    self.set_target(users, spawn_rate);
                    self.begin_spawning();
                }
            }
            Command::SetUserCounts { counts, spawn_rate } => {
                if self.open.is_some() {
                    tracing::warn!("set user counts ignored: the open model sizes its own pool");
                } else {
                    self.shape_steers = false;
                    self.set_counts(&counts, spawn_rate);
                    self.begin_spawning();
                }
            }
            Command::SetSpawnRate(rate) => {
                if self.open.is_none() && rate.is_finite() && rate > 0.0 {
                    self.restart_ramp(rate, true);
                }
            }
            Command::SetArrivalRate(rate) => match self.open.as_mut() {
                Some(open) if rate.is_finite() && rate > 0.0 => {
                    open.set_rate(rate, Instant::now());
                }
                Some(_) => {}
                None => tracing::warn!("set arrival rate ignored: this run is closed-model"),
            },
            Command::ResetStats => {
                self.agg.reset();
            }
            Command::Stop => return Some(StopReason::Stopped),
            Command::End(reason) => return Some(reason),
            Command::Snapshot { reply, history } => {
                self.agg.collect();
                let _ = reply.send(self.agg.snapshot_with(self.running(), history));
            }
            Command::TakeStats(reply) => {
                self.agg.collect();
                let _ = reply.send(self.agg.take_delta());
            }
        }
        None
    }

    /// When the run ends by its clock: the run time, and for the open model the end of
    /// its schedule.
    fn deadline(&self) -> Option<Instant> {
        let by_time = self.run_time.map(|d| self.start + d);
        match &self.open {
            Some(open) => Some(by_time.map_or(open.end(), |t| t.min(open.end()))),
            None => by_time,
        }
    }

    /// Whether an abort-on-fail threshold fails now (after the grace time).
    fn threshold_abort(&mut self, elapsed: Duration) -> bool {
        if self.abort_on.is_empty() || elapsed < self.abort_grace {
            return false;
        }
        let snap = self.agg.snapshot_with(self.running(), false);
        self.abort_on.iter().any(|t| !t.evaluate(&snap).passed)
    }

    pub(crate) async fn run(mut self) -> RunOutcome {
        self.agg.reset();
        self.start = Instant::now();
        self.ramp_start = self.start;
        let _ = self.events.send(RunEvent::State(RunState::Spawning));
        // The open model: the pool first; its schedule and the run's clock start once the
        // pre-allocated users are ready.
        let mut ended = None;
        if let Some(plan) = self.arrival.take() {
            self.start_open(plan);
            ended = self.prepare_pool().await;
        }
        let start = self.start;
        let far = start + Duration::from_secs(86_400 * 365);
        let mut tick = tokio::time::interval_at(start + self.tick, self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        let timer = precise::Timer::new(self.open.as_ref().is_some_and(OpenModel::precise));
        let reason = if let Some(reason) = ended {
            reason
        } else if self.follow_shape(Duration::ZERO) {
            self.publish();
            self.main_loop(&mut tick, far, &timer).await
        } else {
            StopReason::ShapeDone
        };

        self.set_state(RunState::Stopping);
        if let Some(open) = self.open.as_mut() {
            self.agg.set_dropped(open.finish());
            // Pool users waiting for a ticket stop at once; busy ones get the stop timeout.
            for slot in &mut self.slots {
                slot.tickets = None;
            }
        }
        self.stop_all().await;
        self.agg.tick(0);
        if self.deltas {
            let _ = self
                .events
                .send(RunEvent::FinalStats(Arc::new(self.agg.take_delta())));
        }
        let snapshot = self.agg.snapshot(0);
        self.set_state(RunState::Stopped);
        RunOutcome { snapshot, reason }
    }

    async fn main_loop(
        &mut self,
        tick: &mut tokio::time::Interval,
        far: Instant,
        timer: &precise::Timer,
    ) -> StopReason {
        let start = self.start;
        loop {
            let deadline = self.deadline();
            let step_at = self.needs_change().then(|| self.next_step_at());
            let wake_at = self
                .open
                .as_ref()
                .and_then(|o| o.next_wake(self.slots.len()));
            let kill_at = self.stopping.iter().map(|(t, _)| *t).min();
            tokio::select! {
                biased;
                cmd = self.rx.recv(), if self.rx_open => match cmd {
                    Some(cmd) => {
                        if let Some(reason) = self.command(cmd) {
                            return reason;
                        }
                        self.steps_due();
                    }
                    None => {
                        // No one can send commands any more: a run with no end of its
                        // own ends now; others go on to their end.
                        if deadline.is_none() && self.shape.is_none() {
                            return StopReason::Detached;
                        }
                        self.rx_open = false;
                    }
                },
                () = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() => {
                    return StopReason::RunTime;
                }
                () = tokio::time::sleep_until(step_at.unwrap_or(far)), if step_at.is_some() => {
                    self.steps_due();
                }
                () = timer.sleep_until(wake_at.unwrap_or(far)), if wake_at.is_some() => {
                    self.dispatch_due();
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
                        return StopReason::ShapeDone;
                    }
                    self.steps_due();
                    self.on_tick();
                    if self.threshold_abort(start.elapsed()) {
                        return StopReason::ThresholdAbort;
                    }
                }
                Some(done) = self.join.join_next_with_id(), if !self.join.is_empty() => {
                    self.user_ended(match &done {
                        Ok((id, ())) => *id,
                        Err(e) => e.id(),
                    });
                }
            }
            self.publish();
        }
    }

    /// A user's task ended. One the runner had not stopped ended by itself (a feeder ran
    /// out in its task or its `on_start`): in the closed model it no longer counts as
    /// running, and the ramp does not replace it until the next target. Pool users of the
    /// open model keep their slot (the pool's numbering), and their iterations go to others.
    fn user_ended(&mut self, id: tokio::task::Id) {
        if self.open.is_some() {
            return;
        }
        if let Some(pos) = self.slots.iter().rposition(|s| s.abort.id() == id) {
            let slot = self.slots.remove(pos);
            let t = &mut self.types[slot.kind];
            // Going down to a lower target, its leaving is one step down; otherwise it
            // keeps its place in the target.
            if t.counted() <= t.target {
                t.left += 1;
            }
            t.running -= 1;
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
        if tokio::time::timeout(self.stop_timeout.max(IN_FLIGHT_GRACE), drained)
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
