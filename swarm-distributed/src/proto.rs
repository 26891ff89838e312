//! Locust's master/worker messages as typed Rust values, and their msgpack form.
//!
//! Every message on the wire is a msgpack array of exactly three items,
//! `[type: str, data: any, node_id: str]` (Locust's `Message.serialize`). Messages
//! going to the master are [`WorkerMessage`]s, messages coming from it are
//! [`MasterMessage`]s; both encode and decode, so the same types serve a Swarm worker
//! today and a Swarm master later.
//!
//! Decoding never panics: garbage, a truncated body, trailing bytes, an envelope that
//! is not a 3-array, a data field that is missing or has the wrong type, and a message
//! type nobody registered each give a [`ProtoError`] that names what is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::heartbeat::WorkerState;
use crate::stats::StatsReport;

/// A msgpack value, for the parts of a message whose shape Locust leaves open
/// (custom messages, `parsed_options`, `update_user_class` attributes).
pub use rmpv::Value;

/// What went wrong while encoding or decoding a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The bytes are not msgpack (or end in the middle of a value).
    #[error("not a msgpack message: {reason}")]
    Msgpack {
        /// The decoder's description of the problem.
        reason: String,
    },
    /// A complete msgpack value was followed by more bytes.
    #[error("{extra} trailing bytes after the msgpack message")]
    TrailingBytes {
        /// How many bytes were left over.
        extra: usize,
    },
    /// The value is not the array `[type, data, node_id]` of exactly three items.
    #[error("a message must be the msgpack array [type, data, node_id], got {found}")]
    NotAnEnvelope {
        /// What was found instead, e.g. `an array of 2` or `a map`.
        found: String,
    },
    /// The message type (first item) is not a UTF-8 string.
    #[error("the message type must be a string, got {found}")]
    TypeNotString {
        /// What was found instead.
        found: String,
    },
    /// The node id (third item) is not a UTF-8 string.
    #[error("the node id of a {message_type:?} message must be a string, got {found}")]
    NodeIdNotString {
        /// The message's type.
        message_type: String,
        /// What was found instead.
        found: String,
    },
    /// The type is neither a built-in message of this direction nor a registered
    /// custom type.
    #[error("unknown message type {message_type:?} (not a Locust message sent {direction}, and not a registered custom type)")]
    UnknownType {
        /// The unknown type.
        message_type: String,
        /// `to the master` or `to a worker`.
        direction: &'static str,
    },
    /// The data of a known message type has a missing or mistyped field.
    #[error("bad data in a {message_type:?} message: {reason}")]
    Data {
        /// The message's type.
        message_type: String,
        /// What is wrong, naming the field (e.g. ``missing field `state` ``).
        reason: String,
    },
    /// A message could not be encoded (e.g. a custom value msgpack cannot hold).
    #[error("cannot encode a {message_type:?} message: {reason}")]
    Encode {
        /// The message's type.
        message_type: String,
        /// The encoder's description of the problem.
        reason: String,
    },
}

/// Message types a peer has registered for custom messages (Locust's
/// `runner.register_message(type, fn)`). A type that is neither built in nor
/// registered is refused with [`ProtoError::UnknownType`], as Locust logs
/// "Unknown message type received".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomTypes(BTreeSet<String>);

impl CustomTypes {
    /// No custom types.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also accept custom messages of `message_type`.
    pub fn with(mut self, message_type: impl Into<String>) -> Self {
        self.0.insert(message_type.into());
        self
    }

    /// Whether `message_type` is registered.
    pub fn contains(&self, message_type: &str) -> bool {
        self.0.contains(message_type)
    }
}

/// A decoded message with the node id it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<M> {
    /// The message.
    pub message: M,
    /// The node id inside the message (for a worker, its own id; the master echoes
    /// the worker's id in everything it sends).
    pub node_id: String,
}

/// The data of a worker's `heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerHeartbeat {
    /// The worker's state.
    pub state: WorkerState,
    /// CPU use of the worker process in percent of one core (psutil's
    /// `cpu_percent()`), re-sampled every 10 s.
    pub current_cpu_usage: f64,
    /// Resident set size of the worker process in bytes.
    #[serde(default)]
    pub current_memory_usage: u64,
}

/// The data of a worker's `spawning_complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpawningComplete {
    /// Running users per user class after the spawn.
    pub user_classes_count: BTreeMap<String, u64>,
    /// Their sum (the master ignores it, but Locust sends it).
    #[serde(default)]
    pub user_count: u64,
}

/// The data of a worker's `exception`: an error a user task raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionReport {
    /// The error's message (Python's `str(exception)`).
    pub msg: String,
    /// A traceback; the master groups exceptions by it.
    pub traceback: String,
}

/// The data of a worker's `logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsReport {
    /// The worker's node id.
    pub worker_id: String,
    /// All log lines so far (cumulative, as Locust sends them).
    pub logs: Vec<String>,
}

/// The data of the master's `ack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The worker's 0-based index under this master (absent from masters <= 2.10.2).
    #[serde(default)]
    pub index: Option<i64>,
}

/// The data of the master's `spawn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spawn {
    /// When the master dispatched this (epoch s). A worker discards a spawn whose
    /// timestamp is not newer than the last one it took.
    pub timestamp: f64,
    /// The absolute per-worker target for each user class (not a delta).
    pub user_classes_count: BTreeMap<String, u64>,
    /// The target host, if the master has one.
    pub host: Option<String>,
    /// Seconds users get to finish their task on stop (`None` means 0).
    pub stop_timeout: Option<f64>,
    /// All of the master's parsed command-line options (a map).
    pub parsed_options: Value,
}

impl Spawn {
    /// The total number of users this spawn asks for.
    pub fn user_count(&self) -> u64 {
        self.user_classes_count.values().sum()
    }
}

/// The data of the master's `spawning_complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterSpawningComplete {
    /// Users running over all workers.
    pub user_count: u64,
}

/// The data of the master's `update_user_class` (from the web UI's class picker):
/// the class name and the attributes to set on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateUserClass {
    /// The user class to change.
    pub user_class_name: String,
    /// The other keys, as sent (e.g. `host`, `weight`, `fixed_count`, `tasks`).
    #[serde(flatten)]
    pub attributes: BTreeMap<String, Value>,
}

/// A message a worker sends to the master.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkerMessage {
    /// `client_ready`: the worker's Locust version (a Swarm worker sends its own
    /// version; the master only warns when the first four characters differ).
    ClientReady {
        /// The version string.
        version: String,
    },
    /// `heartbeat`, every second.
    Heartbeat(WorkerHeartbeat),
    /// `stats`, every 3 s: what happened since the previous report.
    Stats(Box<StatsReport>),
    /// `spawning`: sent on every `spawn` received.
    Spawning,
    /// `spawning_complete`: a spawn has been applied.
    SpawningComplete(SpawningComplete),
    /// `client_stopped`: the users have been stopped after a `stop`.
    ClientStopped,
    /// `quit`: the worker is shutting down.
    Quit,
    /// `exception`: a user task raised an error.
    Exception(ExceptionReport),
    /// `logs`: the worker's log lines.
    Logs(LogsReport),
    /// A custom message (Locust's `runner.send_message(type, data)`).
    Custom {
        /// The message type.
        message_type: String,
        /// Any data.
        data: Value,
    },
}

/// A message the master sends to a worker.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MasterMessage {
    /// `ack`: the answer to every `client_ready`.
    Ack(Ack),
    /// `heartbeat`: the answer to each worker heartbeat.
    Heartbeat,
    /// `spawn`: run these users.
    Spawn(Box<Spawn>),
    /// `spawning_complete`: the whole ramp-up is done.
    SpawningComplete(MasterSpawningComplete),
    /// `stop`: stop all users, then send `client_stopped` and `client_ready`.
    Stop,
    /// `quit`: stop, send the final stats, send `quit`, exit.
    Quit,
    /// `reconnect`: rebuild the connection (same identity).
    Reconnect,
    /// `update_user_class`: change a user class's attributes.
    UpdateUserClass(UpdateUserClass),
    /// A custom message.
    Custom {
        /// The message type.
        message_type: String,
        /// Any data.
        data: Value,
    },
}

impl WorkerMessage {
    /// The type string on the wire.
    pub fn message_type(&self) -> &str {
        match self {
            Self::ClientReady { .. } => "client_ready",
            Self::Heartbeat(_) => "heartbeat",
            Self::Stats(_) => "stats",
            Self::Spawning => "spawning",
            Self::SpawningComplete(_) => "spawning_complete",
            Self::ClientStopped => "client_stopped",
            Self::Quit => "quit",
            Self::Exception(_) => "exception",
            Self::Logs(_) => "logs",
            Self::Custom { message_type, .. } => message_type,
        }
    }

    /// The msgpack bytes of `[type, data, node_id]`.
    pub fn encode(&self, node_id: &str) -> Result<Vec<u8>, ProtoError> {
        let ty = self.message_type();
        match self {
            Self::ClientReady { version } => encode_envelope(ty, version, node_id),
            Self::Heartbeat(h) => encode_envelope(ty, h, node_id),
            Self::Stats(s) => encode_envelope(ty, s, node_id),
            Self::Spawning | Self::ClientStopped | Self::Quit => encode_envelope(ty, &(), node_id),
            Self::SpawningComplete(s) => encode_envelope(ty, s, node_id),
            Self::Exception(e) => encode_envelope(ty, e, node_id),
            Self::Logs(l) => encode_envelope(ty, l, node_id),
            Self::Custom { data, .. } => {
                refuse_builtin(ty, WORKER_TYPES)?;
                encode_envelope(ty, data, node_id)
            }
        }
    }

    /// Decode a message sent to the master; built-in types only.
    pub fn decode(bytes: &[u8]) -> Result<Envelope<Self>, ProtoError> {
        Self::decode_with(bytes, &CustomTypes::new())
    }

    /// Decode a message sent to the master, accepting `custom` types too.
    pub fn decode_with(bytes: &[u8], custom: &CustomTypes) -> Result<Envelope<Self>, ProtoError> {
        let (ty, data, node_id) = split_envelope(bytes)?;
        let message = match ty.as_str() {
            "client_ready" => Self::ClientReady {
                version: client_ready_version(&ty, data)?,
            },
            "heartbeat" => Self::Heartbeat(data_as(&ty, data)?),
            "stats" => Self::Stats(Box::new(data_as(&ty, data)?)),
            "spawning" => Self::Spawning,
            "spawning_complete" => Self::SpawningComplete(data_as(&ty, data)?),
            "client_stopped" => Self::ClientStopped,
            "quit" => Self::Quit,
            "exception" => Self::Exception(data_as(&ty, data)?),
            "logs" => Self::Logs(data_as(&ty, data)?),
            _ if custom.contains(&ty) => Self::Custom {
                message_type: ty,
                data,
            },
            _ => {
                return Err(ProtoError::UnknownType {
                    message_type: ty,
                    direction: "to the master",
                })
            }
        };
        Ok(Envelope { message, node_id })
    }
}

impl MasterMessage {
    /// The type string on the wire.
    pub fn message_type(&self) -> &str {
        match self {
            Self::Ack(_) => "ack",
            Self::Heartbeat => "heartbeat",
            Self::Spawn(_) => "spawn",
            Self::SpawningComplete(_) => "spawning_complete",
            Self::Stop => "stop",
            Self::Quit => "quit",
            Self::Reconnect => "reconnect",
            Self::UpdateUserClass(_) => "update_user_class",
            Self::Custom { message_type, .. } => message_type,
        }
    }

    /// The msgpack bytes of `[type, data, node_id]` (`node_id` is the worker's id).
    pub fn encode(&self, node_id: &str) -> Result<Vec<u8>, ProtoError> {
        let ty = self.message_type();
        match self {
            Self::Ack(a) => encode_envelope(ty, a, node_id),
            Self::Heartbeat | Self::Stop | Self::Quit | Self::Reconnect => {
                encode_envelope(ty, &(), node_id)
            }
            Self::Spawn(s) => encode_envelope(ty, s, node_id),
            Self::SpawningComplete(s) => encode_envelope(ty, s, node_id),
            Self::UpdateUserClass(u) => encode_envelope(ty, u, node_id),
            Self::Custom { data, .. } => {
                refuse_builtin(ty, MASTER_TYPES)?;
                encode_envelope(ty, data, node_id)
            }
        }
    }

    /// Decode a message sent to a worker; built-in types only.
    pub fn decode(bytes: &[u8]) -> Result<Envelope<Self>, ProtoError> {
        Self::decode_with(bytes, &CustomTypes::new())
    }

    /// Decode a message sent to a worker, accepting `custom` types too.
    pub fn decode_with(bytes: &[u8], custom: &CustomTypes) -> Result<Envelope<Self>, ProtoError> {
        let (ty, data, node_id) = split_envelope(bytes)?;
        let message = match ty.as_str() {
            // Locust's worker reads `index` only when the data is a map holding it.
            "ack" => Self::Ack(if data.is_nil() {
                Ack { index: None }
            } else {
                data_as(&ty, data)?
            }),
            "heartbeat" => Self::Heartbeat,
            "spawn" => Self::Spawn(Box::new(data_as(&ty, data)?)),
            "spawning_complete" => Self::SpawningComplete(data_as(&ty, data)?),
            "stop" => Self::Stop,
            "quit" => Self::Quit,
            "reconnect" => Self::Reconnect,
            "update_user_class" => Self::UpdateUserClass(data_as(&ty, data)?),
            _ if custom.contains(&ty) => Self::Custom {
                message_type: ty,
                data,
            },
            _ => {
                return Err(ProtoError::UnknownType {
                    message_type: ty,
                    direction: "to a worker",
                })
            }
        };
        Ok(Envelope { message, node_id })
    }
}

/// The built-in types a worker sends (Locust's master also reads `locustfile`).
const WORKER_TYPES: &[&str] = &[
    "client_ready",
    "heartbeat",
    "stats",
    "spawning",
    "spawning_complete",
    "client_stopped",
    "quit",
    "exception",
    "logs",
    "locustfile",
];

/// The built-in types a master sends.
const MASTER_TYPES: &[&str] = &[
    "ack",
    "heartbeat",
    "spawn",
    "spawning_complete",
    "stop",
    "quit",
    "reconnect",
    "update_user_class",
    "locustfile",
];

/// A custom message must not pose as a built-in one: the receiver would read its data
/// as the built-in's (and Locust's master stops listening on data it cannot read).
fn refuse_builtin(ty: &str, builtin: &[&str]) -> Result<(), ProtoError> {
    if builtin.contains(&ty) {
        return Err(ProtoError::Encode {
            message_type: ty.to_owned(),
            reason: "a custom message cannot use the type of a built-in message".to_owned(),
        });
    }
    Ok(())
}

/// `[type, data, node_id]` as msgpack: structs as maps with str keys (rmp-serde's
/// named form), ints in their smallest form, floats as float64, `()` as nil.
fn encode_envelope<T: Serialize + ?Sized>(
    ty: &str,
    data: &T,
    node_id: &str,
) -> Result<Vec<u8>, ProtoError> {
    rmp_serde::to_vec_named(&(ty, data, node_id)).map_err(|e| ProtoError::Encode {
        message_type: ty.to_owned(),
        reason: e.to_string(),
    })
}

/// How deeply values may nest. Locust's own messages nest 5 deep (a stats entry's
/// buckets); the limit keeps a hostile message from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// Check the envelope and split it into its three parts.
fn split_envelope(bytes: &[u8]) -> Result<(String, Value, String), ProtoError> {
    let mut rd = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH).map_err(|e| {
        ProtoError::Msgpack {
            reason: e.to_string(),
        }
    })?;
    if !rd.is_empty() {
        return Err(ProtoError::TrailingBytes { extra: rd.len() });
    }
    let Value::Array(items) = value else {
        return Err(ProtoError::NotAnEnvelope {
            found: describe(&value),
        });
    };
    let [ty, data, node_id]: [Value; 3] =
        items
            .try_into()
            .map_err(|items: Vec<Value>| ProtoError::NotAnEnvelope {
                found: format!("an array of {}", items.len()),
            })?;
    let ty = match ty {
        Value::String(s) if s.is_str() => s.into_str().unwrap_or_default(),
        other => {
            return Err(ProtoError::TypeNotString {
                found: describe(&other),
            })
        }
    };
    let node_id = match node_id {
        Value::String(s) if s.is_str() => s.into_str().unwrap_or_default(),
        other => {
            return Err(ProtoError::NodeIdNotString {
                message_type: ty,
                found: describe(&other),
            })
        }
    };
    Ok((ty, data, node_id))
}

fn data_as<T: DeserializeOwned>(ty: &str, data: Value) -> Result<T, ProtoError> {
    rmpv::ext::from_value(data).map_err(|e| ProtoError::Data {
        message_type: ty.to_owned(),
        reason: e.to_string(),
    })
}

/// Locust's master accepts a non-empty str (or the int -1, meaning "skip the version
/// check"); anything else either makes it refuse the worker (falsy) or crash.
fn client_ready_version(ty: &str, data: Value) -> Result<String, ProtoError> {
    match data {
        Value::String(s) if s.as_str().is_some_and(|s| !s.is_empty()) => {
            Ok(s.into_str().unwrap_or_default())
        }
        Value::Integer(i) if i.as_i64() == Some(-1) => Ok("-1".to_owned()),
        other => Err(ProtoError::Data {
            message_type: ty.to_owned(),
            reason: format!(
                "the version must be a non-empty string, got {}",
                describe(&other)
            ),
        }),
    }
}

/// A short description of a value's kind, for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Nil => "nil".to_owned(),
        Value::Boolean(b) => format!("the boolean {b}"),
        Value::Integer(i) => format!("the integer {i}"),
        Value::F32(f) => format!("the float {f}"),
        Value::F64(f) => format!("the float {f}"),
        Value::String(s) => match s.as_str() {
            Some("") => "an empty string".to_owned(),
            Some(_) => "a string".to_owned(),
            None => "a string that is not UTF-8".to_owned(),
        },
        Value::Binary(b) => format!("binary data of {} bytes", b.len()),
        Value::Array(a) => format!("an array of {}", a.len()),
        Value::Map(m) => format!("a map of {}", m.len()),
        Value::Ext(t, _) => format!("an extension value of type {t}"),
    }
}

impl fmt::Display for WorkerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_type())
    }
}

impl fmt::Display for MasterMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_type())
    }
}

#[cfg(test)]
mod tests;
