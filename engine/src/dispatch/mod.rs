//! Dispatching: the routing tree, aggregation groups and their timers.

pub mod dispatcher;
pub mod group;
pub mod route;
pub(crate) mod scheduler;

pub use dispatcher::{Dispatcher, DispatcherMetrics, DispatcherOptions, GroupSnapshot};
pub use group::{label_set_before, sort_alerts};
pub use route::{RouteNode, RouteOpts};

#[cfg(test)]
mod timing_tests;
