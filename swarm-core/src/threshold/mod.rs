//! Thresholds: service-level objectives checked against a run's [`Snapshot`], in the
//! style of k6 (`p95 < 250ms`, `fail_ratio < 1%`).
//!
//! # Grammar
//!
//! ```text
//! threshold := [ scope ":" ] metric op value        (whitespace anywhere between the parts)
//! scope     := KIND NAME | NAME                     (e.g. `GET /status`, `/status`, `checkout`)
//! metric    := pNN | pNN.N | med | median | avg | min | max
//!            | fail_ratio | rps | requests | failures | fails_per_sec
//! op        := "<" | "<=" | ">" | ">=" | "==" | "!="
//! value     := NUMBER [ unit ]                      (NUMBER: 250, 0.5, .5; never negative)
//!            | "baseline" [ "*" NUMBER ]            (relative to a baseline run: --baseline)
//! ```
//!
//! **Relative to a baseline.** With `--baseline PATH` (an earlier run's JSON report), a
//! value of `baseline` or `baseline * FACTOR` is the baseline's value of the same scope
//! and metric (times the factor): `p95 < baseline * 1.10` fails a run whose p95 grew by
//! more than 10%, `fail_ratio <= baseline` one that fails more often. The limit is fixed
//! from the baseline before the run starts; a relative threshold without a baseline, or
//! whose scope or metric the baseline has no value for, is an error before any load.
//!
//! **Scope.** Without a scope a threshold checks the run's total (the `Aggregated` row).
//! With one it checks the entries it selects, merged: `GET /status` selects the entry of
//! kind `GET` (the kind compares case-insensitively) and name `/status`; when no entry has
//! that kind and name, the whole scope is taken as a name and selects the entries of that
//! name whatever their kind (so `/status` merges `GET /status` and `POST /status`, and a
//! name with spaces such as `list items` works). Names may hold spaces and colons: the
//! scope ends at the last `:` that is followed by a valid metric expression, so
//! `GET /api/v1:item: p95 < 100ms` has the scope `GET /api/v1:item`. The scope
//! `Aggregated` names the total when no entry has that name. A scope that selects no entry
//! makes the threshold **fail**, so that a typo never passes silently.
//!
//! **Metrics**, units and what each measures:
//!
//! | metric | measures | value units |
//! |---|---|---|
//! | `p0` .. `p100`, `p99.9` | latency percentile | `us` (or `µs`), `ms` (the default), `s`, `m` |
//! | `med`, `median` | `p50` | as above |
//! | `avg`, `min`, `max` | mean, smallest, largest latency | as above |
//! | `fail_ratio` | failures / requests | a ratio `0.01` (0 ..= 1) or a percent `1%` |
//! | `rps` | requests per second over the run | a plain number |
//! | `fails_per_sec` | failures per second over the run | a plain number |
//! | `requests`, `failures` | counts | a plain number |
//!
//! Metric names and units are case-insensitive. A unit on a count or rate, a time unit on
//! `fail_ratio`, or a ratio above 1 (`fail_ratio < 5`: write `5%`) is an error.
//!
//! A latency metric or `fail_ratio` of an entry with no request has no value, and the
//! threshold fails ("no requests"); counts and rates are 0 then. `==` and `!=` (and the
//! boundary of the other operators) compare with a relative tolerance of 1e-9, so that
//! `p95 <= 0.25s` and `p95 <= 250ms` agree.
//!
//! # Examples
//!
//! ```text
//! p95 < 250ms                     the total's 95th percentile under 250 ms
//! p99.9<1s                        whitespace is optional
//! fail_ratio < 1%                 same as fail_ratio < 0.01
//! rps >= 100                      at least 100 requests per second over the run
//! GET /status: med <= 20          p50 of GET /status at most 20 ms
//! /status: failures == 0          every kind named /status, merged
//! GET /api/v1:item: max < 2s      scope "GET /api/v1:item"
//! p95 < baseline * 1.1            at most 10% above the baseline run's p95
//! /status: fail_ratio <= baseline no more failing than in the baseline run
//! ```
//!
//! Errors quote the whole expression and point at the bad part:
//!
//! ```text
//! invalid threshold "p95 < 2xx": "2xx" is not a duration (expected e.g. 250ms, 1s)
//! invalid threshold "p955 < 1s": unknown metric "p955" (expected p95, p99.9, med, avg, ...)
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::stats::Snapshot;

mod metric;
mod parse;

use metric::{Limit, Metric, Op, Scope};
use parse::parse_condition;
pub use parse::ThresholdError;

/// The list of metrics, for error messages.
const METRICS: &str =
    "p95, p99.9, med, avg, min, max, fail_ratio, rps, requests, failures, fails_per_sec";
/// The list of operators, for error messages.
const OPERATORS: &str = "<, <=, >, >=, ==, !=";
/// How many entry names a "no entry matched" message lists.
const LISTED_ENTRIES: usize = 10;

/// A service-level objective checked against a run's statistics, such as `p95 < 250ms`,
/// `fail_ratio < 1%` or `GET /status: p99 <= 1s`.
///
/// The grammar is `[SCOPE ":"] METRIC OP VALUE`:
///
/// - **SCOPE** (optional) selects entries: `KIND NAME` (`GET /status`) or `NAME` (every
///   kind of that name, merged). Without a scope the threshold checks the run's total.
///   A scope that matches no entry fails the threshold.
/// - **METRIC**: `pNN` / `pNN.N` (percentile, `p0` ..= `p100`), `med` / `median`, `avg`,
///   `min`, `max` (latencies); `fail_ratio`; `rps`, `fails_per_sec` (per second over the
///   run); `requests`, `failures` (counts).
/// - **OP**: `<`, `<=`, `>`, `>=`, `==`, `!=`.
/// - **VALUE**: latencies take `us`, `ms` (default), `s` or `m`; `fail_ratio` takes a ratio
///   (`0.01`) or a percent (`1%`); counts and rates take a plain number.
///
/// ```
/// use swarm_core::{Snapshot, Threshold};
///
/// let t: Threshold = "GET /status: p95 < 0.25s".parse()?;
/// assert_eq!(t.to_string(), "GET /status: p95 < 0.25s");
///
/// // An empty run has no entry called "GET /status": the threshold fails.
/// let result = t.evaluate(&Snapshot::empty());
/// assert!(!result.passed);
///
/// let err = Threshold::parse("p95 < 2xx").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"invalid threshold "p95 < 2xx": "2xx" is not a duration (expected e.g. 250ms, 1s)"#
/// );
/// # Ok::<(), swarm_core::ThresholdError>(())
/// ```
///
/// It serialises as its expression (a string), or as `{ expr, abort_on_fail }` when
/// `abort_on_fail` is set; it deserialises from either form, parsing the expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct Threshold {
    /// The expression as written (without surrounding whitespace).
    pub expr: String,
    scope: Option<Scope>,
    metric: Metric,
    op: Op,
    /// A value in the metric's base unit (milliseconds for latencies, a ratio for
    /// `fail_ratio`), or relative to the baseline.
    limit: Limit,
    /// The baseline's value of this scope and metric, once [resolved](Threshold::resolve).
    baseline: Option<f64>,
    /// Whether a failure of this threshold should stop the run early.
    pub abort_on_fail: bool,
}

impl Threshold {
    /// Parse a threshold expression (see the [grammar](Threshold)).
    pub fn parse(expr: &str) -> Result<Threshold, ThresholdError> {
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(ThresholdError::Empty {
                expr: expr.to_owned(),
            });
        }
        // The scope ends at the last ':' followed by a valid metric expression. A metric
        // expression holds no ':', so only the last ':' can succeed; the other candidates
        // are tried only to report the most helpful error (the one that got furthest).
        let mut best: Option<ThresholdError> = None;
        let mut keep = |err: ThresholdError| {
            if best.as_ref().is_none_or(|b| err.stage() > b.stage()) {
                best = Some(err);
            }
        };
        for (at, _) in expr.char_indices().rev().filter(|&(_, c)| c == ':') {
            let (scope, rest) = (expr[..at].trim(), &expr[at + 1..]);
            match parse_condition(expr, rest) {
                Ok(_) if scope.is_empty() => keep(ThresholdError::EmptyScope {
                    expr: expr.to_owned(),
                }),
                Ok((metric, op, limit)) => {
                    return Ok(Threshold {
                        expr: expr.to_owned(),
                        scope: Some(Scope(scope.to_owned())),
                        metric,
                        op,
                        limit,
                        baseline: None,
                        abort_on_fail: false,
                    })
                }
                Err(err) => keep(err),
            }
        }
        match parse_condition(expr, expr) {
            Ok((metric, op, limit)) => Ok(Threshold {
                expr: expr.to_owned(),
                scope: None,
                metric,
                op,
                limit,
                baseline: None,
                abort_on_fail: false,
            }),
            Err(err) => {
                keep(err);
                Err(best.unwrap_or(ThresholdError::Empty {
                    expr: expr.to_owned(),
                }))
            }
        }
    }

    /// Set whether a failure of this threshold should stop the run early.
    #[must_use]
    pub fn abort_on_fail(mut self, abort: bool) -> Self {
        self.abort_on_fail = abort;
        self
    }

    /// Whether the limit is relative to a baseline run (`p95 < baseline * 1.1`).
    pub fn is_relative(&self) -> bool {
        matches!(self.limit, Limit::Baseline { .. })
    }

    /// Fix a relative limit from the baseline run: the baseline's value of the same scope
    /// and metric, times the factor. A fixed limit is returned as it is.
    ///
    /// ```
    /// use swarm_core::{Snapshot, Threshold};
    ///
    /// let t: Threshold = "p95 < baseline * 1.1".parse()?;
    /// let err = t.resolve(None).unwrap_err();
    /// assert!(err.to_string().contains("no baseline was given"));
    /// // An empty baseline has no latency to compare with.
    /// assert!(t.resolve(Some(&Snapshot::empty())).is_err());
    /// # Ok::<(), swarm_core::ThresholdError>(())
    /// ```
    pub fn resolve(&self, baseline: Option<&Snapshot>) -> Result<Threshold, ThresholdError> {
        if !self.is_relative() {
            return Ok(self.clone());
        }
        let fail = |reason: String| ThresholdError::Baseline {
            expr: self.expr.clone(),
            reason,
        };
        let snap =
            baseline.ok_or_else(|| fail("no baseline was given (--baseline PATH)".into()))?;
        let value = self
            .measure(snap)
            .map_err(|why| fail(format!("in the baseline: {why}")))?;
        Ok(Threshold {
            baseline: Some(value),
            ..self.clone()
        })
    }

    /// The metric over this threshold's scope, or why there is none.
    fn measure(&self, snap: &Snapshot) -> Result<f64, String> {
        let entry = match &self.scope {
            None => snap.aggregated(),
            Some(scope) => scope.select(snap).ok_or_else(|| scope.no_match(snap))?,
        };
        self.metric
            .measure(&entry, snap.duration_secs)
            .map_err(str::to_owned)
    }

    /// The limit in the metric's base unit; `None` for a relative limit not yet resolved.
    fn limit_value(&self) -> Option<f64> {
        match self.limit {
            Limit::Fixed(v) => Some(v),
            Limit::Baseline { factor } => self.baseline.map(|b| b * factor),
        }
    }

    /// Check the threshold against a snapshot.
    ///
    /// Without a scope it measures [`Snapshot::aggregated`]; with one, the selected entries
    /// merged. It fails when the scope selects no entry, when a latency metric or
    /// `fail_ratio` has no request to measure, or when its limit is relative to a baseline
    /// and was not [resolved](Threshold::resolve).
    pub fn evaluate(&self, snap: &Snapshot) -> ThresholdResult {
        let Some(limit) = self.limit_value() else {
            return self.result(None, None, "no baseline to compare with".to_owned());
        };
        match self.measure(snap) {
            Ok(measured) => {
                let mut message = self.metric.format(measured);
                if let (Some(b), Limit::Baseline { factor }) = (self.baseline, self.limit) {
                    message.push_str(&format!(" (baseline {}", self.metric.format(b)));
                    if factor != 1.0 {
                        message.push_str(&format!(
                            " x {} = {}",
                            metric::fmt_num(factor),
                            self.metric.format(limit)
                        ));
                    }
                    message.push(')');
                }
                self.result(Some(measured), Some(limit), message)
            }
            Err(why) => self.result(None, Some(limit), why),
        }
    }

    fn result(
        &self,
        measured: Option<f64>,
        limit: Option<f64>,
        message: String,
    ) -> ThresholdResult {
        ThresholdResult {
            expr: self.expr.clone(),
            passed: measured
                .zip(limit)
                .is_some_and(|(m, l)| self.op.holds(m, l)),
            measured,
            unit: self.metric.unit().to_owned(),
            message,
            baseline: self.baseline,
        }
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Threshold::parse(s)
    }
}

impl fmt::Display for Threshold {
    /// The expression as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Check every threshold against a snapshot, in order.
pub fn evaluate_all(thresholds: &[Threshold], snap: &Snapshot) -> Vec<ThresholdResult> {
    thresholds.iter().map(|t| t.evaluate(snap)).collect()
}

/// The outcome of one [`Threshold`] checked against a snapshot.
///
/// Displays as `PASS p95 < 200ms: 153.2ms` or `FAIL GET /x: p95 < 200ms: no entry matched
/// "GET /x" (entries: GET /y)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThresholdResult {
    /// The threshold's expression.
    pub expr: String,
    /// Whether the objective holds.
    pub passed: bool,
    /// The measured value, in [`unit`](Self::unit); `None` when the scope matched no
    /// entry, or a latency metric or `fail_ratio` had no request to measure.
    pub measured: Option<f64>,
    /// The unit of `measured`: `ms` (latencies), `ratio` (`fail_ratio`, 0 ..= 1), `req/s`
    /// (`rps`), `fails/s` (`fails_per_sec`) or empty (counts).
    pub unit: String,
    /// The measured value for people (`153.2ms`, `0.5%`, `12.5 req/s`, with the baseline
    /// when the limit is relative to it), or why there is none (`no requests`, `no entry
    /// matched "GET /x" ...`).
    pub message: String,
    /// For a limit relative to the baseline, the baseline's value, in [`unit`](Self::unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
}

impl fmt::Display for ThresholdResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        write!(f, "{verdict} {}: {}", self.expr, self.message)
    }
}

/// How a [`Threshold`] is (de)serialised: its expression, re-parsed on the way in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Expr(String),
    Full(FullRepr),
}

/// The long form of a [`Threshold`]: `{ expr, abort_on_fail }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FullRepr {
    expr: String,
    #[serde(default)]
    abort_on_fail: bool,
}

impl TryFrom<Repr> for Threshold {
    type Error = ThresholdError;

    fn try_from(repr: Repr) -> Result<Self, Self::Error> {
        match repr {
            Repr::Expr(expr) => Threshold::parse(&expr),
            Repr::Full(full) => Ok(Threshold::parse(&full.expr)?.abort_on_fail(full.abort_on_fail)),
        }
    }
}

impl From<Threshold> for Repr {
    fn from(t: Threshold) -> Self {
        if t.abort_on_fail {
            Repr::Full(FullRepr {
                expr: t.expr,
                abort_on_fail: true,
            })
        } else {
            Repr::Expr(t.expr)
        }
    }
}

#[cfg(test)]
mod tests;
