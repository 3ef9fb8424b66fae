//! `GET`/`POST /api/v2/silences`, `GET`/`DELETE /api/v2/silence/{id}`: upstream's shapes,
//! sort order and status codes; silences from the silences file answer 409 on changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::alerts::{check_content_type, read_body};
use super::models::ApiTime;
use super::{convert_bool, error_code, error_text, json, parse_filter};
use crate::api::AppState;
use crate::config::matcher::Matcher;
use crate::silence::{Silence, SilenceError, SilenceMatcher, SilenceState};

/// A matcher as the API writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatcherView<'a> {
    is_equal: bool,
    is_regex: bool,
    name: &'a str,
    value: &'a str,
}

/// `status` of a gettable silence.
#[derive(Serialize)]
struct StatusView {
    state: &'static str,
}

/// Upstream's `gettableSilence`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence<'a> {
    id: &'a str,
    status: StatusView,
    updated_at: ApiTime,
    comment: &'a str,
    created_by: &'a str,
    ends_at: ApiTime,
    matchers: Vec<MatcherView<'a>>,
    starts_at: ApiTime,
    annotations: &'a BTreeMap<String, String>,
}

impl<'a> GettableSilence<'a> {
    fn new(s: &'a Silence, state: SilenceState) -> Self {
        GettableSilence {
            id: &s.id,
            status: StatusView {
                state: state.as_str(),
            },
            updated_at: ApiTime(Some(s.updated_at)),
            comment: &s.comment,
            created_by: &s.created_by,
            ends_at: ApiTime(Some(s.ends_at)),
            matchers: s
                .matchers
                .iter()
                .map(|m| MatcherView {
                    is_equal: m.is_equal,
                    is_regex: m.is_regex,
                    name: &m.name,
                    value: &m.value,
                })
                .collect(),
            starts_at: ApiTime(Some(s.starts_at)),
            annotations: &s.annotations,
        }
    }
}

/// Upstream's order: active (next to end first), pending (next to start first), expired
/// (most recently ended first).
fn sort_silences(silences: &mut [(Silence, SilenceState)]) {
    let rank = |s: SilenceState| match s {
        SilenceState::Active => 1,
        SilenceState::Pending => 2,
        SilenceState::Expired => 3,
    };
    silences.sort_by(|(a, sa), (b, sb)| {
        rank(*sa).cmp(&rank(*sb)).then_with(|| match sa {
            SilenceState::Active => a.ends_at.cmp(&b.ends_at),
            SilenceState::Pending => a.starts_at.cmp(&b.starts_at),
            SilenceState::Expired => b.ends_at.cmp(&a.ends_at),
        })
    });
}

/// Whether every filter matcher appears (same name, operator and value) among the
/// silence's matchers, as upstream filters silences.
fn filter_accepts(silence: &Silence, filter: &[Matcher]) -> bool {
    filter.iter().all(|f| {
        silence
            .matchers
            .iter()
            .any(|m| m.name == f.name && m.value == f.value && m.match_type() == f.match_type)
    })
}

/// Lists silences passing `filter` and the `active`, `pending` and `expired` flags.
pub(super) async fn get_silences(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut filter = Vec::new();
    let (mut active, mut pending, mut expired) = (true, true, true);
    for (key, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match &*key {
            "filter" => filter.push(value.into_owned()),
            "active" => active = convert_bool(&value),
            "pending" => pending = convert_bool(&value),
            "expired" => expired = convert_bool(&value),
            _ => {}
        }
    }
    let filter = match parse_filter(state.parse_mode, &filter) {
        Ok(f) => f,
        Err(e) => return error_text(StatusCode::BAD_REQUEST, &e),
    };
    let now = state.silences.now();
    let mut selected: Vec<(Silence, SilenceState)> = state
        .silences
        .list()
        .into_iter()
        .filter_map(|s| {
            let st = s.state_at(now);
            let wanted = match st {
                SilenceState::Active => active,
                SilenceState::Pending => pending,
                SilenceState::Expired => expired,
            };
            (wanted && filter_accepts(&s, &filter)).then_some((s, st))
        })
        .collect();
    sort_silences(&mut selected);
    let views: Vec<GettableSilence<'_>> = selected
        .iter()
        .map(|(s, st)| GettableSilence::new(s, *st))
        .collect();
    json(StatusCode::OK, &views)
}

/// One silence; 404 when unknown.
pub(super) async fn get_silence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    match state.silences.get(&id) {
        Some(s) => {
            let st = s.state_at(state.silences.now());
            json(StatusCode::OK, &GettableSilence::new(&s, st))
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Expires a silence: 200 (also when it had expired), 404 when unknown, 409 when it
/// belongs to the silences file.
pub(super) async fn delete_silence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Response {
    match state.silences.expire_async(id).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(err = %e, "Failed to expire silence");
            match e {
                SilenceError::NotFound => StatusCode::NOT_FOUND.into_response(),
                SilenceError::FileOwned { .. } => error_text(StatusCode::CONFLICT, &e.to_string()),
                other => error_text(StatusCode::INTERNAL_SERVER_ERROR, &other.to_string()),
            }
        }
    }
}

/// A refused POST body: (status, code, message) as upstream's OpenAPI layer answers.
type Refused = (StatusCode, u16, String);

fn required(field: &str) -> Refused {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        602,
        format!("{field} in body is required"),
    )
}

fn invalid_type(field: &str, expected: &str, value: &Value) -> Refused {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        600,
        format!("{field} in body must be of type {expected}: {value:?}"),
    )
}

fn string_field(obj: &serde_json::Map<String, Value>, field: &str) -> Result<String, Refused> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(required(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(invalid_type(field, "string", other)),
    }
}

fn time_field(obj: &serde_json::Map<String, Value>, field: &str) -> Result<Timestamp, Refused> {
    let text = string_field(obj, field)?;
    text.parse::<Timestamp>().map_err(|_| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            601,
            format!("{field} in body must be of type date-time: {text:?}"),
        )
    })
}

/// Reads upstream's `postableSilence`, with its required fields.
pub(super) fn parse_postable(body: &[u8]) -> Result<Silence, Refused> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            400,
            format!("parsing silence body from \"\" failed, because {e}"),
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(invalid_type("body", "object", &value));
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(invalid_type("id", "string", other)),
    };
    let comment = string_field(&obj, "comment")?;
    let created_by = string_field(&obj, "createdBy")?;
    let ends_at = time_field(&obj, "endsAt")?;
    let matchers = match obj.get("matchers") {
        None | Some(Value::Null) => return Err(required("matchers")),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(invalid_type("matchers", "array", other)),
    };
    if matchers.is_empty() {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            604,
            "matchers in body should have at least 1 items".to_string(),
        ));
    }
    let mut parsed = Vec::with_capacity(matchers.len());
    for (i, m) in matchers.iter().enumerate() {
        let Value::Object(m) = m else {
            return Err(invalid_type(&format!("matchers.{i}"), "object", m));
        };
        let name = string_field(m, "name").map_err(|e| prefix(e, i))?;
        let value = string_field(m, "value").map_err(|e| prefix(e, i))?;
        let flag = |field: &str, default: Option<bool>| match (m.get(field), default) {
            (None | Some(Value::Null), Some(d)) => Ok(d),
            (None | Some(Value::Null), None) => Err(prefix(required(field), i)),
            (Some(Value::Bool(b)), _) => Ok(*b),
            (Some(other), _) => Err(prefix(invalid_type(field, "boolean", other), i)),
        };
        let is_regex = flag("isRegex", None)?;
        let is_equal = flag("isEqual", Some(true))?;
        parsed.push(SilenceMatcher {
            name,
            value,
            is_regex,
            is_equal,
        });
    }
    let starts_at = time_field(&obj, "startsAt")?;
    let annotations = match obj.get("annotations") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(v) => serde_json::from_value::<BTreeMap<String, String>>(v.clone())
            .map_err(|_| invalid_type("annotations", "object", v))?,
    };
    let mut silence = Silence::new(parsed, starts_at, ends_at);
    silence.id = id;
    silence.comment = comment;
    silence.created_by = created_by;
    silence.annotations = annotations;
    Ok(silence)
}

/// Names the matcher a field error is about (`matchers.0.name in body is required`).
fn prefix((status, code, message): Refused, i: usize) -> Refused {
    (status, code, format!("matchers.{i}.{message}"))
}

/// Creates or updates a silence; answers `{"silenceID": ...}`.
pub(super) async fn post_silences(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(e) = check_content_type(&headers) {
        return e.into_response();
    }
    let bytes = match read_body(&headers, body, state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return error_code(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            "silence in body is required",
        );
    }
    let silence = match parse_postable(&bytes) {
        Ok(s) => s,
        Err((status, code, message)) => return error_code(status, code, &message),
    };
    if silence.starts_at >= silence.ends_at {
        let msg = "Failed to create silence: start time must be before end time";
        tracing::error!(starts_at = %silence.starts_at, ends_at = %silence.ends_at, "{msg}");
        return error_text(StatusCode::BAD_REQUEST, msg);
    }
    if silence.ends_at < state.silences.now() {
        let msg = "Failed to create silence: end time can't be in the past";
        tracing::error!(ends_at = %silence.ends_at, "{msg}");
        return error_text(StatusCode::BAD_REQUEST, msg);
    }
    match state.silences.set_async(silence).await {
        Ok(id) => {
            #[derive(Serialize)]
            struct Created {
                #[serde(rename = "silenceID")]
                silence_id: String,
            }
            json(StatusCode::OK, &Created { silence_id: id })
        }
        Err(e) => {
            tracing::error!(err = %e, "Failed to create silence");
            let status = match e {
                SilenceError::NotFound => StatusCode::NOT_FOUND,
                SilenceError::FileOwned { .. } => StatusCode::CONFLICT,
                SilenceError::Invalid(_) | SilenceError::Limit(_) | SilenceError::File(_) => {
                    StatusCode::BAD_REQUEST
                }
                SilenceError::Storage(_) | SilenceError::Interrupted(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            error_text(status, &e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::matcher::MatchType;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn sil(id: &str, start: i64, end: i64) -> Silence {
        let mut s = Silence::new(
            vec![SilenceMatcher::new("a", "b", MatchType::Equal)],
            ts(start),
            ts(end),
        );
        s.id = id.into();
        s
    }

    #[test]
    fn sorted_like_upstream() {
        let now = ts(100);
        let mut list: Vec<(Silence, SilenceState)> = [
            sil("exp-old", 0, 10),
            sil("pend-late", 300, 400),
            sil("act-late", 50, 500),
            sil("exp-new", 0, 90),
            sil("act-soon", 50, 150),
            sil("pend-soon", 200, 400),
        ]
        .into_iter()
        .map(|s| {
            let st = s.state_at(now);
            (s, st)
        })
        .collect();
        sort_silences(&mut list);
        let ids: Vec<&str> = list.iter().map(|(s, _)| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "act-soon",
                "act-late",
                "pend-soon",
                "pend-late",
                "exp-new",
                "exp-old"
            ]
        );
    }

    #[test]
    fn required_fields_are_named() {
        let body = br#"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-02T00:00:00Z","comment":"c"}"#;
        let (status, code, msg) = parse_postable(body).unwrap_err();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code, 602);
        assert_eq!(msg, "createdBy in body is required");
        let body = br#"{"matchers":[{"name":"a","value":"b"}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-02T00:00:00Z","comment":"c","createdBy":"me"}"#;
        assert_eq!(
            parse_postable(body).unwrap_err().2,
            "matchers.0.isRegex in body is required"
        );
        let body = br#"{"matchers":[{"name":"a","value":"b","isRegex":true}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-02T00:00:00Z","comment":"c","createdBy":"me"}"#;
        let s = parse_postable(body).unwrap();
        assert!(s.matchers[0].is_equal && s.matchers[0].is_regex);
    }
}
