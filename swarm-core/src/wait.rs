//! Wait strategies: how long a user pauses between two tasks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::user::UserRng;

/// How long a user waits after each task, as Locust's `wait_time`.
///
/// ```
/// use std::time::Duration;
/// use swarm_core::Wait;
///
/// let think = Wait::between(Duration::from_millis(100), Duration::from_millis(500));
/// let pace = Wait::constant_throughput(2.0); // at most two tasks a second per user
/// # let _ = (think, pace);
/// ```
#[derive(Clone, Default)]
pub struct Wait(WaitKind);

#[derive(Clone, Default)]
enum WaitKind {
    #[default]
    None,
    Constant(Duration),
    Between(Duration, Duration),
    Pacing(Duration),
    Exponential(Duration),
    Custom(Arc<dyn Fn(&mut UserRng) -> Duration + Send + Sync>),
}

impl Wait {
    /// No wait at all: the next task starts as soon as the previous one ends.
    pub fn none() -> Self {
        Wait(WaitKind::None)
    }

    /// The same pause after every task.
    pub fn constant(pause: Duration) -> Self {
        Wait(WaitKind::Constant(pause))
    }

    /// A pause drawn uniformly between `min` and `max` (inclusive). The two bounds are
    /// swapped when given in the wrong order.
    pub fn between(min: Duration, max: Duration) -> Self {
        if min <= max {
            Wait(WaitKind::Between(min, max))
        } else {
            Wait(WaitKind::Between(max, min))
        }
    }

    /// [`Wait::between`] with bounds in seconds, as Locust writes them. Negative or
    /// non-finite values count as zero.
    pub fn between_secs(min: f64, max: f64) -> Self {
        Self::between(secs(min), secs(max))
    }

    /// Start a task every `period` at most: the wait is `period` minus the time the task
    /// took, or nothing when the task took longer (Locust's `constant_pacing`).
    pub fn constant_pacing(period: Duration) -> Self {
        Wait(WaitKind::Pacing(period))
    }

    /// At most `per_second` tasks per second for each user (Locust's `constant_throughput`).
    /// A rate that is zero, negative or not finite means no wait.
    pub fn constant_throughput(per_second: f64) -> Self {
        if per_second.is_finite() && per_second > 0.0 {
            Wait(WaitKind::Pacing(Duration::from_secs_f64(1.0 / per_second)))
        } else {
            Wait::none()
        }
    }

    /// Exponentially distributed pauses with the given mean: the tasks of one user then
    /// arrive as a Poisson process.
    pub fn exponential(mean: Duration) -> Self {
        Wait(WaitKind::Exponential(mean))
    }

    /// Any rule of your own, drawing from the user's seeded RNG.
    pub fn custom(f: impl Fn(&mut UserRng) -> Duration + Send + Sync + 'static) -> Self {
        Wait(WaitKind::Custom(Arc::new(f)))
    }

    /// The pause after a task that took `task_time`.
    pub fn next(&self, task_time: Duration, rng: &mut UserRng) -> Duration {
        match &self.0 {
            WaitKind::None => Duration::ZERO,
            WaitKind::Constant(d) => *d,
            WaitKind::Between(min, max) => {
                if min == max {
                    *min
                } else {
                    let nanos = rng.random_range(min.as_nanos()..=max.as_nanos());
                    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
                }
            }
            WaitKind::Pacing(period) => period.saturating_sub(task_time),
            WaitKind::Exponential(mean) => {
                // Inverse transform sampling; 1 - u lies in (0, 1], so ln is finite.
                let u: f64 = rng.random();
                let factor = -(1.0 - u).ln();
                secs(mean.as_secs_f64() * factor)
            }
            WaitKind::Custom(f) => f(rng),
        }
    }
}

fn secs(s: f64) -> Duration {
    if s.is_finite() && s > 0.0 {
        Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            WaitKind::None => f.write_str("Wait::none"),
            WaitKind::Constant(d) => write!(f, "Wait::constant({d:?})"),
            WaitKind::Between(a, b) => write!(f, "Wait::between({a:?}, {b:?})"),
            WaitKind::Pacing(d) => write!(f, "Wait::constant_pacing({d:?})"),
            WaitKind::Exponential(d) => write!(f, "Wait::exponential({d:?})"),
            WaitKind::Custom(_) => f.write_str("Wait::custom(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> UserRng {
        UserRng::seed_from_u64(7)
    }

    #[test]
    fn between_stays_within_bounds_and_swaps() {
        let w = Wait::between(Duration::from_millis(300), Duration::from_millis(100));
        let mut r = rng();
        for _ in 0..1000 {
            let d = w.next(Duration::ZERO, &mut r);
            assert!(
                d >= Duration::from_millis(100) && d <= Duration::from_millis(300),
                "{d:?}"
            );
        }
        let same = Wait::between_secs(0.1, 0.1);
        assert_eq!(
            same.next(Duration::ZERO, &mut r),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn pacing_subtracts_task_time() {
        let w = Wait::constant_pacing(Duration::from_secs(1));
        let mut r = rng();
        assert_eq!(
            w.next(Duration::from_millis(300), &mut r),
            Duration::from_millis(700)
        );
        assert_eq!(w.next(Duration::from_secs(3), &mut r), Duration::ZERO);
        let t = Wait::constant_throughput(4.0);
        assert_eq!(
            t.next(Duration::from_millis(50), &mut r),
            Duration::from_millis(200)
        );
        assert_eq!(
            Wait::constant_throughput(0.0).next(Duration::ZERO, &mut r),
            Duration::ZERO
        );
    }

    #[test]
    fn exponential_has_the_right_mean() {
        let w = Wait::exponential(Duration::from_millis(100));
        let mut r = rng();
        let n = 20_000;
        let total: f64 = (0..n)
            .map(|_| w.next(Duration::ZERO, &mut r).as_secs_f64())
            .sum();
        let mean = total / f64::from(n);
        assert!((mean - 0.1).abs() < 0.005, "mean {mean}");
    }

    #[test]
    fn constant_and_none() {
        let mut r = rng();
        assert_eq!(
            Wait::none().next(Duration::from_secs(1), &mut r),
            Duration::ZERO
        );
        let c = Wait::constant(Duration::from_millis(5));
        assert_eq!(
            c.next(Duration::from_secs(1), &mut r),
            Duration::from_millis(5)
        );
        assert_eq!(
            Wait::between_secs(-1.0, f64::NAN).next(Duration::ZERO, &mut r),
            Duration::ZERO
        );
    }
}
