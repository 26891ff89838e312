//! The config file layer: a TOML file whose keys are the long flag names
//! (`spawn-rate = 5`, `threshold = ["p95 < 200ms"]`, `user-types = ["Admin"]`).
//!
//! Each key is read on its own into an [`Args`] layer, with the same parsers as the
//! command line, so that a bad value is reported with its key and the file. The keys
//! are the command line's own: the long names of [`Args`]'s flags (and `user-types`
//! for the positional user types), read from clap's definition of the command.

use std::path::Path;

use serde::Deserialize as _;

use super::options::Args;
use crate::error::ConfigError;

/// Flags that are actions or name the file itself, not settings a file can hold.
const NOT_IN_A_FILE: [&str; 3] = ["config", "list", "headless"];

/// The keys a config file may hold, in the order of `--help`.
pub(crate) fn keys() -> Vec<String> {
    let cmd = <Args as clap::Args>::augment_args(clap::Command::new("swarm"));
    cmd.get_arguments()
        .filter(|a| !NOT_IN_A_FILE.contains(&a.get_id().as_str()))
        .map(|a| match a.get_long() {
            Some(long) => long.to_owned(),
            None => a.get_id().as_str().replace('_', "-"),
        })
        .collect()
}

/// Read a config file: one layer per key, in the file's key order.
pub(super) fn read(path: &Path) -> Result<Vec<Args>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    let known = keys();
    let mut layers = Vec::with_capacity(table.len());
    for (key, value) in table {
        if !known.contains(&key) {
            return Err(ConfigError::ParseFile {
                path: path.to_owned(),
                message: unknown_key(&key, &known),
            });
        }
        let shown = match &value {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let one = toml::Table::from_iter([(key.clone(), value)]);
        let layer = Args::deserialize(one).map_err(|e| ConfigError::InvalidValue {
            option: key,
            value: shown,
            reason: e.message().trim().to_owned(),
            file: Some(path.to_owned()),
        })?;
        layers.push(layer);
    }
    Ok(layers)
}

fn unknown_key(key: &str, known: &[String]) -> String {
    let norm = |k: &str| k.to_ascii_lowercase().replace('_', "-");
    let wanted = norm(key);
    let near = known.iter().find(|k| {
        let k = k.as_str();
        k == wanted || format!("{k}s") == wanted || wanted.strip_prefix("--") == Some(k)
    });
    let hint = near.map_or_else(String::new, |k| format!(" (did you mean `{k}`?)"));
    format!(
        "unknown key `{key}`{hint}; the keys are the long flag names: {}",
        known.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_long_flag_names() {
        let keys = keys();
        for k in [
            "users",
            "spawn-rate",
            "threshold",
            "precise-timer",
            "user-types",
        ] {
            assert!(keys.iter().any(|x| x == k), "{k} in {keys:?}");
        }
        for k in ["config", "list", "headless", "thresholds"] {
            assert!(!keys.iter().any(|x| x == k), "{k} in {keys:?}");
        }
    }

    #[test]
    fn unknown_keys_get_a_hint() {
        let keys = keys();
        assert!(unknown_key("spawn_rate", &keys).contains("did you mean `spawn-rate`"));
        assert!(unknown_key("thresholds", &keys).contains("did you mean `threshold`"));
        assert!(!unknown_key("userz", &keys).contains("did you mean"));
    }
}
