//! The Opsgenie integration: creates an alert while the group fires and closes it
//! when the group is resolved, as Alertmanager 0.34 does with Opsgenie's Alert API.
//!
//! The group key's hash is the alert's `alias`, so Opsgenie deduplicates repeated
//! notifications of a group and the close request finds the alert. The message is
//! cut to Opsgenie's 130 characters. With `update_alerts`, message and description
//! of an open alert are updated as well. 429 and 5xx answers are retried.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Serialize;

use super::http::{
    HttpClient, HttpConfigError, USER_AGENT, check_response, read_secret, transport_error,
};
use super::{
    IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, group_key_hash, template_data,
    truncate,
};
use crate::alert::Alert;
use crate::config::receiver::opsgenie::OpsGenieConfig;
use crate::notify::stages::NotifyContext;

/// Most characters of an alert's message.
pub const MAX_MESSAGE_RUNES: usize = 130;
/// Statuses besides 5xx that Opsgenie documents as temporary.
const RETRY_CODES: &[u16] = &[429];

#[derive(Debug, Serialize)]
struct CreateAlert {
    alias: String,
    message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    details: BTreeMap<String, String>,
    source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    responders: Vec<Responder>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    priority: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    entity: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<String>,
}

#[derive(Debug, Default, PartialEq, Serialize)]
struct Responder {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(rename = "type")]
    kind: String,
}

/// One request to send.
#[derive(Debug)]
struct Call {
    method: reqwest::Method,
    url: String,
    body: Vec<u8>,
}

/// Upstream's `safeSplit`: the text trimmed, split at `sep`, empty parts dropped
/// (the parts themselves are not trimmed).
fn safe_split(s: &str, sep: char) -> Vec<String> {
    s.trim()
        .split(sep)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn json(value: &impl Serialize) -> Result<Vec<u8>, NotifyError> {
    let mut body = serde_json::to_vec(value)
        .map_err(|e| NotifyError::permanent(format!("encoding the Opsgenie request: {e}")))?;
    body.push(b'\n');
    Ok(body)
}

/// Sends Opsgenie alerts for one `opsgenie_configs` entry.
pub struct OpsGenie {
    config: OpsGenieConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl OpsGenie {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &OpsGenieConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(OpsGenie {
            config: config.clone(),
            http,
            env,
        })
    }

    /// `api_url` followed by `path`; with `by_alias`, `identifierType=alias` is set in
    /// the query (other query parameters kept, sorted by name like Go's encoder).
    fn endpoint(&self, path: &str, by_alias: bool) -> Result<String, NotifyError> {
        let base = self
            .config
            .api_url
            .as_ref()
            .map(|u| u.as_str())
            .unwrap_or_default();
        let mut url =
            url::Url::parse(base).map_err(|e| NotifyError::permanent(format!("api_url: {e}")))?;
        let joined = format!("{}{path}", url.path());
        url.set_path(&joined);
        if by_alias {
            let mut pairs: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "identifierType")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            pairs.push(("identifierType".into(), "alias".into()));
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        Ok(url.into())
    }

    fn responders(&self, r: &mut Renderer<'_>) -> Vec<Responder> {
        let mut out = Vec::new();
        for (i, c) in self.config.responders.iter().enumerate() {
            let field = format!("responders[{i}]");
            let responder = Responder {
                id: r.text(&format!("{field}.id"), &c.id),
                name: r.text(&format!("{field}.name"), &c.name),
                username: r.text(&format!("{field}.username"), &c.username),
                kind: r.text(&format!("{field}.type"), &c.kind),
            };
            // Responders that render empty are left out, so they can be filled
            // from labels that only some groups have.
            if responder == Responder::default() {
                continue;
            }
            if responder.kind == "teams" {
                for team in safe_split(&responder.name, ',') {
                    out.push(Responder {
                        name: team,
                        kind: "team".into(),
                        ..Responder::default()
                    });
                }
                continue;
            }
            out.push(responder);
        }
        out
    }

    /// The requests of one notification and the API key.
    fn calls(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
    ) -> Result<(Vec<Call>, String), NotifyError> {
        let c = &self.config;
        let alias = group_key_hash(ctx);
        let data = template_data(ctx, alerts, &self.env.external_url);
        let mut details: BTreeMap<String, String> = data
            .common_labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut r = Renderer::new(&self.env, data);
        for (k, v) in &c.details {
            details.insert(k.clone(), r.text(&format!("details.{k}"), v));
        }
        let resolved = alerts.iter().all(|a| ctx.is_resolved(a));
        let mut calls = Vec::new();
        if resolved {
            #[derive(Serialize)]
            struct Close {
                source: String,
            }
            let body = json(&Close {
                source: r.text("source", &c.source),
            })?;
            calls.push(Call {
                method: reqwest::Method::POST,
                url: self.endpoint(&format!("v2/alerts/{alias}/close"), true)?,
                body,
            });
        } else {
            let (message, cut) =
                truncate::in_runes(&r.text("message", &c.message), MAX_MESSAGE_RUNES);
            if cut {
                tracing::warn!(integration = "opsgenie", group_key = %ctx.flush.group_key, max_runes = MAX_MESSAGE_RUNES, "truncated message");
            }
            let create = CreateAlert {
                alias: alias.clone(),
                message,
                description: r.text("description", &c.description),
                details,
                source: r.text("source", &c.source),
                responders: self.responders(&mut r),
                tags: safe_split(&r.text("tags", &c.tags), ','),
                note: r.text("note", &c.note),
                priority: r.text("priority", &c.priority),
                entity: r.text("entity", &c.entity),
                actions: safe_split(&r.text("actions", &c.actions), ','),
            };
            calls.push(Call {
                method: reqwest::Method::POST,
                url: self.endpoint("v2/alerts", false)?,
                body: json(&create)?,
            });
            if c.update_alerts {
                #[derive(Serialize)]
                struct Message<'a> {
                    #[serde(skip_serializing_if = "str::is_empty")]
                    message: &'a str,
                }
                #[derive(Serialize)]
                struct Description<'a> {
                    #[serde(skip_serializing_if = "str::is_empty")]
                    description: &'a str,
                }
                calls.push(Call {
                    method: reqwest::Method::PUT,
                    url: self.endpoint(&format!("v2/alerts/{alias}/message"), true)?,
                    body: json(&Message {
                        message: &create.message,
                    })?,
                });
                calls.push(Call {
                    method: reqwest::Method::PUT,
                    url: self.endpoint(&format!("v2/alerts/{alias}/description"), true)?,
                    body: json(&Description {
                        description: &create.description,
                    })?,
                });
            }
        }
        let raw = read_secret(c.api_key.expose(), &c.api_key_file, "api_key")?;
        let failed_before = r.failed();
        let key = r.text("api_key", &raw);
        if !failed_before && r.failed() {
            // The template error could quote the key.
            return Err(NotifyError::permanent(
                "rendering template of api_key failed",
            ));
        }
        r.finish()?;
        Ok((calls, key.trim().to_string()))
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let (calls, key) = self.calls(ctx, alerts)?;
        let auth = HeaderValue::from_str(&format!("GenieKey {key}"))
            .map_err(|_| NotifyError::permanent("api_key is not a valid header value"))?;
        let _permit = self.http.permit().await;
        for call in calls {
            let req = self
                .http
                .client
                .request(call.method, &call.url)
                .header(CONTENT_TYPE, "application/json")
                .header(reqwest::header::USER_AGENT, USER_AGENT)
                .body(call.body);
            let mut req = self
                .http
                .authorize(req)
                .map_err(|e| NotifyError::permanent(e.to_string()))?
                .build()
                .map_err(|e| transport_error(&e))?;
            // The key replaces any `authorization` of http_config, as upstream's
            // client leaves a request that has one alone.
            req.headers_mut().insert(AUTHORIZATION, auth.clone());
            let resp = self
                .http
                .client
                .execute(req)
                .await
                .map_err(|e| transport_error(&e))?;
            check_response(resp, ctx.now(), RETRY_CODES).await?;
        }
        Ok(())
    }
}

impl Notifier for OpsGenie {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::deserialize_yaml;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{Reply, TestServer, alert_with, env_with};
    use crate::notify::stages::testutil::*;

    const HASH: &str = "cc9772a1ec901d26ef71dae861793e4d08979fa5030a3f0a5f3ba549f1f2d0b6";

    fn labelled(name: &str, ends: Option<i64>) -> Arc<Alert> {
        alert_with(
            &[("alertname", name), ("team", "db"), ("instance", "db-1")],
            &[("summary", "disk full")],
            ends,
        )
    }

    /// The built-in templates plus stand-ins for this integration's defaults.
    fn env() -> IntegrationEnv {
        env_with(
            r#"{{ define "opsgenie.default.message" }}stub-message{{ end }}{{ define "opsgenie.default.description" }}stub-description{{ end }}{{ define "opsgenie.default.source" }}stub-source{{ end }}"#,
        )
    }

    /// A notifier from `yaml` resolved against a `global` section whose Opsgenie URL
    /// points at `server` and that carries the API key.
    fn notifier(server: &TestServer, yaml: &str) -> OpsGenie {
        let global: GlobalConfig = deserialize_yaml(&format!(
            "opsgenie_api_url: {}\nopsgenie_api_key: global-key\n",
            server.url("")
        ))
        .unwrap();
        let mut c: OpsGenieConfig = deserialize_yaml(yaml).unwrap();
        c.resolve(&global).unwrap();
        OpsGenie::new(&c, env()).unwrap()
    }

    const FULL: &str = r#"
message: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.instance }}'
description: '{{ .CommonAnnotations.summary }}'
source: larum
details: {team: override, runbook: 'http://rb/{{ .CommonLabels.alertname }}'}
responders:
  - {name: '{{ .CommonLabels.team }}-oncall', type: schedule}
  - {id: 4513b7ea, type: team}
  - {name: 'ops,  sre ,', type: teams}
  - {name: '{{ .CommonLabels.nope }}', type: '{{ .CommonLabels.nope }}'}
  - {username: 'jane@example.com', type: user}
tags: ' prod,{{ .CommonLabels.team }},, db '
note: see runbook
priority: P2
entity: '{{ .CommonLabels.instance }}'
actions: 'restart,ping'
"#;

    #[tokio::test]
    async fn creates_alert_like_the_alert_api() {
        let server = TestServer::start().await;
        server.always(Reply::new(
            202,
            r#"{"result":"Request will be processed","requestId":"x"}"#,
        ));
        let n = notifier(&server, FULL);
        n.notify(&ctx_at(0), &[labelled("DiskFull", None)])
            .await
            .unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(req.uri, "/v2/alerts");
        assert_eq!(req.header("authorization"), "GenieKey global-key");
        assert_eq!(req.header("content-type"), "application/json");
        assert!(req.header("user-agent").starts_with("Alertmanager/"));
        let v = req.json();
        assert_eq!(v["alias"], HASH);
        assert_eq!(v["message"], "DiskFull on db-1");
        assert_eq!(v["description"], "disk full");
        assert_eq!(v["source"], "larum");
        // Common labels, overridden by the configured details.
        assert_eq!(
            v["details"],
            serde_json::json!({"alertname": "DiskFull", "instance": "db-1", "team": "override", "runbook": "http://rb/DiskFull"})
        );
        assert_eq!(
            v["responders"],
            serde_json::json!([
                {"name": "db-oncall", "type": "schedule"},
                {"id": "4513b7ea", "type": "team"},
                {"name": "ops", "type": "team"},
                {"name": "  sre ", "type": "team"},
                {"username": "jane@example.com", "type": "user"},
            ])
        );
        assert_eq!(v["tags"], serde_json::json!(["prod", "db", " db"]));
        assert_eq!(v["note"], "see runbook");
        assert_eq!(v["priority"], "P2");
        assert_eq!(v["entity"], "db-1");
        assert_eq!(v["actions"], serde_json::json!(["restart", "ping"]));
    }

    #[tokio::test]
    async fn closes_by_alias_when_resolved() {
        let server = TestServer::start().await;
        let n = notifier(&server, "api_key: own-key\nsource: '{{ .Status }}'\n");
        n.notify(&ctx_at(0), &[alert("A", Some(-1))]).await.unwrap();
        let req = server.single();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.uri,
            format!("/v2/alerts/{HASH}/close?identifierType=alias")
        );
        assert_eq!(req.header("authorization"), "GenieKey own-key");
        assert_eq!(req.json(), serde_json::json!({"source": "resolved"}));
    }

    #[tokio::test]
    async fn update_alerts_puts_message_and_description() {
        let server = TestServer::start().await;
        let n = notifier(&server, "update_alerts: true\nmessage: m\ndescription: d\n");
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 3);
        assert_eq!(
            (reqs[0].method.as_str(), reqs[0].uri.as_str()),
            ("POST", "/v2/alerts")
        );
        assert_eq!(reqs[1].method, "PUT");
        assert_eq!(
            reqs[1].uri,
            format!("/v2/alerts/{HASH}/message?identifierType=alias")
        );
        assert_eq!(reqs[1].json(), serde_json::json!({"message": "m"}));
        assert_eq!(reqs[2].method, "PUT");
        assert_eq!(
            reqs[2].uri,
            format!("/v2/alerts/{HASH}/description?identifierType=alias")
        );
        assert_eq!(reqs[2].json(), serde_json::json!({"description": "d"}));
        assert!(
            reqs.iter()
                .all(|r| r.header("authorization") == "GenieKey global-key")
        );
    }

    #[tokio::test]
    async fn retries_like_upstream_and_stops_at_the_first_failure() {
        let server = TestServer::start().await;
        let n = notifier(&server, "update_alerts: true\nmessage: m\n");
        let alerts = [alert("A", None)];
        server.script([
            Reply::new(503, "unavailable"),
            Reply::new(429, "too many"),
            Reply::new(422, r#"{"message":"Request body is not processable"}"#),
        ]);
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "5xx is retried");
        assert_eq!(e.message, "unexpected status code 503: unavailable");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(e.retry, "429 is retried");
        let e = n.notify(&ctx_at(0), &alerts).await.unwrap_err();
        assert!(!e.retry, "422 is not retried");
        assert!(e.message.contains("not processable"), "{}", e.message);
        // The failed creates were not followed by the updates.
        assert_eq!(server.requests().len(), 3);
        assert!(!e.message.contains("global-key"));
    }

    #[tokio::test]
    async fn message_is_cut_to_130_characters() {
        let server = TestServer::start().await;
        let n = notifier(&server, &format!("message: '{}'\n", "ü".repeat(300)));
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let v = server.single().json();
        let message = v["message"].as_str().unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_RUNES);
        assert_eq!(message, format!("{}…", "ü".repeat(129)));
    }

    #[tokio::test]
    async fn key_file_is_read_at_send_time() {
        let server = TestServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "key-one\n").unwrap();
        let n = notifier(
            &server,
            &format!("api_key_file: {}\nmessage: m\n", path.display()),
        );
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        std::fs::write(&path, "key-two").unwrap();
        n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].header("authorization"), "GenieKey key-one");
        assert_eq!(reqs[1].header("authorization"), "GenieKey key-two");
        std::fs::remove_file(&path).unwrap();
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(
            !e.retry && e.message.contains("api_key_file"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn template_errors_are_permanent() {
        let server = TestServer::start().await;
        let n = notifier(&server, "message: m\nnote: '{{ .Nope.Deeper }}'\n");
        let e = n.notify(&ctx_at(0), &[alert("A", None)]).await.unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("note"), "{}", e.message);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn built_from_a_config_file() {
        let server = TestServer::start().await;
        let yaml = format!(
            "global:\n  opsgenie_api_url: {}\n  opsgenie_api_key: gk\nroute: {{receiver: r}}\nreceivers:\n  - name: r\n    opsgenie_configs:\n      - message: m\n        send_resolved: false\n",
            server.url("/")
        );
        let config = crate::config::Config::parse(&yaml, Default::default()).unwrap();
        let built = crate::notify::integrations::build(&config.receivers[0], &env());
        assert_eq!(built.len(), 1);
        assert_eq!(built[0].name, "opsgenie");
        assert!(!built[0].send_resolved);
        built[0]
            .notifier
            .notify(&ctx_at(0), &[alert("A", None)])
            .await
            .unwrap();
        assert_eq!(server.single().header("authorization"), "GenieKey gk");
    }
}
