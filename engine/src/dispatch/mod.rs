//! Dispatching: the routing tree that decides which receivers an alert goes to.

pub mod route;

pub use route::{RouteNode, RouteOpts};
