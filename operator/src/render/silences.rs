//! `silences.yaml`: every valid Silence resource, in the format of the engine's
//! `--silences.file` (stable IDs, so an edit updates the same silence).

use std::collections::BTreeMap;

use jiff::Timestamp;
use kube::ResourceExt;
use larum_engine::config::matcher::{MatchType as EngineMatchType, Matcher as EngineMatcher};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::alertmanager::scope_matcher;
use super::{Inputs, Kind, ObjectKey, Outcome, Rejection, RenderError, SilenceInfo, to_yaml};
use crate::crd::{MatchType, Silence, SilenceState};

/// One entry of the silences file.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileSilence {
    id: String,
    matchers: Vec<String>,
    starts_at: String,
    ends_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    created_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    comment: String,
}

/// The engine's silence ID for a resource: `namespace:name`, or a hash when too long.
pub fn silence_id(namespace: &str, name: &str) -> String {
    let id = format!("{namespace}:{name}");
    if id.len() <= 128 {
        return id;
    }
    let sum = Sha256::digest(id.as_bytes());
    let hex: String = sum.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", &namespace[..namespace.len().min(60)])
}

/// A silence's state at `now`.
pub fn state_at(starts_at: Timestamp, ends_at: Timestamp, now: Timestamp) -> SilenceState {
    if now < starts_at {
        SilenceState::Pending
    } else if now < ends_at {
        SilenceState::Active
    } else {
        SilenceState::Expired
    }
}

fn parse_time(field: &str, s: &str) -> Result<Timestamp, Rejection> {
    s.parse::<Timestamp>().map_err(|e| {
        Rejection::new(
            "InvalidTime",
            format!("{field}: invalid timestamp {s:?}: {e}"),
        )
    })
}

/// Computes the effective times and checks the matchers of one Silence.
fn check(inputs: &Inputs<'_>, s: &Silence) -> Result<(SilenceInfo, Vec<String>), Rejection> {
    let ns = s.namespace().unwrap_or_default();
    if s.spec.matchers.is_empty() {
        return Err(Rejection::new(
            "InvalidMatchers",
            "spec.matchers: at least one matcher is required",
        ));
    }
    let starts_at = match (&s.spec.starts_at, &s.metadata.creation_timestamp) {
        (Some(t), _) => parse_time("spec.startsAt", t)?,
        (None, Some(created)) => created.0,
        (None, None) => inputs.now,
    };
    let ends_at = match (&s.spec.ends_at, &s.spec.duration) {
        (Some(_), Some(_)) => {
            return Err(Rejection::new(
                "InvalidTime",
                "spec: set only one of endsAt and duration",
            ));
        }
        (Some(t), None) => parse_time("spec.endsAt", t)?,
        (None, Some(d)) => {
            let d: larum_engine::config::Duration = d
                .parse()
                .map_err(|e| Rejection::new("InvalidTime", format!("spec.duration: {e}")))?;
            let span = jiff::SignedDuration::try_from(d.std())
                .map_err(|e| Rejection::new("InvalidTime", format!("spec.duration: {e}")))?;
            starts_at
                .checked_add(span)
                .map_err(|e| Rejection::new("InvalidTime", format!("spec.duration: {e}")))?
        }
        (None, None) => {
            return Err(Rejection::new(
                "InvalidTime",
                "spec: set endsAt or duration",
            ));
        }
    };
    if ends_at <= starts_at {
        return Err(Rejection::new(
            "InvalidTime",
            "spec.endsAt: must be after startsAt",
        ));
    }
    let mut matchers = Vec::new();
    if let Some(m) = scope_matcher(inputs, &ns) {
        matchers.push(m.to_matcher_string());
    }
    let mut any_nonempty = false;
    for (i, m) in s.spec.matchers.iter().enumerate() {
        let t = match m.match_type {
            MatchType::Equal => EngineMatchType::Equal,
            MatchType::NotEqual => EngineMatchType::NotEqual,
            MatchType::Regex => EngineMatchType::Regexp,
            MatchType::NotRegex => EngineMatchType::NotRegexp,
        };
        let compiled = EngineMatcher::new(&m.name, &m.value, t)
            .map_err(|e| Rejection::new("InvalidMatchers", format!("spec.matchers[{i}]: {e}")))?;
        any_nonempty |= !compiled.matches("");
        matchers.push(m.to_matcher_string());
    }
    if !any_nonempty {
        return Err(Rejection::new(
            "InvalidMatchers",
            "spec.matchers: at least one matcher must not match the empty string",
        ));
    }
    let info = SilenceInfo {
        id: silence_id(&ns, &s.name_any()),
        starts_at,
        ends_at,
        state: state_at(starts_at, ends_at, inputs.now),
    };
    Ok((info, matchers))
}

/// Renders `silences.yaml`, recording an outcome per Silence.
pub fn render(
    inputs: Inputs<'_>,
    outcomes: &mut BTreeMap<ObjectKey, Outcome>,
) -> Result<String, RenderError> {
    let mut list: Vec<&Silence> = inputs.silences.iter().collect();
    list.sort_by_key(|s| (s.namespace().unwrap_or_default(), s.name_any()));
    let mut file = Vec::new();
    for s in list {
        let key = ObjectKey {
            kind: Kind::Silence,
            namespace: s.namespace().unwrap_or_default(),
            name: s.name_any(),
        };
        let outcome = match check(&inputs, s) {
            Ok((info, matchers)) => {
                file.push(FileSilence {
                    id: info.id.clone(),
                    matchers,
                    starts_at: info.starts_at.to_string(),
                    ends_at: info.ends_at.to_string(),
                    created_by: s.spec.created_by.clone(),
                    comment: s.spec.comment.clone(),
                });
                Outcome {
                    generation: s.metadata.generation,
                    result: Ok(()),
                    silence: Some(info),
                }
            }
            Err(r) => Outcome {
                generation: s.metadata.generation,
                result: Err(r),
                silence: None,
            },
        };
        outcomes.insert(key, outcome);
    }
    if file.is_empty() {
        return Ok("[]\n".to_string());
    }
    to_yaml(&file)
}
