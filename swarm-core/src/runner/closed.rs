//! The closed model's targets: users per type from a total (by weight) or per name, the
//! ramp at the spawn rate, and the load shape that may steer them.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::distribute::distribute;
use super::{RunEvent, RunState, Runner};

impl Runner {
    /// Split `users` over the types: fixed counts first, the rest by weight (largest
    /// remainder, ties to the first declared).
    pub(super) fn set_target(&mut self, users: u32, spawn_rate: f64) {
        self.set_target_from(users, spawn_rate, true);
    }

    /// As [`Runner::set_target`]; when `immediate` is false, the first user starts one
    /// interval (1 / spawn rate) from now rather than at once (a shape's ramp).
    pub(super) fn set_target_from(&mut self, users: u32, spawn_rate: f64, immediate: bool) {
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
            t.left = 0;
        }
        self.target = users;
        self.restart_ramp(spawn_rate, immediate);
    }

    /// Set each type's users by name; types not named get none.
    pub(super) fn set_counts(&mut self, counts: &BTreeMap<String, u32>, spawn_rate: f64) {
        let mut total = 0u32;
        for t in &mut self.types {
            t.target = counts.get(t.name).copied().unwrap_or(0);
            t.left = 0;
            total = total.saturating_add(t.target);
        }
        for name in counts.keys() {
            if !self.types.iter().any(|t| t.name == name) {
                tracing::warn!(user_type = %name, "set user counts: no such user type in this run");
            }
        }
        self.target = total;
        self.restart_ramp(spawn_rate, true);
    }

    /// A command or the shape set new targets: the run is spawning until every type
    /// reaches its target (then a spawning-complete event follows, even when that is at
    /// once, as Locust's worker answers every spawn message).
    pub(super) fn begin_spawning(&mut self) {
        if self.state == RunState::Running {
            self.state = RunState::Spawning;
            let _ = self.events.send(RunEvent::State(RunState::Spawning));
        }
    }

    pub(super) fn restart_ramp(&mut self, spawn_rate: f64, immediate: bool) {
        self.spawn_rate = if spawn_rate.is_finite() && spawn_rate > 0.0 {
            spawn_rate
        } else {
            f64::INFINITY
        };
        self.ramp_start = Instant::now();
        self.ramp_steps = u64::from(!immediate && self.spawn_rate.is_finite());
    }

    /// Ask the shape for its target; `false` when it ends the run. A shape that no longer
    /// steers (a command set the users) is still asked, for its end.
    pub(super) fn follow_shape(&mut self, elapsed: Duration) -> bool {
        let running = self.running();
        let Some(shape) = self.shape.as_mut() else {
            return true;
        };
        match shape.tick(elapsed, running) {
            None => false,
            Some(t) => {
                if !self.shape_steers {
                    return true;
                }
                let rate = if t.spawn_rate.is_finite() && t.spawn_rate > 0.0 {
                    t.spawn_rate
                } else {
                    f64::INFINITY
                };
                if t.users != self.target || rate != self.spawn_rate {
                    self.set_target_from(t.users, rate, false);
                    self.begin_spawning();
                }
                true
            }
        }
    }

    pub(super) fn needs_change(&self) -> bool {
        self.open.is_none() && self.types.iter().any(|t| t.counted() != t.target)
    }

    pub(super) fn next_step_at(&self) -> Instant {
        if self.spawn_rate.is_infinite() {
            return self.ramp_start;
        }
        let secs = self.ramp_steps as f64 / self.spawn_rate;
        self.ramp_start + Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX / 4)
    }

    /// Take every step that is due.
    pub(super) fn steps_due(&mut self) {
        let now = Instant::now();
        while self.needs_change() && self.next_step_at() <= now {
            self.step();
        }
    }

    /// Start or stop one user, towards the targets.
    pub(super) fn step(&mut self) {
        self.ramp_steps += 1;
        if let Some(kind) = self.kind_to_grow() {
            self.spawn_any(kind, None);
            return;
        }
        let shrink = self
            .types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.running > 0 && t.counted() > t.target)
            .max_by_key(|(_, t)| t.counted() - t.target)
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

    /// The type to start a user of next: types with a fixed count first (Locust spawns
    /// them first), then the type furthest below its share, in proportion; ties go to
    /// the type declared first. `None` when every type has its share.
    pub(super) fn kind_to_grow(&self) -> Option<usize> {
        self.types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.counted() < t.target)
            .max_by(|(_, a), (_, b)| {
                let fa = f64::from(a.target - a.counted()) / f64::from(a.target);
                let fb = f64::from(b.target - b.counted()) / f64::from(b.target);
                (a.fixed.is_some().cmp(&b.fixed.is_some()))
                    .then(fa.total_cmp(&fb))
                    .then(std::cmp::Ordering::Greater)
            })
            .map(|(i, _)| i)
    }
}
