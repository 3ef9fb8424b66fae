//! `POST /api/v2/alerts` and `GET /api/v2/alerts`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::models::{GettableAlert, PostableAlert};
use super::{ApiError, ListParams, error_code, error_text, json, receiver_labels};
use crate::api::AppState;
use crate::config::matcher::with_parse_mode;

/// Reads the body up to the limit; a larger one is answered with 413 (for every POST handler).
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::Code(
            StatusCode::PAYLOAD_TOO_LARGE,
            413,
            format!("request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(e) => {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large())
            } else {
                Err(ApiError::Code(
                    StatusCode::BAD_REQUEST,
                    400,
                    format!("reading the request body failed: {inner}"),
                ))
            }
        }
    }
}

/// Upstream only consumes JSON; a request that declares another type gets 415.
pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::Code(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            format!("unsupported media type {text:?}, only [application/json] are allowed"),
        ))
    }
}

/// Stores the valid alerts of a batch and routes them; answers 400 naming each invalid one.
pub(super) async fn post_alerts(
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
            "alerts in body is required",
        );
    }
    // Checking UTF-8 once for the whole body is cheaper than serde_json checking every
    // string; an invalid body goes through `from_slice` for its precise error.
    let decoded = match std::str::from_utf8(&bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(&bytes),
    };
    let posted: Vec<PostableAlert> = match decoded {
        Ok(posted) => posted,
        Err(e) => {
            return error_code(
                StatusCode::BAD_REQUEST,
                400,
                &format!("parsing alerts body failed, because {e}"),
            );
        }
    };
    if let Some(i) = posted.iter().position(|a| a.labels.is_none()) {
        return error_code(
            StatusCode::UNPROCESSABLE_ENTITY,
            602,
            &format!("{i}.labels in body is required"),
        );
    }
    let errors = with_parse_mode(state.parse_mode, || ingest(&state, posted));
    if errors.is_empty() {
        StatusCode::OK.into_response()
    } else {
        tracing::error!(err = %errors, "Failed to validate alerts");
        error_text(StatusCode::BAD_REQUEST, &errors)
    }
}

/// Validates, stores and routes each alert; returns upstream's joined messages for the
/// invalid ones, each prefixed with the alert's index in the batch and its labels.
fn ingest(state: &AppState, posted: Vec<PostableAlert>) -> String {
    let resolve_timeout = state
        .coordinator
        .current()
        .config
        .global
        .resolve_timeout
        .std();
    let now = state.clock.now();
    let metrics = &state.metrics.alerts;
    let mut errors = String::new();
    let mut routed = Vec::with_capacity(posted.len());
    for (i, posted) in posted.into_iter().enumerate() {
        let mut alert = posted.into_alert();
        alert.apply_received_defaults(now, resolve_timeout);
        if alert.ends_at.is_some_and(|end| end > now) {
            metrics.received_firing.inc();
        } else {
            metrics.received_resolved.inc();
        }
        if let Err(reason) = alert
            .validate()
            .and_then(|()| state.alert_limits.check(&alert))
        {
            metrics.invalid.inc();
            if !errors.is_empty() {
                errors.push('\n');
            }
            let _ = write!(errors, "alert {i} {}: {reason}", alert.labels);
            continue;
        }
        let fp = alert.fingerprint();
        match state.store.put_with_fingerprint(alert, fp, now) {
            Ok(stored) => routed.push((stored, fp)),
            Err(e @ crate::alert::store::PutError::TooManyAlerts(_)) => {
                if !errors.is_empty() {
                    errors.push('\n');
                }
                let _ = write!(errors, "alert {i}: {e}");
            }
            Err(e) => tracing::warn!(err = %e, "error on set alert"),
        }
    }
    // Routed before the answer: stored alerts are never left unprocessed.
    state.dispatcher.insert_many(&routed);
    errors
}

/// Lists the unresolved alerts that pass the filters, sorted by fingerprint.
pub(super) async fn get_alerts(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match ListParams::parse(state.parse_mode, query.as_deref()) {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    let (config, routes) = state.config_and_routes();
    let labels = receiver_labels(&config.config);
    let now = state.clock.now();
    let mut selected = Vec::new();
    for alert in state.store.snapshot() {
        let receivers: Vec<&str> = routes
            .route(&|name| alert.labels.get(name))
            .iter()
            .map(|node| node.opts.receiver.as_str())
            .collect();
        if (params.receiver.is_some() && !receivers.iter().any(|r| params.regex_accepts(r)))
            || (!params.receiver_matchers.is_empty()
                && !receivers.iter().any(|r| params.labels_accept(r, &labels)))
        {
            continue;
        }
        let status = state.refresh_status(&alert, now);
        if !params.accepts(&alert, &status, now) {
            continue;
        }
        selected.push((alert, status, receivers));
    }
    selected.sort_by_key(|(alert, _, _)| alert.fingerprint());
    let views: Vec<GettableAlert<'_>> = selected
        .iter()
        .map(|(alert, status, receivers)| GettableAlert::new(alert, status, receivers))
        .collect();
    json(StatusCode::OK, &views)
}
