//! The Discord integration: one embed posted to a channel webhook.
//!
//! As upstream Alertmanager 0.34: `title`, `message` and `content` are templates, cut
//! to Discord's limits (256, 4096 and 2000 characters); `username` and `avatar_url`
//! are sent as written (an `avatar_url` Go's URL parser rejects is left out with a
//! warning); the embed is red while an alert fires, else green.

use std::sync::Arc;

use serde::Serialize;

use super::http::{HttpClient, HttpConfigError, check_response};
use super::post::{any_firing, encode_json, post_json, secret_url};
use super::truncate;
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::discord::{
    DiscordConfig, MAX_CONTENT_LEN_RUNES, MAX_DESCRIPTION_LEN_RUNES, MAX_TITLE_LEN_RUNES,
};
use crate::notify::stages::NotifyContext;

/// Embed color while an alert fires.
pub const COLOR_FIRING: u32 = 0x992D22;
/// Embed color when all alerts are resolved.
pub const COLOR_RESOLVED: u32 = 0x2ECC71;

#[derive(Debug, Serialize)]
struct Message {
    content: String,
    embeds: Vec<Embed>,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    avatar_url: String,
}

#[derive(Debug, Serialize)]
struct Embed {
    title: String,
    description: String,
    color: u32,
}

/// Sends Discord notifications for one `discord_configs` entry.
pub struct Discord {
    config: DiscordConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

fn cut(ctx: &NotifyContext, field: &str, text: String, max: usize) -> String {
    let (text, cut) = truncate::in_runes(&text, max);
    if cut {
        tracing::warn!(integration = "discord", group_key = %ctx.flush.group_key, field, max_runes = max, "truncated {field}");
    }
    text
}

/// Whether Go's `url.Parse` accepts `s`: no control characters, well-formed `%`
/// escapes, and a scheme before any leading `:`.
fn go_url_parses(s: &str) -> bool {
    if s.starts_with(':') || s.chars().any(|c| c.is_ascii_control()) {
        return false;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok =
                b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

impl Discord {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &DiscordConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(Discord {
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
        let description = r.text("message", &c.message);
        let content = r.text("content", &c.content);
        r.finish()?;
        let msg = Message {
            content: cut(ctx, "content", content, MAX_CONTENT_LEN_RUNES),
            embeds: vec![Embed {
                title: cut(ctx, "title", title, MAX_TITLE_LEN_RUNES),
                description: cut(ctx, "message", description, MAX_DESCRIPTION_LEN_RUNES),
                color: if any_firing(ctx, alerts) {
                    COLOR_FIRING
                } else {
                    COLOR_RESOLVED
                },
            }],
            username: c.username.clone(),
            avatar_url: if go_url_parses(&c.avatar_url) {
                c.avatar_url.clone()
            } else {
                tracing::warn!(integration = "discord", group_key = %ctx.flush.group_key, "bad avatar_url: left out");
                String::new()
            },
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

impl Notifier for Discord {
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

    fn discord(entry: &str) -> Discord {
        let r = receiver(
            "",
            &format!("    discord_configs:\n      - {}", entry.trim()),
        );
        Discord::new(
            &r.discord_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    fn entry(server: &TestServer) -> String {
        format!(
            "webhook_url: '{}'\n        title: '[{{{{ .Status }}}}] {{{{ .CommonLabels.alertname }}}}'\n        message: 'msg {{{{ len .Alerts }}}}'\n        content: '<@here> {{{{ .Receiver }}}}'\n        username: am\n        avatar_url: 'http://img/a.png'",
            server.url("/api/webhooks/1/tok")
        )
    }

    #[tokio::test]
    async fn posts_an_embed_to_the_webhook() {
        let server = TestServer::start().await;
        let n = discord(&entry(&server));
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/api/webhooks/1/tok");
        assert_eq!(req.header("content-type"), "application/json");
        let v = req.json();
        assert_eq!(
            v,
            serde_json::json!({
                "content": "<@here> team",
                "embeds": [{"title": "[firing] Down", "description": "msg 1", "color": 0x992D22}],
                "username": "am",
                "avatar_url": "http://img/a.png"
            })
        );
        n.notify(&ctx_at(0), &[alert("Down", Some(-1))])
            .await
            .unwrap();
        assert_eq!(server.requests()[1].json()["embeds"][0]["color"], 0x2ECC71);
        // An avatar URL Go cannot parse is left out, as upstream does.
        let mut config = n.config.clone();
        config.avatar_url = "http://img/%zz.png".into();
        let n = Discord::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let v = server.requests()[2].json();
        assert!(v.get("avatar_url").is_none(), "{v}");
        assert_eq!(v["username"], "am");
    }

    #[tokio::test]
    async fn webhook_url_file_is_read_at_send_time() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("url");
        std::fs::write(&file, format!("{}\n", server.url("/one"))).unwrap();
        let n = discord(&format!("webhook_url_file: '{}'", file.display()));
        let mut config = n.config.clone();
        config.title = "t".into();
        config.message = "m".into();
        let n = Discord::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        std::fs::write(&file, server.url("/two")).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(
            (reqs[0].uri.as_str(), reqs[1].uri.as_str()),
            ("/one", "/two")
        );
        std::fs::remove_file(&file).unwrap();
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(
            !e.retry && e.message.contains("webhook_url_file"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn retries_server_errors_only() {
        let server = TestServer::start().await;
        let n = discord(&entry(&server));
        let alerts = [alert("Down", None)];
        server.script([Reply::new(502, "bad gateway")]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.message, "unexpected status code 502: bad gateway");
        server.script([Reply::new(400, r#"{"code": 50006}"#)]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert!(!e.message.contains("/api/webhooks"));
        server.script([Reply::new(429, "{}").header("Retry-After", "2")]);
        assert!(n.notify(&ctx_at(0), &alerts).await.unwrap_err().retry);
    }

    #[tokio::test]
    async fn texts_are_cut_to_discords_limits() {
        let server = TestServer::start().await;
        let n = discord(&entry(&server));
        let mut config = n.config.clone();
        config.title = "t".repeat(300);
        config.message = "m".repeat(5000);
        config.content = "c".repeat(2500);
        let n = Discord::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let v = server.single().json();
        let len = |v: &serde_json::Value| v.as_str().unwrap().chars().count();
        assert_eq!(len(&v["embeds"][0]["title"]), 256);
        assert_eq!(len(&v["embeds"][0]["description"]), 4096);
        assert_eq!(len(&v["content"]), 2000);
        assert!(v["content"].as_str().unwrap().ends_with('…'));
    }
}
