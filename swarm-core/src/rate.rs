//! Rates: the arrival schedule of the open model, and the limiter behind `--max-rps`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::duration::parse_duration;
use crate::error::ConfigError;

/// One stage of a ramping arrival rate: go linearly to `target` iterations per second
/// over `duration` (k6's `ramping-arrival-rate` stages).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Iterations per second at its end.
    pub target: f64,
}

/// When iterations start in the open model: a piecewise-linear rate over time.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalSchedule {
    start_rate: f64,
    stages: Vec<RateStage>,
}

impl ArrivalSchedule {
    /// `rate` iterations per second for `duration` (k6's `constant-arrival-rate`).
    pub fn constant(rate: f64, duration: Duration) -> Self {
        ArrivalSchedule {
            start_rate: rate,
            stages: vec![RateStage {
                duration,
                target: rate,
            }],
        }
    }

    /// From `start_rate`, through each stage's target (k6's `ramping-arrival-rate`).
    pub fn ramping(start_rate: f64, stages: Vec<RateStage>) -> Self {
        ArrivalSchedule { start_rate, stages }
    }

    /// The whole duration.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The rate (iterations per second) at `t`.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let mut from = self.start_rate;
        let mut start = Duration::ZERO;
        for s in &self.stages {
            let end = start + s.duration;
            if t < end {
                let frac = (t - start).as_secs_f64() / s.duration.as_secs_f64();
                return from + (s.target - from) * frac;
            }
            from = s.target;
            start = end;
        }
        from
    }

    /// When iteration `k` (from 0) is due, measured from the start; `None` when the
    /// schedule ends before it. Iteration `k` starts when `k` iterations' worth of rate
    /// has passed: the first at 0.
    pub fn time_of(&self, k: u64) -> Option<Duration> {
        let mut need = k as f64;
        let mut from = self.start_rate;
        let mut start = 0.0_f64;
        for s in &self.stages {
            let d = s.duration.as_secs_f64();
            let to = s.target;
            let area = (from + to) / 2.0 * d;
            if need < area || (need == 0.0 && d > 0.0) {
                // Solve from*t + (to-from)/(2d)*t^2 = need for t in [0, d).
                let a = (to - from) / (2.0 * d);
                let t = if a.abs() < 1e-12 {
                    need / from
                } else {
                    let disc = (from * from + 4.0 * a * need).max(0.0);
                    (-from + disc.sqrt()) / (2.0 * a)
                };
                return Duration::try_from_secs_f64(start + t.clamp(0.0, d)).ok();
            }
            need -= area;
            from = to;
            start += d;
        }
        None
    }
}

/// Parse `--arrival-stages`: `DURATION@RATE,...`, e.g. `30s@100,1m@500,30s@0`.
pub(crate) fn parse_stages(option: &str, s: &str) -> Result<Vec<RateStage>, ConfigError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        let bad = |why: &str| ConfigError::invalid(option, s, format!("{part:?}: {why}"));
        let (d, r) = part
            .split_once('@')
            .ok_or_else(|| bad("expected DURATION@RATE, e.g. 30s@100"))?;
        let duration = parse_duration(d).map_err(|e| bad(&format!("not a duration ({e})")))?;
        if duration.is_zero() {
            return Err(bad("must be longer than zero"));
        }
        let target: f64 = r
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| bad("not a rate (iterations per second, >= 0)"))?;
        out.push(RateStage { duration, target });
    }
    Ok(out)
}

/// A limit on starts per second, shared by every user it is cloned into. Each start is
/// given its own slot `1 / rate` after the previous one (a GCRA): the caller sleeps until
/// its slot, never spins, and an idle period earns no credit, so there is no burst after
/// a pause. A caller may start up to [`RateLimiter::EARLY`] before its slot, and slots
/// up to that much past are still given out (a GCRA's tolerance): a caller sleeps until
/// its slot less the tolerance, and a slot nearer than that is taken at once. The
/// timer cannot sleep less than its 1 ms tick and wakes up to a tick late, so at high
/// rates (50,000/s is a slot every 20 us) users that slept until their exact slots
/// spent their time oversleeping and reached only part of the rate (measured: 50 users
/// with a 50,000/s cap made 29,000 starts/s against a target that took 100,000). Over
/// any window there are at most `rate` times the window plus 2 ms starts, plus one, and
/// over the run never more than the rate.
#[derive(Clone)]
pub struct RateLimiter {
    interval: Duration,
    next: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second())
            .finish()
    }
}

impl RateLimiter {
    /// At most `per_second` starts per second; `None` for a rate that is not above 0.
    pub fn new(per_second: f64) -> Option<Self> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return None;
        }
        Some(RateLimiter {
            interval: Duration::try_from_secs_f64(1.0 / per_second).ok()?,
            next: Arc::new(Mutex::new(None)),
        })
    }

    /// How early a start may be, at most: Tokio's timer tick.
    pub const EARLY: Duration = Duration::from_millis(1);

    /// The rate.
    pub fn per_second(&self) -> f64 {
        1.0 / self.interval.as_secs_f64()
    }

    /// Wait for the next slot.
    pub async fn acquire(&self) {
        let now = Instant::now();
        let slot = {
            let mut next = self.next.lock();
            // Slots less than the tolerance past stay usable: a caller the runtime
            // woke late does not cost the rate its slot.
            let floor = now.checked_sub(Self::EARLY).unwrap_or(now);
            let slot = next.map_or(now, |t| t.max(floor));
            *next = Some(slot + self.interval);
            slot
        };
        if slot > now + Self::EARLY {
            tokio::time::sleep_until(slot - Self::EARLY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Option<Duration>) -> Option<u128> {
        d.map(|d| d.as_micros())
    }

    #[test]
    fn constant_schedule() {
        let s = ArrivalSchedule::constant(10.0, Duration::from_secs(2));
        assert_eq!(ms(s.time_of(0)), Some(0));
        assert_eq!(ms(s.time_of(1)), Some(100_000));
        assert_eq!(ms(s.time_of(19)), Some(1_900_000));
        assert_eq!(s.time_of(20), None);
    }

    #[test]
    fn ramping_schedule_integrates_the_rate() {
        // 0 -> 10/s over 2 s: 10 iterations, the k-th at sqrt(k * 2 / 5)... i.e. N(t) = 2.5 t^2.
        let s = ArrivalSchedule::ramping(
            0.0,
            vec![
                RateStage {
                    duration: Duration::from_secs(2),
                    target: 10.0,
                },
                RateStage {
                    duration: Duration::from_secs(1),
                    target: 10.0,
                },
            ],
        );
        let t = |k| s.time_of(k).unwrap().as_secs_f64();
        assert!((t(1) - (1.0_f64 / 2.5).sqrt()).abs() < 1e-9);
        assert!((t(9) - (9.0_f64 / 2.5).sqrt()).abs() < 1e-9);
        assert!((t(10) - 2.0).abs() < 1e-9);
        assert!((t(15) - 2.5).abs() < 1e-9);
        assert_eq!(s.time_of(20), None);
        assert!((s.rate_at(Duration::from_secs(1)) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn stages_parse_and_reject() {
        let st = parse_stages("--arrival-stages", "30s@100, 1m@0").unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[1].duration, Duration::from_secs(60));
        for (bad, part) in [
            ("30s", "\"30s\""),
            ("0s@5", "0s@5"),
            ("30s@-1", "30s@-1"),
            ("x@1", "x@1"),
        ] {
            let e = parse_stages("--arrival-stages", bad)
                .unwrap_err()
                .to_string();
            assert!(e.contains(part) && e.contains("--arrival-stages"), "{e}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_starts_and_earns_no_credit_when_idle() {
        let l = RateLimiter::new(10.0).unwrap();
        let t0 = Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        // Slots at 0, 100, ..., 400 ms; a caller wakes 1 ms before its slot.
        assert_eq!(t0.elapsed(), Duration::from_millis(399));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t1 = Instant::now();
        for _ in 0..3 {
            l.acquire().await;
        }
        // No burst after the idle 5 s: one start at once, then 100 ms apart (its slot
        // was 1 ms past, and each caller wakes 1 ms early).
        assert_eq!(t1.elapsed(), Duration::from_millis(198));
        assert!(RateLimiter::new(0.0).is_none());
    }

    /// At 50,000/s (a slot every 20 us) many users share the limiter: they wake a timer
    /// tick before their slots, and take slots nearer than that at once, so the rate is
    /// reached, and starts are never more than the tick ahead of their slots.
    #[tokio::test(start_paused = true)]
    async fn limiter_at_high_rates_reaches_the_rate_and_runs_at_most_a_tick_ahead() {
        let l = RateLimiter::new(50_000.0).unwrap();
        let t0 = Instant::now();
        let starts = Arc::new(Mutex::new(Vec::new()));
        let mut users = Vec::new();
        for _ in 0..50 {
            let (l, starts) = (l.clone(), starts.clone());
            users.push(tokio::spawn(async move {
                for _ in 0..200 {
                    l.acquire().await;
                    starts.lock().push(Instant::now());
                    // A request of 0.5 ms.
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
            }));
        }
        for u in users {
            u.await.unwrap();
        }
        let mut starts = starts.lock().clone();
        starts.sort();
        assert_eq!(starts.len(), 10_000);
        // Slot k is at t0 + k * 20 us; the k-th start is never more than a tick before.
        for (k, t) in starts.iter().enumerate() {
            let slot = t0 + Duration::from_micros(20 * k as u64);
            assert!(
                *t + RateLimiter::EARLY >= slot,
                "start {k} at {:?}, its slot at {:?}",
                *t - t0,
                slot - t0
            );
        }
        // 10,000 starts at 50,000/s take 200 ms: with sleeps for near slots, 50 users
        // making 0.5 ms requests would take several times that.
        let took = starts[9_999] - t0;
        assert!(
            took <= Duration::from_millis(200),
            "10,000 starts took {took:?}"
        );
    }
}
