//! The Rocket.Chat integration: `POST <api_url>/api/v1/chat.postMessage` with the
//! `X-Auth-Token` and `X-User-Id` headers of a personal access token.
//!
//! As upstream Alertmanager 0.34: every text is a template; the title is cut to 1024
//! characters; a non-2xx answer fails like any HTTP integration (5xx retried); a
//! 2xx answer fails unless it is JSON with `"success": true` (an answer that is not
//! JSON is retried, `"success": false` is not). Unlike upstream, which reads the
//! token files once at start, `token_file` and `token_id_file` are read at each send.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::http::{HttpClient, HttpConfigError, check_response, read_secret};
use super::post::{context, encode_json, post_json};
use super::truncate;
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::rocketchat::RocketChatConfig;
use crate::config::secret::Secret;
use crate::notify::stages::{FailureReason, NotifyContext};

/// Rocket.Chat's limit for an attachment title, in characters.
pub const MAX_TITLE_RUNES: usize = 1024;

#[derive(Debug, Serialize)]
struct PostMessage {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    avatar: String,
    attachments: Vec<Attachment>,
}

#[derive(Debug, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
}

#[derive(Debug, Serialize)]
struct Field {
    short: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
}

/// A button (the only action type upstream sends).
#[derive(Debug, Serialize)]
struct Action {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    is_webview: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    msg: String,
    msg_in_chat_window: bool,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    error: String,
}

/// Sends Rocket.Chat notifications for one `rocketchat_configs` entry.
pub struct RocketChat {
    config: RocketChatConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

/// `<api_url>/api/v1/chat.postMessage` (Go's `URL.JoinPath`: one slash between).
fn post_url(api_url: &str) -> Result<String, NotifyError> {
    let mut url = url::Url::parse(api_url)
        .map_err(|e| NotifyError::permanent(format!("rocketchat api_url: {e}")))?;
    let path = format!(
        "{}/api/v1/chat.postMessage",
        url.path().trim_end_matches('/')
    );
    url.set_path(&path);
    Ok(url.to_string())
}

fn secret(inline: Option<&Secret>, file: &str, field: &str) -> Result<String, NotifyError> {
    read_secret(inline.map(Secret::expose).unwrap_or_default(), file, field)
}

impl RocketChat {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &RocketChatConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(RocketChat {
            config: config.clone(),
            http: HttpClient::new(&config.http_config.clone().unwrap_or_default())?,
            env: env.clone(),
        })
    }

    fn build(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
    ) -> Result<PostMessage, NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let (title, cut) = truncate::in_runes(&r.text("title", &c.title), MAX_TITLE_RUNES);
        if cut {
            tracing::warn!(integration = "rocketchat", group_key = %ctx.flush.group_key, max_runes = MAX_TITLE_RUNES, "truncated title");
        }
        let mut att = Attachment {
            title,
            title_link: r.text("title_link", &c.title_link),
            text: r.text("text", &c.text),
            image_url: r.text("image_url", &c.image_url),
            thumb_url: r.text("thumb_url", &c.thumb_url),
            color: r.text("color", &c.color),
            fields: Vec::new(),
            actions: Vec::new(),
        };
        for (i, f) in c.fields.iter().enumerate() {
            att.fields.push(Field {
                title: r.text(&format!("fields[{i}].title"), &f.title),
                value: r.text(&format!("fields[{i}].value"), &f.value),
                short: f.short.unwrap_or(c.short_fields),
            });
        }
        for (i, a) in c.actions.iter().enumerate() {
            att.actions.push(Action {
                kind: "button",
                text: r.text(&format!("actions[{i}].text"), &a.text),
                url: r.text(&format!("actions[{i}].url"), &a.url),
                is_webview: false,
                msg: r.text(&format!("actions[{i}].msg"), &a.msg),
                msg_in_chat_window: false,
            });
        }
        let msg = PostMessage {
            channel: r.text("channel", &c.channel),
            emoji: r.text("emoji", &c.emoji),
            avatar: r.text("icon_url", &c.icon_url),
            attachments: vec![att],
        };
        r.finish()?;
        Ok(msg)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let c = &self.config;
        let msg = self.build(ctx, alerts)?;
        let token = secret(c.token.as_ref(), &c.token_file, "token")?;
        let token_id = secret(c.token_id.as_ref(), &c.token_id_file, "token_id")?;
        let api_url = c
            .api_url
            .as_ref()
            .ok_or_else(|| NotifyError::permanent("rocketchat api_url is not set"))?;
        let url = post_url(api_url.as_str())?;
        let channel = format!("channel {:?}", msg.channel);
        let resp = post_json(
            &self.http,
            &url,
            encode_json(&msg)?,
            std::time::Duration::ZERO,
            &[("X-Auth-Token", &token), ("X-User-Id", &token_id)],
        )
        .await?;
        if !resp.status().is_success() {
            let e = check_response(resp, ctx.now(), &[])
                .await
                .err()
                .unwrap_or_else(|| NotifyError::permanent("unexpected answer"));
            return Err(context(e, &channel));
        }
        let client_error = |retry: bool, message: String| NotifyError {
            retry,
            reason: FailureReason::ClientError,
            retry_after: None,
            message: format!("{channel}: {message}"),
        };
        let body = resp.bytes().await.map_err(|e| {
            client_error(
                true,
                format!("could not read response body: {}", super::http::redact(&e)),
            )
        })?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            client_error(
                true,
                format!(
                    "could not unmarshal JSON response {:?}: {e}",
                    String::from_utf8_lossy(&body)
                ),
            )
        })?;
        if !answer.success {
            return Err(client_error(
                false,
                format!("error response from Rocketchat: {}", answer.error),
            ));
        }
        Ok(())
    }
}

impl Notifier for RocketChat {
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
        channel: '#ops'
        title: '{{ .Status }} {{ .CommonLabels.alertname }}'
        title_link: 'http://am'
        text: 'text {{ len .Alerts }}'
        emoji: ':bell:'
        icon_url: 'http://img/i.png'
        short_fields: true
        fields: [{title: 'n', value: '{{ .Receiver }}'}, {title: 'l', value: 'v', short: false}]
        actions: [{text: 'Open {{ .CommonLabels.alertname }}', url: 'http://x/{{ .CommonLabels.alertname }}'}]"#;

    fn rocketchat(server: &TestServer, global: &str, creds: &str) -> RocketChat {
        let r = receiver(
            &format!("  rocketchat_api_url: '{}'\n{global}", server.url("/chat/")),
            &format!("    rocketchat_configs:\n      - {creds}{FIELDS}"),
        );
        RocketChat::new(
            &r.rocketchat_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    fn ok() -> Reply {
        Reply::new(200, r#"{"success":true,"message":{}}"#)
            .header("Content-Type", "application/json")
    }

    #[tokio::test]
    async fn posts_message_with_token_headers() {
        let server = TestServer::start().await;
        server.always(ok());
        let n = rocketchat(&server, "", "token: tok\n        token_id: uid");
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/chat/api/v1/chat.postMessage");
        assert_eq!(req.header("x-auth-token"), "tok");
        assert_eq!(req.header("x-user-id"), "uid");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(
            req.json(),
            serde_json::json!({
                "channel": "#ops",
                "emoji": ":bell:",
                "avatar": "http://img/i.png",
                "attachments": [{
                    "title": "firing Down",
                    "title_link": "http://am",
                    "text": "text 1",
                    "color": "red",
                    "fields": [
                        {"short": true, "title": "n", "value": "team"},
                        {"short": false, "title": "l", "value": "v"}
                    ],
                    "actions": [{"type": "button", "text": "Open Down", "url": "http://x/Down", "is_webview": false, "msg_in_chat_window": false}]
                }]
            })
        );
    }

    #[tokio::test]
    async fn token_files_from_global_are_read_at_send_time() {
        let server = TestServer::start().await;
        server.always(ok());
        let dir = tempfile::tempdir().unwrap();
        let (tf, idf) = (dir.path().join("t"), dir.path().join("id"));
        std::fs::write(&tf, "t1\n").unwrap();
        std::fs::write(&idf, "u1").unwrap();
        let n = rocketchat(
            &server,
            &format!(
                "  rocketchat_token_file: '{}'\n  rocketchat_token_id_file: '{}'",
                tf.display(),
                idf.display()
            ),
            "send_resolved: true",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        std::fs::write(&tf, "t2").unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(
            (reqs[0].header("x-auth-token"), reqs[0].header("x-user-id")),
            ("t1", "u1")
        );
        assert_eq!(reqs[1].header("x-auth-token"), "t2");
    }

    #[tokio::test]
    async fn answers_are_classified_like_upstream() {
        let server = TestServer::start().await;
        let n = rocketchat(&server, "", "token: secret-tok\n        token_id: uid");
        let alerts = [alert("Down", None)];
        server.script([Reply::new(500, "oops")]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(
            e.message,
            "channel \"#ops\": unexpected status code 500: oops"
        );
        server.script([Reply::new(401, r#"{"status":"error"}"#)]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.reason, FailureReason::AuthError);
        server.script([Reply::new(
            200,
            r#"{"success":false,"error":"room not found"}"#,
        )]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert!(
            e.message
                .ends_with("error response from Rocketchat: room not found")
        );
        server.script([Reply::new(200, "<html>")]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert!(!e.message.contains("secret-tok"));
    }

    #[tokio::test]
    async fn long_titles_are_cut_to_1024_characters() {
        let server = TestServer::start().await;
        server.always(ok());
        let n = rocketchat(&server, "", "token: t\n        token_id: u");
        let mut config = n.config.clone();
        config.title = "T".repeat(2000);
        let n = RocketChat::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let v = server.single().json();
        let title = v["attachments"][0]["title"].as_str().unwrap();
        assert_eq!(title.chars().count(), MAX_TITLE_RUNES);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn post_url_joins_like_go() {
        assert_eq!(
            post_url("https://open.rocket.chat").unwrap(),
            "https://open.rocket.chat/api/v1/chat.postMessage"
        );
        assert_eq!(
            post_url("https://x.example/base/").unwrap(),
            "https://x.example/base/api/v1/chat.postMessage"
        );
    }
}
