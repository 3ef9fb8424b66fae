//! The PagerDuty integration: Events API v2 with a `routing_key`, or the older
//! Events API v1 with a `service_key`, as Alertmanager 0.34 sends them.
//!
//! A group with a firing alert triggers an incident, a fully resolved group resolves
//! it; the group key's hash is the deduplication key (`dedup_key` in v2,
//! `incident_key` in v1), so later notifications of the group update the same
//! incident. The summary (v1: description) is cut to 1024 characters and the custom
//! details are dropped when the event exceeds PagerDuty's 512 kB limit. PagerDuty
//! documents 429 (v2) and 403 (v1) as temporary besides 5xx; those are retried.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response_with, read_secret, transport_error,
};
use super::{
    IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, group_key_hash, template_data,
    truncate,
};
use crate::alert::Alert;
use crate::config::receiver::pagerduty::PagerDutyConfig;
use crate::notify::stages::NotifyContext;

/// Where v1 events go (fixed, like upstream: `url` applies to v2 only).
pub const V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";
/// Largest event PagerDuty accepts, in bytes.
pub const MAX_EVENT_SIZE: usize = 512_000;
/// Most characters of the v2 summary and the v1 description.
pub const MAX_SUMMARY_RUNES: usize = 1024;
/// What replaces the custom details of an event that is too large.
pub const DETAILS_REMOVED: &str =
    "Custom details have been removed because the original event exceeds the maximum size of 512kB";

/// The event (both API versions; fields of the other version stay empty).
#[derive(Debug, Serialize)]
struct Event {
    #[serde(skip_serializing_if = "String::is_empty")]
    routing_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    service_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dedup_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    incident_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    event_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    /// Always present (empty in v1), as upstream sends it.
    event_action: String,
    /// `null` in v1, as upstream sends it.
    payload: Option<Payload>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    details: BTreeMap<String, Json>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

#[derive(Debug, Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    custom_details: BTreeMap<String, Json>,
}

#[derive(Debug, Serialize)]
struct Image {
    src: String,
    alt: String,
    href: String,
}

#[derive(Debug, Serialize)]
struct Link {
    href: String,
    text: String,
}

/// Renders a templated structure like upstream's `DeepCopyWithTemplate`: every string
/// (map keys too) is rendered; a rendered text that reads as structured YAML (a
/// number, a boolean, a list, a map, JSON from `toJson`) becomes that value, any
/// other stays text. Numbers, booleans and nulls are kept as they are.
pub fn render_value(r: &mut Renderer<'_>, field: &str, value: &Json) -> Json {
    match value {
        Json::String(text) => structured(r.text(field, text)),
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| render_value(r, &format!("{field}[{i}]"), v))
                .collect(),
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| {
                    let inner = format!("{field}.{k}");
                    (r.text(&inner, k), render_value(r, &inner, v))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A rendered text as upstream reads it back: YAML that is not a plain string (nor
/// empty, nor null) becomes structured data.
fn structured(text: String) -> Json {
    match serde_saphyr::from_str::<Json>(&text) {
        Ok(Json::String(_) | Json::Null) | Err(_) => Json::String(text),
        Ok(v) => v,
    }
}

/// Upstream's error details for PagerDuty answers: only a 400's JSON body
/// (`message` and `errors`) is shown.
fn error_details(status: u16, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
    }
    if status != 400 {
        return String::new();
    }
    match serde_json::from_str::<Answer>(body) {
        Ok(a) => format!("{}: {}", a.message, a.errors.join(",")),
        Err(_) => String::new(),
    }
}

/// Sends PagerDuty events for one `pagerduty_configs` entry.
pub struct PagerDuty {
    config: PagerDutyConfig,
    http: HttpClient,
    env: IntegrationEnv,
    v1_url: String,
}

impl PagerDuty {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &PagerDutyConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(PagerDuty {
            config: config.clone(),
            http,
            env,
            v1_url: V1_URL.to_string(),
        })
    }

    fn is_v1(&self) -> bool {
        !self.config.service_key.is_empty() || !self.config.service_key_file.is_empty()
    }

    /// Renders a key (keys may be templates, as upstream allows); a failure is
    /// reported without the template error, which could quote the key.
    fn render_key(r: &mut Renderer<'_>, field: &str, raw: &str) -> Result<String, NotifyError> {
        let failed_before = r.failed();
        let key = r.text(field, raw);
        if !failed_before && r.failed() {
            return Err(NotifyError::permanent(format!(
                "rendering template of {field} failed"
            )));
        }
        Ok(key)
    }

    fn build(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<Event, NotifyError> {
        let c = &self.config;
        let resolved = alerts.iter().all(|a| ctx.is_resolved(a));
        let action = if resolved { "resolve" } else { "trigger" };
        let group_key = &ctx.flush.group_key;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let details: BTreeMap<String, Json> = c
            .details
            .iter()
            .map(|(k, v)| {
                let field = format!("details.{k}");
                (r.text(&field, k), render_value(&mut r, &field, v))
            })
            .collect();
        let (description, cut) =
            truncate::in_runes(&r.text("description", &c.description), MAX_SUMMARY_RUNES);
        if cut {
            tracing::warn!(integration = "pagerduty", group_key = %group_key, max_runes = MAX_SUMMARY_RUNES, "truncated summary");
        }
        let event = if self.is_v1() {
            let raw = read_secret(c.service_key.expose(), &c.service_key_file, "service_key")?;
            let service_key = Self::render_key(&mut r, "service_key", &raw)?;
            let (client, client_url) = if resolved {
                (String::new(), String::new())
            } else {
                (
                    r.text("client", &c.client),
                    r.text("client_url", &c.client_url),
                )
            };
            r.finish()?;
            if service_key.is_empty() {
                return Err(NotifyError::permanent("service key cannot be empty"));
            }
            Event {
                routing_key: String::new(),
                service_key,
                dedup_key: String::new(),
                incident_key: group_key_hash(ctx),
                event_type: action.to_string(),
                description,
                event_action: String::new(),
                payload: None,
                client,
                client_url,
                details,
                images: Vec::new(),
                links: Vec::new(),
            }
        } else {
            let severity = if c.severity.is_empty() {
                "error"
            } else {
                &c.severity
            };
            let client = r.text("client", &c.client);
            let client_url = r.text("client_url", &c.client_url);
            let raw = read_secret(c.routing_key.expose(), &c.routing_key_file, "routing_key")?;
            let routing_key = Self::render_key(&mut r, "routing_key", &raw)?;
            let payload = Payload {
                summary: description,
                source: r.text("source", &c.source),
                severity: r.text("severity", severity),
                class: r.text("class", &c.class),
                component: r.text("component", &c.component),
                group: r.text("group", &c.group),
                custom_details: details,
            };
            let mut images = Vec::new();
            for (i, img) in c.images.iter().enumerate() {
                let image = Image {
                    src: r.text(&format!("images[{i}].src"), &img.src),
                    alt: r.text(&format!("images[{i}].alt"), &img.alt),
                    href: r.text(&format!("images[{i}].href"), &img.href),
                };
                if !image.src.is_empty() {
                    images.push(image);
                }
            }
            let mut links = Vec::new();
            for (i, l) in c.links.iter().enumerate() {
                let link = Link {
                    href: r.text(&format!("links[{i}].href"), &l.href),
                    text: r.text(&format!("links[{i}].text"), &l.text),
                };
                if !link.href.is_empty() {
                    links.push(link);
                }
            }
            r.finish()?;
            if routing_key.is_empty() {
                return Err(NotifyError::permanent("routing key cannot be empty"));
            }
            Event {
                routing_key,
                service_key: String::new(),
                dedup_key: group_key_hash(ctx),
                incident_key: String::new(),
                event_type: String::new(),
                description: String::new(),
                event_action: action.to_string(),
                payload: Some(payload),
                client,
                client_url,
                details: BTreeMap::new(),
                images,
                links,
            }
        };
        Ok(event)
    }

    /// The event as JSON; the custom details are replaced by a note when the event
    /// is larger than PagerDuty accepts.
    fn encode(&self, mut event: Event) -> Result<Vec<u8>, NotifyError> {
        let encode = |e: &Event| {
            serde_json::to_vec(e)
                .map(|mut body| {
                    // Go's json.Encoder ends the document with a newline.
                    body.push(b'\n');
                    body
                })
                .map_err(|e| NotifyError::permanent(format!("encoding the PagerDuty event: {e}")))
        };
        let body = encode(&event)?;
        if body.len() <= MAX_EVENT_SIZE {
            return Ok(body);
        }
        tracing::warn!(
            integration = "pagerduty",
            size = body.len(),
            limit = MAX_EVENT_SIZE,
            "truncated details: the event exceeds PagerDuty's size limit"
        );
        let note = BTreeMap::from([("error".to_string(), Json::String(DETAILS_REMOVED.into()))]);
        match &mut event.payload {
            Some(p) => p.custom_details = note,
            None => event.details = note,
        }
        encode(&event)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let event = self.build(ctx, alerts)?;
        let body = self.encode(event)?;
        let (url, retry_codes): (&str, &[u16]) = if self.is_v1() {
            (&self.v1_url, &[403])
        } else {
            let url = self
                .config
                .url
                .as_ref()
                .map(|u| u.as_str())
                .unwrap_or_default();
            (url, &[429])
        };
        let _permit = self.http.permit().await;
        let mut req = self
            .http
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .body(body);
        if let Some(t) = self.config.timeout.and_then(|t| t.to_std()) {
            req = req.timeout(t);
        }
        let req = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        let resp = req.send().await.map_err(|e| {
            let mut err = transport_error(&e);
            if e.is_timeout() {
                err.message = format!("{}: configured pagerduty timeout reached", err.message);
            }
            err
        })?;
        check_response_with(resp, ctx.now(), retry_codes, error_details).await
    }
}

impl Notifier for PagerDuty {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{Reply, TestServer, alert_with, env_with};
    use crate::notify::stages::testutil::*;

    /// Log lines written while a test's subscriber is in force.
    #[derive(Clone, Default)]
    struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Logs {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
        type Writer = Logs;
        fn make_writer(&'a self) -> Logs {
            self.clone()
        }
    }

    const HASH: &str = "cc9772a1ec901d26ef71dae861793e4d08979fa5030a3f0a5f3ba549f1f2d0b6";

    fn labelled(name: &str, severity: &str, ends: Option<i64>) -> Arc<Alert> {
        alert_with(
            &[
                ("alertname", name),
                ("severity", severity),
                ("instance", "db-1"),
            ],
            &[("summary", "disk full")],
            ends,
        )
    }

    /// The built-in templates plus stand-ins for this integration's defaults (their
    /// real text is tested with the other defaults).
    fn env() -> IntegrationEnv {
        env_with(
            r#"{{ define "pagerduty.default.client" }}stub-client{{ end }}{{ define "pagerduty.default.clientURL" }}stub-url{{ end }}{{ define "pagerduty.default.description" }}stub-description{{ end }}"#,
        )
    }

    /// A notifier from `yaml` parsed and resolved like a config file's entry, with
    /// `global.pagerduty_url` pointing at `server`.
    fn notifier(server: &TestServer, yaml: &str) -> PagerDuty {
        let global: GlobalConfig =
            deserialize_yaml(&format!("pagerduty_url: {}", server.url("/v2/enqueue"))).unwrap();
        let mut c: PagerDutyConfig = deserialize_yaml(yaml).unwrap();
        c.resolve(&global).unwrap();
        let mut n = PagerDuty::new(&c, env()).unwrap();
        n.v1_url = server.url("/generic/2010-04-15/create_event.json");
        n
    }

    const V2: &str = r#"
routing_key: rk-0123456789abcdef
description: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.instance }}'
client: Larum
client_url: '{{ .ExternalURL }}'
severity: '{{ .CommonLabels.severity }}'
class: disk
component: '{{ .CommonLabels.instance }}'
group: storage
images:
  - {src: 'http://img/{{ .CommonLabels.alertname }}.png', alt: graph, href: 'http://prom'}
  - {src: '', alt: skipped}
links:
  - {href: 'http://runbook/{{ .CommonLabels.alertname }}', text: runbook}
  - {text: no href}
details:
  summary: '{{ .CommonAnnotations.summary }}'
  nested: {state: '{{ .Status }}', list: ['{{ len .Alerts }}', plain]}
"#;

    #[tokio::test]
    async fn v2_trigger_follows_the_events_api() {
        let server = TestServer::start().await;
        server.always(Reply::new(202, r#"{"status":"success","dedup_key":"x"}"#));
        let n = notifier(&server, V2);
        let alerts = vec![labelled("DiskFull", "critical", None)];
        n.notify(&ctx_at(0), &alerts).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/v2/enqueue");
        assert_eq!(req.header("content-type"), "application/json");
        assert!(req.header("user-agent").starts_with("Alertmanager/"));
        let v = req.json();
        assert_eq!(v["routing_key"], "rk-0123456789abcdef");
        assert_eq!(v["event_action"], "trigger");
        assert_eq!(v["dedup_key"], HASH);
        assert_eq!(v["client"], "Larum");
        assert_eq!(v["client_url"], "http://am:9093");
        assert!(v.get("service_key").is_none() && v.get("incident_key").is_none());
        let p = &v["payload"];
        assert_eq!(p["summary"], "DiskFull on db-1");
        assert_eq!(p["source"], "Larum", "source defaults to client");
        assert_eq!(p["severity"], "critical");
        assert_eq!(p["class"], "disk");
        assert_eq!(p["component"], "db-1");
        assert_eq!(p["group"], "storage");
        let d = &p["custom_details"];
        assert_eq!(d["summary"], "disk full");
        assert_eq!(d["nested"]["state"], "firing");
        // Rendered numbers become numbers, like upstream's YAML read-back.
        assert_eq!(d["nested"]["list"], serde_json::json!([1, "plain"]));
        assert_eq!(d["num_firing"], 1);
        assert_eq!(d["num_resolved"], 0);
        assert_eq!(d["firing"].as_array().map(Vec::len), Some(1));
        assert_eq!(d["firing"][0]["labels"]["alertname"], "DiskFull");
        assert_eq!(
            v["images"],
            serde_json::json!([{"src": "http://img/DiskFull.png", "alt": "graph", "href": "http://prom"}])
        );
        assert_eq!(
            v["links"],
            serde_json::json!([{"href": "http://runbook/DiskFull", "text": "runbook"}])
        );
    }

    #[tokio::test]
    async fn v2_resolves_when_every_alert_is_resolved_and_defaults_severity() {
        let server = TestServer::start().await;
        let n = notifier(&server, "routing_key: rk\ndescription: gone\n");
        let alerts = vec![alert("A", Some(-5)), alert("B", Some(-1))];
        n.notify(&ctx_at(0), &alerts).await.unwrap();
        let v = server.single().json();
        assert_eq!(v["event_action"], "resolve");
        assert_eq!(v["dedup_key"], HASH);
        assert_eq!(v["payload"]["severity"], "error");
        assert_eq!(v["payload"]["custom_details"]["num_resolved"], 2);
        assert!(v.get("images").is_none() && v.get("links").is_none());
    }

    #[tokio::test]
    async fn v1_uses_the_service_key_and_incident_key() {
        let server = TestServer::start().await;
        let yaml = "service_key: sk-1\ndescription: '{{ .CommonLabels.alertname }} down'\nclient: Larum\nclient_url: http://am\ndetails: {team: db}\n";
        let n = notifier(&server, yaml);
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        n.notify(&ctx_at(0), &[alert("A", Some(-1))]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].uri, "/generic/2010-04-15/create_event.json");
        assert_eq!(reqs[0].header("content-type"), "application/json");
        let v = reqs[0].json();
        assert_eq!(v["service_key"], "sk-1");
        assert_eq!(v["event_type"], "trigger");
        assert_eq!(v["incident_key"], HASH);
        assert_eq!(v["description"], "A down");
        assert_eq!(v["client"], "Larum");
        assert_eq!(v["client_url"], "http://am");
        assert_eq!(v["details"]["team"], "db");
        assert_eq!(v["details"]["num_firing"], 1);
        assert!(v["payload"].is_null());
        assert!(v.get("routing_key").is_none() && v.get("dedup_key").is_none());
        let v = reqs[1].json();
        assert_eq!(v["event_type"], "resolve");
        assert!(v.get("client").is_none() && v.get("client_url").is_none());
    }

    #[tokio::test]
    async fn retries_like_upstream() {
        let server = TestServer::start().await;
        let n = notifier(&server, "routing_key: rk\ndescription: d\n");
        let alerts = [alert("A", None)];
        server.script([
            Reply::new(500, "oops"),
            Reply::new(429, "slow down"),
            Reply::new(
                400,
                r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}"#,
            ),
            Reply::new(403, "forbidden"),
        ]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "500 is retried");
        assert_eq!(e.message, "unexpected status code 500");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "429 is retried in v2");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "400 is not retried");
        assert_eq!(
            e.message,
            "unexpected status code 400: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)"
        );
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "403 is not retried in v2");

        let v1 = notifier(&server, "service_key: sk\ndescription: d\n");
        server.script([Reply::new(403, "rate"), Reply::new(429, "rate")]);
        assert!(
            v1.notify(&ctx_at(0), &alerts).await.unwrap_err().retry,
            "403 is retried in v1"
        );
        assert!(
            !v1.notify(&ctx_at(0), &alerts).await.unwrap_err().retry,
            "429 without Retry-After is not retried in v1"
        );
    }

    #[tokio::test]
    async fn truncates_summary_and_oversized_details() {
        let server = TestServer::start().await;
        let long = "é".repeat(2000);
        let big = "x".repeat(MAX_EVENT_SIZE);
        let yaml = format!(
            "routing_key: rk-secret-value\ndescription: '{long}'\ndetails: {{big: '{big}'}}\n"
        );
        let n = notifier(&server, &yaml);
        let logs = Logs::default();
        {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .finish();
            let _guard = tracing::subscriber::set_default(subscriber);
            n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        }
        let logged = logs.text();
        assert!(logged.contains("truncated summary"), "{logged}");
        assert!(logged.contains("truncated details"), "{logged}");
        assert!(!logged.contains("rk-secret-value"), "{logged}");
        let req = server.single();
        assert!(req.body.len() <= MAX_EVENT_SIZE);
        let v = req.json();
        let summary = v["payload"]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), MAX_SUMMARY_RUNES);
        assert!(summary.ends_with("é…"));
        assert_eq!(
            v["payload"]["custom_details"],
            serde_json::json!({"error": DETAILS_REMOVED})
        );

        let v1 = notifier(
            &server,
            &format!("service_key: sk\ndescription: '{long}'\ndetails: {{big: '{big}'}}\n"),
        );
        v1.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let v = server.requests()[1].json();
        assert_eq!(
            v["description"].as_str().unwrap().chars().count(),
            MAX_SUMMARY_RUNES
        );
        assert_eq!(v["details"], serde_json::json!({"error": DETAILS_REMOVED}));
    }

    #[tokio::test]
    async fn key_file_is_read_at_send_time_and_never_shown() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "first-key\n").unwrap();
        let n = notifier(
            &server,
            &format!("routing_key_file: {}\ndescription: d\n", path.display()),
        );
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        std::fs::write(&path, "second-key").unwrap();
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].json()["routing_key"], "first-key");
        assert_eq!(reqs[1].json()["routing_key"], "second-key");

        // A key whose template fails is not quoted in the error.
        std::fs::write(&path, "secret-{{ .Nope.Deeper }}").unwrap();
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(!e.retry);
        assert!(
            e.message.contains("routing_key") && !e.message.contains("secret"),
            "{}",
            e.message
        );
        std::fs::remove_file(&path).unwrap();
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(
            !e.retry && e.message.contains("routing_key_file"),
            "{}",
            e.message
        );
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn template_errors_are_permanent_and_name_the_field() {
        let server = TestServer::start().await;
        let n = notifier(
            &server,
            "routing_key: rk\ndescription: d\nclass: '{{ .Nope.Deeper }}'\n",
        );
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("class"), "{}", e.message);
        assert!(server.requests().is_empty());
    }

    #[test]
    fn rendered_details_read_back_like_upstream() {
        assert_eq!(structured("3".into()), serde_json::json!(3));
        assert_eq!(structured("true".into()), serde_json::json!(true));
        assert_eq!(structured("".into()), serde_json::json!(""));
        assert_eq!(structured("null".into()), serde_json::json!("null"));
        assert_eq!(
            structured("plain text".into()),
            serde_json::json!("plain text")
        );
        assert_eq!(
            structured(r#"[{"a":1}]"#.into()),
            serde_json::json!([{"a": 1}])
        );
        assert_eq!(structured("a: b".into()), serde_json::json!({"a": "b"}));
    }

    #[tokio::test]
    async fn built_from_a_config_file() {
        let server = TestServer::start().await;
        let yaml = format!(
            "global:\n  pagerduty_url: {}\nroute: {{receiver: r}}\nreceivers:\n  - name: r\n    pagerduty_configs:\n      - routing_key: rk\n        description: d\n        send_resolved: false\n",
            server.url("/v2/enqueue")
        );
        let config = crate::config::Config::parse(&yaml, Default::default()).unwrap();
        let built = crate::notify::integrations::build(&config.receivers[0], &env());
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].name, "pagerduty");
        assert!(!built[0].send_resolved);
        built[0]
            .notifier
            .notify(&ctx_at(0), &[alert("A", None)])
            .await
            .unwrap();
        assert_eq!(server.single().json()["routing_key"], "rk");
    }
}
