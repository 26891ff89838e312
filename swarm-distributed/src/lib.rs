#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod heartbeat;
pub mod proto;
pub mod session;
pub mod stats;
pub mod transport;
