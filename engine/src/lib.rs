//! larum-engine: a drop-in Alertmanager.
//!
//! The crate is split like Alertmanager itself: [`config`] reads Alertmanager's
//! configuration format.

pub mod alert;
pub mod api;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod dispatch;
pub mod fuzzing;
pub mod inhibit;
pub mod metrics;
pub mod nflog;
pub mod notify;
pub mod options;
pub mod silence;
pub mod storage;
pub mod template;
