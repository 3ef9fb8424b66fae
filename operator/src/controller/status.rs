//! Status of each resource from its render outcome and what the engine replicas run
//! (pure functions).

use jiff::Timestamp;

use crate::crd::common::{ACCEPTED, LOADED};
use crate::crd::{Condition, ResourceStatus, SilenceStatus};
use crate::render::Outcome;

/// What the engine replicas run, compared with the config just rendered.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadedState {
    /// Every replica runs the rendered config.
    All {
        /// Number of replicas.
        replicas: usize,
    },
    /// Some replicas run another config (or did not answer).
    Pending {
        /// Replicas running the rendered config.
        loaded: usize,
        /// All replicas.
        replicas: usize,
    },
    /// Not known (no engine Service configured, or no replica found).
    Unknown(String),
}

/// One engine replica's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaHash {
    /// Address scraped (`ip:port`).
    pub address: String,
    /// Its `alertmanager_config_hash`, or why it is unknown.
    pub hash: Result<f64, String>,
}

/// Compares the replicas' config hashes with the expected one.
pub fn loaded_state(expected: f64, replicas: &Result<Vec<ReplicaHash>, String>) -> LoadedState {
    match replicas {
        Err(e) => LoadedState::Unknown(e.clone()),
        Ok(list) if list.is_empty() => LoadedState::Unknown("no engine replica found".to_string()),
        Ok(list) => {
            let loaded = list
                .iter()
                .filter(|r| r.hash.as_ref().is_ok_and(|h| *h == expected))
                .count();
            if loaded == list.len() {
                LoadedState::All { replicas: loaded }
            } else {
                LoadedState::Pending {
                    loaded,
                    replicas: list.len(),
                }
            }
        }
    }
}

fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message,
        last_transition_time: None,
        observed_generation: generation,
    }
}

/// A timestamp in whole seconds, as Kubernetes writes condition times.
fn seconds(t: Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

/// `Accepted` and `Loaded` for an outcome; transition times kept from `old` when the
/// status did not change.
pub fn conditions(
    outcome: &Outcome,
    loaded: &LoadedState,
    old: &[Condition],
    now: Timestamp,
) -> Vec<Condition> {
    let g = outcome.generation;
    let accepted = match &outcome.result {
        Ok(()) => condition(
            ACCEPTED,
            true,
            "Rendered",
            "part of the rendered config".into(),
            g,
        ),
        Err(r) => condition(ACCEPTED, false, r.reason, r.message.clone(), g),
    };
    let loaded = match (&outcome.result, loaded) {
        (Err(_), _) => condition(
            LOADED,
            false,
            "NotAccepted",
            "not part of the rendered config".into(),
            g,
        ),
        (Ok(()), LoadedState::All { replicas }) => condition(
            LOADED,
            true,
            "Loaded",
            format!("all {replicas} engine replicas run the rendered config"),
            g,
        ),
        (Ok(()), LoadedState::Pending { loaded, replicas }) => condition(
            LOADED,
            false,
            "Pending",
            format!("{loaded} of {replicas} engine replicas run the rendered config"),
            g,
        ),
        (Ok(()), LoadedState::Unknown(why)) => Condition {
            status: "Unknown".to_string(),
            ..condition(LOADED, false, "Unknown", why.clone(), g)
        },
    };
    [accepted, loaded]
        .into_iter()
        .map(|mut c| {
            let prev = old.iter().find(|o| o.type_ == c.type_);
            c.last_transition_time = match prev {
                Some(p) if p.status == c.status => p.last_transition_time.clone(),
                _ => Some(seconds(now)),
            };
            c
        })
        .collect()
}

/// The status of an AlertRoute or InhibitRule.
pub fn resource_status(
    outcome: &Outcome,
    loaded: &LoadedState,
    old: Option<&ResourceStatus>,
    now: Timestamp,
) -> ResourceStatus {
    let old_conditions = old.map(|s| s.conditions.as_slice()).unwrap_or_default();
    ResourceStatus {
        observed_generation: outcome.generation,
        conditions: conditions(outcome, loaded, old_conditions, now),
    }
}

/// The status of a Silence.
pub fn silence_status(
    outcome: &Outcome,
    loaded: &LoadedState,
    old: Option<&SilenceStatus>,
    muted: Option<i32>,
    now: Timestamp,
) -> SilenceStatus {
    let old_conditions = old.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let info = outcome.silence.as_ref();
    SilenceStatus {
        observed_generation: outcome.generation,
        silence_id: info.map(|i| i.id.clone()),
        state: info.map(|i| i.state),
        starts_at: info.map(|i| i.starts_at.to_string()),
        ends_at: info.map(|i| i.ends_at.to_string()),
        muted_alerts: if info.is_some() { muted } else { None },
        conditions: conditions(outcome, loaded, old_conditions, now),
    }
}

/// Whether the `Accepted` condition newly says False, or says it for another reason
/// (an Event is recorded then, not on every pass).
pub fn newly_rejected(old: &[Condition], new: &[Condition]) -> bool {
    let find = |list: &[Condition]| list.iter().find(|c| c.type_ == ACCEPTED).cloned();
    match (find(old), find(new)) {
        (_, Some(n)) if n.status != "False" => false,
        (Some(o), Some(n)) => o.status != n.status || o.message != n.message,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::crd::SilenceState;
    use crate::render::{Rejection, SilenceInfo};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ok() -> Outcome {
        Outcome {
            generation: Some(4),
            result: Ok(()),
            silence: None,
        }
    }

    fn hashes(v: &[Result<f64, &str>]) -> Result<Vec<ReplicaHash>, String> {
        Ok(v.iter()
            .enumerate()
            .map(|(i, h)| ReplicaHash {
                address: format!("10.0.0.{i}:9093"),
                hash: h.map_err(str::to_string),
            })
            .collect())
    }

    #[test]
    fn loaded_only_when_every_replica_runs_the_hash() {
        assert_eq!(
            loaded_state(7.0, &hashes(&[Ok(7.0), Ok(7.0), Ok(7.0)])),
            LoadedState::All { replicas: 3 }
        );
        assert_eq!(
            loaded_state(7.0, &hashes(&[Ok(7.0), Ok(6.0), Err("timeout")])),
            LoadedState::Pending {
                loaded: 1,
                replicas: 3
            }
        );
        assert!(matches!(
            loaded_state(7.0, &hashes(&[])),
            LoadedState::Unknown(_)
        ));
        assert!(matches!(
            loaded_state(7.0, &Err("forbidden".into())),
            LoadedState::Unknown(_)
        ));
    }

    #[test]
    fn accepted_and_loaded_conditions() {
        let now = ts("2026-11-24T12:00:00Z");
        let c = conditions(&ok(), &LoadedState::All { replicas: 3 }, &[], now);
        assert_eq!(
            (c[0].type_.as_str(), c[0].status.as_str()),
            ("Accepted", "True")
        );
        assert_eq!(
            (
                c[1].type_.as_str(),
                c[1].status.as_str(),
                c[1].reason.as_str()
            ),
            ("Loaded", "True", "Loaded")
        );
        assert_eq!(c[1].observed_generation, Some(4));

        let rejected = Outcome {
            result: Err(Rejection::new("InvalidConfig", "bad regex")),
            ..ok()
        };
        let c = conditions(&rejected, &LoadedState::All { replicas: 3 }, &[], now);
        assert_eq!(
            (
                c[0].status.as_str(),
                c[0].reason.as_str(),
                c[0].message.as_str()
            ),
            ("False", "InvalidConfig", "bad regex")
        );
        assert_eq!(
            (c[1].status.as_str(), c[1].reason.as_str()),
            ("False", "NotAccepted")
        );

        let pending = conditions(
            &ok(),
            &LoadedState::Pending {
                loaded: 2,
                replicas: 3,
            },
            &[],
            now,
        );
        assert_eq!(pending[1].status, "False");
        assert!(pending[1].message.contains("2 of 3"));
    }

    #[test]
    fn transition_time_kept_while_status_unchanged() {
        let t1 = ts("2026-11-24T12:00:00Z");
        let t2 = ts("2026-11-24T12:05:00Z");
        let first = conditions(
            &ok(),
            &LoadedState::Pending {
                loaded: 0,
                replicas: 1,
            },
            &[],
            t1,
        );
        let second = conditions(&ok(), &LoadedState::All { replicas: 1 }, &first, t2);
        assert_eq!(
            second[0].last_transition_time,
            first[0].last_transition_time
        );
        assert_eq!(
            second[1].last_transition_time.as_deref(),
            Some("2026-11-24T12:05:00Z")
        );
        // Same inputs again: the same status, so no patch is needed.
        let third = conditions(
            &ok(),
            &LoadedState::All { replicas: 1 },
            &second,
            ts("2026-11-24T13:00:00Z"),
        );
        assert_eq!(third, second);
    }

    #[test]
    fn events_only_for_new_rejections() {
        let now = ts("2026-11-24T12:00:00Z");
        let l = LoadedState::All { replicas: 1 };
        let bad = |m: &str| Outcome {
            result: Err(Rejection::new("InvalidConfig", m)),
            ..ok()
        };
        let good = conditions(&ok(), &l, &[], now);
        let bad1 = conditions(&bad("x"), &l, &good, now);
        assert!(!newly_rejected(&[], &good));
        assert!(newly_rejected(&good, &bad1));
        assert!(!newly_rejected(
            &bad1,
            &conditions(&bad("x"), &l, &bad1, now)
        ));
        assert!(newly_rejected(
            &bad1,
            &conditions(&bad("y"), &l, &bad1, now)
        ));
    }

    #[test]
    fn silence_status_fields() {
        let info = SilenceInfo {
            id: "team-a:m".into(),
            starts_at: ts("2026-11-24T11:00:00Z"),
            ends_at: ts("2026-11-24T13:00:00Z"),
            state: SilenceState::Active,
        };
        let o = Outcome {
            silence: Some(info),
            ..ok()
        };
        let s = silence_status(
            &o,
            &LoadedState::All { replicas: 3 },
            None,
            Some(2),
            ts("2026-11-24T12:00:00Z"),
        );
        assert_eq!(s.silence_id.as_deref(), Some("team-a:m"));
        assert_eq!(s.state, Some(SilenceState::Active));
        assert_eq!(s.ends_at.as_deref(), Some("2026-11-24T13:00:00Z"));
        assert_eq!(s.muted_alerts, Some(2));
        assert_eq!(s.observed_generation, Some(4));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["state"], "active");
    }
}
