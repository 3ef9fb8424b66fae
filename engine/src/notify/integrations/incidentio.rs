//! The incident.io integration: posts the notification to an incident.io HTTP alert
//! source, as Alertmanager 0.34 does.
//!
//! The body is the webhook message (the template data with `groupKey` and
//! `truncatedAlerts`) at version `"1"`; incident.io groups and deduplicates by the
//! group key. `max_alerts` limits the alerts sent; a body over incident.io's 512 KiB
//! limit keeps only its first alert. The alert source token is sent as a bearer
//! token (or `http_config.authorization` when no token is set). 429 and 5xx
//! answers are retried.

use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response_with, read_secret, transport_error,
};
use super::webhook::{WebhookMessage, build_message};
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture};
use crate::alert::Alert;
use crate::config::receiver::incidentio::IncidentioConfig;
use crate::notify::stages::NotifyContext;

/// Largest body incident.io accepts, in bytes.
pub const MAX_PAYLOAD_SIZE: usize = 512 * 1024;
/// Statuses besides 5xx that incident.io documents as temporary.
const RETRY_CODES: &[u16] = &[429];

/// Upstream's error details for incident.io answers: `message`, `error` and
/// `errors` of a JSON body, joined with `: `; nothing for other bodies.
fn error_details(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
        #[serde(default)]
        error: String,
    }
    let Ok(a) = serde_json::from_str::<Answer>(body) else {
        return String::new();
    };
    let mut parts = Vec::new();
    if !a.message.is_empty() {
        parts.push(a.message);
    }
    if !a.error.is_empty() {
        parts.push(a.error);
    }
    if !a.errors.is_empty() {
        parts.push(a.errors.join(", "));
    }
    parts.join(": ")
}

fn encode(msg: &WebhookMessage<'_>) -> Result<Vec<u8>, NotifyError> {
    let mut body = serde_json::to_vec(msg)
        .map_err(|e| NotifyError::permanent(format!("encoding the incident.io message: {e}")))?;
    // Go's json.Encoder ends the document with a newline.
    body.push(b'\n');
    Ok(body)
}

/// Sends notifications to incident.io for one `incidentio_configs` entry.
pub struct Incidentio {
    config: IncidentioConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl Incidentio {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &IncidentioConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(Incidentio {
            config: config.clone(),
            http,
            env,
        })
    }

    /// The body: the message, with only its first alert when it is too large.
    fn body(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<Vec<u8>, NotifyError> {
        let mut msg = build_message(ctx, alerts, self.config.max_alerts, &self.env.external_url);
        msg.version = "1";
        let body = encode(&msg)?;
        if body.len() <= MAX_PAYLOAD_SIZE {
            return Ok(body);
        }
        let original = body.len();
        // Most groups become one incident.io alert: the other alerts are useful
        // but not essential.
        msg.alerts.truncate(1);
        let body = encode(&msg)?;
        if body.len() <= MAX_PAYLOAD_SIZE {
            tracing::warn!(
                integration = "incidentio",
                original_size = original,
                final_size = body.len(),
                max_size = MAX_PAYLOAD_SIZE,
                "truncated alerts: the message exceeds incident.io's size limit"
            );
        } else {
            tracing::error!(
                integration = "incidentio",
                original_size = original,
                final_size = body.len(),
                max_size = MAX_PAYLOAD_SIZE,
                "truncated alerts, but the message still exceeds incident.io's size limit"
            );
        }
        Ok(body)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let c = &self.config;
        let body = self.body(ctx, alerts)?;
        let url = read_secret(
            c.url.as_ref().map(|u| u.as_str()).unwrap_or_default(),
            &c.url_file,
            "url",
        )?;
        let token = read_secret(
            c.alert_source_token.expose(),
            &c.alert_source_token_file,
            "alert_source_token",
        )?;
        let bearer = if token.is_empty() {
            None
        } else {
            Some(
                HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    NotifyError::permanent("alert_source_token is not a valid header value")
                })?,
            )
        };
        let _permit = self.http.permit().await;
        let mut req = self
            .http
            .client
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .body(body);
        if let Some(t) = c.timeout.to_std() {
            req = req.timeout(t);
        }
        let mut req = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?
            .build()
            .map_err(|e| transport_error(&e))?;
        if let Some(bearer) = bearer {
            // The token replaces http_config's credentials, as upstream does.
            req.headers_mut().insert(AUTHORIZATION, bearer);
        }
        let resp = self.http.client.execute(req).await.map_err(|e| {
            let mut err = transport_error(&e);
            if e.is_timeout() {
                err.message = format!("{}: configured incident.io timeout reached", err.message);
            }
            err
        })?;
        check_response_with(resp, ctx.now(), RETRY_CODES, |_, body| error_details(body)).await
    }
}

impl Notifier for Incidentio {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::LabelSet;
    use crate::config::deserialize_yaml;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{Reply, TestServer};
    use crate::notify::stages::testutil::*;

    const PATH: &str = "/v2/alert_events/alertmanager/01JABCDEF";

    fn big(name: &str, annotation_bytes: usize) -> Arc<Alert> {
        Arc::new(Alert {
            labels: LabelSet::from_pairs([("alertname", name), ("team", "db")]),
            annotations: LabelSet::from_pairs([(
                "description".to_string(),
                "d".repeat(annotation_bytes),
            )]),
            starts_at: ts(-100),
            ends_at: None,
            generator_url: "http://prom/graph".into(),
            updated_at: ts(-100),
            timeout: false,
        })
    }

    fn notifier(server: &TestServer, yaml: &str) -> Incidentio {
        let yaml = yaml.replace("URL", &server.url(PATH));
        let mut c: IncidentioConfig = deserialize_yaml(&yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        Incidentio::new(&c, IntegrationEnv::with_defaults("http://am:9093")).unwrap()
    }

    #[tokio::test]
    async fn posts_the_message_with_the_bearer_token() {
        let server = TestServer::start().await;
        server.always(Reply::new(
            202,
            r#"{"status":"success","deduplication_key":"x"}"#,
        ));
        let n = notifier(&server, "url: URL\nalert_source_token: tok-123\n");
        let mut ctx = ctx_at(0);
        let mut flush = (*ctx.flush).clone();
        flush.group_key = "{}:{alertname=\"Down\"}".into();
        flush.group_labels = LabelSet::from_pairs([("alertname", "Down")]);
        ctx.flush = Arc::new(flush);
        n.notify(&ctx, &[alert("Down", None), alert("Down", Some(-1))])
            .await
            .unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, PATH);
        assert_eq!(req.header("authorization"), "Bearer tok-123");
        assert_eq!(req.header("content-type"), "application/json");
        assert!(req.header("user-agent").starts_with("Alertmanager/"));
        let v = req.json();
        assert_eq!(v["version"], "1");
        assert_eq!(v["groupKey"], "{}:{alertname=\"Down\"}");
        assert_eq!(v["truncatedAlerts"], 0);
        assert_eq!(v["receiver"], "team");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["externalURL"], "http://am:9093");
        assert_eq!(v["groupLabels"], serde_json::json!({"alertname": "Down"}));
        assert_eq!(v["commonLabels"], serde_json::json!({"alertname": "Down"}));
        let alerts = v["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0]["status"], "firing");
        assert_eq!(alerts[1]["status"], "resolved");
        assert_eq!(alerts[0]["fingerprint"].as_str().map(str::len), Some(16));
    }

    #[tokio::test]
    async fn max_alerts_and_the_size_limit_cut_alerts() {
        let server = TestServer::start().await;
        let n = notifier(&server, "url: URL\nalert_source_token: t\nmax_alerts: 2\n");
        let alerts = [big("A", 10), big("B", 10), big("C", 10)];
        n.notify(&ctx_at(0), &alerts).await.unwrap();
        let v = server.requests()[0].json();
        assert_eq!(v["alerts"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["truncatedAlerts"], 1);

        // Three alerts of 200 KiB each exceed 512 KiB: only the first is sent.
        let n = notifier(&server, "url: URL\nalert_source_token: t\n");
        let alerts = [
            big("A", 200 * 1024),
            big("B", 200 * 1024),
            big("C", 200 * 1024),
        ];
        n.notify(&ctx_at(0), &alerts).await.unwrap();
        let req = &server.requests()[1];
        assert!(req.body.len() <= MAX_PAYLOAD_SIZE);
        let v = req.json();
        assert_eq!(v["alerts"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["alerts"][0]["labels"]["alertname"], "A");
    }

    #[tokio::test]
    async fn retries_like_upstream_with_error_details() {
        let server = TestServer::start().await;
        let n = notifier(&server, "url: URL\nalert_source_token: t\n");
        let alerts = [alert("A", None)];
        server.script([
            Reply::new(502, "bad gateway"),
            Reply::new(429, r#"{"message":"rate limited"}"#),
            Reply::new(
                400,
                r#"{"message":"Invalid payload","errors":["missing title","bad status"]}"#,
            ),
            Reply::new(401, r#"{"error":"invalid token"}"#),
        ]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "5xx is retried");
        assert_eq!(e.message, "unexpected status code 502");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "429 is retried");
        assert_eq!(e.message, "unexpected status code 429: rate limited");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "400 is not retried");
        assert_eq!(
            e.message,
            "unexpected status code 400: Invalid payload: missing title, bad status"
        );
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "401 is not retried");
        assert_eq!(e.message, "unexpected status code 401: invalid token");
    }

    #[tokio::test]
    async fn token_and_url_files_are_read_at_send_time() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        let url = dir.path().join("url");
        std::fs::write(&token, "tok-one\n").unwrap();
        std::fs::write(&url, format!("{}\n", server.url(PATH))).unwrap();
        let yaml = format!(
            "url_file: {}\nalert_source_token_file: {}\n",
            url.display(),
            token.display()
        );
        let n = notifier(&server, &yaml);
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        std::fs::write(&token, "tok-two").unwrap();
        std::fs::write(&url, server.url("/other")).unwrap();
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].header("authorization"), "Bearer tok-one");
        assert_eq!(reqs[0].uri, PATH);
        assert_eq!(reqs[1].header("authorization"), "Bearer tok-two");
        assert_eq!(reqs[1].uri, "/other");
        std::fs::remove_file(&token).unwrap();
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(
            !e.retry && e.message.contains("alert_source_token_file"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn http_config_authorization_is_used_without_a_token() {
        let server = TestServer::start().await;
        let n = notifier(
            &server,
            "url: URL\nhttp_config: {authorization: {type: Bearer, credentials: from-http-config}}\n",
        );
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        assert_eq!(
            server.single().header("authorization"),
            "Bearer from-http-config"
        );
    }

    #[tokio::test]
    async fn built_from_a_config_file() {
        let server = TestServer::start().await;
        let yaml = format!(
            "global:\n  http_config: {{}}\nroute: {{receiver: r}}\nreceivers:\n  - name: r\n    incidentio_configs:\n      - url: {}\n        alert_source_token: t\n        send_resolved: false\n",
            server.url("/v2/alert_events/http/x")
        );
        let config = crate::config::Config::parse(&yaml, Default::default()).unwrap();
        let built = crate::notify::integrations::build(
            &config.receivers[0],
            &IntegrationEnv::with_defaults("http://am:9093"),
        );
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].name, "incidentio");
        assert!(!built[0].send_resolved);
        built[0]
            .notifier
            .notify(&ctx_at(0), &[alert("A", None)])
            .await
            .unwrap();
        assert_eq!(server.single().header("authorization"), "Bearer t");
    }
}
