//! The Webex integration: a Markdown message to a room through the Messages API,
//! authorized by `http_config.authorization` (a bot's Bearer token).
//!
//! As upstream Alertmanager 0.34: `message` and `room_id` are templates; the message
//! is cut to 7439 bytes, Webex's limit.

use std::sync::Arc;

use serde::Serialize;

use super::http::{HttpClient, HttpConfigError, check_response};
use super::post::{encode_json, post_json};
use super::truncate;
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::webex::WebexConfig;
use crate::notify::stages::NotifyContext;

/// Webex's limit for a message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 7439;

#[derive(Debug, Serialize)]
struct Message {
    markdown: String,
    #[serde(rename = "roomId", skip_serializing_if = "String::is_empty")]
    room_id: String,
}

/// Sends Webex notifications for one `webex_configs` entry.
pub struct Webex {
    config: WebexConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl Webex {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &WebexConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(Webex {
            config: config.clone(),
            http: HttpClient::new(&config.http_config.clone().unwrap_or_default())?,
            env: env.clone(),
        })
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let message = r.text("message", &c.message);
        let room_id = r.text("room_id", &c.room_id);
        r.finish()?;
        let (markdown, cut) = truncate::in_bytes(&message, MAX_MESSAGE_BYTES);
        if cut {
            tracing::warn!(integration = "webex", group_key = %ctx.flush.group_key, max_bytes = MAX_MESSAGE_BYTES, "truncated message");
        }
        let url = c
            .api_url
            .as_ref()
            .map(|u| u.as_str().to_string())
            .ok_or_else(|| NotifyError::permanent("webex api_url is not set"))?;
        let body = encode_json(&Message { markdown, room_id })?;
        let resp = post_json(&self.http, &url, body, std::time::Duration::ZERO, &[]).await?;
        check_response(resp, ctx.now(), &[]).await
    }
}

impl Notifier for Webex {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::integrations::post::testing::receiver;
    use crate::notify::integrations::testserver::{Reply, TestServer};
    use crate::notify::stages::testutil::*;

    fn webex(server: &TestServer, message: &str) -> Webex {
        let r = receiver(
            &format!("  webex_api_url: '{}'", server.url("/v1/messages")),
            &format!(
                "    webex_configs:\n      - room_id: 'room-{{{{ .CommonLabels.alertname }}}}'\n        message: '{message}'\n        http_config:\n          authorization: {{credentials: bot-token}}"
            ),
        );
        Webex::new(
            &r.webex_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn posts_markdown_to_the_room_with_the_bearer_token() {
        let server = TestServer::start().await;
        let n = webex(&server, "**{{ .Status }}** {{ .CommonLabels.alertname }}");
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/v1/messages");
        assert_eq!(req.header("authorization"), "Bearer bot-token");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(
            req.json(),
            serde_json::json!({"markdown": "**firing** Down", "roomId": "room-Down"})
        );
    }

    #[tokio::test]
    async fn retries_server_errors_only() {
        let server = TestServer::start().await;
        let n = webex(&server, "m");
        server.script([Reply::new(503, "later"), Reply::new(400, "bad roomId")]);
        assert!(
            n.notify(&ctx_at(0), &[alert("Down", None)])
                .await
                .unwrap_err()
                .retry
        );
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "unexpected status code 400: bad roomId");
        assert!(!e.message.contains("bot-token"));
    }

    #[tokio::test]
    async fn long_messages_are_cut_to_7439_bytes() {
        let server = TestServer::start().await;
        let n = webex(&server, "m");
        let mut config = n.config.clone();
        config.message = "ü".repeat(5000);
        let n = Webex::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let v = server.single().json();
        let md = v["markdown"].as_str().unwrap();
        assert!(md.len() <= MAX_MESSAGE_BYTES && md.len() > MAX_MESSAGE_BYTES - 4);
        assert!(md.ends_with('…'));
    }
}
