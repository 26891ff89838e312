//! The control plane under Tokio's paused clock: per-type counts changed mid-run, users
//! set under a shape, the arrival rate changed in the open model, statistics reset and
//! deltas, several subscribers, per-run settings and user types by name.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{
    CommandError, ConfigError, Error, LoadShape, RunEvent, RunState, ShapeTarget, StopReason,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Counts its iterations into the run's `Counter` setting; records one 2.5 ms request
/// (and every tenth a failure) per iteration.
struct Web;
struct Admin;

#[derive(Default)]
struct Counter(AtomicU64);

async fn iterate(ctx: &mut UserContext) -> TaskResult {
    let counter = ctx
        .setting::<Counter>()
        .ok_or_else(|| TaskError::new("no Counter setting"))?;
    let n = counter.0.fetch_add(1, Ordering::SeqCst);
    let sample = Sample::new("GET", ctx.user_type(), Duration::from_micros(2_500)).bytes(10);
    if n % 10 == 9 {
        ctx.recorder().record(&sample.failure("every tenth"));
    } else {
        ctx.recorder().record(&sample);
    }
    Ok(())
}

#[async_trait]
impl User for Web {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Web)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("get", Self::get)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(1))
    }
}

#[async_trait]
impl User for Admin {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Admin)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("get", Self::get)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(secs(1))
    }
    fn weight() -> u32 {
        3
    }
}

impl Web {
    async fn get(&mut self, ctx: &mut UserContext) -> TaskResult {
        iterate(ctx).await
    }
}

impl Admin {
    async fn get(&mut self, ctx: &mut UserContext) -> TaskResult {
        iterate(ctx).await
    }
}

swarm_core::register_user!(Web, Admin);

fn counts(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test(start_paused = true)]
async fn per_type_counts_change_mid_run_and_subscribers_see_them() {
    let (handle, report) = Swarm::new()
        .user::<Web>()
        .user::<Admin>()
        .users(4)
        .spawn_rate(100.0)
        .run_time(secs(20))
        .setting(Counter::default())
        .start()
        .unwrap();
    let mut events_a = handle.subscribe();
    let mut events_b = handle.subscribe();
    let mut status = handle.status();

    // Weight 1:3 splits 4 users into 1 Web and 3 Admin.
    status
        .wait_for(|s| s.state == RunState::Running && s.users == 4)
        .await
        .unwrap();
    assert_eq!(
        status.borrow().user_counts,
        counts(&[("Admin", 3), ("Web", 1)])
    );

    // A Locust master's absolute per-type targets.
    handle
        .set_user_counts([("Web", 5), ("Admin", 0)], 0.0)
        .unwrap();
    status
        .wait_for(|s| {
            s.state == RunState::Running && s.user_counts == counts(&[("Admin", 0), ("Web", 5)])
        })
        .await
        .unwrap();
    assert_eq!(status.borrow().users, 5);
    assert_eq!(status.borrow().target_users, 5);

    // Unknown names and the wrong model are refused before anything is sent.
    let err = handle.set_user_counts([("Nobody", 1)], 1.0).unwrap_err();
    assert!(
        matches!(&err, CommandError::UnknownUserType { name, known } if name == "Nobody" && known.len() == 2),
        "{err}"
    );
    assert!(matches!(
        handle.set_arrival_rate(5.0),
        Err(CommandError::WrongModel { .. })
    ));
    assert!(matches!(
        handle.set_spawn_rate(-1.0),
        Err(CommandError::InvalidRate { .. })
    ));

    tokio::time::sleep(secs(3)).await;
    assert!(handle.stop());
    let report = report.await.unwrap();
    assert_eq!(report.reason, StopReason::Stopped);

    // Both subscribers saw the same story: running with 1+3, then with 0+5, then the end.
    for events in [&mut events_a, &mut events_b] {
        let mut complete = Vec::new();
        let mut states = Vec::new();
        let mut progress = 0;
        while let Ok(ev) = events.try_recv() {
            match ev {
                RunEvent::SpawningComplete { user_counts, users } => {
                    complete.push((user_counts, users));
                }
                RunEvent::State(s) => states.push(s),
                RunEvent::Progress(_) => progress += 1,
                _ => {}
            }
        }
        assert_eq!(
            complete,
            [
                (counts(&[("Admin", 3), ("Web", 1)]), 4),
                (counts(&[("Admin", 0), ("Web", 5)]), 5)
            ]
        );
        assert_eq!(states.last(), Some(&RunState::Stopped));
        assert!(states.contains(&RunState::Stopping));
        assert!(progress >= 3, "{progress} progress events");
    }
    assert_eq!(handle.status().borrow().state, RunState::Stopped);
    assert!(handle.take_stats().await.is_none(), "the run is over");
}

/// 10 users until 60 s, then the run ends.
#[derive(Debug)]
struct TenForAMinute;

impl LoadShape for TenForAMinute {
    fn tick(&mut self, elapsed: Duration, _users: u32) -> Option<ShapeTarget> {
        (elapsed < secs(60)).then(|| ShapeTarget::new(10, 100.0))
    }
}

#[tokio::test(start_paused = true)]
async fn a_users_command_takes_over_from_the_shape_which_still_ends_the_run() {
    let t0 = tokio::time::Instant::now();
    let (handle, report) = Swarm::new()
        .user::<Web>()
        .shape(TenForAMinute)
        .setting(Counter::default())
        .start()
        .unwrap();
    let mut status = handle.status();
    status.wait_for(|s| s.users == 10).await.unwrap();
    tokio::time::sleep(secs(5)).await;
    assert!(handle.set_users(3, 100.0));
    status.wait_for(|s| s.users == 3).await.unwrap();
    // The shape keeps asking for 10 every second; the command holds.
    for _ in 0..20 {
        tokio::time::sleep(secs(1)).await;
        assert_eq!(status.borrow().users, 3);
        assert_eq!(status.borrow().target_users, 3);
    }
    let report = report.await.unwrap();
    assert_eq!(report.reason, StopReason::ShapeDone);
    assert_eq!(t0.elapsed().as_secs(), 60);
}

#[tokio::test(start_paused = true)]
async fn the_arrival_rate_changes_mid_run_in_the_open_model() {
    let (handle, report) = Swarm::new()
        .user::<Web>()
        .arrival_rate(10.0)
        .run_time(secs(10))
        .pool(5, 5)
        .setting(Counter::default())
        .start()
        .unwrap();
    assert!(handle.is_open_model());
    assert!(matches!(
        handle.set_user_counts([("Web", 1)], 1.0),
        Err(CommandError::WrongModel { .. })
    ));
    tokio::time::sleep(Duration::from_millis(4_950)).await;
    handle.set_arrival_rate(20.0).unwrap();
    let report = report.await.unwrap();
    let schedule = report.snapshot.schedule.clone().unwrap();
    // 0, 100, ..., 4900 ms: 50 iterations at 10/s; then 20/s over the last 5.05 s
    // (4950, 5000, ..., 9950 ms): 101 more.
    assert_eq!(schedule.iterations, 50 + 101, "{schedule:?}");
    assert_eq!(schedule.dropped, 0);
    assert_eq!(report.reason, StopReason::RunTime);
}

#[tokio::test(start_paused = true)]
async fn deltas_add_up_to_the_totals_and_reset_forgets() {
    let (handle, report) = Swarm::new()
        .user::<Web>()
        .users(4)
        .spawn_rate(100.0)
        .run_time(secs(30))
        .stats_deltas(true)
        .setting(Counter::default())
        .start()
        .unwrap();
    let mut requests = 0;
    let mut failures = 0;
    let mut errors = 0;
    // Takes at 2.5, 5.5 and 8.5 s: between the users' requests (at whole seconds plus
    // their spawn offsets), so the last take and the snapshot see the same requests.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(3_000)).await;
        let delta = handle.take_stats().await.unwrap();
        for e in &delta.entries {
            assert_eq!((e.kind.as_str(), e.name.as_str()), ("GET", "Web"));
            // Every sample took 2.5 ms: Locust's bucket 2 (ties to even), exactly.
            assert_eq!(e.buckets_ms, BTreeMap::from([(2, e.requests)]));
            assert_eq!(
                e.per_second.values().map(|(r, _)| r).sum::<u64>(),
                e.requests
            );
            assert_eq!(
                e.per_second.values().map(|(_, f)| f).sum::<u64>(),
                e.failures
            );
            assert_eq!(e.total_us, 2_500 * e.requests);
            assert_eq!(
                (e.min_us, e.max_us, e.bytes),
                (2_500, 2_500, 10 * e.requests)
            );
            assert!(e.first_unix <= e.last_unix);
        }
        assert!(delta.since_unix < delta.until_unix);
        requests += delta.total_requests();
        failures += delta.total_failures();
        errors += delta.errors.iter().map(|e| e.occurrences).sum::<u64>();
    }
    let snap = handle.snapshot().await.unwrap();
    let total = snap.entry("GET", "Web").unwrap();
    assert_eq!(requests, total.requests);
    assert_eq!(failures, total.failures);
    assert_eq!(errors, failures);
    assert!(requests >= 4 * 8, "{requests}");
    assert!(
        snap.history.is_empty(),
        "a live snapshot leaves the history out"
    );
    assert!(!handle
        .snapshot_with_history()
        .await
        .unwrap()
        .history
        .is_empty());

    assert!(handle.reset_stats());
    let snap = handle.snapshot().await.unwrap();
    assert!(snap.entries.is_empty(), "{:?}", snap.entries);
    assert!(handle.take_stats().await.unwrap().is_empty());
    handle.stop();
    let report = report.await.unwrap();
    let after = report
        .snapshot
        .entry("GET", "Web")
        .map_or(0, |e| e.requests);
    assert!(after < requests, "only what came after the reset: {after}");
}

#[tokio::test(start_paused = true)]
async fn user_types_by_name_and_their_settings() {
    let report = Swarm::new()
        .user_named("Admin")
        .users(2)
        .run_time(secs(3))
        .setting(Counter::default())
        .run()
        .await
        .unwrap();
    assert!(report.snapshot.entry("GET", "Admin").unwrap().requests >= 4);
    assert!(report.snapshot.entry("GET", "Web").is_none());

    let err = Swarm::new()
        .user_named("Nobody")
        .run_time(secs(1))
        .run()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(ConfigError::UnknownUser { name, known }) if name == "Nobody" && known.contains(&"Web".to_owned())),
        "{err}"
    );

    // Without the setting, every iteration fails and says why.
    let report = Swarm::new()
        .user::<Web>()
        .run_time(secs(2))
        .run()
        .await
        .unwrap();
    let e = report.snapshot.entry("TASK", "Web.get").unwrap();
    assert_eq!(e.failures, e.requests);
    assert!(report.snapshot.errors[0]
        .message
        .contains("no Counter setting"));
}
