//! Load shapes: how many users run at each moment (Locust's `LoadTestShape`, k6's
//! `stages`), and the `--shape` grammar of the built-ins.
//!
//! | built-in | `--shape` | meaning |
//! |---|---|---|
//! | [`Steps`] | `steps:users=10,every=30s,max=100,time=10m[,rate=R]` | start with `users`, add `users` more every `every` up to `max`, stop after `time` |
//! | [`Stages`] | `stages:30s@10,1m@50,30s@0` | ramp linearly to each target over its duration (k6's stages), then stop |
//! | [`Spike`] | `spike:base=10,peak=100,after=1m,ramp=5s,hold=30s,time=3m` | `base` users, then up to `peak` at `after` within `ramp`, `hold`, back down within `ramp`, stop after `time` |
//!
//! Durations take Locust's forms (`90`, `30s`, `5m`, `1h30m`, `250ms`); `rate` is users
//! started (or stopped) per second (default: all at once for steps, what the ramp needs
//! for stages and spikes).

use std::fmt;
use std::time::Duration;

use crate::duration::parse_duration;
use crate::error::ConfigError;

/// What a shape asks for at one moment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShapeTarget {
    /// Total users to run.
    pub users: u32,
    /// Users started or stopped per second to get there.
    pub spawn_rate: f64,
}

impl ShapeTarget {
    /// A target of `users` users, reached at `spawn_rate` per second.
    pub fn new(users: u32, spawn_rate: f64) -> Self {
        ShapeTarget { users, spawn_rate }
    }
}

/// A load shape: asked once a second (and at the start) for the users it wants, given the
/// time since the start and the users running. `None` ends the run.
///
/// When a shape and a command disagree, the command wins: once a
/// [`RunnerHandle`](crate::RunnerHandle) sets the users (`set_users`,
/// `set_user_counts`: a web UI, a Locust master), the shape no longer sets them for the
/// rest of the run; it is still asked every second and still ends the run when it
/// returns `None`. A `set_spawn_rate` changes the rate of the ramp in progress; a shape
/// that still steers sets its own rate again at its next change.
///
/// ```
/// use std::time::Duration;
/// use swarm_core::{LoadShape, ShapeTarget};
///
/// /// 10 users for a minute, then 50 for a minute.
/// #[derive(Debug)]
/// struct TwoLevels;
/// impl LoadShape for TwoLevels {
///     fn tick(&mut self, elapsed: Duration, _users: u32) -> Option<ShapeTarget> {
///         match elapsed.as_secs() {
///             0..60 => Some(ShapeTarget::new(10, 10.0)),
///             60..120 => Some(ShapeTarget::new(50, 10.0)),
///             _ => None,
///         }
///     }
/// }
/// ```
pub trait LoadShape: Send + fmt::Debug + 'static {
    /// The target at `elapsed` since the start, with `users` running; `None` stops.
    fn tick(&mut self, elapsed: Duration, users: u32) -> Option<ShapeTarget>;
}

impl LoadShape for Box<dyn LoadShape> {
    fn tick(&mut self, elapsed: Duration, users: u32) -> Option<ShapeTarget> {
        (**self).tick(elapsed, users)
    }
}

/// Add `step_users` users every `step_time`, up to `max_users`, for `total` time.
#[derive(Debug, Clone, PartialEq)]
pub struct Steps {
    /// Users added at each step (also the first step's users).
    pub step_users: u32,
    /// Time between steps.
    pub step_time: Duration,
    /// The most users.
    pub max_users: u32,
    /// When the run ends.
    pub total: Duration,
    /// Users started per second within a step (`None`: all at once).
    pub spawn_rate: Option<f64>,
}

impl LoadShape for Steps {
    fn tick(&mut self, elapsed: Duration, _users: u32) -> Option<ShapeTarget> {
        if elapsed >= self.total {
            return None;
        }
        let step = elapsed.as_nanos() / self.step_time.as_nanos().max(1);
        let users = u64::from(self.step_users)
            .saturating_mul(u64::try_from(step).unwrap_or(u64::MAX).saturating_add(1))
            .min(u64::from(self.max_users));
        Some(ShapeTarget::new(
            u32::try_from(users).unwrap_or(u32::MAX),
            self.spawn_rate.unwrap_or(f64::INFINITY),
        ))
    }
}

/// One stage: ramp linearly to `target` users over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the ramp takes.
    pub duration: Duration,
    /// Users at its end.
    pub target: u32,
}

/// k6's stages: linear ramps from 0 users through each stage's target, then stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl Stages {
    /// Users at `t` from the start, and the slope (users per second) there; `None` past
    /// the last stage.
    fn at(&self, t: Duration) -> Option<(f64, f64)> {
        let mut from = 0.0_f64;
        let mut start = Duration::ZERO;
        for s in &self.stages {
            let end = start + s.duration;
            let to = f64::from(s.target);
            if t < end {
                let d = s.duration.as_secs_f64();
                let slope = if d > 0.0 { (to - from) / d } else { 0.0 };
                let users = from + slope * (t - start).as_secs_f64();
                return Some((users, slope));
            }
            from = to;
            start = end;
        }
        None
    }
}

impl LoadShape for Stages {
    fn tick(&mut self, elapsed: Duration, _users: u32) -> Option<ShapeTarget> {
        // Aim at where the ramp will be one second from now, at the ramp's speed, so the
        // users follow the line between ticks.
        let (_, slope) = self.at(elapsed)?;
        let ahead = elapsed + Duration::from_secs(1);
        let users = match self.at(ahead) {
            Some((u, _)) => u,
            None => f64::from(self.stages.last().map_or(0, |s| s.target)),
        };
        let rate = slope.abs();
        Some(ShapeTarget::new(
            users.round().max(0.0) as u32,
            if rate > 0.0 { rate } else { f64::INFINITY },
        ))
    }
}

/// A spike: `base` users, up to `peak` at `after` within `ramp`, `hold`, back down.
#[derive(Debug, Clone, PartialEq)]
pub struct Spike {
    /// Users before and after the spike.
    pub base: u32,
    /// Users at the top.
    pub peak: u32,
    /// When the spike starts.
    pub after: Duration,
    /// How long the way up (and down) takes.
    pub ramp: Duration,
    /// How long the top lasts.
    pub hold: Duration,
    /// When the run ends.
    pub total: Duration,
}

impl Spike {
    fn stages(&self) -> Stages {
        let tiny = Duration::from_millis(1);
        let mut stages = vec![Stage {
            duration: tiny,
            target: self.base,
        }];
        let used = tiny + self.after.saturating_sub(tiny) + self.ramp * 2 + self.hold;
        stages.extend([
            Stage {
                duration: self.after.saturating_sub(tiny),
                target: self.base,
            },
            Stage {
                duration: self.ramp,
                target: self.peak,
            },
            Stage {
                duration: self.hold,
                target: self.peak,
            },
            Stage {
                duration: self.ramp,
                target: self.base,
            },
            Stage {
                duration: self.total.saturating_sub(used),
                target: self.base,
            },
        ]);
        Stages { stages }
    }
}

impl LoadShape for Spike {
    fn tick(&mut self, elapsed: Duration, users: u32) -> Option<ShapeTarget> {
        if elapsed >= self.total {
            return None;
        }
        let mut target = self.stages().tick(elapsed, users)?;
        if elapsed < self.after {
            target.spawn_rate = f64::INFINITY;
        }
        Some(target)
    }
}

/// A built-in load shape, parsed once from its `--shape` string
/// (`steps:users=10,every=30s,max=100,time=10m`, `stages:30s@10,1m@50,30s@0` or
/// `spike:base=10,peak=100,after=1m,ramp=5s,hold=30s,time=3m`): what the configuration
/// holds, cloned into each run.
///
/// ```
/// use swarm_core::BuiltinShape;
///
/// let shape: BuiltinShape = "stages:30s@10,1m@50,30s@0".parse()?;
/// assert!(matches!(shape, BuiltinShape::Stages(_)));
/// # Ok::<(), swarm_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BuiltinShape {
    /// `steps:...`
    Steps(Steps),
    /// `stages:...`
    Stages(Stages),
    /// `spike:...`
    Spike(Spike),
}

impl LoadShape for BuiltinShape {
    fn tick(&mut self, elapsed: Duration, users: u32) -> Option<ShapeTarget> {
        match self {
            BuiltinShape::Steps(s) => s.tick(elapsed, users),
            BuiltinShape::Stages(s) => s.tick(elapsed, users),
            BuiltinShape::Spike(s) => s.tick(elapsed, users),
        }
    }
}

/// Writes the shape back in the `--shape` grammar (`BuiltinShape::parse` reads it back).
impl fmt::Display for BuiltinShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: Duration| humantime::format_duration(d).to_string().replace(' ', "");
        match self {
            BuiltinShape::Steps(s) => {
                write!(
                    f,
                    "steps:users={},every={},max={},time={}",
                    s.step_users,
                    d(s.step_time),
                    s.max_users,
                    d(s.total)
                )?;
                match s.spawn_rate {
                    Some(r) => write!(f, ",rate={r}"),
                    None => Ok(()),
                }
            }
            BuiltinShape::Stages(s) => {
                f.write_str("stages:")?;
                for (i, st) in s.stages.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}{}@{}", d(st.duration), st.target)?;
                }
                Ok(())
            }
            BuiltinShape::Spike(s) => write!(
                f,
                "spike:base={},peak={},after={},ramp={},hold={},time={}",
                s.base,
                s.peak,
                d(s.after),
                d(s.ramp),
                d(s.hold),
                d(s.total)
            ),
        }
    }
}

impl std::str::FromStr for BuiltinShape {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BuiltinShape::parse(s)
    }
}

/// Parse a `--shape` string into a built-in shape.
pub fn parse_shape(s: &str) -> Result<Box<dyn LoadShape>, ConfigError> {
    BuiltinShape::parse(s).map(|shape| Box::new(shape) as Box<dyn LoadShape>)
}

impl BuiltinShape {
    /// Parse a `--shape` string; the error names the bad part.
    pub fn parse(s: &str) -> Result<BuiltinShape, ConfigError> {
        let err =
            |part: &str, why: &str| ConfigError::invalid("--shape", s, format!("{part:?}: {why}"));
        let (kind, rest) = s.trim().split_once(':').ok_or_else(|| {
            ConfigError::invalid(
                "--shape",
                s,
                "expected KIND:ARGS with KIND one of steps, stages, spike (e.g. steps:users=10,every=30s,max=100,time=10m)",
            )
        })?;
        let dur = |part: &str, v: &str| -> Result<Duration, ConfigError> {
            let d = parse_duration(v).map_err(|e| err(part, &format!("not a duration ({e})")))?;
            Ok(d)
        };
        let positive = |part: &str, d: Duration| -> Result<Duration, ConfigError> {
            if d.is_zero() {
                Err(err(part, "must be longer than zero"))
            } else {
                Ok(d)
            }
        };
        let count = |part: &str, v: &str| -> Result<u32, ConfigError> {
            v.trim()
                .parse::<u32>()
                .map_err(|_| err(part, "not a whole number of users"))
        };
        match kind.trim() {
            "steps" | "spike" => {
                let mut kv = std::collections::BTreeMap::new();
                for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (k, v) = part
                        .split_once('=')
                        .ok_or_else(|| err(part, "expected key=value"))?;
                    if kv
                        .insert(k.trim().to_owned(), (part.to_owned(), v.trim().to_owned()))
                        .is_some()
                    {
                        return Err(err(part, "given twice"));
                    }
                }
                let mut take = |key: &str| kv.remove(key);
                let need = |v: Option<(String, String)>, key: &str| {
                    v.ok_or_else(|| {
                        ConfigError::invalid("--shape", s, format!("missing {key}=..."))
                    })
                };
                let shape = if kind.trim() == "steps" {
                    let (p, v) = need(take("users"), "users")?;
                    let step_users = count(&p, &v)?;
                    if step_users == 0 {
                        return Err(err(&p, "must be at least 1"));
                    }
                    let (p, v) = need(take("every"), "every")?;
                    let step_time = positive(&p, dur(&p, &v)?)?;
                    let (p, v) = need(take("max"), "max")?;
                    let max_users = count(&p, &v)?;
                    let (p, v) = need(take("time"), "time")?;
                    let total = positive(&p, dur(&p, &v)?)?;
                    let spawn_rate = match take("rate") {
                        None => None,
                        Some((p, v)) => match v.parse::<f64>() {
                            Ok(r) if r.is_finite() && r > 0.0 => Some(r),
                            _ => return Err(err(&p, "not a rate above 0")),
                        },
                    };
                    BuiltinShape::Steps(Steps {
                        step_users,
                        step_time,
                        max_users,
                        total,
                        spawn_rate,
                    })
                } else {
                    let (p, v) = need(take("base"), "base")?;
                    let base = count(&p, &v)?;
                    let (p, v) = need(take("peak"), "peak")?;
                    let peak = count(&p, &v)?;
                    let (p, v) = need(take("after"), "after")?;
                    let after = dur(&p, &v)?;
                    let (p, v) = need(take("ramp"), "ramp")?;
                    let ramp = dur(&p, &v)?;
                    let (p, v) = need(take("hold"), "hold")?;
                    let hold = dur(&p, &v)?;
                    let (p, v) = need(take("time"), "time")?;
                    let total = positive(&p, dur(&p, &v)?)?;
                    BuiltinShape::Spike(Spike {
                        base,
                        peak,
                        after,
                        ramp,
                        hold,
                        total,
                    })
                };
                if let Some((k, (p, _))) = kv.into_iter().next() {
                    return Err(err(&p, &format!("unknown key {k:?}")));
                }
                Ok(shape)
            }
            "stages" => {
                let mut stages = Vec::new();
                for part in rest.split(',').map(str::trim) {
                    if part.is_empty() {
                        return Err(err(
                            part,
                            "empty stage (expected DURATION@USERS, e.g. 30s@10)",
                        ));
                    }
                    let (d, t) = part
                        .split_once('@')
                        .ok_or_else(|| err(part, "expected DURATION@USERS, e.g. 30s@10"))?;
                    stages.push(Stage {
                        duration: positive(part, dur(part, d)?)?,
                        target: count(part, t)?,
                    });
                }
                Ok(BuiltinShape::Stages(Stages { stages }))
            }
            other => Err(err(
                other,
                "unknown shape (expected steps, stages or spike)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(shape: &mut dyn LoadShape, secs: u64) -> Option<u32> {
        shape.tick(Duration::from_secs(secs), 0).map(|t| t.users)
    }

    #[test]
    fn steps_staircase() {
        let mut s = parse_shape("steps:users=10,every=30s,max=100,time=10m").unwrap();
        assert_eq!(users(&mut *s, 0), Some(10));
        assert_eq!(users(&mut *s, 29), Some(10));
        assert_eq!(users(&mut *s, 30), Some(20));
        assert_eq!(users(&mut *s, 270), Some(100));
        assert_eq!(users(&mut *s, 599), Some(100));
        assert_eq!(users(&mut *s, 600), None);
    }

    #[test]
    fn stages_ramp_linearly() {
        let mut s = parse_shape("stages:10s@10,10s@10,5s@0").unwrap();
        assert_eq!(users(&mut *s, 0), Some(1));
        assert_eq!(users(&mut *s, 4), Some(5));
        assert_eq!(users(&mut *s, 12), Some(10));
        assert_eq!(users(&mut *s, 22), Some(4));
        assert_eq!(users(&mut *s, 24), Some(0));
        assert_eq!(users(&mut *s, 25), None);
        let t = s.tick(Duration::from_secs(4), 0).unwrap();
        assert!((t.spawn_rate - 1.0).abs() < 1e-9);
    }

    #[test]
    fn spike_goes_up_and_down() {
        let mut s =
            parse_shape("spike:base=5,peak=50,after=10s,ramp=5s,hold=10s,time=40s").unwrap();
        assert_eq!(users(&mut *s, 0), Some(5));
        assert_eq!(users(&mut *s, 9), Some(5));
        assert_eq!(users(&mut *s, 16), Some(50));
        assert_eq!(users(&mut *s, 30), Some(5));
        assert_eq!(users(&mut *s, 39), Some(5));
        assert_eq!(users(&mut *s, 40), None);
    }

    #[test]
    fn a_shape_displays_as_it_is_written() {
        for s in [
            "steps:users=10,every=30s,max=100,time=10m",
            "steps:users=1,every=1m30s,max=5,time=1h,rate=2.5",
            "stages:30s@10,1m@50,30s@0",
            "stages:250ms@1",
            "spike:base=10,peak=100,after=1m,ramp=5s,hold=30s,time=3m",
        ] {
            let shape = BuiltinShape::parse(s).unwrap();
            assert_eq!(shape.to_string(), s);
            assert_eq!(BuiltinShape::parse(&shape.to_string()).unwrap(), shape);
        }
    }

    #[test]
    fn bad_strings_name_the_bad_part() {
        for (s, part) in [
            ("steps:users=10,every=3x,max=100,time=1m", "every=3x"),
            ("steps:users=10,every=30s,max=100", "missing time"),
            ("steps:users=ten,every=30s,max=100,time=1m", "users=ten"),
            ("steps:users=10,every=0s,max=100,time=1m", "every=0s"),
            (
                "steps:users=10,every=30s,max=100,time=1m,color=red",
                "color",
            ),
            (
                "steps:users=10,users=3,every=30s,max=100,time=1m",
                "given twice",
            ),
            ("stages:30s@10,1m", "\"1m\""),
            ("stages:30s@10,-1m@5", "-1m@5"),
            ("stages:", "empty stage"),
            ("wave:1", "\"wave\""),
            ("steps", "KIND:ARGS"),
            (
                "spike:base=1,peak=2,after=1s,ramp=1s,hold=1s,time=0",
                "time=0",
            ),
        ] {
            let e = parse_shape(s).unwrap_err().to_string();
            assert!(e.contains(part), "{s}: {e}");
            assert!(e.contains("--shape"), "{e}");
        }
    }
}
