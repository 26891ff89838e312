//! What the command line asks of a master: the user classes to dispatch, whether it
//! starts by itself, the options its workers read, and the flags it refuses.

use swarm_core::cli::ModeContext;

use super::dispatch::UserClass;
use crate::proto::Value;

/// The open model's flags, refused with a master: Locust's protocol sends each worker
/// user counts, not arrival rates.
pub(super) fn refuse_open_model(config: &swarm_core::Config) -> Result<(), swarm_core::Error> {
    let given = if let Some(rate) = config.arrival_rate {
        Some(("--arrival-rate", rate.to_string()))
    } else {
        config
            .arrival_stages
            .as_ref()
            .map(|s| ("--arrival-stages", s.clone()))
    };
    match given {
        None => Ok(()),
        Some((option, value)) => Err(swarm_core::Error::Config(
            swarm_core::ConfigError::InvalidValue {
                option: option.to_owned(),
                value,
                reason: "a master sends its workers user counts (Locust's protocol), not \
                         arrival rates: run the open model in one process, or give the \
                         master -u/-r or --shape"
                    .to_owned(),
                file: None,
            },
        )),
    }
}

/// `-u` is on the command line.
pub(super) fn users_given(ctx: &ModeContext) -> bool {
    ctx.matches()
        .try_get_one::<u32>("users")
        .ok()
        .flatten()
        .is_some()
}

/// The user classes the master dispatches: the binary's user types (those named on
/// the command line, or all), with their weights and fixed counts.
pub(super) fn user_classes(ctx: &ModeContext) -> Vec<UserClass> {
    let names = ctx.user_types();
    swarm_core::registered()
        .into_iter()
        .filter(|r| names.iter().any(|n| n == r.name()))
        .map(|r| UserClass {
            name: r.name().to_owned(),
            weight: r.weight(),
            fixed_count: r.fixed_count(),
        })
        .collect()
}

/// The master's options a worker reads from `spawn` (Locust's workers copy
/// `expect_workers`, `tags` and `exclude_tags`).
pub(super) fn parsed_options(
    config: &swarm_core::Config,
    expected: usize,
    host: Option<&str>,
) -> Value {
    let tags = |t: &[String]| {
        if t.is_empty() {
            Value::Nil
        } else {
            Value::Array(t.iter().map(|s| Value::from(s.as_str())).collect())
        }
    };
    Value::Map(vec![
        (Value::from("expect_workers"), Value::from(expected as u64)),
        (Value::from("tags"), tags(&config.tags)),
        (Value::from("exclude_tags"), tags(&config.exclude_tags)),
        (Value::from("host"), host.map_or(Value::Nil, Value::from)),
    ])
}

/// The host as Locust's `-H` gives it: no trailing `/` (Python's users append the path,
/// `http://h:1` + `/index.html`; `http://h:1/` would make it `//index.html`).
pub(super) fn host_string(config: &swarm_core::Config) -> Option<String> {
    config
        .host
        .as_ref()
        .map(|h| h.as_str().trim_end_matches('/').to_owned())
}
