//! Built-in shapes drive the user count exactly as they promise, under the paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarm_core::prelude::*;
use swarm_core::{parse_shape, StopReason};

struct Idle;

#[async_trait]
impl User for Idle {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Idle)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("idle", Self::idle)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_millis(500))
    }
}

impl Idle {
    async fn idle(&mut self, _ctx: &mut UserContext) -> TaskResult {
        Ok(())
    }
}

/// Users running at each whole second, as the progress callback sees them.
async fn users_per_second(shape: &str) -> (Vec<u32>, swarm_core::Report) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let report = Swarm::new()
        .user::<Idle>()
        .shape(parse_shape(shape).unwrap())
        .on_progress(move |p| s.lock().unwrap().push(p.users))
        .run()
        .await
        .unwrap();
    let v = seen.lock().unwrap().clone();
    (v, report)
}

#[tokio::test(start_paused = true)]
async fn steps_add_users_every_step_up_to_the_max() {
    let (users, report) = users_per_second("steps:users=10,every=30s,max=40,time=3m").await;
    assert_eq!(report.reason, StopReason::ShapeDone);
    // Ticks at 1..=179 s report; at 180 s the shape ends the run.
    assert_eq!(users.len(), 179, "{users:?}");
    assert_eq!(users[0], 10); // at 1 s
    assert_eq!(users[28], 10); // at 29 s
    assert_eq!(users[29], 20); // at 30 s
    assert_eq!(users[59], 30); // at 60 s
    assert_eq!(users[89], 40); // at 90 s
    assert_eq!(users[178], 40); // at 179 s: never above the max
    assert!((report.snapshot.duration_secs - 180.0).abs() < 1e-6);
}

#[tokio::test(start_paused = true)]
async fn stages_follow_the_ramp() {
    let (users, report) = users_per_second("stages:10s@10,10s@10,10s@0").await;
    assert_eq!(report.reason, StopReason::ShapeDone);
    // Ramp of 1 user per second: at k seconds, k users (the shape aims one second ahead).
    for k in 1..=9 {
        assert_eq!(users[k - 1], k as u32, "at {k} s: {users:?}");
    }
    assert_eq!(users[14], 10);
    assert_eq!(users[24], 5, "halfway down: {users:?}");
    assert_eq!(users[28], 1);
}

#[tokio::test(start_paused = true)]
async fn spike_rises_holds_and_falls() {
    let (users, _) =
        users_per_second("spike:base=2,peak=20,after=10s,ramp=2s,hold=5s,time=30s").await;
    assert_eq!(users[4], 2);
    assert_eq!(users[12], 20, "{users:?}");
    assert_eq!(users[16], 20);
    assert_eq!(users[25], 2);
    assert_eq!(*users.iter().max().unwrap(), 20);
}

/// `--shape` parsed from the command line (or a config file) into the configuration.
fn config_with_shape(spec: &str) -> Result<swarm_core::Config, String> {
    use clap::Parser as _;
    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: swarm_core::cli::Args,
    }
    let cli = Cli::try_parse_from(["t", "--shape", spec]).map_err(|e| e.to_string())?;
    cli.args.to_config().map_err(|e| e.to_string())
}

#[test]
fn a_bad_shape_is_a_config_error_before_any_load() {
    let err = config_with_shape("steps:users=10,every=3x,max=10,time=1m").unwrap_err();
    assert!(err.contains("every=3x") && err.contains("--shape"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shape.toml");
    std::fs::write(&file, "shape = \"stages:30s@10,1m\"\n").unwrap();
    let mut c = swarm_core::Config::default();
    let err = c.load_file(&file).unwrap_err().to_string();
    assert!(
        err.contains("shape") && err.contains("\"1m\"") && err.contains("shape.toml"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_shape_from_the_configuration_drives_the_run() {
    let config = config_with_shape("stages:2s@2,2s@0").unwrap();
    let report = Swarm::with_config(config)
        .user::<Idle>()
        .run()
        .await
        .unwrap();
    assert_eq!(report.reason, StopReason::ShapeDone);
}
