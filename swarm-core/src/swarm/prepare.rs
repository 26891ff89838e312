//! Checking a run's settings and building its runner, before any load.

use std::sync::Arc;

use super::Swarm;
use crate::config::{parse_host_for, Config};
use crate::error::{ConfigError, Error};
use crate::feed::FeedSet;
use crate::report::RunInfo;
use crate::runner::{Plan, Runner, RunnerHandle};
use crate::shape::LoadShape;
use crate::threshold::Threshold;

impl Swarm {
    #[allow(clippy::type_complexity)]
    pub(super) fn prepare(mut self) -> Result<Prepared, Error> {
        if let Some(h) = self.host.take() {
            self.config.host = Some(parse_host_for("host", &h)?);
        }
        if let Some(e) = self.bad_threshold {
            return Err(e.into());
        }
        let config = self.config;
        let arrival = config.checked()?;
        if config.insecure || config.shared_pool {
            self.scope.insert_arc(Arc::new(crate::TransportOptions {
                insecure: config.insecure,
                shared_pool: config.shared_pool,
            }));
        }
        if !self.named.is_empty() {
            let named = std::mem::take(&mut self.named);
            self.specs.extend(crate::user::specs_named(&named)?);
        }
        if self.specs.is_empty() {
            return Err(crate::error::ConfigError::NoUserTypes.into());
        }
        let feeds = crate::feed::resolve(std::mem::take(&mut self.feeds), &config.feeds)?;
        let feeds = Arc::new(FeedSet::new(feeds, self.feed_partition)?);
        if !feeds.is_empty() {
            self.scope.insert_arc(feeds.clone());
        }
        let seed = config.seed.unwrap_or_else(rand::random);
        let baseline = config
            .baseline
            .as_ref()
            .map(crate::report::Baseline::load)
            .transpose()?;
        let thresholds = config
            .thresholds
            .iter()
            .map(|t| t.resolve(baseline.as_ref().map(|b| &b.snapshot)))
            .collect::<Result<Vec<Threshold>, _>>()
            .map_err(ConfigError::from)?;
        let shape = self.shape.or_else(|| {
            config
                .shape
                .clone()
                .map(|s| Box::new(s) as Box<dyn LoadShape>)
        });
        let (mut runner, handle) = Runner::new(Plan {
            specs: self.specs,
            users: config.users,
            spawn_rate: config.spawn_rate,
            run_time: config.run_time,
            stop_timeout: config.stop_timeout,
            host: config.host.clone(),
            seed,
            tags: config.tags.clone(),
            exclude_tags: config.exclude_tags.clone(),
            shape,
            abort_on: if config.threshold_abort {
                thresholds.clone()
            } else {
                thresholds
                    .iter()
                    .filter(|t| t.abort_on_fail)
                    .cloned()
                    .collect()
            },
            abort_grace: config.threshold_grace,
            arrival,
            max_rps: config.max_rps.and_then(crate::rate::RateLimiter::new),
            deltas: self.deltas,
            scope: self.scope,
        })?;
        feeds.bind(handle.downgrade());
        let info = RunInfo {
            users: config.users,
            spawn_rate: config.spawn_rate,
            run_time_secs: config.run_time.map(|d| d.as_secs_f64()),
            host: config.host.as_ref().map(ToString::to_string),
            user_types: runner.type_names(),
            seed,
            run_id: format!("{:016x}", rand::random::<u64>()),
        };
        for obs in self.observers {
            runner.observe(obs);
        }
        Ok(Prepared {
            runner,
            handle,
            config,
            info,
            thresholds,
            baseline,
            feeds,
        })
    }
}

/// A run ready to start: what [`Swarm::prepare`] checked and built.
pub(super) struct Prepared {
    pub(super) runner: Runner,
    pub(super) handle: RunnerHandle,
    pub(super) config: Config,
    pub(super) info: RunInfo,
    /// With their baseline limits resolved.
    pub(super) thresholds: Vec<Threshold>,
    pub(super) baseline: Option<crate::report::Baseline>,
    /// The run's feeders: the report names those that ran out.
    pub(super) feeds: Arc<FeedSet>,
}
