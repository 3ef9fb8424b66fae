//! The Mattermost integration: a post through an incoming webhook, with Slack-style
//! attachments, optional `props.card` and message priority.
//!
//! As upstream Alertmanager 0.34: every text is a template; with `attachments`
//! configured, `text` is the post's text (cut to 16383 characters) and each attachment
//! is sent as configured; without, one attachment carries `text` and the other
//! top-level fields. The priority is lower-cased; an unknown one becomes `standard`,
//! `requested_ack` needs a non-standard and `persistent_notifications` an urgent
//! priority (otherwise they are dropped with a warning).

use std::sync::Arc;

use serde::Serialize;

use super::http::{HttpClient, HttpConfigError, check_response};
use super::post::{context, encode_json, post_json, secret_url};
use super::truncate;
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::mattermost::{MattermostConfig, MattermostField};
use crate::notify::stages::NotifyContext;

/// Mattermost's limit for a post's text, in characters.
pub const MAX_TEXT_RUNES: usize = 16383;

#[derive(Debug, Default, Serialize)]
struct Post {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    props: Option<Props>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<Priority>,
}

#[derive(Debug, Serialize)]
struct Props {
    #[serde(skip_serializing_if = "String::is_empty")]
    card: String,
}

#[derive(Debug, Serialize)]
struct Priority {
    #[serde(skip_serializing_if = "String::is_empty")]
    priority: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    requested_ack: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    persistent_notifications: bool,
}

#[derive(Debug, Default, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    fallback: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    author_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    author_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    author_icon: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    footer_icon: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
}

#[derive(Debug, Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    short: Option<bool>,
}

fn fields(r: &mut Renderer<'_>, at: &str, fields: &[MattermostField]) -> Vec<Field> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            title: r.text(&format!("{at}fields[{i}].title"), &f.title),
            value: r.text(&format!("{at}fields[{i}].value"), &f.value),
            short: f.short,
        })
        .collect()
}

/// Sends Mattermost notifications for one `mattermost_configs` entry.
pub struct Mattermost {
    config: MattermostConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl Mattermost {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &MattermostConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(Mattermost {
            config: config.clone(),
            http: HttpClient::new(&config.http_config.clone().unwrap_or_default())?,
            env: env.clone(),
        })
    }

    fn build(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<Post, NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let text = r.text("text", &c.text);
        let mut post = Post {
            channel: r.text("channel", &c.channel),
            username: r.text("username", &c.username),
            icon_url: r.text("icon_url", &c.icon_url),
            icon_emoji: r.text("icon_emoji", &c.icon_emoji),
            kind: r.text("type", &c.post_type),
            ..Post::default()
        };
        if let Some(p) = c.priority.as_ref().filter(|p| !p.priority.is_empty()) {
            post.priority = Some(Priority {
                priority: r.text("priority.priority", &p.priority),
                requested_ack: p.requested_ack,
                persistent_notifications: p.persistent_notifications,
            });
        }
        if let Some(p) = c.props.as_ref().filter(|p| !p.card.is_empty()) {
            post.props = Some(Props {
                card: r.text("props.card", &p.card),
            });
        }
        if c.attachments.is_empty() {
            let fields = fields(&mut r, "", &c.fields);
            post.attachments.push(Attachment {
                text,
                fallback: r.text("fallback", &c.fallback),
                color: r.text("color", &c.color),
                pretext: r.text("pretext", &c.pretext),
                author_name: r.text("author_name", &c.author_name),
                author_link: r.text("author_link", &c.author_link),
                author_icon: r.text("author_icon", &c.author_icon),
                title: r.text("title", &c.title),
                title_link: r.text("title_link", &c.title_link),
                thumb_url: r.text("thumb_url", &c.thumb_url),
                footer: r.text("footer", &c.footer),
                footer_icon: r.text("footer_icon", &c.footer_icon),
                image_url: r.text("image_url", &c.image_url),
                fields,
            });
        } else {
            for (i, a) in c.attachments.iter().enumerate() {
                let at = format!("attachments[{i}].");
                let mut t = |name: &str, text: &str| r.text(&format!("{at}{name}"), text);
                let mut att = Attachment {
                    fallback: t("fallback", &a.fallback),
                    color: t("color", &a.color),
                    pretext: t("pretext", &a.pretext),
                    text: t("text", &a.text),
                    author_name: t("author_name", &a.author_name),
                    author_link: t("author_link", &a.author_link),
                    author_icon: t("author_icon", &a.author_icon),
                    title: t("title", &a.title),
                    title_link: t("title_link", &a.title_link),
                    thumb_url: t("thumb_url", &a.thumb_url),
                    footer: t("footer", &a.footer),
                    footer_icon: t("footer_icon", &a.footer_icon),
                    image_url: t("image_url", &a.image_url),
                    fields: Vec::new(),
                };
                att.fields = fields(&mut r, &at, &a.fields);
                post.attachments.push(att);
            }
            post.text = text;
        }
        r.finish()?;
        self.sanitize(ctx, &mut post);
        Ok(post)
    }

    /// Upstream's limits and priority rules.
    fn sanitize(&self, ctx: &NotifyContext, post: &mut Post) {
        let key = &ctx.flush.group_key;
        let (text, cut) = truncate::in_runes(&post.text, MAX_TEXT_RUNES);
        if cut {
            tracing::warn!(integration = "mattermost", group_key = %key, max_runes = MAX_TEXT_RUNES, "truncated text");
            post.text = text;
        }
        let Some(p) = post.priority.as_mut() else {
            return;
        };
        let lower = p.priority.to_lowercase();
        p.priority = match lower.as_str() {
            "urgent" | "important" | "standard" => lower,
            _ => {
                tracing::warn!(integration = "mattermost", group_key = %key, priority = %p.priority, "unknown priority: using standard");
                "standard".to_string()
            }
        };
        if p.requested_ack && p.priority == "standard" {
            tracing::warn!(integration = "mattermost", group_key = %key, "requested_ack needs priority important or urgent: dropped");
            p.requested_ack = false;
        }
        if p.persistent_notifications && p.priority != "urgent" {
            tracing::warn!(integration = "mattermost", group_key = %key, "persistent_notifications needs priority urgent: dropped");
            p.persistent_notifications = false;
        }
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let c = &self.config;
        let url = secret_url(c.webhook_url.as_ref(), &c.webhook_url_file, "webhook_url")?;
        let post = self.build(ctx, alerts)?;
        let resp = post_json(
            &self.http,
            &url,
            encode_json(&post)?,
            std::time::Duration::ZERO,
            &[],
        )
        .await?;
        check_response(resp, ctx.now(), &[])
            .await
            .map_err(|e| context(e, &format!("channel {:?}", post.channel)))
    }
}

impl Notifier for Mattermost {
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

    const FIELDS: &str = r#"
        channel: 'ops-{{ .CommonLabels.alertname | toLower }}'
        username: 'am'
        text: 'text {{ .Status }}'
        fallback: 'fb'
        color: '{{ if eq .Status "firing" }}#FF0000{{ else }}#00FF00{{ end }}'
        title: '{{ .CommonLabels.alertname }}'
        title_link: 'http://am'
        icon_emoji: ':bell:'
        fields: [{title: 'n', value: '{{ len .Alerts }}', short: true}]"#;

    fn mattermost(server: &TestServer, extra: &str) -> Mattermost {
        let r = receiver(
            "",
            &format!(
                "    mattermost_configs:\n      - webhook_url: '{}'{FIELDS}{extra}",
                server.url("/hooks/xyz")
            ),
        );
        Mattermost::new(
            &r.mattermost_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn posts_one_attachment_with_the_top_level_fields() {
        let server = TestServer::start().await;
        let n = mattermost(&server, "");
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/hooks/xyz");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(
            req.json(),
            serde_json::json!({
                "channel": "ops-down",
                "username": "am",
                "icon_emoji": ":bell:",
                "attachments": [{
                    "fallback": "fb",
                    "color": "#FF0000",
                    "text": "text firing",
                    "title": "Down",
                    "title_link": "http://am",
                    "fields": [{"title": "n", "value": "1", "short": true}]
                }]
            })
        );
    }

    #[tokio::test]
    async fn attachments_priority_and_props() {
        let server = TestServer::start().await;
        let n = mattermost(
            &server,
            "\n        attachments: [{title: 'a {{ .Status }}', text: 'at', fields: [{title: t, value: v}]}]\n        props: {card: 'card {{ .Receiver }}'}\n        type: custom_alert\n        priority: {priority: Important, requested_ack: true, persistent_notifications: true}",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let v = server.single().json();
        assert_eq!(v["text"], "text firing");
        assert_eq!(v["type"], "custom_alert");
        assert_eq!(v["props"], serde_json::json!({"card": "card team"}));
        assert_eq!(
            v["priority"],
            serde_json::json!({"priority": "important", "requested_ack": true})
        );
        assert_eq!(
            v["attachments"],
            serde_json::json!([{"title": "a firing", "text": "at", "fields": [{"title": "t", "value": "v"}]}])
        );
    }

    #[tokio::test]
    async fn unknown_priority_becomes_standard_without_ack() {
        let server = TestServer::start().await;
        let n = mattermost(
            &server,
            "\n        priority: {priority: whenever, requested_ack: true}",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        assert_eq!(
            server.single().json()["priority"],
            serde_json::json!({"priority": "standard"})
        );
    }

    #[tokio::test]
    async fn retries_server_errors_only() {
        let server = TestServer::start().await;
        let n = mattermost(&server, "");
        server.script([Reply::new(500, "x"), Reply::new(400, "Unable to parse")]);
        let alerts = [alert("Down", None)];
        assert!(n.notify(&ctx_at(0), &alerts).await.unwrap_err().retry);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(
            e.message,
            "channel \"ops-down\": unexpected status code 400: Unable to parse"
        );
    }

    #[tokio::test]
    async fn post_text_is_cut_to_16383_characters() {
        let server = TestServer::start().await;
        let n = mattermost(&server, "\n        attachments: [{text: 'a'}]");
        let mut config = n.config.clone();
        config.text = "y".repeat(20_000);
        let n = Mattermost::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let v = server.single().json();
        let text = v["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), MAX_TEXT_RUNES);
        assert!(text.ends_with('…'));
    }
}
