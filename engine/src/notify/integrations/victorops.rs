//! The VictorOps (Splunk On-Call) integration: the REST endpoint of Alertmanager
//! 0.34, with the API key and the routing key in the URL path.
//!
//! The group key's hash is the `entity_id`, so the incident of a group is updated
//! and recovered by later notifications. A firing group sends the configured
//! `message_type` when it is one VictorOps knows (INFO, WARNING, CRITICAL), else
//! CRITICAL; a resolved group sends RECOVERY. The state message is cut to 20480
//! characters. Only 5xx answers are retried (VictorOps documents no other).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response, read_secret, transport_error,
};
use super::{
    IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, group_key_hash, template_data,
    truncate,
};
use crate::alert::Alert;
use crate::config::receiver::victorops::VictorOpsConfig;
use crate::notify::stages::NotifyContext;

/// Most characters of the state message.
pub const MAX_STATE_MESSAGE_RUNES: usize = 20480;
/// The message types a firing group may send.
const FIRING_TYPES: [&str; 3] = ["INFO", "WARNING", "CRITICAL"];

/// Sends VictorOps events for one `victorops_configs` entry.
pub struct VictorOps {
    config: VictorOpsConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl VictorOps {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &VictorOpsConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(VictorOps {
            config: config.clone(),
            http,
            env,
        })
    }

    /// The URL (it holds the API key: never shown) and the JSON body.
    fn request(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
    ) -> Result<(String, Vec<u8>), NotifyError> {
        let c = &self.config;
        let api_key = read_secret(c.api_key.expose(), &c.api_key_file, "api_key")?;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let routing_key = r.text("routing_key", &c.routing_key);
        let resolved = alerts.iter().all(|a| ctx.is_resolved(a));
        let mut message_type = r.text("message_type", &c.message_type);
        if resolved {
            message_type = "RECOVERY".into();
        } else if !FIRING_TYPES.contains(&message_type.as_str()) {
            message_type = "CRITICAL".into();
        }
        let (state_message, cut) = truncate::in_runes(
            &r.text("state_message", &c.state_message),
            MAX_STATE_MESSAGE_RUNES,
        );
        if cut {
            tracing::warn!(integration = "victorops", group_key = %ctx.flush.group_key, max_runes = MAX_STATE_MESSAGE_RUNES, "truncated state_message");
        }
        let mut body: BTreeMap<String, String> = BTreeMap::from([
            ("message_type".to_string(), message_type),
            ("entity_id".to_string(), group_key_hash(ctx)),
            (
                "entity_display_name".to_string(),
                r.text("entity_display_name", &c.entity_display_name),
            ),
            ("state_message".to_string(), state_message),
            (
                "monitoring_tool".to_string(),
                r.text("monitoring_tool", &c.monitoring_tool),
            ),
        ]);
        for (k, v) in &c.custom_fields {
            body.insert(k.clone(), r.text(&format!("custom_fields.{k}"), v));
        }
        r.finish()?;

        let base = c.api_url.as_ref().map(|u| u.as_str()).unwrap_or_default();
        let mut url =
            url::Url::parse(base).map_err(|e| NotifyError::permanent(format!("api_url: {e}")))?;
        let path = format!("{}{api_key}/{routing_key}", url.path());
        url.set_path(&path);
        let mut json = serde_json::to_vec(&body)
            .map_err(|e| NotifyError::permanent(format!("encoding the VictorOps event: {e}")))?;
        json.push(b'\n');
        Ok((url.into(), json))
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let (url, body) = self.request(ctx, alerts)?;
        let _permit = self.http.permit().await;
        let req = self
            .http
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .body(body);
        let req = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        // transport_error leaves the URL, and so the key, out of the message.
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        check_response(resp, ctx.now(), &[]).await
    }
}

impl Notifier for VictorOps {
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

    const HASH: &str = "cc9772a1ec901d26ef71dae861793e4d08979fa5030a3f0a5f3ba549f1f2d0b6";
    const PATH: &str = "/integrations/generic/20131114/alert/";

    fn labelled(name: &str, ends: Option<i64>) -> Arc<Alert> {
        alert_with(
            &[("alertname", name), ("team", "db")],
            &[("summary", "disk full")],
            ends,
        )
    }

    /// The built-in templates plus stand-ins for this integration's defaults.
    fn env() -> IntegrationEnv {
        env_with(
            r#"{{ define "victorops.default.state_message" }}stub-state{{ end }}{{ define "victorops.default.entity_display_name" }}stub-name{{ end }}{{ define "victorops.default.monitoring_tool" }}stub-tool{{ end }}"#,
        )
    }

    /// A notifier from `yaml`, resolved against a `global` section whose VictorOps URL
    /// points at `url` and that carries the API key.
    fn notifier_at(url: &str, yaml: &str) -> VictorOps {
        let global: GlobalConfig = deserialize_yaml(&format!(
            "victorops_api_url: {url}\nvictorops_api_key: secret-api-key\n"
        ))
        .unwrap();
        let mut c: VictorOpsConfig = deserialize_yaml(yaml).unwrap();
        c.resolve(&global).unwrap();
        VictorOps::new(&c, env()).unwrap()
    }

    fn notifier(server: &TestServer, yaml: &str) -> VictorOps {
        notifier_at(&server.url(PATH), yaml)
    }

    #[tokio::test]
    async fn posts_the_event_to_the_key_and_routing_key_path() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, r#"{"result":"success","entity_id":"x"}"#));
        let yaml = r#"
routing_key: 'team-{{ .CommonLabels.team }}'
state_message: '{{ .CommonAnnotations.summary }}'
entity_display_name: '{{ .CommonLabels.alertname }}'
monitoring_tool: larum
custom_fields: {runbook: 'http://rb/{{ .CommonLabels.alertname }}', tier: gold}
"#;
        let n = notifier(&server, yaml);
        n.notify(&ctx_at(0), &[labelled("DiskFull", None)])
            .await
            .unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, format!("{PATH}secret-api-key/team-db"));
        assert_eq!(req.header("content-type"), "application/json");
        assert!(req.header("user-agent").starts_with("Alertmanager/"));
        assert_eq!(
            req.json(),
            serde_json::json!({
                "message_type": "CRITICAL",
                "entity_id": HASH,
                "entity_display_name": "DiskFull",
                "state_message": "disk full",
                "monitoring_tool": "larum",
                "runbook": "http://rb/DiskFull",
                "tier": "gold",
            })
        );
    }

    #[tokio::test]
    async fn message_type_follows_the_group_state() {
        let server = TestServer::start().await;
        let warning = notifier(&server, "routing_key: r\nmessage_type: WARNING\n");
        let bogus = notifier(&server, "routing_key: r\nmessage_type: '{{ .Status }}'\n");
        warning
            .notify(&ctx_at(0), &[alert("A", None)])
            .await
            .unwrap();
        bogus.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        warning
            .notify(&ctx_at(0), &[alert("A", Some(-1)), alert("B", Some(-2))])
            .await
            .unwrap();
        let types: Vec<String> = server
            .requests()
            .iter()
            .map(|r| {
                r.json()["message_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(types, ["WARNING", "CRITICAL", "RECOVERY"]);
    }

    #[tokio::test]
    async fn only_server_errors_are_retried() {
        let server = TestServer::start().await;
        let n = notifier(&server, "routing_key: r\n");
        let alerts = [alert("A", None)];
        server.script([
            Reply::new(500, "boom"),
            Reply::new(429, "slow"),
            Reply::new(400, r#"{"result":"failure","message":"Missing fields"}"#),
        ]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "500 is retried");
        assert_eq!(e.message, "unexpected status code 500: boom");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "429 without Retry-After is not retried");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "400 is not retried");
        assert!(e.message.contains("Missing fields"));
        assert!(!e.message.contains("secret-api-key"));
    }

    #[tokio::test]
    async fn state_message_is_cut_to_the_limit() {
        let server = TestServer::start().await;
        let yaml = format!("routing_key: r\nstate_message: '{}'\n", "ß".repeat(25_000));
        let n = notifier(&server, &yaml);
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let v = server.single().json();
        let text = v["state_message"].as_str().unwrap();
        assert_eq!(text.chars().count(), MAX_STATE_MESSAGE_RUNES);
        assert!(text.ends_with("ß…"));
    }

    #[tokio::test]
    async fn the_api_key_is_never_shown_and_its_file_is_read_at_send_time() {
        // Nothing listens on port 1: the transport error must not show the URL,
        // which carries the key.
        let n = notifier_at(&format!("http://127.0.0.1:1{PATH}"), "routing_key: r\n");
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(e.retry, "a transport error is retried");
        assert!(!e.message.contains("secret-api-key"), "{}", e.message);

        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "key-one\n").unwrap();
        let n = notifier(
            &server,
            &format!("routing_key: r\napi_key_file: {}\n", path.display()),
        );
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        std::fs::write(&path, "key-two").unwrap();
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let uris: Vec<String> = server.requests().into_iter().map(|r| r.uri).collect();
        assert_eq!(
            uris,
            [format!("{PATH}key-one/r"), format!("{PATH}key-two/r")]
        );
    }

    #[tokio::test]
    async fn template_errors_are_permanent() {
        let server = TestServer::start().await;
        let n = notifier(
            &server,
            "routing_key: r\ncustom_fields: {x: '{{ .Nope.Deeper }}'}\n",
        );
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("custom_fields.x"), "{}", e.message);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn built_from_a_config_file() {
        let server = TestServer::start().await;
        let yaml = format!(
            "global:\n  victorops_api_url: {}\n  victorops_api_key: vk\nroute: {{receiver: r}}\nreceivers:\n  - name: r\n    victorops_configs:\n      - routing_key: rk\n        send_resolved: false\n",
            server.url("/alert/")
        );
        let config = crate::config::Config::parse(&yaml, Default::default()).unwrap();
        let built = crate::notify::integrations::build(&config.receivers[0], &env());
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].name, "victorops");
        assert!(!built[0].send_resolved);
        built[0]
            .notifier
            .notify(&ctx_at(0), &[alert("A", None)])
            .await
            .unwrap();
        assert_eq!(server.single().uri, "/alert/vk/rk");
    }
}
