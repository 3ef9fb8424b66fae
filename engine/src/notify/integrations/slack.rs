//! The Slack integration: one message with one attachment, posted to an incoming
//! webhook or, with an app (bot) token, to `chat.postMessage` with
//! `Authorization: Bearer <token>`.
//!
//! As upstream Alertmanager 0.34: every text field is a template; the title is cut to
//! 1024 characters; a non-2xx answer fails like any HTTP integration (5xx retried);
//! a 2xx answer still fails when it is JSON with `"ok": false` (not retried) or, for
//! a webhook's plain-text answer, when it is not exactly `ok`. With
//! `update_message`, the `ts` and channel Slack returns are kept per alert group, and
//! later notifications of the group edit that message through `chat.update`.
//! Upstream keeps them in the notification log; here they live in process memory, by
//! config entry (its settings) and group: a config reload that keeps the entry keeps
//! editing the same messages, a restart posts anew.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::http::{HttpClient, HttpConfigError, check_response, read_secret};
use super::post::{context, encode_json, post_json};
use super::truncate;
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::slack::SlackConfig;
use crate::notify::stages::{FailureReason, NotifyContext};

/// Slack's limit for an attachment title, in characters.
pub const MAX_TITLE_RUNES: usize = 1024;

/// The message (Slack's `chat.postMessage` arguments / webhook payload).
#[derive(Debug, Serialize)]
struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ts: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    link_names: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    attachments: Vec<Attachment>,
}

/// A legacy message attachment.
#[derive(Debug, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    short: bool,
}

#[derive(Debug, Serialize)]
struct Action {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<Confirm>,
}

#[derive(Debug, Serialize)]
struct Confirm {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dismiss_text: String,
}

/// Slack's Web API answer.
#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    error: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    ts: String,
}

/// Where the group's message is, for `update_message`.
#[derive(Clone, Debug)]
struct Posted {
    ts: String,
    channel: String,
    expires_at: Timestamp,
}

/// The messages `update_message` entries posted, by entry identity and group key.
type PostedMap = HashMap<(u64, Arc<str>), Posted>;

static POSTED: LazyLock<Mutex<PostedMap>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn posted() -> std::sync::MutexGuard<'static, PostedMap> {
    POSTED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends Slack notifications for one `slack_configs` entry.
pub struct Slack {
    config: SlackConfig,
    http: HttpClient,
    env: IntegrationEnv,
    /// Identifies the entry across config reloads: a hash of all its settings.
    identity: u64,
}

impl Slack {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &SlackConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(Slack {
            config: config.clone(),
            http: HttpClient::new(&config.effective_http_config())?,
            env: env.clone(),
            identity: identity(config),
        })
    }

    fn url(&self) -> Result<String, NotifyError> {
        let c = &self.config;
        if c.uses_app_token() {
            return Ok(c.app_url().as_str().to_string());
        }
        let inline = c.api_url.as_ref().map(|u| u.expose()).unwrap_or_default();
        let url = read_secret(inline, &c.api_url_file, "api_url")?;
        if url.is_empty() {
            return Err(NotifyError::permanent("Slack API URL is empty"));
        }
        Ok(url)
    }

    fn build(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<Request, NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let (title, cut) = truncate::in_runes(&r.text("title", &c.title), MAX_TITLE_RUNES);
        if cut {
            tracing::warn!(integration = "slack", group_key = %ctx.flush.group_key, max_runes = MAX_TITLE_RUNES, "truncated title");
        }
        let mrkdwn_in = if c.mrkdwn_in.is_empty() {
            vec!["fallback".into(), "pretext".into(), "text".into()]
        } else {
            c.mrkdwn_in.clone()
        };
        let mut attachment = Attachment {
            title,
            title_link: r.text("title_link", &c.title_link),
            pretext: r.text("pretext", &c.pretext),
            text: r.text("text", &c.text),
            fallback: r.text("fallback", &c.fallback),
            callback_id: r.text("callback_id", &c.callback_id),
            image_url: r.text("image_url", &c.image_url),
            thumb_url: r.text("thumb_url", &c.thumb_url),
            footer: r.text("footer", &c.footer),
            color: r.text("color", &c.color),
            mrkdwn_in,
            fields: Vec::new(),
            actions: Vec::new(),
        };
        for (i, f) in c.fields.iter().enumerate() {
            attachment.fields.push(Field {
                title: r.text(&format!("fields[{i}].title"), &f.title),
                value: r.text(&format!("fields[{i}].value"), &f.value),
                short: f.short.unwrap_or(c.short_fields),
            });
        }
        for (i, a) in c.actions.iter().enumerate() {
            let mut field = |name: &str, text: &str| r.text(&format!("actions[{i}].{name}"), text);
            let mut action = Action {
                kind: field("type", &a.kind),
                text: field("text", &a.text),
                url: field("url", &a.url),
                style: field("style", &a.style),
                name: field("name", &a.name),
                value: field("value", &a.value),
                confirm: None,
            };
            if let Some(cf) = &a.confirm {
                action.confirm = Some(Confirm {
                    title: field("confirm.title", &cf.title),
                    text: field("confirm.text", &cf.text),
                    ok_text: field("confirm.ok_text", &cf.ok_text),
                    dismiss_text: field("confirm.dismiss_text", &cf.dismiss_text),
                });
            }
            attachment.actions.push(action);
        }
        let req = Request {
            channel: r.text("channel", &c.channel),
            ts: String::new(),
            username: r.text("username", &c.username),
            icon_emoji: r.text("icon_emoji", &c.icon_emoji),
            icon_url: r.text("icon_url", &c.icon_url),
            link_names: c.link_names,
            text: r.text("message_text", &c.message_text),
            attachments: vec![attachment],
        };
        r.finish()?;
        Ok(req)
    }

    /// The group's earlier message, when `update_message` is on.
    fn previous(&self, ctx: &NotifyContext) -> Option<Posted> {
        if !self.config.update_message {
            return None;
        }
        let now = ctx.now();
        let mut posted = posted();
        posted.retain(|_, p| p.expires_at > now);
        posted
            .get(&(self.identity, ctx.flush.group_key.clone()))
            .cloned()
    }

    fn remember(&self, ctx: &NotifyContext, answer: &Response) {
        if !self.config.update_message || answer.ts.is_empty() || answer.channel.is_empty() {
            return;
        }
        // Kept as long as upstream keeps the notification log entry holding them.
        let keep = ctx.flush.repeat_interval.saturating_mul(2);
        let expires_at = ctx
            .now()
            .checked_add(jiff::SignedDuration::try_from(keep).unwrap_or(jiff::SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        posted().insert(
            (self.identity, ctx.flush.group_key.clone()),
            Posted {
                ts: answer.ts.clone(),
                channel: answer.channel.clone(),
                expires_at,
            },
        );
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let mut req = self.build(ctx, alerts)?;
        let mut url = self.url()?;
        if let Some(prev) = self.previous(ctx) {
            url = update_url(&url);
            req.ts = prev.ts;
            req.channel = prev.channel;
            tracing::debug!(integration = "slack", group_key = %ctx.flush.group_key, "updating the group's earlier message");
        }
        let channel = format!("channel {:?}", req.channel);
        let body = encode_json(&req)?;
        let resp = post_json(&self.http, &url, body, self.config.timeout(), &[]).await?;
        if !resp.status().is_success() {
            return Err(context(
                check_response(resp, ctx.now(), &[])
                    .await
                    .err()
                    .unwrap_or_else(|| NotifyError::permanent("unexpected answer")),
                &channel,
            ));
        }
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = resp.bytes().await.map_err(|e| NotifyError {
            retry: true,
            reason: FailureReason::ClientError,
            retry_after: None,
            message: format!(
                "{channel}: could not read response body: {}",
                super::http::redact(&e)
            ),
        })?;
        let client_error = |retry: bool, message: String| NotifyError {
            retry,
            reason: FailureReason::ClientError,
            retry_after: None,
            message: format!("{channel}: {message}"),
        };
        if !is_json {
            // An incoming webhook answers `ok` in plain text.
            if body.as_ref() != b"ok" {
                return Err(client_error(
                    false,
                    format!(
                        "received an error response from Slack: {}",
                        String::from_utf8_lossy(&body)
                    ),
                ));
            }
            return Ok(());
        }
        let answer: Response = serde_json::from_slice(&body).map_err(|e| {
            client_error(
                true,
                format!(
                    "could not unmarshal JSON response {:?}: {e}",
                    String::from_utf8_lossy(&body)
                ),
            )
        })?;
        if !answer.ok {
            return Err(client_error(
                false,
                format!("error response from Slack: {}", answer.error),
            ));
        }
        self.remember(ctx, &answer);
        Ok(())
    }
}

/// A hash of every setting of the entry, secrets included (never shown).
fn identity(config: &SlackConfig) -> u64 {
    let text = crate::config::secret::with_secrets_revealed(|| serde_json::to_string(config))
        .unwrap_or_default();
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The `chat.update` method next to the configured `chat.postMessage` (upstream always
/// uses `https://slack.com/api/chat.update`, the same URL for the only API URL its
/// config allows with `update_message`).
fn update_url(post_url: &str) -> String {
    match post_url.strip_suffix("chat.postMessage") {
        Some(base) => format!("{base}chat.update"),
        None => "https://slack.com/api/chat.update".to_string(),
    }
}

impl Notifier for Slack {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::SecretUrl;
    use crate::notify::integrations::post::testing::receiver;
    use crate::notify::integrations::testserver::{Reply, TestServer};
    use crate::notify::stages::testutil::*;

    /// Every templated field set explicitly (default templates are not needed).
    const FIELDS: &str = r#"
        title: '{{ .Status }}: {{ .CommonLabels.alertname }}'
        title_link: 'http://am/#/{{ .Receiver }}'
        pretext: 'pre {{ len .Alerts }}'
        text: 'text {{ .CommonLabels.alertname }}'
        fallback: 'fb'
        callback_id: 'cb'
        footer: 'foot'
        color: '{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}'
        username: 'am-{{ .Receiver }}'
        icon_emoji: ':fire:'
        icon_url: ''
        channel: '#{{ .CommonLabels.alertname | toLower }}'
        message_text: 'top {{ .Status }}'
        link_names: true
        short_fields: true
        fields:
          - {title: 'sev', value: '{{ .Status }}'}
          - {title: 'long', value: 'v', short: false}
        actions:
          - {type: button, text: 'Runbook {{ .CommonLabels.alertname }}', url: 'http://rb/{{ .CommonLabels.alertname }}', style: primary}
          - {type: button, text: 'Ack', name: ack, value: '{{ .Status }}', confirm: {text: 'sure?', ok_text: yes}}
"#;

    fn slack(global: &str, entry: &str) -> Slack {
        let r = receiver(
            global,
            &format!("    slack_configs:\n      - {}{FIELDS}", entry.trim()),
        );
        Slack::new(
            &r.slack_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn webhook_post_with_every_field() {
        let server = TestServer::start().await;
        let n = slack(
            "",
            &format!("api_url: '{}'", server.url("/services/T0/B0/x")),
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/services/T0/B0/x");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(req.header("authorization"), "");
        assert!(req.header("user-agent").starts_with("Alertmanager/"));
        let v = req.json();
        assert_eq!(v["channel"], "#down");
        assert_eq!(v["username"], "am-team");
        assert_eq!(v["icon_emoji"], ":fire:");
        assert!(v.get("icon_url").is_none() && v.get("ts").is_none());
        assert_eq!(v["link_names"], true);
        assert_eq!(v["text"], "top firing");
        let a = &v["attachments"][0];
        assert_eq!(a["title"], "firing: Down");
        assert_eq!(a["title_link"], "http://am/#/team");
        assert_eq!(a["pretext"], "pre 1");
        assert_eq!(a["text"], "text Down");
        assert_eq!(a["fallback"], "fb");
        assert_eq!(a["callback_id"], "cb");
        assert_eq!(a["footer"], "foot");
        assert_eq!(a["color"], "danger");
        assert_eq!(
            a["mrkdwn_in"],
            serde_json::json!(["fallback", "pretext", "text"])
        );
        assert_eq!(
            a["fields"],
            serde_json::json!([
                {"title": "sev", "value": "firing", "short": true},
                {"title": "long", "value": "v", "short": false}
            ])
        );
        assert_eq!(
            a["actions"],
            serde_json::json!([
                {"type": "button", "text": "Runbook Down", "url": "http://rb/Down", "style": "primary"},
                {"type": "button", "text": "Ack", "name": "ack", "value": "firing", "confirm": {"text": "sure?", "ok_text": "yes"}}
            ])
        );
    }

    #[tokio::test]
    async fn app_token_posts_to_chat_post_message_with_bearer() {
        let server = TestServer::start().await;
        server.always(
            Reply::new(200, r#"{"ok":true,"channel":"C1","ts":"1.2"}"#)
                .header("Content-Type", "application/json; charset=utf-8"),
        );
        let n = slack(
            &format!("  slack_app_url: '{}'", server.url("/api/chat.postMessage")),
            "app_token: xoxb-secret",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let req = server.single();
        assert_eq!(req.uri, "/api/chat.postMessage");
        assert_eq!(req.header("authorization"), "Bearer xoxb-secret");
        assert_eq!(req.json()["channel"], "#down");
    }

    #[tokio::test]
    async fn app_token_file_is_read_at_send_time() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "xoxb-one\n").unwrap();
        let n = slack(
            &format!("  slack_app_url: '{}'", server.url("/api/chat.postMessage")),
            &format!("app_token_file: '{}'", file.display()),
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        std::fs::write(&file, "xoxb-two").unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].header("authorization"), "Bearer xoxb-one");
        assert_eq!(reqs[1].header("authorization"), "Bearer xoxb-two");
    }

    #[tokio::test]
    async fn api_errors_are_classified_like_upstream() {
        let server = TestServer::start().await;
        let n = slack("", &format!("api_url: '{}'", server.url("/hook")));
        let ctx = ctx_at(0);
        let alerts = [alert("Down", None)];
        server.script([Reply::new(500, "boom")]);
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(
            e.message,
            "channel \"#down\": unexpected status code 500: boom"
        );
        server.script([Reply::new(404, "no_service")]);
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.reason, FailureReason::ClientError);
        // 200 with an error in the JSON body: not retried.
        server.script([
            Reply::new(200, r#"{"ok":false,"error":"channel_not_found"}"#)
                .header("Content-Type", "application/json"),
        ]);
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.reason, FailureReason::ClientError);
        assert!(
            e.message
                .ends_with("error response from Slack: channel_not_found"),
            "{}",
            e.message
        );
        // Broken JSON: retried.
        server.script([Reply::new(200, "{oops").header("Content-Type", "application/json")]);
        assert!(n.notify(&ctx, &alerts).await.unwrap_err().retry);
        // A webhook's plain-text answer other than `ok`.
        server.script([Reply::new(200, "invalid_payload")]);
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("invalid_payload"));
        // Rate limited with Retry-After: retried after the pause Slack asks for.
        server.script([Reply::new(429, "").header("Retry-After", "30")]);
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(30)));
        assert!(!e.message.contains("/hook"));
    }

    #[tokio::test]
    async fn transport_errors_retry_without_showing_the_url() {
        // A port nothing listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let n = slack("", &format!("api_url: 'http://{addr}/services/SECRET'"));
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(e.retry);
        assert!(!e.message.contains("SECRET"), "{}", e.message);
    }

    #[tokio::test]
    async fn long_titles_are_cut_to_1024_characters() {
        let server = TestServer::start().await;
        let n = slack("", &format!("api_url: '{}'", server.url("/hook")));
        let mut config = n.config.clone();
        config.title = "ä".repeat(1500);
        let n = Slack::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let title = server.single().json()["attachments"][0]["title"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(title.chars().count(), 1024);
        assert!(title.ends_with('…'));
    }

    #[tokio::test]
    async fn template_errors_fail_permanently_before_sending() {
        let server = TestServer::start().await;
        let n = slack("", &format!("api_url: '{}'", server.url("/hook")));
        let mut config = n.config.clone();
        config.footer = "{{ .Nope.Deeper }}".into();
        let n = Slack::new(&config, &n.env).unwrap();
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("footer"), "{}", e.message);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn update_message_edits_the_groups_message() {
        let server = TestServer::start().await;
        server.always(
            Reply::new(
                200,
                r#"{"ok":true,"channel":"C024BE91L","ts":"1401383885.000061"}"#,
            )
            .header("Content-Type", "application/json"),
        );
        let r = receiver(
            "",
            &format!(
                "    slack_configs:\n      - api_url: 'https://slack.com/api/chat.postMessage'\n        update_message: true\n        http_config: {{authorization: {{credentials: xoxb-t}}}}{FIELDS}"
            ),
        );
        let mut config = r.slack_configs[0].clone();
        config.api_url = Some(SecretUrl::parse(&server.url("/api/chat.postMessage")).unwrap());
        let n = Slack::new(&config, &IntegrationEnv::with_defaults("http://am")).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        n.notify(&ctx_at(60), &[alert("Down", Some(30))])
            .await
            .unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].uri, "/api/chat.postMessage");
        assert!(reqs[0].json().get("ts").is_none());
        assert_eq!(reqs[1].uri, "/api/chat.update");
        assert_eq!(reqs[1].header("authorization"), "Bearer xoxb-t");
        let v = reqs[1].json();
        assert_eq!(v["ts"], "1401383885.000061");
        assert_eq!(v["channel"], "C024BE91L");
        assert_eq!(v["attachments"][0]["color"], "good");
        // Another group posts anew.
        let mut other = ctx_at(60);
        let mut flush = (*other.flush).clone();
        flush.group_key = "{}:{alertname=\"Other\"}".into();
        other.flush = Arc::new(flush);
        n.notify(&other, &[alert("Other", None)]).await.unwrap();
        assert_eq!(server.requests()[2].uri, "/api/chat.postMessage");
        // A config reload rebuilds the notifier: the same entry keeps editing.
        let reloaded = Slack::new(&config, &IntegrationEnv::with_defaults("http://am")).unwrap();
        reloaded
            .notify(&ctx_at(90), &[alert("Down", None)])
            .await
            .unwrap();
        assert_eq!(server.requests()[3].uri, "/api/chat.update");
        // A changed entry posts anew.
        config.channel = "#elsewhere".into();
        let changed = Slack::new(&config, &IntegrationEnv::with_defaults("http://am")).unwrap();
        changed
            .notify(&ctx_at(90), &[alert("Down", None)])
            .await
            .unwrap();
        assert_eq!(server.requests()[4].uri, "/api/chat.postMessage");
    }

    #[test]
    fn update_url_follows_the_post_url() {
        assert_eq!(
            update_url("https://slack.com/api/chat.postMessage"),
            "https://slack.com/api/chat.update"
        );
        assert_eq!(
            update_url("https://x/y"),
            "https://slack.com/api/chat.update"
        );
    }
}
