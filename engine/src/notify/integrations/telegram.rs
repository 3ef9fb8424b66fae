//! The Telegram integration: the Bot API's `sendMessage`, at
//! `<api_url>/bot<token>/sendMessage`.
//!
//! As upstream Alertmanager 0.34: with `parse_mode: HTML` (the default) the message
//! renders as an html/template (data escaped); an HTML message over 4096 characters
//! is replaced by a notice, since cutting it could break the markup; other messages
//! are cut to 4096 characters. Link previews are off. Every failed send is retried,
//! as upstream does (its Telegram client reports all failures alike); a 429's
//! `retry_after` is honoured. The token never shows in errors or logs.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::{HttpClient, HttpConfigError, read_secret};
use super::post::{encode_json, post_json};
use super::truncate;
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::telegram::TelegramConfig;
use crate::notify::stages::{FailureReason, NotifyContext};

/// Telegram's limit for a message, in characters.
pub const MAX_MESSAGE_RUNES: usize = 4096;

/// What is sent instead of an HTML message over the limit.
pub const TOO_LONG_NOTICE: &str = "Alertmanager notification could not be sent: message length exceeds Telegram limits.\n\t\t\tPlease check the template used for producing the message content.";

#[derive(Debug, Serialize)]
struct SendMessage {
    chat_id: i64,
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    parse_mode: String,
    disable_web_page_preview: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    disable_notification: bool,
    #[serde(skip_serializing_if = "is_zero")]
    message_thread_id: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Deserialize)]
struct Answer {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    error_code: i64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Debug, Default, Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// Sends Telegram notifications for one `telegram_configs` entry.
pub struct Telegram {
    config: TelegramConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

fn retryable(reason: FailureReason, message: String) -> NotifyError {
    NotifyError {
        retry: true,
        reason,
        retry_after: None,
        message,
    }
}

impl Telegram {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &TelegramConfig, env: &IntegrationEnv) -> Result<Self, HttpConfigError> {
        Ok(Telegram {
            config: config.clone(),
            http: HttpClient::new(&config.http_config.clone().unwrap_or_default())?,
            env: env.clone(),
        })
    }

    fn message(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<String, NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let key = &ctx.flush.group_key;
        if c.parse_mode == "HTML" {
            let text = r.html("message", &c.message);
            r.finish()?;
            if text.chars().count() > MAX_MESSAGE_RUNES {
                tracing::warn!(integration = "telegram", group_key = %key, max_runes = MAX_MESSAGE_RUNES, "HTML message too long: sending a notice instead");
                return Ok(TOO_LONG_NOTICE.to_string());
            }
            return Ok(text);
        }
        let text = r.text("message", &c.message);
        r.finish()?;
        let (text, cut) = truncate::in_runes(&text, MAX_MESSAGE_RUNES);
        if cut {
            tracing::warn!(integration = "telegram", group_key = %key, max_runes = MAX_MESSAGE_RUNES, "truncated message");
        }
        Ok(text)
    }

    fn chat_id(&self) -> Result<i64, NotifyError> {
        let c = &self.config;
        if c.chat_id_file.is_empty() {
            return Ok(c.chat_id);
        }
        let text = read_secret("", &c.chat_id_file, "chat_id").map_err(|mut e| {
            e.retry = true;
            e
        })?;
        text.parse().map_err(|e| {
            retryable(
                FailureReason::Other,
                format!("could not parse chat_id from {}: {e}", c.chat_id_file),
            )
        })
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let c = &self.config;
        let text = self.message(ctx, alerts)?;
        let token = read_secret(c.bot_token.expose(), &c.bot_token_file, "bot_token").map_err(
            |mut e| {
                e.retry = true;
                e
            },
        )?;
        let chat_id = self.chat_id()?;
        let body = SendMessage {
            chat_id,
            text,
            parse_mode: c.parse_mode.clone(),
            disable_web_page_preview: true,
            disable_notification: c.disable_notifications,
            message_thread_id: c.message_thread_id,
        };
        let api = c
            .api_url
            .as_ref()
            .map(|u| u.as_str())
            .unwrap_or("https://api.telegram.org");
        let url = format!("{api}/bot{token}/sendMessage");
        let resp = post_json(&self.http, &url, encode_json(&body)?, Duration::ZERO, &[])
            .await
            .map_err(|mut e| {
                // The token is in the path; reqwest's messages may quote it.
                e.message = e.message.replace(&token, "<redacted>");
                e
            })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| {
            retryable(
                FailureReason::Other,
                format!(
                    "telegram: reading the answer: {}",
                    super::http::redact(&e).replace(&token, "<redacted>")
                ),
            )
        })?;
        let reason = FailureReason::from_status(status);
        let answer: Answer = serde_json::from_slice(&bytes).unwrap_or_default();
        if answer.ok && (200..300).contains(&status) {
            return Ok(());
        }
        let message = if answer.description.is_empty() {
            let shown: String = String::from_utf8_lossy(&bytes).chars().take(1024).collect();
            format!(
                "telegram: unexpected status code {status}: {}",
                shown.trim()
            )
        } else {
            format!(
                "telegram: {} ({})",
                answer.description,
                if answer.error_code != 0 {
                    answer.error_code
                } else {
                    i64::from(status)
                }
            )
        };
        Err(NotifyError {
            retry: true,
            reason,
            retry_after: answer
                .parameters
                .and_then(|p| p.retry_after)
                .map(Duration::from_secs),
            message: message.replace(&token, "<redacted>"),
        })
    }
}

impl Notifier for Telegram {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::LabelSet;
    use crate::notify::integrations::post::testing::receiver;
    use crate::notify::integrations::testserver::{Reply, TestServer};
    use crate::notify::stages::testutil::*;

    const OK: &str = r#"{"ok":true,"result":{"message_id":1,"chat":{"id":-100}}}"#;

    fn telegram(server: &TestServer, entry: &str) -> Telegram {
        let r = receiver(
            &format!("  telegram_api_url: '{}'", server.url("")),
            &format!("    telegram_configs:\n      - {}", entry.trim()),
        );
        Telegram::new(
            &r.telegram_configs[0],
            &IntegrationEnv::with_defaults("http://am"),
        )
        .unwrap()
    }

    fn with_summary(summary: &str) -> Arc<Alert> {
        let mut a = (*alert("Down", None)).clone();
        a.annotations = LabelSet::from_pairs([("summary", summary)]);
        Arc::new(a)
    }

    #[tokio::test]
    async fn html_message_is_escaped_and_sent_with_every_option() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, OK));
        let n = telegram(
            &server,
            "bot_token: '123:ABC'\n        chat_id: -100\n        message_thread_id: 7\n        disable_notifications: true\n        message: '<b>{{ .Status }}</b> {{ .CommonAnnotations.summary }}'",
        );
        n.notify(&ctx_at(0), &[with_summary("a < b & c")])
            .await
            .unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/bot123:ABC/sendMessage");
        assert_eq!(req.header("content-type"), "application/json");
        assert_eq!(
            req.json(),
            serde_json::json!({
                "chat_id": -100,
                "text": "<b>firing</b> a &lt; b &amp; c",
                "parse_mode": "HTML",
                "disable_web_page_preview": true,
                "disable_notification": true,
                "message_thread_id": 7
            })
        );
    }

    #[tokio::test]
    async fn token_and_chat_id_files_are_read_at_send_time() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, OK));
        let dir = tempfile::tempdir().unwrap();
        let (tf, cf) = (dir.path().join("t"), dir.path().join("c"));
        std::fs::write(&tf, "1:one\n").unwrap();
        std::fs::write(&cf, "42\n").unwrap();
        let n = telegram(
            &server,
            &format!(
                "bot_token_file: '{}'\n        chat_id_file: '{}'\n        parse_mode: ''\n        message: 'plain <{{{{ .Status }}}}>'",
                tf.display(),
                cf.display()
            ),
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        std::fs::write(&tf, "2:two").unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].uri, "/bot1:one/sendMessage");
        assert_eq!(reqs[1].uri, "/bot2:two/sendMessage");
        let v = reqs[0].json();
        assert_eq!(v["chat_id"], 42);
        assert_eq!(v["text"], "plain <firing>");
        assert!(v.get("parse_mode").is_none() && v.get("disable_notification").is_none());
        std::fs::write(&cf, "not a number").unwrap();
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(
            e.message.contains("could not parse chat_id"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn errors_are_retried_like_upstream_without_the_token() {
        let server = TestServer::start().await;
        let n = telegram(
            &server,
            "bot_token: '999:SECRET'\n        chat_id: 1\n        message: m",
        );
        let alerts = [alert("Down", None)];
        server.script([Reply::new(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}"#,
        )]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.retry_after, Some(Duration::from_secs(5)));
        assert_eq!(e.reason, FailureReason::RateLimited);
        assert_eq!(
            e.message,
            "telegram: Too Many Requests: retry after 5 (429)"
        );
        server.script([Reply::new(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
        )]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.reason, FailureReason::ClientError);
        server.script([Reply::new(502, "<html>bad gateway</html>")]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.reason, FailureReason::ServerError);
        assert!(!e.message.contains("SECRET"), "{}", e.message);
        // A refused connection: the URL (with the token) is not shown.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let mut config = n.config.clone();
        config.api_url =
            Some(crate::config::secret::HttpUrl::parse(&format!("http://{addr}")).unwrap());
        let n = Telegram::new(&config, &n.env).unwrap();
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry);
        assert!(!e.message.contains("SECRET"), "{}", e.message);
    }

    #[tokio::test]
    async fn long_messages_are_cut_or_replaced_in_html() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, OK));
        let n = telegram(
            &server,
            "bot_token: 't'\n        chat_id: 1\n        parse_mode: MarkdownV2\n        message: m",
        );
        let mut config = n.config.clone();
        config.message = "ж".repeat(5000);
        let n = Telegram::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let text = server.requests()[0].json()["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(text.chars().count(), MAX_MESSAGE_RUNES);
        assert!(text.ends_with('…'));
        config.parse_mode = "HTML".into();
        let n = Telegram::new(&config, &n.env).unwrap();
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        assert_eq!(server.requests()[1].json()["text"], TOO_LONG_NOTICE);
    }
}
