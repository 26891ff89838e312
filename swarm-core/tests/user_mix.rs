//! Several user types share the users by weight; a fixed count is taken (and spawned)
//! before the weighted share.

use std::collections::BTreeMap;
use std::time::Duration;

use swarm_core::prelude::*;

/// Every user records one `START` sample named after its type, so the report counts them.
macro_rules! counted_user {
    ($name:ident, $weight:expr) => {
        struct $name;

        #[async_trait]
        impl User for $name {
            async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
                ctx.recorder()
                    .success("START", ctx.user_type(), Duration::ZERO, 0);
                Ok($name)
            }
            fn tasks() -> Tasks<Self> {
                Tasks::new().task("idle", Self::idle)
            }
            fn wait_time(&self) -> Wait {
                Wait::constant(Duration::from_secs(1))
            }
            fn weight() -> u32 {
                $weight
            }
        }

        impl $name {
            async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
                Ok(())
            }
        }
    };
}

counted_user!(Heavy, 3);
counted_user!(Light, 1);

/// Users started per type name.
async fn started(swarm: Swarm, users: u32) -> BTreeMap<String, u64> {
    let report = swarm
        .users(users)
        .spawn_rate(100.0)
        .run_time(Duration::from_secs(2))
        .run()
        .await
        .unwrap();
    report
        .snapshot
        .entries
        .iter()
        .filter(|e| e.kind == "START")
        .map(|e| (e.name.clone(), e.requests))
        .collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect()
}

#[tokio::test(start_paused = true)]
async fn weights_split_the_users() {
    let mix = Swarm::new().user::<Heavy>().user::<Light>();
    assert_eq!(started(mix, 8).await, counts(&[("Heavy", 6), ("Light", 2)]));
    // The declaration order does not matter.
    let mix = Swarm::new().user::<Light>().user::<Heavy>();
    assert_eq!(started(mix, 8).await, counts(&[("Heavy", 6), ("Light", 2)]));
    // A weight given to the builder replaces the type's own.
    let mix = Swarm::new().user_weighted::<Heavy>(1).user::<Light>();
    assert_eq!(started(mix, 8).await, counts(&[("Heavy", 4), ("Light", 4)]));
    // Every type gets its share, rounded by largest remainder.
    let mix = Swarm::new().user::<Heavy>().user::<Light>();
    assert_eq!(started(mix, 3).await, counts(&[("Heavy", 2), ("Light", 1)]));
}

#[tokio::test(start_paused = true)]
async fn a_fixed_count_is_taken_first() {
    let mix = Swarm::new().user::<Heavy>().user_count::<Light>(2);
    assert_eq!(
        started(mix, 10).await,
        counts(&[("Heavy", 8), ("Light", 2)])
    );
    let mix = Swarm::new().user::<Heavy>().user_count::<Light>(2);
    assert_eq!(started(mix, 1).await, counts(&[("Light", 1)]));
}

/// The order in which users start, by type.
static ORDER: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

macro_rules! ordered_user {
    ($name:ident) => {
        struct $name;

        #[async_trait]
        impl User for $name {
            async fn on_start(ctx: &mut UserContext) -> Result<Self, TaskError> {
                ORDER.lock().unwrap().push(ctx.user_type());
                Ok($name)
            }
            fn tasks() -> Tasks<Self> {
                Tasks::new().task("idle", Self::idle)
            }
            fn wait_time(&self) -> Wait {
                Wait::constant(Duration::from_secs(1))
            }
        }

        impl $name {
            async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
                Ok(())
            }
        }
    };
}

ordered_user!(Visitor);
ordered_user!(Admin);

#[tokio::test(start_paused = true)]
async fn fixed_count_users_spawn_first() {
    Swarm::new()
        .user::<Visitor>()
        .user_count::<Admin>(2)
        .users(6)
        .spawn_rate(1.0)
        .run_time(Duration::from_secs(8))
        .run()
        .await
        .unwrap();
    let order = ORDER.lock().unwrap().clone();
    assert_eq!(
        order,
        ["Admin", "Admin", "Visitor", "Visitor", "Visitor", "Visitor"]
    );
}
