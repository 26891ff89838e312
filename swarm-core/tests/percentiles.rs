//! Percentiles come from the latency histogram within its 0.1% precision, for latencies
//! from microseconds to hours, and never exceed the maximum.

use std::time::Duration;

use swarm_core::prelude::*;

/// Records 1, 2, ..., 100 ms under `/spread`, and a few very long samples under `/long`.
struct Spread;

#[async_trait]
impl User for Spread {
    async fn on_start(_ctx: &mut UserContext) -> Result<Self, TaskError> {
        Ok(Spread)
    }
    fn tasks() -> Tasks<Self> {
        Tasks::new().task("record", Self::record)
    }
    fn wait_time(&self) -> Wait {
        Wait::constant(Duration::from_secs(100))
    }
}

impl Spread {
    async fn record(&mut self, ctx: &mut UserContext) -> TaskResult {
        // Largest first, so that the first value recorded is past the histogram's
        // initial range.
        for ms in (1..=100).rev() {
            ctx.recorder()
                .success("GET", "/spread", Duration::from_millis(ms), 0);
        }
        for secs in [60, 600, 3_600, 7_200] {
            ctx.recorder()
                .success("GET", "/long", Duration::from_secs(secs), 0);
        }
        ctx.recorder()
            .success("GET", "/tiny", Duration::from_micros(3), 0);
        Ok(())
    }
}

fn close(got: Option<f64>, want: f64) -> bool {
    got.is_some_and(|g| (g - want).abs() <= want * 0.001)
}

#[tokio::test(start_paused = true)]
async fn percentiles_follow_the_samples() {
    let report = Swarm::new()
        .user::<Spread>()
        .run_time(Duration::from_secs(1))
        .run()
        .await
        .unwrap();
    let snap = &report.snapshot;

    let s = snap.entry("GET", "/spread").unwrap();
    assert_eq!((s.requests, s.min_us, s.max_us), (100, 1_000, 100_000));
    for (q, want) in [
        (0.5, 50.0),
        (0.66, 66.0),
        (0.9, 90.0),
        (0.95, 95.0),
        (0.99, 99.0),
    ] {
        assert!(
            close(s.percentile_ms(q), want),
            "p{q}: {:?} vs {want}",
            s.percentile_ms(q)
        );
    }
    assert_eq!(s.percentile_ms(1.0), Some(100.0));
    assert!((s.avg_ms() - 50.5).abs() < 1e-9);

    let l = snap.entry("GET", "/long").unwrap();
    assert!(
        close(l.percentile_ms(0.5), 600_000.0),
        "{:?}",
        l.percentile_ms(0.5)
    );
    assert!(
        close(l.percentile_ms(0.75), 3_600_000.0),
        "{:?}",
        l.percentile_ms(0.75)
    );
    assert_eq!(
        l.percentile_ms(0.99),
        Some(7_200_000.0),
        "clamped to the max"
    );

    let t = snap.entry("GET", "/tiny").unwrap();
    assert_eq!(t.percentile_ms(0.5), Some(0.003));

    // The CSV shows them bucketed as Locust does.
    let csv = report.stats_csv();
    let row: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("GET,/spread,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(row[4], "50", "median");
    assert_eq!(
        row[11..],
        ["50", "66", "75", "80", "90", "95", "98", "99", "100", "100", "100"]
    );

    // The last history row's window saw all 105: the 53rd is the 52 ms sample.
    let last = snap.history.last().unwrap();
    assert_eq!(last.total_requests, 105);
    assert!(close(last.p50_ms(), 52.0), "{:?}", last.p50_ms());
}
