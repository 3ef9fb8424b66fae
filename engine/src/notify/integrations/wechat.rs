//! The WeChat Work integration: fetches an access token (`gettoken?corpid=..&corpsecret=..`),
//! keeps it until it expires or the API says it is expired or invalid, and posts the
//! message to `message/send?access_token=..`.
//!
//! Like upstream, the message body carries `text` and `markdown` objects (the one not
//! used with empty content), `touser`, `toparty`, `totag` and `agentid` when not empty,
//! `safe: "0"` and `msgtype`. WeChat answers 200 with `errcode` ≠ 0 on errors:
//! `42001` (token expired) drops the token and is retried, as is `40014` (token
//! invalid; upstream keeps using such a token until its two hours are over); any
//! other code fails permanently with WeChat's `errmsg`. A status other than 200 is
//! retried, as upstream does. A `gettoken` answer other than 200 is classified like
//! other providers' (5xx retried); upstream tries to decode it and fails permanently.
//! The message is not shortened: upstream does not either. `corp_id` is a template
//! as upstream; the API secret is not rendered (upstream renders it too), so no
//! template error can quote it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, read_secret, status_error, transport_error,
};
use super::{IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, template_data};
use crate::alert::Alert;
use crate::config::receiver::wechat::WeChatConfig;
use crate::notify::stages::{FailureReason, NotifyContext};

/// How long a token is used at most (upstream refreshes after two hours).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// WeChat's "access token expired" error code.
pub const ERR_TOKEN_EXPIRED: i64 = 42001;
/// WeChat's "access token invalid" error code.
pub const ERR_TOKEN_INVALID: i64 = 40014;

#[derive(Serialize)]
struct Content {
    content: String,
}

/// The body of `message/send`, fields in upstream's order.
#[derive(Serialize)]
struct Message {
    text: Content,
    #[serde(skip_serializing_if = "String::is_empty")]
    touser: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    toparty: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    totag: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    agentid: String,
    safe: &'static str,
    msgtype: String,
    markdown: Content,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: u64,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

struct Token {
    value: String,
    fetched: Instant,
    lifetime: Duration,
}

/// Sends WeChat notifications for one `wechat_configs` entry.
pub struct WeChat {
    config: WeChatConfig,
    http: HttpClient,
    env: IntegrationEnv,
    token: Mutex<Option<Token>>,
}

impl WeChat {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &WeChatConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(WeChat {
            config: config.clone(),
            http,
            env,
            token: Mutex::new(None),
        })
    }

    fn base_url(&self) -> Result<url::Url, NotifyError> {
        let base = self
            .config
            .api_url
            .as_ref()
            .ok_or_else(|| NotifyError::permanent("wechat api_url is not set"))?;
        url::Url::parse(base.as_str())
            .map_err(|e| NotifyError::permanent(format!("wechat api_url: {e}")))
    }

    fn cached_token(&self) -> Option<String> {
        let guard = self.token.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|t| t.fetched.elapsed() < t.lifetime)
            .map(|t| t.value.clone())
    }

    fn drop_token(&self) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn fetch_token(&self, corp_id: &str) -> Result<String, NotifyError> {
        let secret = read_secret(
            self.config.api_secret.expose(),
            &self.config.api_secret_file,
            "api_secret",
        )?;
        let mut url = self.base_url()?;
        let path = format!("{}gettoken", url.path());
        url.set_path(&path);
        // Sorted like Go's url.Values.Encode.
        url.query_pairs_mut()
            .clear()
            .append_pair("corpid", corp_id)
            .append_pair("corpsecret", &secret);
        let resp = self
            .http
            .authorize(
                self.http
                    .client
                    .get(url)
                    .header(reqwest::header::USER_AGENT, USER_AGENT),
            )
            .map_err(|e| NotifyError::permanent(e.to_string()))?
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| transport_error(&e))?;
        if status != 200 {
            let text = String::from_utf8_lossy(&body);
            let mut e = status_error(status, text.trim(), None, &[]);
            e.message = format!("fetching the wechat access token: {}", e.message);
            return Err(e);
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            NotifyError::permanent(format!("decoding the wechat gettoken response: {e}"))
        })?;
        if token.access_token.is_empty() {
            let mut message = format!("invalid APISecret for CorpID: {corp_id}");
            if token.errcode != 0 || !token.errmsg.is_empty() {
                message = format!("{message} (errcode {}: {})", token.errcode, token.errmsg);
            }
            return Err(NotifyError::permanent(message));
        }
        let lifetime = match token.expires_in {
            0 => TOKEN_LIFETIME,
            secs => Duration::from_secs(secs).min(TOKEN_LIFETIME),
        };
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(Token {
            value: token.access_token.clone(),
            fetched: Instant::now(),
            lifetime,
        });
        Ok(token.access_token)
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let corp_id = r.text("corp_id", &c.corp_id);
        let content = r.text("message", &c.message);
        let msg = Message {
            touser: r.text("to_user", &c.to_user),
            toparty: r.text("to_party", &c.to_party),
            totag: r.text("to_tag", &c.to_tag),
            agentid: r.text("agent_id", &c.agent_id),
            safe: "0",
            msgtype: c.message_type.clone(),
            text: Content {
                content: if c.message_type == "markdown" {
                    String::new()
                } else {
                    content.clone()
                },
            },
            markdown: Content {
                content: if c.message_type == "markdown" {
                    content
                } else {
                    String::new()
                },
            },
        };
        r.finish()?;
        let mut body = serde_json::to_vec(&msg)
            .map_err(|e| NotifyError::permanent(format!("encoding the message: {e}")))?;
        body.push(b'\n');

        let _permit = self.http.permit().await;
        let token = match self.cached_token() {
            Some(t) => t,
            None => self.fetch_token(&corp_id).await?,
        };
        let mut url = self.base_url()?;
        let path = format!("{}message/send", url.path());
        url.set_path(&path);
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "access_token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = url.query_pairs_mut();
            q.clear();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            q.append_pair("access_token", &token);
        }
        let req = self
            .http
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .body(body);
        let resp = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        if status != 200 {
            let _ = resp.bytes().await;
            return Err(NotifyError {
                retry: true,
                reason: FailureReason::from_status(status),
                retry_after: None,
                message: format!("unexpected status code {status}"),
            });
        }
        let body = resp.bytes().await.map_err(|e| transport_error(&e))?;
        let answer: SendResponse = serde_json::from_slice(&body).map_err(|e| NotifyError {
            retry: true,
            reason: FailureReason::Other,
            retry_after: None,
            message: format!("decoding the wechat response: {e}"),
        })?;
        match answer.errcode {
            0 => Ok(()),
            ERR_TOKEN_EXPIRED | ERR_TOKEN_INVALID => {
                self.drop_token();
                Err(NotifyError {
                    retry: true,
                    reason: FailureReason::Other,
                    retry_after: None,
                    message: format!("wechat errcode {}: {}", answer.errcode, answer.errmsg),
                })
            }
            code => Err(NotifyError::permanent(format!(
                "wechat errcode {code}: {}",
                answer.errmsg
            ))),
        }
    }
}

impl Notifier for WeChat {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{Reply, TestServer};
    use crate::notify::stages::testutil::*;

    const TOKEN_OK: &str =
        r#"{"errcode":0,"errmsg":"ok","access_token":"tok-1","expires_in":7200}"#;
    const SENT: &str = r#"{"errcode":0,"errmsg":"ok"}"#;

    fn notifier(server: &TestServer, extra: &str) -> WeChat {
        let yaml = format!(
            "api_url: '{}'\napi_secret: s3cr3t\ncorp_id: corp\nmessage: '{{{{ .Status }}}}: {{{{ .CommonLabels.alertname }}}}'\nto_user: '@all'\nto_party: ''\nto_tag: ''\nagent_id: '1000002'\n{extra}",
            server.url("/cgi-bin/")
        );
        let mut c: WeChatConfig = crate::config::deserialize_yaml(&yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        WeChat::new(&c, IntegrationEnv::with_defaults("http://am")).unwrap()
    }

    #[tokio::test]
    async fn fetches_a_token_once_and_posts_the_text_message() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, TOKEN_OK),
            Reply::new(200, SENT),
            Reply::new(200, SENT),
        ]);
        let n = notifier(&server, "");
        let ctx = ctx_at(0);
        let alerts = [alert("Down", None)];
        n.notify(&ctx, &alerts).await.unwrap();
        n.notify(&ctx, &alerts).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3, "the token is fetched once: {reqs:?}");
        assert_eq!(reqs[0].method, "GET");
        assert_eq!(
            reqs[0].uri,
            "/cgi-bin/gettoken?corpid=corp&corpsecret=s3cr3t"
        );
        for send in &reqs[1..] {
            assert_eq!(send.method, "POST");
            assert_eq!(send.uri, "/cgi-bin/message/send?access_token=tok-1");
            assert_eq!(send.header("content-type"), "application/json");
            let body = send.json();
            assert_eq!(body["msgtype"], "text");
            assert_eq!(body["text"]["content"], "firing: Down");
            assert_eq!(body["markdown"]["content"], "");
            assert_eq!(body["touser"], "@all");
            assert_eq!(body["agentid"], "1000002");
            assert_eq!(body["safe"], "0");
            assert!(body.get("toparty").is_none() && body.get("totag").is_none());
        }
    }

    #[tokio::test]
    async fn markdown_messages_use_the_markdown_object() {
        let server = TestServer::start().await;
        server.script([Reply::new(200, TOKEN_OK), Reply::new(200, SENT)]);
        let n = notifier(&server, "message_type: markdown\n");
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let body = server.requests()[1].json();
        assert_eq!(body["msgtype"], "markdown");
        assert_eq!(body["markdown"]["content"], "firing: Down");
        assert_eq!(body["text"]["content"], "");
    }

    #[tokio::test]
    async fn an_expired_token_is_dropped_and_the_send_retried() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, TOKEN_OK),
            Reply::new(200, r#"{"errcode":42001,"errmsg":"access_token expired"}"#),
            Reply::new(
                200,
                r#"{"errcode":0,"access_token":"tok-2","expires_in":7200}"#,
            ),
            Reply::new(200, SENT),
        ]);
        let n = notifier(&server, "");
        let ctx = ctx_at(0);
        let alerts = [alert("Down", None)];
        let err = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(err.retry);
        assert!(
            err.message.contains("access_token expired"),
            "{}",
            err.message
        );
        n.notify(&ctx, &alerts).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 4);
        assert!(reqs[2].uri.contains("/gettoken?"), "{}", reqs[2].uri);
        assert_eq!(reqs[3].uri, "/cgi-bin/message/send?access_token=tok-2");
    }

    #[tokio::test]
    async fn api_errors_fail_permanently_and_http_errors_retry() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, TOKEN_OK),
            Reply::new(
                200,
                r#"{"errcode":81013,"errmsg":"user & party & tag all invalid"}"#,
            ),
            Reply::new(502, "bad gateway"),
        ]);
        let n = notifier(&server, "");
        let ctx = ctx_at(0);
        let alerts = [alert("Down", None)];
        let err = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(!err.retry);
        assert!(err.message.contains("81013") && err.message.contains("all invalid"));
        let err = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(err.retry);
        assert_eq!(err.reason, FailureReason::ServerError);
        assert_eq!(err.message, "unexpected status code 502");
    }

    #[tokio::test]
    async fn a_rejected_secret_fails_permanently_without_showing_it() {
        let server = TestServer::start().await;
        server.script([Reply::new(
            200,
            r#"{"errcode":40001,"errmsg":"invalid credential"}"#,
        )]);
        let n = notifier(&server, "");
        let err = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!err.retry);
        assert!(
            err.message.contains("invalid APISecret for CorpID: corp"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("s3cr3t"), "{}", err.message);
    }

    /// A server that answers the first connection with a token and closes every
    /// later connection without an answer.
    async fn token_then_hang_up() -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut first = true;
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let _ = conn.read(&mut buf).await;
                if first {
                    first = false;
                    let body = r#"{"access_token":"tok-SECRET"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn errors_show_neither_the_secret_nor_the_token() {
        // Nothing listens: the gettoken URL (with corpsecret) must not show.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let yaml = format!(
            "api_url: 'http://{addr}/'\napi_secret: s3cr3t\ncorp_id: corp\nmessage: m\nto_user: u\nto_party: ''\nto_tag: ''\nagent_id: '1'\n"
        );
        let mut c: WeChatConfig = crate::config::deserialize_yaml(&yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        let n = WeChat::new(&c, IntegrationEnv::with_defaults("")).unwrap();
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(e.retry);
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);

        // The token is fetched, then message/send gets no answer.
        let addr = token_then_hang_up().await;
        c.api_url =
            Some(crate::config::secret::HttpUrl::parse(&format!("http://{addr}/")).unwrap());
        let n = WeChat::new(&c, IntegrationEnv::with_defaults("")).unwrap();
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(e.retry);
        assert!(!e.message.contains("tok-SECRET"), "{}", e.message);
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);
    }

    #[tokio::test]
    async fn the_secret_file_is_read_at_send_time() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, TOKEN_OK));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let yaml = format!(
            "api_url: '{}'\napi_secret_file: '{}'\ncorp_id: corp\nmessage: m\nto_user: u\nto_party: ''\nto_tag: ''\nagent_id: '1'\n",
            server.url("/"),
            file.display()
        );
        let mut c: WeChatConfig = crate::config::deserialize_yaml(&yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        let n = WeChat::new(&c, IntegrationEnv::with_defaults("")).unwrap();
        // The token answer also decodes as a send answer with errcode 0.
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        assert_eq!(
            server.requests()[0].uri,
            "/gettoken?corpid=corp&corpsecret=from-file"
        );
    }

    #[tokio::test]
    async fn a_template_error_fails_permanently_before_any_request() {
        let server = TestServer::start().await;
        let n = notifier(&server, "");
        let mut n = n;
        n.config.to_user = "{{ .Nope.Deeper }}".into();
        let err = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!err.retry);
        assert!(err.message.contains("to_user"), "{}", err.message);
        assert!(server.requests().is_empty());
    }
}
