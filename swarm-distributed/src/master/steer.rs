//! The master's run as a machine of stages (idle, ramping, settling, running) that the
//! main loop drives from its timers, its workers' messages and the commands of
//! [`MasterHandle::command`]: start a run, change its users, stop it, reset the stats.

use super::*;
use swarm_core::Snapshot;

/// The answer to a stop; the main loop then stops the workers.
pub(super) const STOPPING: &str = "Test stopped";

/// How often a run's shape and aborting thresholds are looked at (as a local run's).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A run to start (or the new users of the one running).
#[derive(Debug, Clone)]
pub(super) struct Start {
    pub(super) users: u64,
    pub(super) spawn_rate: f64,
    pub(super) host: Option<String>,
    pub(super) run_time: Option<Duration>,
}

/// Where the run is.
#[derive(Debug)]
pub(super) enum Stage {
    /// No run: before the first start, or after a stop.
    Idle,
    /// Sending the ramp's steps; the next one at `next`.
    Ramping {
        dispatcher: Dispatcher,
        next: Instant,
    },
    /// Every step sent: waiting (until `until`) for the workers to report `total` users
    /// before `spawning_complete` (Locust waits 1 s).
    Settling { total: u64, until: Instant },
    /// All users dispatched.
    Running,
}

impl Stage {
    /// A run is on (its users dispatched or being dispatched).
    pub(super) fn active(&self) -> bool {
        !matches!(self, Stage::Idle)
    }
}

impl Master {
    /// When the main loop must look at the run again: the next step, the end of the
    /// settling, the run time, the shape and the aborting thresholds.
    pub(super) fn next_wake(&self) -> Option<Instant> {
        let stage = match &self.stage {
            Stage::Ramping { next, .. } => Some(*next),
            Stage::Settling { until, .. } => Some(*until),
            Stage::Idle | Stage::Running => None,
        };
        [stage, self.run_deadline, self.check_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Something the main loop must act on without a timer: the workers reported every
    /// user of the ramp, or no worker is left in a run.
    pub(super) fn due(&self) -> bool {
        match &self.stage {
            Stage::Idle => false,
            Stage::Settling { total, .. } if self.reported_users() == *total => true,
            _ => self.active_ids().is_empty(),
        }
    }

    /// Act on the run's timers and conditions; why the test ends, if it does.
    pub(super) async fn advance(&mut self, classes: &[UserClass]) -> Option<StopReason> {
        if !self.stage.active() {
            return None;
        }
        let now = Instant::now();
        if self.run_deadline.is_some_and(|d| now >= d) {
            eprintln!("master: run time over: stopping the test");
            self.run_deadline = None;
            if self.autostart {
                return Some(StopReason::RunTime);
            }
            return self.stop_run().await.then_some(StopReason::Stopped);
        }
        if self.active_ids().is_empty() {
            eprintln!("master: no worker is left: stopping the test");
            if self.autostart {
                return Some(StopReason::Stopped);
            }
            self.stage = Stage::Idle;
            self.run_deadline = None;
            self.stopped_at = Some(epoch_now());
            self.handle.update(|s| s.phase = MasterPhase::Stopped);
            return None;
        }
        if self.check_at.is_some_and(|t| now >= t) {
            self.check_at = Some(now + CHECK_EVERY);
            if let Some(reason) = self.check(classes).await {
                return Some(reason);
            }
            if !self.stage.active() {
                return None;
            }
        }
        match &self.stage {
            Stage::Ramping { next, .. } if now >= *next => self.step().await,
            Stage::Settling { total, until }
                if now >= *until || self.reported_users() == *total =>
            {
                let (total, done) = (*total, self.reported_users() == *total);
                let message =
                    MasterMessage::SpawningComplete(MasterSpawningComplete { user_count: total });
                for id in self.active_ids() {
                    self.server.send(&id, &message).await;
                }
                eprintln!(
                    "master: {}: {}",
                    if done {
                        "All users spawned"
                    } else {
                        "Spawning is complete and report waittime is expired, but not all reports received from workers"
                    },
                    format_counts(&self.reported_counts())
                );
                self.stage = Stage::Running;
                self.handle.update(|s| s.phase = MasterPhase::Running);
            }
            _ => {}
        }
        None
    }

    /// Once a second in a run: end it when an aborting threshold fails (after the grace)
    /// or the shape is done; otherwise take the shape's new target, as Locust's master
    /// does with a `LoadTestShape`. The thresholds are checked once every worker has
    /// reported, on the statistics as of the last report: the workers report every 3 s,
    /// and a rate over the time since would read low (0 before the first report).
    async fn check(&mut self, classes: &[UserClass]) -> Option<StopReason> {
        let elapsed = self.run_began.elapsed();
        let users = u32::try_from(self.reported_users()).unwrap_or(u32::MAX);
        let all_reported = || {
            let ids = self.active_ids();
            !ids.is_empty() && ids.iter().all(|id| self.agg.has_reported(id))
        };
        if !self.abort_on.is_empty() && elapsed >= self.config.threshold_grace && all_reported() {
            let end = self.last_stats_at.max(self.run_start);
            let snap = self.agg.snapshot(self.run_start, end, users);
            if let Some(failed) = self
                .abort_on
                .iter()
                .map(|t| t.evaluate(&snap))
                .find(|r| !r.passed)
            {
                eprintln!("master: threshold failed ({failed}): stopping the test");
                return self.end_run(StopReason::ThresholdAbort).await;
            }
        }
        let target = self.shape.as_mut().map(|s| s.tick(elapsed, users));
        match target {
            None => None,
            Some(None) => {
                eprintln!("master: the load shape is done: stopping the test");
                self.end_run(StopReason::ShapeDone).await
            }
            Some(Some(t)) => {
                if self.shape_steers && self.shape_last != Some((t.users, t.spawn_rate)) {
                    self.shape_last = Some((t.users, t.spawn_rate));
                    let run = Start {
                        users: u64::from(t.users),
                        spawn_rate: t.spawn_rate,
                        host: None,
                        run_time: None,
                    };
                    self.begin(&run, classes).await;
                }
                None
            }
        }
    }

    /// The run ends for `reason`: the test with it when the master started by itself,
    /// else the run alone (the master waits for the next start); `Stopped` when a signal
    /// came meanwhile.
    async fn end_run(&mut self, reason: StopReason) -> Option<StopReason> {
        if self.autostart {
            return Some(reason);
        }
        self.stop_run().await.then_some(StopReason::Stopped)
    }

    /// Send the ramp's next step; on the last, go settling.
    async fn step(&mut self) {
        let Stage::Ramping { mut dispatcher, .. } = std::mem::replace(&mut self.stage, Stage::Idle)
        else {
            return;
        };
        let more = match dispatcher.next_step() {
            Some((step, more)) => {
                self.send_spawns(step).await;
                more
            }
            None => false,
        };
        self.stage = if more {
            Stage::Ramping {
                next: Instant::now() + dispatcher.wait(),
                dispatcher,
            }
        } else {
            Stage::Settling {
                total: dispatcher.totals().values().sum(),
                until: Instant::now() + self.options.ramp_up_report_wait,
            }
        };
    }

    /// `spawn` of these absolute counts to each of their workers.
    async fn send_spawns(&mut self, step: dispatch::Dispatch) {
        let timestamp = epoch_now();
        let step_users: u64 = step.values().flat_map(BTreeMap::values).sum();
        self.dispatched = step_users;
        tracing::info!(
            "dispatch step: {step_users} users over {} workers",
            step.len()
        );
        let options = parsed_options(&self.config, self.expected, self.host.as_deref());
        for (worker, counts) in step {
            let spawn = Spawn {
                timestamp,
                user_classes_count: counts,
                host: self.host.clone(),
                stop_timeout: Some(self.config.stop_timeout.as_secs_f64()),
                parsed_options: options.clone(),
            };
            if self.workers.get(&worker).is_some_and(Worker::active) {
                self.server
                    .send(&worker, &MasterMessage::Spawn(Box::new(spawn)))
                    .await;
            }
        }
    }

    /// Start a run, or change the users of the one on.
    pub(super) async fn begin(&mut self, run: &Start, classes: &[UserClass]) {
        let workers = self.ready_workers();
        let fresh = !self.stage.active();
        // What the workers were told last (their reports may lag behind it).
        let current = if fresh { 0 } else { self.dispatched };
        if fresh {
            let now = epoch_now();
            self.agg = Aggregate::new(now);
            self.run_start = now;
            self.stopped_at = None;
            self.started = true;
            // The page shows the new run's (empty) statistics at once.
            self.publish();
            self.publish_snapshot();
            self.run_deadline = run.run_time.map(|t| Instant::now() + t);
            self.run_began = Instant::now();
            self.check_at = (self.shape.is_some() || !self.abort_on.is_empty())
                .then(|| self.run_began + CHECK_EVERY);
            if run.host.is_some() {
                self.host.clone_from(&run.host);
            }
            let (ctx, types) = (Arc::clone(&self.ctx), self.types.clone());
            let (users, rate, host) = (run.users, run.spawn_rate, run.host.clone());
            let run_time = run.run_time.map(|t| t.as_secs_f64());
            self.handle.set_reporter(Reporter(Arc::new(move |snap| {
                let mut report = ctx
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .report_of(snap, types.clone());
                report.info.users = u32::try_from(users).unwrap_or(u32::MAX);
                if rate.is_finite() {
                    report.info.spawn_rate = rate;
                }
                if host.is_some() {
                    report.info.host.clone_from(&host);
                }
                report.info.run_time_secs = run_time;
                report
            })));
            eprintln!(
                "master: sending spawn jobs of {} users at {:.2} spawn rate to {} ready workers",
                run.users,
                run.spawn_rate,
                workers.len()
            );
        } else {
            eprintln!(
                "master: changing the run from {current} to {} users at {:.2} spawn rate over {} ready workers",
                run.users,
                run.spawn_rate,
                workers.len()
            );
        }
        self.target_users = run.users;
        let users = run.users;
        self.handle.update(|s| {
            s.phase = MasterPhase::Spawning;
            s.target_users = users;
        });
        // From the users running (spread over the ready workers as a ramp from zero
        // would), up or down to the new count at the spawn rate.
        let mut dispatcher =
            Dispatcher::new(&workers, classes, run.users.max(current), run.spawn_rate);
        dispatcher.fast_forward(current);
        dispatcher.retarget(run.users);
        if !fresh && run.users == current {
            // The same count (a new spawn rate): the counts once more.
            self.send_spawns(dispatcher.counts()).await;
            self.stage = Stage::Settling {
                total: current,
                until: Instant::now() + self.options.ramp_up_report_wait,
            };
            return;
        }
        self.stage = Stage::Ramping {
            dispatcher,
            next: Instant::now(),
        };
        self.step().await;
    }

    /// Carry out a start or a stop; the answer for the command's sender.
    pub(super) async fn on_command(
        &mut self,
        command: MasterCommand,
        classes: &[UserClass],
    ) -> Result<String, CommandError> {
        match command {
            MasterCommand::Start {
                users,
                spawn_rate,
                host,
                run_time,
            } => {
                let on = self.stage.active();
                if on && run_time.is_some() {
                    return Err(CommandError::Refused(
                        "run_time can only be set when a run starts; stop this one first"
                            .to_owned(),
                    ));
                }
                if on && host.as_ref().is_some_and(|h| Some(h) != self.host.as_ref()) {
                    return Err(CommandError::Refused(
                        "the host can only be changed when a run starts; stop this one first"
                            .to_owned(),
                    ));
                }
                if self.ready_workers().is_empty() {
                    return Err(CommandError::Refused(
                        "no worker is connected: start workers first (--worker, or locust --worker)"
                            .to_owned(),
                    ));
                }
                let run = Start {
                    users,
                    spawn_rate,
                    host,
                    run_time,
                };
                // A command sets the users for the rest of the run (as in a local run).
                self.shape_steers = false;
                self.begin(&run, classes).await;
                Ok(if on {
                    "Users changed"
                } else {
                    "Swarming started"
                }
                .to_owned())
            }
            MasterCommand::Stop => Ok(STOPPING.to_owned()),
            MasterCommand::ResetStats => {
                self.reset_stats();
                Ok("ok".to_owned())
            }
        }
    }

    /// Stop the run's users; the workers go back to ready. `true` when a signal came
    /// meanwhile (the test ends).
    pub(super) async fn stop_run(&mut self) -> bool {
        if !self.stage.active() {
            return false;
        }
        self.handle.update(|s| s.phase = MasterPhase::Stopping);
        self.stage = Stage::Idle;
        self.run_deadline = None;
        self.check_at = None;
        // A shape runs once: a later start takes the users it is given.
        self.shape = None;
        self.stopped_at = Some(epoch_now());
        let stopping = self.active_ids();
        for id in &stopping {
            if let Some(w) = self.workers.get_mut(id) {
                w.stopped = false;
            }
            self.server.send(id, &MasterMessage::Stop).await;
        }
        let deadline = Instant::now() + self.config.stop_timeout + self.options.stop_grace;
        let woke = self
            .wait(Some(deadline), |m| {
                stopping
                    .iter()
                    .all(|id| m.workers.get(id).is_none_or(|w| w.stopped || !w.active()))
            })
            .await;
        if matches!(woke, Woke::Deadline) {
            tracing::warn!("timeout waiting for all workers to stop");
        }
        self.target_users = 0;
        self.handle.update(|s| {
            s.phase = MasterPhase::Stopped;
            s.target_users = 0;
        });
        self.publish_snapshot();
        eprintln!("master: the run stopped; the workers are ready for the next start");
        matches!(woke, Woke::Signal)
    }

    /// Forget the statistics so far (Locust's `/stats/reset`); the run goes on.
    pub(super) fn reset_stats(&mut self) {
        let now = epoch_now();
        self.agg.reset(now);
        if self.stage.active() {
            self.run_start = now;
        }
        self.publish();
        self.publish_snapshot();
    }

    /// The report of `snapshot`, as the handle's reporter builds it (the command line's
    /// settings before any run).
    pub(super) fn report_of(&self, snapshot: Snapshot) -> swarm_core::Report {
        let reporter = Reporter(Arc::new({
            let (ctx, types) = (Arc::clone(&self.ctx), self.types.clone());
            move |snap| {
                ctx.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .report_of(snap, types.clone())
            }
        }));
        (self.handle.reporter().unwrap_or(reporter).0)(snapshot)
    }

    /// The statistics so far to the handle.
    pub(super) fn publish_snapshot(&self) {
        if !self.started {
            return;
        }
        let users = u32::try_from(self.reported_users()).unwrap_or(u32::MAX);
        let end = self.stopped_at.unwrap_or_else(epoch_now);
        self.handle
            .set_snapshot(self.agg.snapshot(self.run_start, end, users));
    }
}
