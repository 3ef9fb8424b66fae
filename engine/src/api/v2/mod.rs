//! API v2: upstream's endpoints, query parameters, JSON shapes and status codes.

mod alerts;
mod groups;
pub mod models;
mod receivers;
mod silences;
mod status;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde::Serialize;

use super::AppState;
use crate::alert::Alert;
use crate::alert::marker::{AlertState, AlertStatus};
use crate::config::ParseMode;
use crate::config::matcher::{GoRegex, MatchType, Matcher, parse_matcher_in};

/// Decodes a `POST /api/v2/silences` body as the handler does (for the fuzz targets); the
/// error is the message the API answers with.
pub fn parse_silence(body: &[u8]) -> Result<crate::silence::Silence, String> {
    silences::parse_postable(body).map_err(|(_, _, message)| message)
}

/// The v2 routes, relative to `/api/v2`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alerts", get(alerts::get_alerts).post(alerts::post_alerts))
        .route("/alerts/groups", get(groups::get_alert_groups))
        .route("/receivers", get(receivers::get_receivers))
        .route("/status", get(status::get_status))
        .route(
            "/silences",
            get(silences::get_silences).post(silences::post_silences),
        )
        .route(
            "/silence/{id}",
            get(silences::get_silence).delete(silences::delete_silence),
        )
        .layer(axum::middleware::map_response(no_store))
}

/// Upstream marks every API v2 answer as not cacheable.
async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A JSON answer.
fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            tracing::error!(err = %e, "cannot encode an API answer");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An error whose payload is a JSON string, like upstream's `BadRequest` responses.
fn error_text(status: StatusCode, message: &str) -> Response {
    json(status, message)
}

/// A refused request, answered like upstream.
enum ApiError {
    /// The payload is a JSON string.
    Text(StatusCode, String),
    /// The payload is `{"code": ..., "message": ...}`.
    Code(StatusCode, u16, String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Text(status, message) => error_text(status, &message),
            ApiError::Code(status, code, message) => error_code(status, code, &message),
        }
    }
}

/// An error in the request's structure, `{"code": ..., "message": ...}` like upstream's
/// OpenAPI layer.
fn error_code(status: StatusCode, code: u16, message: &str) -> Response {
    #[derive(Serialize)]
    struct CodeMessage<'a> {
        code: u16,
        message: &'a str,
    }
    json(status, &CodeMessage { code, message })
}

/// Go's `swag.ConvertBool`, as upstream reads boolean parameters: a few spellings of
/// true, and false for anything else.
fn convert_bool(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "t" | "enabled"
    )
}

/// The query parameters of the alert and group listings.
struct ListParams {
    filter: Vec<Matcher>,
    receiver: Option<GoRegex>,
    receiver_matchers: Vec<Matcher>,
    active: bool,
    silenced: bool,
    inhibited: bool,
    unprocessed: bool,
    muted: bool,
}

/// Parses one matcher per `filter`-like value, in the engine's matcher syntax.
fn parse_filter(mode: ParseMode, values: &[String]) -> Result<Vec<Matcher>, String> {
    values
        .iter()
        .map(|v| parse_matcher_in(mode, v).map_err(|e| e.to_string()))
        .collect()
}

impl ListParams {
    fn parse(mode: ParseMode, query: Option<&str>) -> Result<Self, ApiError> {
        let mut filter = Vec::new();
        let mut receiver_matchers = Vec::new();
        let mut receiver = None;
        let mut params = ListParams {
            filter: Vec::new(),
            receiver: None,
            receiver_matchers: Vec::new(),
            active: true,
            silenced: true,
            inhibited: true,
            unprocessed: true,
            muted: true,
        };
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*key {
                "filter" => filter.push(value.into_owned()),
                "receiver_matchers" => receiver_matchers.push(value.into_owned()),
                "receiver" => receiver = Some(value.into_owned()),
                "active" => params.active = convert_bool(&value),
                "silenced" => params.silenced = convert_bool(&value),
                "inhibited" => params.inhibited = convert_bool(&value),
                "unprocessed" => params.unprocessed = convert_bool(&value),
                "muted" => params.muted = convert_bool(&value),
                _ => {}
            }
        }
        params.filter =
            parse_filter(mode, &filter).map_err(|e| ApiError::Text(StatusCode::BAD_REQUEST, e))?;
        if let Some(receiver) = receiver {
            params.receiver = Some(GoRegex::new_anchored(&receiver).map_err(|e| {
                ApiError::Text(
                    StatusCode::BAD_REQUEST,
                    format!("failed to parse receiver param: {e}"),
                )
            })?);
        }
        params.receiver_matchers = parse_filter(mode, &receiver_matchers).map_err(|e| {
            ApiError::Text(
                StatusCode::BAD_REQUEST,
                format!("failed to parse receiver_matchers param: {e}"),
            )
        })?;
        Ok(params)
    }

    /// Whether an alert with this status passes the label and state filters at `now`.
    fn accepts(&self, alert: &Alert, status: &AlertStatus, now: Timestamp) -> bool {
        if alert.ends_at.is_some_and(|end| end < now) {
            return false;
        }
        if !filter_matches(&self.filter, |name| alert.labels.get(name)) {
            return false;
        }
        !((!self.active && status.state == AlertState::Active)
            || (!self.unprocessed && status.state == AlertState::Unprocessed)
            || (!self.silenced && !status.silenced_by.is_empty())
            || (!self.inhibited && !status.inhibited_by.is_empty()))
    }

    /// Whether a receiver name passes the `receiver` regex.
    fn regex_accepts(&self, name: &str) -> bool {
        self.receiver
            .as_ref()
            .is_none_or(|regex| regex.is_match(name))
    }

    /// Whether a receiver's labels pass the `receiver_matchers`.
    fn labels_accept(&self, name: &str, labels: &ReceiverLabels) -> bool {
        self.receiver_matchers.is_empty()
            || labels.get(name).is_some_and(|l| {
                filter_matches(&self.receiver_matchers, |k| l.get(k).map(String::as_str))
            })
    }
}

/// Labels of every receiver of the config in force (written ones plus `name`).
type ReceiverLabels = BTreeMap<String, BTreeMap<String, String>>;

fn receiver_labels(config: &crate::config::Config) -> ReceiverLabels {
    config
        .receivers
        .iter()
        .map(|r| (r.name.clone(), r.effective_labels()))
        .collect()
}

/// Upstream's filter semantics: a matcher on the empty value ignores a present label
/// (`!=`, `!~`) or a missing one (`=`, `=~`); otherwise the label's value must match.
fn filter_matches<'a>(matchers: &[Matcher], get: impl Fn(&str) -> Option<&'a str>) -> bool {
    matchers.iter().all(|m| {
        let value = get(&m.name);
        let negative = matches!(m.match_type, MatchType::NotEqual | MatchType::NotRegexp);
        if m.value.is_empty() && value.is_some() == negative {
            return true;
        }
        m.matches(value.unwrap_or(""))
    })
}

#[cfg(test)]
mod tests;
