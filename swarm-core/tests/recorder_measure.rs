//! `Recorder::measure` times a future on the runner's clock and records its outcome.

use std::time::Duration;

use swarm_core::prelude::*;

struct Measured;

#[async_trait]
impl User for Measured {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Measured)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new()
            .task("call", Self::call)
            .task("fail", Self::fail)
            .sequential()
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(1))
    }
}

impl Measured {
    async fn call(&mut self, ctx: &mut UserContext) -> TaskResult {
        let n = ctx
            .recorder()
            .measure("RPC", "call", async {
                tokio::time::sleep(Duration::from_millis(250)).await;
                Ok::<_, std::io::Error>(7)
            })
            .await?;
        assert_eq!(n, 7);
        Ok(())
    }
    async fn fail(&mut self, ctx: &mut UserContext) -> TaskResult {
        ctx.recorder()
            .measure("RPC", "fail", async {
                tokio::time::sleep(Duration::from_millis(40)).await;
                Err::<(), _>(std::io::Error::other("refused"))
            })
            .await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn measure_records_time_and_outcome() {
    // call at 0, 2.29, ...; fail at 1.25, ...: the pause follows each task.
    let report = Swarm::new()
        .user::<Measured>()
        .run_time(Duration::from_secs(6))
        .run()
        .await
        .unwrap();
    let snap = &report.snapshot;
    let call = snap.entry("RPC", "call").expect("RPC call");
    assert_eq!(call.failures, 0);
    assert!(call.requests >= 2, "{}", call.requests);
    assert_eq!((call.min_us, call.max_us), (250_000, 250_000));
    assert_eq!(call.percentile_ms(0.5), Some(250.0));

    let fail = snap.entry("RPC", "fail").expect("RPC fail");
    assert_eq!(fail.failures, fail.requests);
    assert_eq!(fail.max_us, 40_000);
    assert!(snap
        .errors
        .iter()
        .any(|e| e.name == "fail" && e.message == "refused"));
    // The failure was recorded by the request: no TASK entry on top of it.
    assert_eq!(report.failures(), fail.requests);
}
