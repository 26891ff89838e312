//! What the master does with each message from a worker, and with its heartbeat tick.

use super::*;

impl Master {
    pub(super) async fn on_incoming(&mut self, incoming: Incoming) {
        let Incoming { identity, message } = incoming;
        let envelope = match message {
            Ok(e) => e,
            Err(e) => {
                self.on_bad(&identity, &e);
                return;
            }
        };
        if envelope.node_id != identity && self.bad.insert(format!("id:{identity}"), 1).is_none() {
            tracing::warn!(
                "worker {identity} puts node id {:?} in its messages: the ZeroMQ identity is used",
                envelope.node_id
            );
        }
        tracing::debug!(message = %envelope.message, "from worker {identity}");
        match envelope.message {
            WorkerMessage::ClientReady { version } => self.on_ready(&identity, version).await,
            WorkerMessage::Heartbeat(h) => {
                let Some(w) = self.workers.get_mut(&identity) else {
                    tracing::debug!("heartbeat from unknown worker {identity}");
                    return;
                };
                w.liveness = HEARTBEAT_LIVENESS;
                if w.info.state == WorkerState::Missing {
                    eprintln!(
                        "master: worker {identity} self-healed with heartbeat, setting state to {}",
                        h.state.as_str()
                    );
                }
                if !w.info.quit {
                    w.info.state = h.state;
                }
                w.info.cpu_percent = h.current_cpu_usage;
                w.info.memory_bytes = h.current_memory_usage;
                self.server.send(&identity, &MasterMessage::Heartbeat).await;
                self.publish();
            }
            WorkerMessage::Stats(report) => {
                self.agg.add(&identity, &report);
                self.last_stats_at = epoch_now();
                if let Some(w) = self.workers.get_mut(&identity) {
                    if w.active() {
                        w.info.user_classes_count = report.user_classes_count.clone();
                    }
                }
                self.publish();
            }
            WorkerMessage::Spawning => match self.workers.get_mut(&identity) {
                Some(w) => w.info.state = WorkerState::Spawning,
                None => {
                    tracing::warn!("spawning from unknown worker {identity}: asking it to quit");
                    self.server.send(&identity, &MasterMessage::Quit).await;
                }
            },
            WorkerMessage::SpawningComplete(s) => match self.workers.get_mut(&identity) {
                Some(w) => {
                    w.info.state = WorkerState::Running;
                    w.info.user_classes_count = s.user_classes_count;
                    self.publish();
                }
                None => {
                    tracing::warn!(
                        "spawning_complete from unknown worker {identity}: asking it to quit"
                    );
                    self.server.send(&identity, &MasterMessage::Quit).await;
                }
            },
            WorkerMessage::ClientStopped => {
                if let Some(w) = self.workers.get_mut(&identity) {
                    w.stopped = true;
                    w.info.state = WorkerState::Ready;
                    w.info.user_classes_count.clear();
                    eprintln!(
                        "master: worker {identity} (index {}) reported that it has stopped",
                        w.info.index
                    );
                    self.publish();
                }
            }
            WorkerMessage::Quit => {
                if let Some(w) = self.workers.get_mut(&identity) {
                    w.info.quit = true;
                    w.info.state = WorkerState::Stopped;
                    w.info.user_classes_count.clear();
                    eprintln!("master: worker {identity} (index {}) quit", w.info.index);
                    self.publish();
                }
            }
            WorkerMessage::Exception(e) => self.agg.add_exception(&e.msg, &e.traceback),
            WorkerMessage::Logs(_) => {}
            WorkerMessage::Custom { message_type, .. } => {
                tracing::debug!(%message_type, "custom message from worker {identity}");
            }
        }
    }

    async fn on_ready(&mut self, identity: &str, version: String) {
        if version != crate::LOCUST_VERSION && version != "-1" {
            let same_minor = version.get(0..4) == crate::LOCUST_VERSION.get(0..4);
            if !same_minor {
                tracing::warn!(
                    "worker {identity} runs a different version ({version}) of the master/worker \
                     protocol; this master speaks Locust {}'s. It is registered anyway (as Locust's \
                     master does); if it misbehaves, run workers of Locust {}",
                    crate::LOCUST_VERSION,
                    crate::LOCUST_VERSION
                );
            }
        }
        let next = self.indexes.len() as u64;
        let index = *self.indexes.entry(identity.to_owned()).or_insert(next);
        self.server
            .send(
                identity,
                &MasterMessage::Ack(Ack {
                    index: i64::try_from(index).ok(),
                }),
            )
            .await;
        let known = self.workers.contains_key(identity);
        let w = self
            .workers
            .entry(identity.to_owned())
            .or_insert_with(|| Worker {
                info: WorkerInfo {
                    id: identity.to_owned(),
                    index,
                    state: WorkerState::Ready,
                    user_classes_count: BTreeMap::new(),
                    cpu_percent: 0.0,
                    memory_bytes: 0,
                    version: version.clone(),
                    requests: 0,
                    failures: 0,
                    quit: false,
                },
                liveness: HEARTBEAT_LIVENESS,
                stopped: false,
            });
        w.info.version = version;
        w.info.state = WorkerState::Ready;
        w.info.quit = false;
        w.liveness = HEARTBEAT_LIVENESS;
        let ready = self.ready_workers().len();
        if !known {
            eprintln!(
                "master: worker {identity} (index {index}) reported as ready. {ready} workers connected."
            );
            if self.started {
                tracing::info!("worker {identity} joined a test that runs: it gets users in the next test (no rebalancing, as Locust's default)");
            }
        }
        self.publish();
    }

    fn on_bad(&mut self, identity: &str, e: &ProtoError) {
        let n = self.bad.entry(identity.to_owned()).or_default();
        *n += 1;
        if let ProtoError::Data { message_type, .. } = e {
            if message_type == "client_ready" {
                tracing::error!(
                    "worker {identity} sent client_ready without a usable version ({e}): an old \
                     (pre 2.0) Locust worker? Not registered"
                );
                return;
            }
        }
        if *n <= 3 || n.is_power_of_two() {
            tracing::error!(
                "worker {identity} sent a message this master cannot read ({e}; {n} so far); this \
                 master speaks the master/worker protocol of Locust {}: the message is skipped",
                crate::LOCUST_VERSION
            );
        }
    }

    pub(super) fn on_heartbeat_tick(&mut self) {
        let mut changed = false;
        for w in self.workers.values_mut() {
            if !w.active() {
                continue;
            }
            if w.liveness < 0 {
                eprintln!(
                    "master: worker {} failed to send heartbeat, setting state to missing",
                    w.info.id
                );
                w.info.state = WorkerState::Missing;
                w.info.user_classes_count.clear();
                changed = true;
            } else {
                w.liveness -= 1;
            }
        }
        if changed {
            self.publish();
        }
    }
}
