//! The webhook integration: POSTs upstream's JSON message, version 4.
//!
//! Field order and content follow Alertmanager 0.34 (`template.Data` embedded in the
//! message): `receiver`, `status`, `alerts`, `notification_reason`, `groupLabels`,
//! `commonLabels`, `commonAnnotations`, `routeLabels`, `externalURL`, `version`,
//! `groupKey`, `truncatedAlerts`. Firing alerts carry Go's zero time as `endsAt`.
//!
//! Like upstream 0.34, the URL (from `url` or `url_file`) is a template rendered
//! against the notification's data, and a `payload` replaces the message: every
//! string in it (map keys too) is a template, and a rendered value that reads as YAML
//! structure (a number, a boolean, a list, a map, or nothing at all) is sent as that
//! structure (see [`render_payload`]). Bodies are encoded like Go's `json.Encoder`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response, read_secret, transport_error,
};
use super::render::{IntegrationEnv, Renderer, template_data};
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

/// Encodes `value` like Go's `json.Encoder`: `<`, `>`, `&`, U+2028 and U+2029 escaped
/// as `\uXXXX`, and a newline at the end.
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        // These characters only occur inside JSON strings, where the escape is valid.
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    Ok(out.into_bytes())
}

/// YAML 1.1 booleans, which upstream's YAML parser (gopkg.in/yaml.v2) reads as such and
/// YAML 1.2 reads as strings.
fn yaml11_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Go's JSON prints a float without a fraction as an integer (`3`, not `3.0`).
fn normalize_numbers(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                J::Number((f as i64).into())
            }
            _ => J::Number(n),
        },
        J::Array(a) => J::Array(a.into_iter().map(normalize_numbers).collect()),
        J::Object(m) => J::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalize_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// What a rendered payload string becomes, like upstream's `DeepCopyWithTemplate`: the
/// structure it reads as in YAML (`42`, `true`, `[1, 2]`, `{a: b}`, null when empty),
/// or the string itself when it reads as a plain string or not as YAML at all.
fn structured(rendered: String) -> serde_json::Value {
    use serde_json::Value as J;
    let t = rendered.trim();
    if t.is_empty() {
        return J::Null;
    }
    if let Some(b) = yaml11_bool(t) {
        return J::Bool(b);
    }
    match serde_saphyr::from_str::<J>(&rendered) {
        Ok(J::String(_)) | Err(_) => J::String(rendered),
        Ok(v) => normalize_numbers(v),
    }
}

fn render_value(v: &serde_json::Value, r: &mut Renderer<'_>, path: &str) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::String(s) => structured(r.text(path, s)),
        J::Array(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| render_value(item, r, &format!("{path}[{i}]")))
                .collect(),
        ),
        J::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, item) in map {
                let key = r.text(&format!("{path} key {k:?}"), k);
                let value = render_value(item, r, &format!("{path}.{k}"));
                out.insert(key, value);
            }
            J::Object(out)
        }
        other => other.clone(),
    }
}

/// Renders a custom `payload` with `r`: strings and map keys are templates, other
/// values are copied. After a template error the rest renders empty and
/// [`Renderer::finish`] reports the error.
pub fn render_payload(payload: &serde_json::Value, r: &mut Renderer<'_>) -> serde_json::Value {
    render_value(payload, r, "payload")
}

/// Sends webhook notifications for one `webhook_configs` entry.
pub struct Webhook {
    config: WebhookConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl Webhook {
    /// The notifier for `config` (its `http_config` already resolved from `global`).
    pub fn new(config: &WebhookConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(Webhook {
            config: config.clone(),
            http,
            env: env.clone(),
        })
    }

    /// The body: upstream's message, or the rendered `payload`.
    fn body(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<Vec<u8>, NotifyError> {
        let msg = build_message(ctx, alerts, self.config.max_alerts, &self.env.external_url);
        let encoded = match &self.config.payload {
            None => go_json(&msg),
            Some(payload) => {
                let data = template_data(ctx, &alerts[..msg.alerts.len()], &self.env.external_url);
                let mut r = Renderer::new(&self.env, data);
                let rendered = render_payload(payload, &mut r);
                r.finish().map_err(|e| {
                    NotifyError::permanent(format!(
                        "failed to render custom payload: {}",
                        e.message
                    ))
                })?;
                go_json(&rendered)
            }
        };
        encoded.map_err(|e| NotifyError::permanent(format!("encoding the message: {e}")))
    }

    /// The URL: `url` or the trimmed content of `url_file`, rendered as a template.
    fn url(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<String, NotifyError> {
        let raw = read_secret(self.config.url.expose(), &self.config.url_file, "url")?;
        let keep = match usize::try_from(self.config.max_alerts) {
            Ok(0) | Err(_) => alerts.len(),
            Ok(n) => n.min(alerts.len()),
        };
        let data = template_data(ctx, &alerts[..keep], &self.env.external_url);
        let mut r = Renderer::new(&self.env, data);
        let url = r.text("url", raw.trim());
        r.finish().map_err(|e| {
            NotifyError::permanent(format!("failed to template webhook URL: {}", e.message))
        })?;
        if url.is_empty() {
            return Err(NotifyError::permanent(
                "webhook URL is empty after templating",
            ));
        }
        Ok(url)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let body = self.body(ctx, alerts)?;
        let url = self.url(ctx, alerts)?;
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
    use crate::notify::integrations::testserver::TestServer;
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

    fn sending_ctx() -> NotifyContext {
        let mut ctx = ctx_at(0);
        let mut flush = (*ctx.flush).clone();
        flush.receiver = "team.x".into();
        flush.group_labels = LabelSet::from_pairs([("alertname", "Down")]);
        ctx.flush = Arc::new(flush);
        ctx
    }

    fn webhook(yaml: &str) -> Webhook {
        let cfg: WebhookConfig = serde_saphyr::from_str(yaml).unwrap();
        Webhook::new(&cfg, &IntegrationEnv::with_defaults("http://am:9093")).unwrap()
    }

    fn two_alerts() -> Vec<Arc<Alert>> {
        vec![
            full_alert("Down", "a", None),
            full_alert("Down", "b", Some(-5)),
        ]
    }

    #[tokio::test]
    async fn url_is_rendered_as_a_template() {
        let server = TestServer::start().await;
        let url = server
            .url("/hook/{{ .CommonLabels.team }}?n={{ len .Alerts }}&r={{ .Receiver | urlquery }}");
        let n = webhook(&format!("url: '{url}'\n"));
        n.notify(&sending_ctx(), &two_alerts()).await.unwrap();
        assert_eq!(server.single().uri, "/hook/db?n=2&r=team%5C.x");
    }

    #[tokio::test]
    async fn url_file_is_trimmed_and_rendered() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("url");
        std::fs::write(&file, format!("  {}\n", server.url("/f/{{ .Status }}"))).unwrap();
        let n = webhook(&format!("url_file: '{}'\n", file.display()));
        n.notify(&sending_ctx(), &two_alerts()).await.unwrap();
        assert_eq!(server.single().uri, "/f/firing");
    }

    #[tokio::test]
    async fn url_template_errors_and_empty_urls_fail_without_retry() {
        let n = webhook("url: 'http://x/{{ .Nope.Deeper }}'\n");
        let err = n.notify(&sending_ctx(), &two_alerts()).await.unwrap_err();
        assert!(!err.retry);
        assert!(
            err.message.starts_with("failed to template webhook URL"),
            "{}",
            err.message
        );
        let n = webhook("url: '{{ if false }}http://x/{{ end }}'\n");
        let err = n.notify(&sending_ctx(), &two_alerts()).await.unwrap_err();
        assert!(!err.retry);
        assert_eq!(err.message, "webhook URL is empty after templating");
    }

    #[tokio::test]
    async fn payload_replaces_the_message_and_reads_rendered_yaml() {
        let server = TestServer::start().await;
        let yaml = format!(
            r#"url: '{}'
max_alerts: 1
payload:
  title: '{{{{ template "__subject" . }}}}'
  count: '{{{{ len .Alerts }}}}'
  ratio: '{{{{ "2.0" }}}}'
  firing: '{{{{ if .Alerts.Firing }}}}yes{{{{ end }}}}'
  labels: '{{{{ .CommonLabels | toJson }}}}'
  empty: '{{{{ if false }}}}x{{{{ end }}}}'
  text: 'a <b> & c'
  colon: 'state: {{{{ .Status }}}}'
  '{{{{ .Status }}}}_key': static
  list: ['{{{{ .Receiver }}}}', 5, true, null, 1.5]
  nested:
    inner: '{{{{ (index .Alerts 0).Labels.instance }}}}'
"#,
            server.url("/p")
        );
        let n = webhook(&yaml);
        n.notify(&sending_ctx(), &two_alerts()).await.unwrap();
        let req = server.single();
        let raw = req.text();
        assert!(raw.ends_with("}\n"), "{raw}");
        assert!(raw.contains(r#""a \u003cb\u003e \u0026 c""#), "{raw}");
        // Keys in Go's order (sorted), as Go encodes a map.
        let keys: Vec<usize> = [
            "colon",
            "count",
            "empty",
            "firing",
            "firing_key",
            "labels",
            "list",
        ]
        .iter()
        .map(|k| raw.find(&format!("\"{k}\":")).unwrap())
        .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{raw}");
        let v = req.json();
        assert_eq!(v["title"], "[FIRING:1] Down (a db)");
        assert_eq!(v["count"], 1, "max_alerts applies to the template data");
        assert_eq!(v["ratio"], 2);
        assert_eq!(v["firing"], true);
        assert_eq!(
            v["labels"],
            serde_json::json!({"alertname": "Down", "instance": "a", "team": "db"})
        );
        assert_eq!(v["empty"], serde_json::Value::Null);
        assert_eq!(v["colon"], serde_json::json!({"state": "firing"}));
        assert_eq!(v["firing_key"], "static");
        assert_eq!(
            v["list"],
            serde_json::json!(["team\\.x", 5, true, null, 1.5])
        );
        assert_eq!(v["nested"]["inner"], "a");
        assert!(
            v.get("version").is_none(),
            "the payload replaces the message"
        );
    }

    #[tokio::test]
    async fn payload_template_error_sends_nothing() {
        let server = TestServer::start().await;
        let n = webhook(&format!(
            "url: '{}'\npayload:\n  ok: 'x'\n  bad: '{{{{ .Nope.Deeper }}}}'\n",
            server.url("/p")
        ));
        let err = n.notify(&sending_ctx(), &two_alerts()).await.unwrap_err();
        assert!(!err.retry);
        assert!(
            err.message.starts_with("failed to render custom payload"),
            "{}",
            err.message
        );
        assert!(err.message.contains("payload.bad"), "{}", err.message);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn default_message_is_encoded_like_go() {
        let server = TestServer::start().await;
        let n = webhook(&format!("url: '{}'\n", server.url("/m")));
        let mut alerts = two_alerts();
        let mut a = (*alerts[0]).clone();
        a.annotations = LabelSet::from_pairs([("summary", "x < y && z")]);
        alerts[0] = Arc::new(a);
        n.notify(&sending_ctx(), &alerts).await.unwrap();
        let raw = server.single().text();
        assert!(raw.contains(r#""x \u003c y \u0026\u0026 z""#), "{raw}");
        assert!(raw.ends_with("}\n"));
    }
}
