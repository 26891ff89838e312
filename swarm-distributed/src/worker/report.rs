//! What a worker sends: its statistics reports (the core's deltas in Locust's wire form,
//! with the exceptions) and single messages.

use std::collections::BTreeMap;

use swarm_core::StatsDelta;

use super::{ActiveRun, MAX_EXCEPTIONS_PER_REPORT};
use crate::proto::WorkerMessage;
use crate::session::WorkerSession;
use crate::stats::{EntryDelta, StatsError};
use crate::transport::Connection;

/// What this worker shipped to its master, in all.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Shipped {
    pub(super) requests: u64,
    pub(super) failures: u64,
}

pub(super) fn running_counts(run: Option<&ActiveRun>) -> BTreeMap<String, u64> {
    run.map(|r| to_u64(&r.handle.status().borrow().user_counts))
        .unwrap_or_default()
}

pub(super) fn to_u64(counts: &BTreeMap<String, u32>) -> BTreeMap<String, u64> {
    counts
        .iter()
        .map(|(k, v)| (k.clone(), u64::from(*v)))
        .collect()
}

/// Send a `stats` report of `delta` (or an idle one), and its exceptions; a report
/// that cannot be sent goes out with the next one.
pub(super) async fn ship(
    link: &mut Connection,
    session: &mut WorkerSession,
    shipped: &mut Shipped,
    delta: Option<&StatsDelta>,
    counts: BTreeMap<String, u64>,
) {
    let (entries, errors) = delta.map(wire).unwrap_or_default();
    if let Some(d) = delta {
        shipped.requests += d.total_requests();
        shipped.failures += d.total_failures();
        tracing::info!(
            requests = d.total_requests(),
            failures = d.total_failures(),
            "report: {} requests, {} failures; in all {} requests, {} failures",
            d.total_requests(),
            d.total_failures(),
            shipped.requests,
            shipped.failures
        );
    }
    let stats = session.stats(&entries, errors, counts);
    if let Err(e) = link.send(&stats).await {
        tracing::warn!("stats report not sent (it goes out with the next): {e}");
        session.requeue(stats);
    }
    let Some(delta) = delta else { return };
    let mut sent = 0;
    for ex in &delta.exceptions {
        for _ in 0..ex.count {
            if sent >= MAX_EXCEPTIONS_PER_REPORT {
                return;
            }
            sent += 1;
            send(
                link,
                &WorkerSession::exception(ex.message.clone(), ex.traceback.clone()),
            )
            .await;
        }
    }
}

/// The core's delta in the wire module's terms.
pub(super) fn wire(delta: &StatsDelta) -> (Vec<EntryDelta>, Vec<StatsError>) {
    let entries = delta
        .entries
        .iter()
        .map(|e| {
            let mut d = EntryDelta::new(e.kind.clone(), e.name.clone());
            d.requests = e.requests;
            d.failures = e.failures;
            d.total_response_time_us = e.total_us;
            d.min_response_time_us = (e.requests > 0).then_some(e.min_us);
            d.max_response_time_us = e.max_us;
            d.content_bytes = e.bytes;
            d.buckets_ms = e.buckets_ms.clone();
            for (sec, (req, fail)) in &e.per_second {
                if *req > 0 {
                    d.requests_per_sec.insert(*sec, *req);
                }
                if *fail > 0 {
                    d.failures_per_sec.insert(*sec, *fail);
                }
            }
            d.first_request = Some(e.first_unix);
            d.last_request = Some(e.last_unix);
            d
        })
        .collect();
    let errors = delta
        .errors
        .iter()
        .map(|e| StatsError {
            name: e.name.clone(),
            method: e.kind.clone(),
            error: e.message.clone(),
            occurrences: e.occurrences,
            first_seen: Some(e.first_seen as f64),
            last_seen: Some(e.last_seen as f64),
        })
        .collect();
    (entries, errors)
}

/// Forget a report that could not be sent (the session keeps it for the next).
pub(super) fn drop_unsent(session: &mut WorkerSession) {
    let _ = session.stats(&[], [], BTreeMap::new());
}

/// Send one message; a failure is logged (the session re-sends what matters).
pub(super) async fn send(link: &mut Connection, message: &WorkerMessage) {
    if let Err(e) = link.send(message).await {
        tracing::warn!(
            message = message.message_type(),
            "not sent to the Locust master: {e}"
        );
    }
}
