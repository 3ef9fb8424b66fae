//! `GET /api/v2/receivers`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::{error_text, filter_matches, json, parse_filter};
use crate::api::AppState;

/// `receiver`.
#[derive(Serialize)]
struct ReceiverOut<'a> {
    labels: BTreeMap<String, String>,
    name: &'a str,
}

/// Lists the receivers of the config in force, in config order.
pub(super) async fn get_receivers(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let values: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "receiver_matchers")
        .map(|(_, v)| v.into_owned())
        .collect();
    let matchers = match parse_filter(state.parse_mode, &values) {
        Ok(matchers) => matchers,
        Err(e) => {
            return error_text(
                StatusCode::BAD_REQUEST,
                &format!("failed to parse receiver_matchers param: {e}"),
            );
        }
    };
    let config = state.coordinator.current();
    let out: Vec<ReceiverOut<'_>> = config
        .config
        .receivers
        .iter()
        .map(|r| ReceiverOut {
            labels: r.effective_labels(),
            name: &r.name,
        })
        .filter(|r| filter_matches(&matchers, |k| r.labels.get(k).map(String::as_str)))
        .collect();
    json(StatusCode::OK, &out)
}
