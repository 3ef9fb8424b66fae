//! Dispatching: the routing tree that decides which receivers an alert goes to.

pub mod dispatcher;
pub mod route;

pub use dispatcher::{Dispatcher, GroupSnapshot};
pub use route::{RouteNode, RouteOpts};
