//! Test support for engine process tests: Alertmanager-compatible processes (larum-engine or a
//! reference Alertmanager), a recording webhook endpoint, and an alert sender with a timeline.
#![allow(dead_code)]

pub mod alerts;
pub mod amtool;
pub mod cluster;
pub mod process;
pub mod prometheus;
pub mod receiver;
