//! The Microsoft Teams integration (incoming webhook, legacy connector card): one
//! `MessageCard` with title, summary and text.
//!
//! As upstream Alertmanager 0.34: the three texts are templates, sent uncut; the
//! card's theme color is red while an alert fires, else green.

use std::sync::Arc;

use serde::Serialize;

use super::http::{HttpClient, HttpConfigError, check_response};
use super::post::{any_firing, encode_json, post_json, secret_url};
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::msteams::MsTeamsConfig;
use crate::notify::stages::NotifyContext;

#[derive(Debug, Serialize)]
struct Card {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    summary: String,
    text: String,
    #[serde(rename = "themeColor")]
    theme_color: &'static str,
}

/// Sends Teams notifications for one `msteams_configs` entry.
pub struct MsTeams {
    config: MsTeamsConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl MsTeams {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &MsTeamsConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(MsTeams {
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
        let card = Card {
            context: "http://schema.org/extensions",
            kind: "MessageCard",
            title: r.text("title", &c.title),
            text: r.text("text", &c.text),
            summary: r.text("summary", &c.summary),
            theme_color: if any_firing(ctx, alerts) {
                "8C1A1A"
            } else {
                "2DC72D"
            },
        };
        r.finish()?;
        let url = secret_url(c.webhook_url.as_ref(), &c.webhook_url_file, "webhook_url")?;
        let resp = post_json(
            &self.http,
            &url,
            encode_json(&card)?,
            std::time::Duration::ZERO,
            &[],
        )
        .await?;
        check_response(resp, ctx.now(), &[]).await
    }
}

impl Notifier for MsTeams {
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

    fn teams(server: &TestServer) -> MsTeams {
        let r = receiver(
            "",
            &format!(
                "    msteams_configs:\n      - webhook_url: '{}'\n        title: '{{{{ .Status }}}} {{{{ .CommonLabels.alertname }}}}'\n        summary: 'sum'\n        text: 'text {{{{ len .Alerts }}}}'",
                server.url("/webhookb2/abc/IncomingWebhook/def")
            ),
        );
        MsTeams::new(
            &r.msteams_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn posts_a_message_card() {
        let server = TestServer::start().await;
        let n = teams(&server);
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/webhookb2/abc/IncomingWebhook/def");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(
            req.json(),
            serde_json::json!({
                "@context": "http://schema.org/extensions",
                "type": "MessageCard",
                "title": "firing Down",
                "summary": "sum",
                "text": "text 1",
                "themeColor": "8C1A1A"
            })
        );
        n.notify(&ctx_at(0), &[alert("Down", Some(-1))])
            .await
            .unwrap();
        assert_eq!(server.requests()[1].json()["themeColor"], "2DC72D");
    }

    #[tokio::test]
    async fn retries_server_errors_and_sends_long_texts_whole() {
        let server = TestServer::start().await;
        let n = teams(&server);
        let alerts = [alert("Down", None)];
        server.script([Reply::new(503, "busy"), Reply::new(400, "Bad payload")]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "unexpected status code 400: Bad payload");
        // Upstream does not cut Teams texts.
        let mut config = n.config.clone();
        config.text = "x".repeat(40_000);
        let n = MsTeams::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &alerts).await.unwrap();
        let last = server.requests().pop().unwrap().json();
        assert_eq!(last["text"].as_str().unwrap().len(), 40_000);
    }
}
