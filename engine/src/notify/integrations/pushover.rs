//! The Pushover integration: one message per notification through Pushover's
//! Message API, with Alertmanager 0.34's fields and limits.
//!
//! The parameters go in a form-encoded body (Pushover's documented request; upstream
//! puts the same parameters in the URL's query, where the token is more exposed).
//! Title, message and URL are cut to Pushover's limits (250, 1024 and 512
//! characters); an empty message is sent as `(no details)`, which Pushover requires.
//! Only 5xx answers are retried.

use std::sync::Arc;

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response, read_secret, transport_error,
};
use super::{
    IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data, truncate,
};
use crate::alert::Alert;
use crate::config::go_duration::GoDuration;
use crate::config::receiver::pushover::PushoverConfig;
use crate::notify::stages::NotifyContext;

/// Pushover's Message API.
pub const API_URL: &str = "https://api.pushover.net/1/messages.json";
/// Most characters of the title.
pub const MAX_TITLE_RUNES: usize = 250;
/// Most characters of the message.
pub const MAX_MESSAGE_RUNES: usize = 1024;
/// Most characters of the supplementary URL.
pub const MAX_URL_RUNES: usize = 512;

/// Whole seconds, truncated like Go's `int64(d.Seconds())`.
fn seconds(d: GoDuration) -> i64 {
    d.0 / 1_000_000_000
}

/// Sends Pushover messages for one `pushover_configs` entry.
pub struct Pushover {
    config: PushoverConfig,
    http: HttpClient,
    env: IntegrationEnv,
    api_url: String,
}

impl Pushover {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &PushoverConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(Pushover {
            config: config.clone(),
            http,
            env,
            api_url: API_URL.to_string(),
        })
    }

    /// Renders a secret (they may be templates, as upstream allows) without showing
    /// the template error, which could quote it.
    fn render_secret(r: &mut Renderer<'_>, field: &str, raw: &str) -> Result<String, NotifyError> {
        let failed_before = r.failed();
        let value = r.text(field, raw);
        if !failed_before && r.failed() {
            return Err(NotifyError::permanent(format!(
                "rendering template of {field} failed"
            )));
        }
        Ok(value)
    }

    /// The form parameters, sorted by name like Go's `url.Values.Encode`.
    fn params(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
    ) -> Result<Vec<(&'static str, String)>, NotifyError> {
        let c = &self.config;
        let group_key = &ctx.flush.group_key;
        let token = read_secret(c.token.expose(), &c.token_file, "token")?;
        let user = read_secret(c.user_key.expose(), &c.user_key_file, "user_key")?;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let mut p: Vec<(&'static str, String)> = vec![
            ("token", Self::render_secret(&mut r, "token", &token)?),
            ("user", Self::render_secret(&mut r, "user_key", &user)?),
        ];
        let (title, cut) = truncate::in_runes(&r.text("title", &c.title), MAX_TITLE_RUNES);
        if cut {
            tracing::warn!(integration = "pushover", group_key = %group_key, max_runes = MAX_TITLE_RUNES, "truncated title");
        }
        p.push(("title", title));
        let message = if c.html {
            p.push(("html", "1".into()));
            r.html("message", &c.message)
        } else {
            r.text("message", &c.message)
        };
        if c.monospace {
            p.push(("monospace", "1".into()));
        }
        let (message, cut) = truncate::in_runes(&message, MAX_MESSAGE_RUNES);
        if cut {
            tracing::warn!(integration = "pushover", group_key = %group_key, max_runes = MAX_MESSAGE_RUNES, "truncated message");
        }
        let message = message.trim();
        // Pushover rejects empty messages.
        let message = if message.is_empty() {
            "(no details)"
        } else {
            message
        };
        p.push(("message", message.to_string()));
        let (url, cut) = truncate::in_runes(&r.text("url", &c.url), MAX_URL_RUNES);
        if cut {
            tracing::warn!(integration = "pushover", group_key = %group_key, max_runes = MAX_URL_RUNES, "truncated URL");
        }
        p.push(("url", url));
        p.push(("url_title", r.text("url_title", &c.url_title)));
        p.push(("priority", r.text("priority", &c.priority)));
        p.push(("retry", seconds(c.retry).to_string()));
        p.push(("expire", seconds(c.expire).to_string()));
        p.push(("device", r.text("device", &c.device)));
        p.push(("sound", r.text("sound", &c.sound)));
        let ttl = c.ttl.map(seconds).unwrap_or(0);
        if ttl > 0 {
            p.push(("ttl", ttl.to_string()));
        }
        r.finish()?;
        p.sort_by_key(|(k, _)| *k);
        Ok(p)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let params = self.params(ctx, alerts)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let _permit = self.http.permit().await;
        let req = self
            .http
            .client
            .post(&self.api_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .body(body);
        let req = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        check_response(resp, ctx.now(), &[]).await
    }
}

impl Notifier for Pushover {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{
        Recorded, Reply, TestServer, alert_with, env_with,
    };
    use crate::notify::stages::testutil::*;

    fn labelled(name: &str, summary: &str) -> Arc<Alert> {
        alert_with(
            &[("alertname", name), ("team", "db")],
            &[("summary", summary)],
            None,
        )
    }

    /// The built-in templates plus stand-ins for this integration's defaults.
    fn env() -> IntegrationEnv {
        env_with(
            r#"{{ define "pushover.default.title" }}stub-title{{ end }}{{ define "pushover.default.message" }}stub-message{{ end }}{{ define "pushover.default.url" }}stub-url{{ end }}"#,
        )
    }

    fn notifier(server: &TestServer, yaml: &str) -> Pushover {
        let mut c: PushoverConfig = deserialize_yaml(yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        let mut n = Pushover::new(&c, env()).unwrap();
        n.api_url = server.url("/1/messages.json");
        n
    }

    fn form(r: &Recorded) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&r.body).into_owned().collect()
    }

    const KEYS: &str = "token: app-token-1\nuser_key: user-key-1\n";

    #[tokio::test]
    async fn posts_the_message_api_form() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, r#"{"status":1,"request":"x"}"#));
        let yaml = format!(
            "{KEYS}title: '{{{{ .CommonLabels.alertname }}}} firing'\nmessage: '{{{{ .CommonAnnotations.summary }}}}'\nurl: '{{{{ .ExternalURL }}}}'\nurl_title: Open\ndevice: phone\nsound: siren\nretry: 90s\nexpire: 2h\n"
        );
        let n = notifier(&server, &yaml);
        n.notify(&ctx_at(0), &[labelled("DiskFull", "disk & <full>")])
            .await
            .unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/1/messages.json");
        assert_eq!(
            req.header("content-type"),
            "application/x-www-form-urlencoded"
        );
        assert!(req.header("user-agent").starts_with("Alertmanager/"));
        let f = form(&req);
        let expected: BTreeMap<String, String> = [
            ("token", "app-token-1"),
            ("user", "user-key-1"),
            ("title", "DiskFull firing"),
            ("message", "disk & <full>"),
            ("url", "http://am:9093"),
            ("url_title", "Open"),
            ("priority", "2"),
            ("retry", "90"),
            ("expire", "7200"),
            ("device", "phone"),
            ("sound", "siren"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(f, expected);
    }

    #[tokio::test]
    async fn html_monospace_ttl_and_resolved_priority() {
        let server = TestServer::start().await;
        let html = notifier(
            &server,
            &format!(
                "{KEYS}html: true\nmessage: '<b>{{{{ .CommonAnnotations.summary }}}}</b>'\nttl: 1m30s\n"
            ),
        );
        html.notify(&ctx_at(0), &[labelled("A", "a<b")])
            .await
            .unwrap();
        let mono = notifier(&server, &format!("{KEYS}monospace: true\nmessage: m\n"));
        mono.notify(&ctx_at(0), &[alert("A", Some(-1))])
            .await
            .unwrap();
        let reqs = server.requests();
        let f = form(&reqs[0]);
        assert_eq!(f["html"], "1");
        assert_eq!(f["message"], "<b>a&lt;b</b>", "HTML messages escape data");
        assert_eq!(f["ttl"], "90");
        assert!(!f.contains_key("monospace"));
        let f = form(&reqs[1]);
        assert_eq!(f["monospace"], "1");
        assert_eq!(
            f["priority"], "0",
            "the default priority is 0 once resolved"
        );
        assert!(!f.contains_key("html") && !f.contains_key("ttl"));
    }

    #[tokio::test]
    async fn cuts_title_message_and_url_to_pushovers_limits() {
        let server = TestServer::start().await;
        let yaml = format!(
            "{KEYS}title: '{}'\nmessage: '{}'\nurl: 'http://x/{}'\n",
            "t".repeat(300),
            "m".repeat(2000),
            "u".repeat(600)
        );
        let n = notifier(&server, &yaml);
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let blank = notifier(&server, &format!("{KEYS}message: '  {{{{ \"\" }}}}  '\n"));
        blank.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let reqs = server.requests();
        let f = form(&reqs[0]);
        assert_eq!(f["title"], format!("{}…", "t".repeat(249)));
        assert_eq!(f["message"], format!("{}…", "m".repeat(1023)));
        assert_eq!(f["url"].chars().count(), MAX_URL_RUNES);
        assert!(f["url"].ends_with("u…"));
        assert_eq!(form(&reqs[1])["message"], "(no details)");
    }

    #[tokio::test]
    async fn only_server_errors_are_retried() {
        let server = TestServer::start().await;
        let n = notifier(&server, &format!("{KEYS}message: m\n"));
        let alerts = [alert("A", None)];
        server.script([
            Reply::new(500, "down"),
            Reply::new(429, r#"{"status":0}"#),
            Reply::new(
                400,
                r#"{"user":"invalid","errors":["user identifier is invalid"],"status":0}"#,
            ),
        ]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "500 is retried");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "429 without Retry-After is not retried");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "400 is not retried");
        assert!(
            e.message.starts_with("unexpected status code 400: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("user identifier is invalid"));
    }

    #[tokio::test]
    async fn key_files_are_read_at_send_time_and_never_shown() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        let user = dir.path().join("user");
        std::fs::write(&token, "token-one\n").unwrap();
        std::fs::write(&user, "user-one\n").unwrap();
        let yaml = format!(
            "token_file: {}\nuser_key_file: {}\nmessage: m\n",
            token.display(),
            user.display()
        );
        let n = notifier(&server, &yaml);
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        std::fs::write(&token, "token-two").unwrap();
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(form(&reqs[0])["token"], "token-one");
        assert_eq!(form(&reqs[0])["user"], "user-one");
        assert_eq!(form(&reqs[1])["token"], "token-two");
        // A token whose template fails is not quoted.
        std::fs::write(&token, "secret-{{ .Nope.Deeper }}").unwrap();
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(
            !e.retry && e.message.contains("token") && !e.message.contains("secret"),
            "{}",
            e.message
        );
        // The token travels in the body, never in the URL.
        assert!(reqs.iter().all(|r| !r.uri.contains("token")));
        std::fs::remove_file(&user).unwrap();
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(
            !e.retry && e.message.contains("user_key_file"),
            "{}",
            e.message
        );
    }
}
