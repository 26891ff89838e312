//! Durations as Locust writes them (`90`, `20s`, `5m`, `1h30m`, `250ms`): one parser for
//! the command line, the config file, load shapes and arrival stages.
//!
//! It lives apart from `config` so that `shape` and `rate` can use it without depending
//! on the configuration (which depends on them).

use std::time::Duration;

/// Parse a duration as Locust writes them: `90` (seconds), `20s`, `5m`, `1h30m`, `250ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return Err("must be a positive number of seconds".to_owned());
        }
        return Duration::try_from_secs_f64(secs).map_err(|e| e.to_string());
    }
    if s.starts_with('-') {
        return Err("must not be negative".to_owned());
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 30s, 5m, 1h30m)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("-5").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("").is_err());
    }
}
