//! Larum's Kubernetes operator: AlertRoute, InhibitRule and Silence resources rendered
//! into the Secret the engine replicas load (`alertmanager.yaml` and `silences.yaml`).

pub mod cli;
pub mod controller;
pub mod crd;
pub mod render;
