//! `GET /api/v2/alerts/groups`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::models::{GettableAlert, ReceiverReference, alert_order, label_set_order};
use super::{ListParams, json, receiver_labels};
use crate::alert::marker::AlertStatus;
use crate::alert::{Alert, Fingerprint, LabelSet};
use crate::api::AppState;

/// `alertGroup`.
#[derive(Serialize)]
struct AlertGroupOut<'a> {
    alerts: Vec<GettableAlert<'a>>,
    labels: &'a LabelSet,
    receiver: ReceiverReference<'a>,
    #[serde(rename = "routeLabels")]
    route_labels: &'a LabelSet,
}

/// A group that passed the filters, with the alerts that did.
struct Selected {
    labels: LabelSet,
    receiver: String,
    alerts: Vec<(Arc<Alert>, AlertStatus)>,
}

/// Lists the aggregation groups with their alerts that pass the filters.
pub(super) async fn get_alert_groups(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = match ListParams::parse(state.parse_mode, query.as_deref()) {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    // Groups are never muted yet (time intervals come with the silences issue), so
    // `muted=false` filters nothing.
    let _ = params.muted;
    let (config, _) = state.config_and_routes();
    let labels = receiver_labels(&config.config);
    let now = state.clock.now();

    let mut selected = Vec::new();
    let mut receivers: HashMap<Fingerprint, Vec<String>> = HashMap::new();
    for group in state.dispatcher.groups() {
        if !params.regex_accepts(&group.receiver) || !params.labels_accept(&group.receiver, &labels)
        {
            continue;
        }
        let mut alerts = Vec::new();
        for alert in group.alerts {
            let status = state.refresh_status(&alert, now);
            if params.accepts(&alert, &status, now) {
                receivers
                    .entry(alert.fingerprint())
                    .or_default()
                    .push(group.receiver.clone());
                alerts.push((alert, status));
            }
        }
        if alerts.is_empty() {
            continue;
        }
        alerts.sort_by(|(a, _), (b, _)| alert_order(a, b));
        selected.push(Selected {
            labels: group.labels,
            receiver: group.receiver,
            alerts,
        });
    }
    selected.sort_by(|a, b| {
        label_set_order(&a.labels, &b.labels).then_with(|| a.receiver.cmp(&b.receiver))
    });
    for names in receivers.values_mut() {
        names.sort();
    }

    let no_labels = LabelSet::default();
    let out: Vec<AlertGroupOut<'_>> = selected
        .iter()
        .map(|group| AlertGroupOut {
            alerts: group
                .alerts
                .iter()
                .map(|(alert, status)| {
                    let names: Vec<&str> = receivers
                        .get(&alert.fingerprint())
                        .map(|v| v.iter().map(String::as_str).collect())
                        .unwrap_or_default();
                    GettableAlert::new(alert, status, &names)
                })
                .collect(),
            labels: &group.labels,
            receiver: ReceiverReference {
                name: &group.receiver,
            },
            route_labels: &no_labels,
        })
        .collect();
    json(StatusCode::OK, &out)
}
