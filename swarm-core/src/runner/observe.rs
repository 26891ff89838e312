//! What subscribers and observers see: per-second progress, the run state and the
//! per-type counts.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Progress, ProgressEvent, RunEvent, RunState, RunStatus, Runner};

impl Runner {
    pub(super) fn on_tick(&mut self) {
        let users = self.running();
        if let Some(open) = &self.open {
            self.agg.set_dropped(open.tick());
        }
        self.agg.tick(users);
        let elapsed = self.start.elapsed();
        if let Some(row) = self.agg.last_row() {
            for obs in &mut self.observers {
                obs(&Progress {
                    elapsed,
                    users,
                    target_users: self.target,
                    row,
                });
            }
            if self.events.receiver_count() > 0 {
                let _ = self.events.send(RunEvent::Progress(ProgressEvent {
                    elapsed,
                    users,
                    target_users: self.target,
                    row: Arc::new(row.clone()),
                }));
            }
        }
    }

    /// Publish the state and the per-type counts when they changed, with a
    /// spawning-complete event when every type reached its target.
    pub(super) fn publish(&mut self) {
        let state = match self.state {
            RunState::Spawning | RunState::Running => {
                if self.needs_change() {
                    RunState::Spawning
                } else {
                    RunState::Running
                }
            }
            other => other,
        };
        let users = self.running();
        let target = if self.open.is_some() {
            users
        } else {
            self.target
        };
        let changed_state = state != self.state;
        self.state = state;
        let counts_changed = {
            let cur = self.status.borrow();
            cur.users != users
                || cur.target_users != target
                || cur.state != state
                || self
                    .types
                    .iter()
                    .any(|t| cur.user_counts.get(t.name).copied() != Some(t.running))
        };
        if counts_changed {
            let user_counts: BTreeMap<String, u32> = self
                .types
                .iter()
                .map(|t| (t.name.to_owned(), t.running))
                .collect();
            let elapsed = self.start.elapsed();
            self.status.send_replace(RunStatus {
                state,
                users,
                target_users: target,
                user_counts: user_counts.clone(),
                elapsed,
            });
            if changed_state {
                let _ = self.events.send(RunEvent::State(state));
                if state == RunState::Running {
                    let _ = self
                        .events
                        .send(RunEvent::SpawningComplete { user_counts, users });
                }
            }
        }
    }

    /// Move to a final state and tell the subscribers.
    pub(super) fn set_state(&mut self, state: RunState) {
        self.state = state;
        let users = self.running();
        self.status.send_modify(|s| {
            s.state = state;
            s.users = users;
        });
        let _ = self.events.send(RunEvent::State(state));
    }
}
