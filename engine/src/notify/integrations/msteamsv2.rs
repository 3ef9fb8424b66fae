//! The Microsoft Teams integration through Workflows (Power Automate): one message
//! with an Adaptive Card holding a heading and a text block.
//!
//! As upstream Alertmanager 0.34: title and text are templates, sent uncut; the
//! heading's color is `Attention` while an alert fires, else `Good`.

use std::sync::Arc;

use serde::Serialize;

use super::http::{HttpClient, HttpConfigError, check_response};
use super::post::{any_firing, encode_json, post_json, secret_url};
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::msteamsv2::MsTeamsV2Config;
use crate::notify::stages::NotifyContext;

#[derive(Debug, Serialize)]
struct Message {
    #[serde(rename = "type")]
    kind: &'static str,
    attachments: Vec<Attachment>,
}

#[derive(Debug, Serialize)]
struct Attachment {
    #[serde(rename = "contentType")]
    content_type: &'static str,
    #[serde(rename = "contentUrl")]
    content_url: Option<String>,
    content: Card,
}

#[derive(Debug, Serialize)]
struct Card {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    version: &'static str,
    body: Vec<TextBlock>,
    msteams: Width,
}

#[derive(Debug, Serialize)]
struct TextBlock {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    weight: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    size: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    wrap: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    style: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    color: &'static str,
}

#[derive(Debug, Serialize)]
struct Width {
    width: &'static str,
}

/// Sends Teams Workflows notifications for one `msteamsv2_configs` entry.
pub struct MsTeamsV2 {
    config: MsTeamsV2Config,
    http: HttpClient,
    env: IntegrationEnv,
}

impl MsTeamsV2 {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &MsTeamsV2Config, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(MsTeamsV2 {
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
        let title = r.text("title", &c.title);
        let text = r.text("text", &c.text);
        r.finish()?;
        let color = if any_firing(ctx, alerts) {
            "Attention"
        } else {
            "Good"
        };
        let msg = Message {
            kind: "message",
            attachments: vec![Attachment {
                content_type: "application/vnd.microsoft.card.adaptive",
                content_url: None,
                content: Card {
                    schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                    kind: "AdaptiveCard",
                    version: "1.2",
                    body: vec![
                        TextBlock {
                            kind: "TextBlock",
                            text: title,
                            weight: "Bolder",
                            size: "Medium",
                            wrap: true,
                            style: "heading",
                            color,
                        },
                        TextBlock {
                            kind: "TextBlock",
                            text,
                            weight: "",
                            size: "",
                            wrap: true,
                            style: "",
                            color: "",
                        },
                    ],
                    msteams: Width { width: "full" },
                },
            }],
        };
        let url = secret_url(c.webhook_url.as_ref(), &c.webhook_url_file, "webhook_url")?;
        let resp = post_json(
            &self.http,
            &url,
            encode_json(&msg)?,
            std::time::Duration::ZERO,
            &[],
        )
        .await?;
        check_response(resp, ctx.now(), &[]).await
    }
}

impl Notifier for MsTeamsV2 {
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

    fn teams(server: &TestServer) -> MsTeamsV2 {
        let r = receiver(
            "",
            &format!(
                "    msteamsv2_configs:\n      - webhook_url: '{}'\n        title: '{{{{ .Status }}}} {{{{ .CommonLabels.alertname }}}}'\n        text: 'text {{{{ len .Alerts }}}}'",
                server.url("/workflows/abc/triggers/manual/paths/invoke?api-version=1")
            ),
        );
        MsTeamsV2::new(
            &r.msteamsv2_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn posts_an_adaptive_card() {
        let server = TestServer::start().await;
        let n = teams(&server);
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.uri,
            "/workflows/abc/triggers/manual/paths/invoke?api-version=1"
        );
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(
            req.json(),
            serde_json::json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.2",
                        "body": [
                            {"type": "TextBlock", "text": "firing Down", "weight": "Bolder", "size": "Medium", "wrap": true, "style": "heading", "color": "Attention"},
                            {"type": "TextBlock", "text": "text 1", "wrap": true}
                        ],
                        "msteams": {"width": "full"}
                    }
                }]
            })
        );
        n.notify(&ctx_at(0), &[alert("Down", Some(-1))])
            .await
            .unwrap();
        assert_eq!(
            server.requests()[1].json()["attachments"][0]["content"]["body"][0]["color"],
            "Good"
        );
    }

    #[tokio::test]
    async fn retries_server_errors_and_sends_long_texts_whole() {
        let server = TestServer::start().await;
        let n = teams(&server);
        let alerts = [alert("Down", None)];
        server.script([Reply::new(500, "oops"), Reply::new(401, "denied")]);
        assert!(n.notify(&ctx_at(0), &alerts).await.unwrap_err().retry);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "unexpected status code 401: denied");
        assert!(!e.message.contains("workflows"));
        let mut config = n.config.clone();
        config.text = "x".repeat(40_000);
        let n = MsTeamsV2::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &alerts).await.unwrap();
        let last = server.requests().pop().unwrap().json();
        let text = &last["attachments"][0]["content"]["body"][1]["text"];
        assert_eq!(text.as_str().unwrap().len(), 40_000);
    }
}
