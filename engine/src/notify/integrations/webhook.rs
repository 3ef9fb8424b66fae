//! The webhook integration: POSTs upstream's JSON message, version 4.
//!
//! Field order and content follow Alertmanager 0.34 (`template.Data` embedded in the
//! message): `receiver`, `status`, `alerts`, `notification_reason`, `groupLabels`,
//! `commonLabels`, `commonAnnotations`, `routeLabels`, `externalURL`, `version`,
//! `groupKey`, `truncatedAlerts`. Firing alerts carry Go's zero time as `endsAt`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response, read_secret, transport_error,
};
use super::{Notifier, NotifyError, NotifyFuture};
use crate::alert::{Alert, LabelSet};
use crate::config::receiver::webhook::WebhookConfig;
use crate::notify::stages::NotifyContext;

/// Go's zero `time.Time` as JSON.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One alert of the message.
#[derive(Debug, Serialize)]
pub struct WebhookAlert<'a> {
    /// `firing` or `resolved`.
    pub status: &'static str,
    /// Labels.
    pub labels: &'a LabelSet,
    /// Annotations.
    pub annotations: &'a LabelSet,
    /// Start, RFC 3339.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// End, RFC 3339; Go's zero time for firing alerts.
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Link to the source.
    #[serde(rename = "generatorURL")]
    pub generator_url: &'a str,
    /// Label-set fingerprint, 16 hex digits.
    pub fingerprint: String,
}

/// The message (upstream's `webhook.Message`).
#[derive(Debug, Serialize)]
pub struct WebhookMessage<'a> {
    /// Receiver name, regexp-quoted like upstream's template data.
    pub receiver: String,
    /// `firing` when any alert fires, else `resolved`.
    pub status: &'static str,
    /// The alerts, at most `max_alerts`.
    pub alerts: Vec<WebhookAlert<'a>>,
    /// Why the notification is sent.
    pub notification_reason: &'static str,
    /// The group's labels.
    #[serde(rename = "groupLabels")]
    pub group_labels: &'a LabelSet,
    /// Labels every alert has with the same value.
    #[serde(rename = "commonLabels")]
    pub common_labels: LabelSet,
    /// Annotations every alert has with the same value.
    #[serde(rename = "commonAnnotations")]
    pub common_annotations: LabelSet,
    /// Labels of the route.
    #[serde(rename = "routeLabels")]
    pub route_labels: &'a LabelSet,
    /// The engine's external URL.
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    /// Always `4`.
    pub version: &'static str,
    /// The group key.
    #[serde(rename = "groupKey")]
    pub group_key: &'a str,
    /// How many alerts `max_alerts` left out.
    #[serde(rename = "truncatedAlerts")]
    pub truncated_alerts: u64,
}

/// Go's `regexp.QuoteMeta`.
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn common(sets: impl Iterator<Item = LabelSet>) -> LabelSet {
    let mut iter = sets;
    let Some(first) = iter.next() else {
        return LabelSet::default();
    };
    let mut pairs: Vec<(String, String)> = first
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for s in iter {
        if pairs.is_empty() {
            break;
        }
        pairs.retain(|(k, v)| s.get(k) == Some(v.as_str()));
    }
    LabelSet::from_pairs(pairs)
}

/// Builds the message for `alerts` (already filtered) under `max_alerts` (0: all).
pub fn build_message<'a>(
    ctx: &'a NotifyContext,
    alerts: &'a [Arc<Alert>],
    max_alerts: u64,
    external_url: &'a str,
) -> WebhookMessage<'a> {
    let keep = match usize::try_from(max_alerts) {
        Ok(0) | Err(_) => alerts.len(),
        Ok(n) => n.min(alerts.len()),
    };
    let (kept, cut) = alerts.split_at(keep);
    let now = ctx.now();
    let any_firing = kept.iter().any(|a| !a.resolved_at(now));
    let out: Vec<WebhookAlert<'a>> = kept
        .iter()
        .map(|a| {
            let resolved = a.resolved_at(now);
            WebhookAlert {
                status: if resolved { "resolved" } else { "firing" },
                labels: &a.labels,
                annotations: &a.annotations,
                starts_at: a.starts_at.to_string(),
                ends_at: match (resolved, a.ends_at) {
                    (true, Some(end)) => end.to_string(),
                    _ => ZERO_TIME.to_string(),
                },
                generator_url: &a.generator_url,
                fingerprint: a.fingerprint().to_string(),
            }
        })
        .collect();
    WebhookMessage {
        receiver: quote_meta(&ctx.flush.receiver),
        status: if any_firing { "firing" } else { "resolved" },
        alerts: out,
        notification_reason: ctx.reason.as_str(),
        group_labels: &ctx.flush.group_labels,
        common_labels: common(kept.iter().map(|a| a.labels.clone())),
        common_annotations: common(kept.iter().map(|a| a.annotations.clone())),
        route_labels: &ctx.flush.route_labels,
        external_url,
        version: "4",
        group_key: &ctx.flush.group_key,
        truncated_alerts: cut.len() as u64,
    }
}

/// Sends webhook notifications for one `webhook_configs` entry.
pub struct Webhook {
    config: WebhookConfig,
    http: HttpClient,
    external_url: Arc<str>,
}

impl Webhook {
    /// The notifier for `config` (its `http_config` already resolved from `global`).
    pub fn new(config: &WebhookConfig, external_url: Arc<str>) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(Webhook {
            config: config.clone(),
            http,
            external_url,
        })
    }

    fn url(&self) -> Result<String, NotifyError> {
        let url = read_secret(self.config.url.expose(), &self.config.url_file, "url")?;
        if url.is_empty() {
            return Err(NotifyError::permanent("webhook URL is empty"));
        }
        Ok(url)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let msg = build_message(ctx, alerts, self.config.max_alerts, &self.external_url);
        let mut body = serde_json::to_vec(&msg)
            .map_err(|e| NotifyError::permanent(format!("encoding the message: {e}")))?;
        // Go's json.Encoder ends the document with a newline.
        body.push(b'\n');
        let url = self.url()?;
        let _permit = self.http.permit().await;
        let mut req = self
            .http
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .body(body);
        let timeout = self.config.timeout();
        if timeout > Duration::ZERO {
            req = req.timeout(timeout);
        }
        let req = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        check_response(resp, ctx.now(), &[]).await
    }
}

impl Notifier for Webhook {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::stages::NotifyReason;
    use crate::notify::stages::testutil::*;

    fn full_alert(name: &str, instance: &str, ends: Option<i64>) -> Arc<Alert> {
        Arc::new(Alert {
            labels: LabelSet::from_pairs([
                ("alertname", name),
                ("instance", instance),
                ("team", "db"),
            ]),
            annotations: LabelSet::from_pairs([("summary", "s"), ("desc", instance)]),
            starts_at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            ends_at: ends.map(ts),
            generator_url: "http://prom/graph".into(),
            updated_at: ts(0),
            timeout: false,
        })
    }

    #[test]
    fn payload_field_by_field() {
        let mut ctx = ctx_at(0);
        let mut flush = (*ctx.flush).clone();
        flush.receiver = "team.x".into();
        flush.group_key = "{}/{team=\"db\"}:{alertname=\"Down\"}".into();
        flush.group_labels = LabelSet::from_pairs([("alertname", "Down")]);
        flush.route_labels = LabelSet::from_pairs([("env", "prod")]);
        ctx.flush = Arc::new(flush);
        ctx.reason = NotifyReason::NewAlertsInGroup;
        let alerts = vec![
            full_alert("Down", "a", None),
            full_alert("Down", "b", Some(-5)),
            full_alert("Down", "c", Some(100)),
        ];
        let msg = build_message(&ctx, &alerts, 2, "http://am:9093");
        let v: serde_json::Value = serde_json::to_value(&msg).unwrap();
        let text = serde_json::to_string(&msg).unwrap();
        let order: Vec<usize> = [
            "\"receiver\"",
            "\"status\"",
            "\"alerts\"",
            "\"notification_reason\"",
            "\"groupLabels\"",
            "\"commonLabels\"",
            "\"commonAnnotations\"",
            "\"routeLabels\"",
            "\"externalURL\"",
            "\"version\"",
            "\"groupKey\"",
            "\"truncatedAlerts\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "field order: {text}");
        assert_eq!(v["receiver"], "team\\.x");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["version"], "4");
        assert_eq!(v["groupKey"], "{}/{team=\"db\"}:{alertname=\"Down\"}");
        assert_eq!(v["truncatedAlerts"], 1);
        assert_eq!(v["notification_reason"], "new alerts added");
        assert_eq!(v["externalURL"], "http://am:9093");
        assert_eq!(v["groupLabels"], serde_json::json!({"alertname": "Down"}));
        assert_eq!(v["routeLabels"], serde_json::json!({"env": "prod"}));
        assert_eq!(
            v["commonLabels"],
            serde_json::json!({"alertname": "Down", "team": "db"})
        );
        assert_eq!(v["commonAnnotations"], serde_json::json!({"summary": "s"}));
        let a = &v["alerts"];
        assert_eq!(a.as_array().unwrap().len(), 2);
        assert_eq!(a[0]["status"], "firing");
        assert_eq!(a[0]["endsAt"], ZERO_TIME);
        assert_eq!(a[0]["startsAt"], "2023-11-14T22:13:20Z");
        assert_eq!(a[0]["generatorURL"], "http://prom/graph");
        assert_eq!(a[0]["fingerprint"], alerts[0].fingerprint().to_string());
        assert_eq!(a[0]["fingerprint"].as_str().unwrap().len(), 16);
        assert_eq!(a[0]["labels"]["instance"], "a");
        assert_eq!(a[0]["annotations"]["desc"], "a");
        assert_eq!(a[1]["status"], "resolved");
        assert_eq!(a[1]["endsAt"], "2023-11-14T22:13:15Z");
    }

    #[test]
    fn all_resolved_and_no_truncation() {
        let ctx = ctx_at(0);
        let alerts = vec![
            full_alert("A", "a", Some(-1)),
            full_alert("A", "b", Some(-2)),
        ];
        let msg = build_message(&ctx, &alerts, 0, "");
        assert_eq!(msg.status, "resolved");
        assert_eq!(msg.truncated_alerts, 0);
        assert_eq!(msg.alerts.len(), 2);
        assert_eq!(quote_meta("a.b*c"), "a\\.b\\*c");
    }
}
