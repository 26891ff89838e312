#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod api;
mod auth;
mod control;
mod error;
mod locust_json;
mod master_link;
mod master_view;
mod metrics;
mod metrics_server;
mod mode;
mod options;
mod server;
mod tls;

pub use crate::error::WebError;
pub use crate::master_link::{MasterCommand, MasterLink};
pub use crate::master_view::{MasterView, WorkerRow};
pub use crate::mode::WebUi;
