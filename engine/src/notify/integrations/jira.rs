//! The Jira integration: one issue per alert group, found again by its label
//! `ALERT{<group key hash>}`.
//!
//! Each notification, as upstream v0.34 does it:
//! 1. searches the project for the group's issue (JQL on the label; open issues, or
//!    with `reopen_transition` and `reopen_duration` also issues resolved within that
//!    duration; issues resolved as `wont_fix_resolution` are left out). The search
//!    uses `POST {api_url}/search` (REST v2), except for Jira Cloud (`api_type:
//!    cloud`, or `auto` with an `atlassian.net` host), which has only
//!    `POST /rest/api/3/search/jql`;
//! 2. creates the issue (`POST issue`) when there is none and the group fires (a
//!    resolved group without an issue sends nothing more), or updates it
//!    (`PUT issue/KEY`, leaving out summary and description whose `enable_update` is
//!    false);
//! 3. runs `resolve_transition` when the group is resolved and the issue is not done,
//!    or `reopen_transition` when the group fires and the issue is done (the
//!    transition's id is looked up by name with `GET issue/KEY/transitions`).
//!
//! Issue fields: `project.key`, `issuetype.name`, `summary` (cut to 255 characters),
//! `description` (cut to 32767 characters; with an `api_url` ending in `/3` it must
//! render to Atlassian Document Format JSON, else it is plain text), `labels`
//! (rendered, plus the group label, sorted), `priority.name` when not empty, and the
//! `fields` (names and string values rendered; a rendered value that reads as YAML
//! structure, a number or a boolean is sent as that, like upstream). Credentials come
//! from `http_config` (basic auth for Jira Cloud API tokens, Bearer for personal
//! access tokens). 5xx and 429 answers are retried; like upstream, a request that gets
//! no answer is not.
//!
//! Difference: every field is rendered before the search, so a template error fails
//! the notification even when upstream would have stopped early (a resolved group
//! without an issue).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{HttpClient, HttpConfigError, USER_AGENT, redact, retry_after, status_error};
use super::truncate::in_runes;
use super::{
    IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, group_key_hash, template_data,
};
use crate::alert::Alert;
use crate::config::receiver::jira::JiraConfig;
use crate::notify::stages::NotifyContext;

/// Longest summary Jira accepts, in characters.
pub const MAX_SUMMARY_RUNES: usize = 255;
/// Longest description Jira accepts, in characters.
pub const MAX_DESCRIPTION_RUNES: usize = 32767;
/// Statuses retried besides 5xx.
const RETRY_CODES: &[u16] = &[429];

/// Go's `%q` of a string (`strconv.Quote`), as upstream writes JQL values.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A rendered `fields` value as upstream reads it: YAML structure, numbers and
/// booleans (YAML 1.1, as Go's yaml.v2 reads them) become JSON values; an empty text
/// becomes `null`; anything else stays text.
pub fn yaml_value(rendered: &str) -> Value {
    if rendered.trim().is_empty() {
        return Value::Null;
    }
    match rendered.trim() {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => return Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => return Value::Bool(false),
        _ => {}
    }
    match serde_saphyr::from_str::<Value>(rendered) {
        Ok(Value::String(_)) | Err(_) => Value::String(rendered.to_string()),
        Ok(v) => v,
    }
}

/// The issue fields of one notification, rendered.
#[derive(Debug, Clone, PartialEq)]
struct Rendered {
    project: String,
    issue_type: String,
    summary: String,
    description: Option<Value>,
    labels: Vec<String>,
    priority: String,
    fields: Map<String, Value>,
}

#[derive(Deserialize)]
struct SearchResult {
    #[serde(default)]
    issues: Vec<FoundIssue>,
}

#[derive(Deserialize)]
struct FoundIssue {
    #[serde(default)]
    key: String,
    #[serde(default)]
    fields: Option<FoundFields>,
}

#[derive(Deserialize)]
struct FoundFields {
    #[serde(default)]
    status: Option<FoundStatus>,
}

#[derive(Deserialize)]
struct FoundStatus {
    #[serde(default, rename = "statusCategory")]
    status_category: Option<Category>,
}

#[derive(Deserialize)]
struct Category {
    #[serde(default)]
    key: String,
}

#[derive(Deserialize)]
struct Transitions {
    #[serde(default)]
    transitions: Vec<Transition>,
}

#[derive(Deserialize)]
struct Transition {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

impl FoundIssue {
    /// The status category key (`done` for resolved issues), when the answer had one.
    fn category(&self) -> Option<&str> {
        let status = self.fields.as_ref()?.status.as_ref()?;
        Some(
            status
                .status_category
                .as_ref()
                .map_or("", |c| c.key.as_str()),
        )
    }
}

/// Sends Jira notifications for one `jira_configs` entry.
pub struct Jira {
    config: JiraConfig,
    http: HttpClient,
    env: IntegrationEnv,
}

impl Jira {
    /// The notifier for `config` (already resolved from `global`).
    pub fn new(config: &JiraConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        Ok(Jira {
            config: config.clone(),
            http,
            env,
        })
    }

    fn api_url(&self) -> Result<url::Url, NotifyError> {
        let base = self
            .config
            .api_url
            .as_ref()
            .ok_or_else(|| NotifyError::permanent("jira api_url is not set"))?;
        url::Url::parse(base.as_str())
            .map_err(|e| NotifyError::permanent(format!("jira api_url: {e}")))
    }

    /// `api_url` with `path` appended (Go's `URL.JoinPath`).
    fn join(&self, path: &str) -> Result<url::Url, NotifyError> {
        let mut url = self.api_url()?;
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        Ok(url)
    }

    /// Whether `api_url` is REST API v3 (descriptions are ADF JSON).
    fn is_v3(&self) -> bool {
        self.config
            .api_url
            .as_ref()
            .and_then(|u| url::Url::parse(u.as_str()).ok())
            .is_some_and(|u| u.path().trim_end_matches('/').ends_with("/3"))
    }

    /// The search endpoint (see the module documentation).
    fn search_url(&self) -> Result<url::Url, NotifyError> {
        let api = self.api_url()?;
        let cloud = self.config.api_type == "cloud"
            || (self.config.api_type == "auto"
                && api.host_str().is_some_and(|h| h.ends_with("atlassian.net")));
        if !cloud {
            return self.join("/search");
        }
        let url = self.join("/search/jql")?.to_string();
        let url = url.replacen("/rest/api/2/", "/rest/api/3/", 1);
        url::Url::parse(&url).map_err(|e| NotifyError::permanent(format!("jira api_url: {e}")))
    }

    fn render(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
        group: &str,
    ) -> Result<Rendered, NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let project = r.text("project", &c.project);
        let summary = r.text("summary", &c.summary.template);
        let issue_type = r.text("issue_type", &c.issue_type);
        let mut fields = Map::new();
        for (k, v) in &c.fields {
            let key = r.text("fields", k);
            let value = render_value(&mut r, v);
            fields.insert(key, value);
        }
        let description = r.text("description", &c.description.template);
        let mut labels: Vec<String> = c.labels.iter().map(|l| r.text("labels", l)).collect();
        let priority = r.text("priority", &c.priority);
        r.finish()?;

        let (summary, cut) = in_runes(&summary, MAX_SUMMARY_RUNES);
        if cut {
            tracing::warn!(receiver = %ctx.flush.receiver, max_runes = MAX_SUMMARY_RUNES, "truncated Jira summary");
        }
        let (description, cut) = in_runes(&description, MAX_DESCRIPTION_RUNES);
        if cut {
            tracing::warn!(receiver = %ctx.flush.receiver, max_runes = MAX_DESCRIPTION_RUNES, "truncated Jira description");
        }
        let description = if self.is_v3() {
            let trimmed = description.trim();
            if trimmed.is_empty() {
                None
            } else {
                Some(serde_json::from_str::<Value>(trimmed).map_err(|_| {
                    NotifyError::permanent("description template: invalid JSON for API v3")
                })?)
            }
        } else if description.is_empty() {
            None
        } else {
            Some(Value::String(description))
        };
        labels.push(format!("ALERT{{{group}}}"));
        labels.sort();
        Ok(Rendered {
            project,
            issue_type,
            summary,
            description,
            labels,
            priority,
            fields,
        })
    }

    /// One API request; the answer's body on success.
    async fn request(
        &self,
        ctx: &NotifyContext,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, NotifyError> {
        let mut req = self
            .http
            .client
            .request(method, url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT_LANGUAGE, "en")
            .header(reqwest::header::USER_AGENT, USER_AGENT);
        if let Some(body) = body {
            let mut bytes = serde_json::to_vec(body)
                .map_err(|e| NotifyError::permanent(format!("encoding the request: {e}")))?;
            bytes.push(b'\n');
            req = req.body(bytes);
        }
        let req = self
            .http
            .authorize(req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        // Like upstream, a request without an answer is not retried.
        let no_answer = |e: reqwest::Error| NotifyError::permanent(redact(&e));
        let resp = req.send().await.map_err(no_answer)?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(&resp, ctx.now());
        let text = resp.bytes().await.map_err(no_answer)?;
        if (200..300).contains(&status) {
            return Ok(text.to_vec());
        }
        let body = String::from_utf8_lossy(&text);
        Err(status_error(status, body.trim(), retry_after, RETRY_CODES))
    }

    fn jql(&self, project: &str, group: &str, firing: bool) -> String {
        let c = &self.config;
        let mut jql = String::new();
        if !c.wont_fix_resolution.is_empty() {
            jql.push_str(&format!(
                "(resolution is EMPTY or resolution != {}) and ",
                go_quote(&c.wont_fix_resolution)
            ));
        }
        let reopen_minutes = c.reopen_duration.std().as_secs() / 60;
        if firing && !c.reopen_transition.is_empty() && reopen_minutes > 0 {
            jql.push_str(&format!(
                "(resolutiondate is EMPTY OR resolutiondate >= -{reopen_minutes}m) and "
            ));
        } else {
            jql.push_str("statusCategory != Done and ");
        }
        jql.push_str(&format!(
            "project={} and labels={} order by status ASC,resolutiondate DESC",
            go_quote(project),
            go_quote(&format!("ALERT{{{group}}}"))
        ));
        jql
    }

    async fn search(
        &self,
        ctx: &NotifyContext,
        project: &str,
        group: &str,
        firing: bool,
    ) -> Result<Option<FoundIssue>, NotifyError> {
        let jql = self.jql(project, group, firing);
        tracing::debug!(jql = %jql, "searching for the group's Jira issue");
        let body = json!({"fields": ["status"], "jql": jql, "maxResults": 2});
        let answer = self
            .request(ctx, reqwest::Method::POST, self.search_url()?, Some(&body))
            .await
            .map_err(|mut e| {
                e.message = format!(
                    "failed to look up existing issues: HTTP request to JIRA API: {}",
                    e.message
                );
                e
            })?;
        let result: SearchResult = serde_json::from_slice(&answer).map_err(|e| {
            NotifyError::permanent(format!("failed to look up existing issues: {e}"))
        })?;
        if result.issues.len() > 1 {
            tracing::warn!(
                selected_issue = %result.issues[0].key,
                "more than one issue matched, selecting the most recently resolved"
            );
        }
        Ok(result.issues.into_iter().next())
    }

    async fn transition(
        &self,
        ctx: &NotifyContext,
        issue: &FoundIssue,
        firing: bool,
    ) -> Result<(), NotifyError> {
        let Some(category) = issue.category() else {
            return Ok(());
        };
        if issue.key.is_empty() {
            return Ok(());
        }
        let done = category == "done";
        let name = match (firing, done) {
            (true, true) => &self.config.reopen_transition,
            (false, false) => &self.config.resolve_transition,
            _ => return Ok(()),
        };
        if name.is_empty() {
            return Ok(());
        }
        let path = format!("issue/{}/transitions", issue.key);
        let answer = self
            .request(ctx, reqwest::Method::GET, self.join(&path)?, None)
            .await?;
        let list: Transitions = serde_json::from_slice(&answer).map_err(|e| {
            NotifyError::permanent(format!("decoding the transitions of {}: {e}", issue.key))
        })?;
        let Some(id) = list
            .transitions
            .into_iter()
            .find(|t| &t.name == name)
            .map(|t| t.id)
        else {
            return Err(NotifyError::permanent(format!(
                "can't find transition {name} for issue {}",
                issue.key
            )));
        };
        tracing::debug!(issue_key = %issue.key, transition = %name, "transitioning Jira issue");
        let body = json!({"transition": {"id": id}});
        self.request(ctx, reqwest::Method::POST, self.join(&path)?, Some(&body))
            .await?;
        Ok(())
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let group = group_key_hash(ctx);
        let firing = alerts.iter().any(|a| !ctx.is_resolved(a));
        let rendered = self.render(ctx, alerts, &group)?;
        let _permit = self.http.permit().await;
        let existing = self.search(ctx, &rendered.project, &group, firing).await?;
        if existing.is_none() && !firing {
            return Ok(());
        }
        let mut fields = Map::new();
        fields.insert("project".into(), json!({"key": rendered.project}));
        fields.insert("issuetype".into(), json!({"name": rendered.issue_type}));
        fields.insert("labels".into(), json!(rendered.labels));
        let updating = existing.is_some();
        if !updating || self.config.summary.enable_update() {
            fields.insert("summary".into(), json!(rendered.summary));
        }
        if let Some(d) = rendered.description
            && (!updating || self.config.description.enable_update())
        {
            fields.insert("description".into(), d);
        }
        if !rendered.priority.is_empty() {
            fields.insert("priority".into(), json!({"name": rendered.priority}));
        }
        for (k, v) in rendered.fields {
            fields.insert(k, v);
        }
        let body = json!({ "fields": fields });
        let (method, path) = match &existing {
            Some(issue) => (reqwest::Method::PUT, format!("issue/{}", issue.key)),
            None => (reqwest::Method::POST, "issue".to_string()),
        };
        tracing::debug!(method = %method, path = %path, "writing Jira issue");
        self.request(ctx, method.clone(), self.join(&path)?, Some(&body))
            .await
            .map_err(|mut e| {
                e.message = format!("failed to {method} request to {path:?}: {}", e.message);
                e
            })?;
        match existing {
            Some(issue) => self.transition(ctx, &issue, firing).await,
            None => Ok(()),
        }
    }
}

/// Renders every text in a `fields` value (map keys too), like upstream's
/// `DeepCopyWithTemplate`.
fn render_value(r: &mut Renderer<'_>, v: &Value) -> Value {
    match v {
        Value::String(s) => yaml_value(&r.text("fields", s)),
        Value::Array(items) => Value::Array(items.iter().map(|i| render_value(r, i)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (r.text("fields", k), render_value(r, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Notifier for Jira {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{Recorded, Reply, TestServer};
    use crate::notify::stages::FailureReason;
    use crate::notify::stages::testutil::*;

    const NONE: &str = r#"{"issues":[]}"#;

    fn open_issue(category: &str) -> String {
        format!(
            r#"{{"issues":[{{"id":"10001","key":"OPS-7","fields":{{"status":{{"name":"x","statusCategory":{{"key":"{category}"}}}}}}}}]}}"#
        )
    }

    fn notifier(server: &TestServer, api_path: &str, extra: &str) -> Jira {
        let mut yaml = format!(
            "api_url: '{}'\nproject: OPS\nissue_type: Bug\n{extra}",
            server.url(api_path)
        );
        for (key, default) in [
            (
                "summary",
                "'[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'",
            ),
            ("description", "'{{ len .Alerts }} alerts'"),
            ("priority", "'{{ if eq .Status \"firing\" }}High{{ end }}'"),
            (
                "http_config",
                "{basic_auth: {username: 'me@example.com', password: 'api-token'}}",
            ),
        ] {
            if !extra.contains(&format!("{key}:")) {
                yaml.push_str(&format!("{key}: {default}\n"));
            }
        }
        let mut c: JiraConfig = crate::config::deserialize_yaml(&yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        Jira::new(&c, IntegrationEnv::with_defaults("http://am")).unwrap()
    }

    fn label() -> String {
        format!("ALERT{{{}}}", group_key_hash(&ctx_at(0)))
    }

    fn assert_common_headers(r: &Recorded) {
        // base64("me@example.com:api-token")
        assert_eq!(
            r.header("authorization"),
            "Basic bWVAZXhhbXBsZS5jb206YXBpLXRva2Vu"
        );
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("accept-language"), "en");
    }

    #[tokio::test]
    async fn search_then_create() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, NONE),
            Reply::new(201, r#"{"id":"10001","key":"OPS-7"}"#),
        ]);
        let n = notifier(
            &server,
            "/rest/api/2",
            "labels: ['{{ .CommonLabels.alertname }}', alertmanager]\nfields:\n  customfield_10001: '{{ .Receiver }}'\n  customfield_10002: '{value: red}'\n  customfield_10003: ['{{ len .Alerts }}', 'a']\n",
        );
        let ctx = ctx_at(0);
        n.notify(&ctx, &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2);
        let s = &reqs[0];
        assert_eq!(
            (s.method.as_str(), s.uri.as_str()),
            ("POST", "/rest/api/2/search")
        );
        assert_common_headers(s);
        let body = s.json();
        assert_eq!(
            body["jql"],
            format!(
                "statusCategory != Done and project=\"OPS\" and labels=\"{}\" order by status ASC,resolutiondate DESC",
                label()
            )
        );
        assert_eq!(body["maxResults"], 2);
        assert_eq!(body["fields"], json!(["status"]));

        let c = &reqs[1];
        assert_eq!(
            (c.method.as_str(), c.uri.as_str()),
            ("POST", "/rest/api/2/issue")
        );
        assert_common_headers(c);
        let f = &c.json()["fields"];
        assert_eq!(f["project"], json!({"key": "OPS"}));
        assert_eq!(f["issuetype"], json!({"name": "Bug"}));
        assert_eq!(f["summary"], "[FIRING] Down");
        assert_eq!(f["description"], "1 alerts");
        assert_eq!(f["priority"], json!({"name": "High"}));
        assert_eq!(f["labels"], json!([label(), "Down", "alertmanager"]));
        assert_eq!(f["customfield_10001"], "team");
        assert_eq!(f["customfield_10002"], json!({"value": "red"}));
        assert_eq!(f["customfield_10003"], json!([1, "a"]));
    }

    #[tokio::test]
    async fn search_then_update_leaves_out_fields_not_to_update() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, &open_issue("indeterminate")),
            Reply::new(204, ""),
        ]);
        let n = notifier(
            &server,
            "/rest/api/2/",
            "description: {template: 'd', enable_update: false}\nresolve_transition: Done\n",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2, "a firing open issue needs no transition");
        let u = &reqs[1];
        assert_eq!(
            (u.method.as_str(), u.uri.as_str()),
            ("PUT", "/rest/api/2/issue/OPS-7")
        );
        let f = &u.json()["fields"];
        assert_eq!(f["summary"], "[FIRING] Down");
        assert!(f.get("description").is_none(), "{f}");
        assert_eq!(f["project"]["key"], "OPS");
    }

    #[tokio::test]
    async fn resolved_groups_resolve_their_issue_through_the_transition() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, &open_issue("new")),
            Reply::new(204, ""),
            Reply::new(
                200,
                r#"{"transitions":[{"id":"11","name":"Start"},{"id":"31","name":"Done"}]}"#,
            ),
            Reply::new(204, ""),
        ]);
        let n = notifier(
            &server,
            "/rest/api/2",
            "resolve_transition: Done\nreopen_transition: Reopen\n",
        );
        n.notify(&ctx_at(0), &[alert("Down", Some(-5))])
            .await
            .unwrap();
        let reqs = server.requests();
        assert_eq!(reqs.len(), 4);
        assert!(
            reqs[0].json()["jql"]
                .as_str()
                .unwrap()
                .starts_with("statusCategory != Done and project=\"OPS\""),
            "resolved groups search open issues only"
        );
        assert_eq!(
            (reqs[1].method.as_str(), reqs[1].uri.as_str()),
            ("PUT", "/rest/api/2/issue/OPS-7")
        );
        assert!(reqs[1].json()["fields"].get("priority").is_none());
        assert_eq!(
            (reqs[2].method.as_str(), reqs[2].uri.as_str()),
            ("GET", "/rest/api/2/issue/OPS-7/transitions")
        );
        assert_common_headers(&reqs[2]);
        assert_eq!(
            (reqs[3].method.as_str(), reqs[3].uri.as_str()),
            ("POST", "/rest/api/2/issue/OPS-7/transitions")
        );
        assert_eq!(reqs[3].json(), json!({"transition": {"id": "31"}}));
    }

    #[tokio::test]
    async fn firing_again_reopens_a_recently_resolved_issue() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, &open_issue("done")),
            Reply::new(204, ""),
            Reply::new(200, r#"{"transitions":[{"id":"41","name":"Reopen"}]}"#),
            Reply::new(204, ""),
        ]);
        let n = notifier(
            &server,
            "/rest/api/2",
            "reopen_transition: Reopen\nreopen_duration: 1h30m\nwont_fix_resolution: \"Won't Fix\"\n",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(
            reqs[0].json()["jql"],
            format!(
                "(resolution is EMPTY or resolution != \"Won't Fix\") and (resolutiondate is EMPTY OR resolutiondate >= -90m) and project=\"OPS\" and labels=\"{}\" order by status ASC,resolutiondate DESC",
                label()
            )
        );
        assert_eq!(reqs.len(), 4);
        assert_eq!(reqs[3].uri, "/rest/api/2/issue/OPS-7/transitions");
        assert_eq!(reqs[3].json(), json!({"transition": {"id": "41"}}));
    }

    #[tokio::test]
    async fn resolved_groups_without_an_issue_create_none() {
        let server = TestServer::start().await;
        server.script([Reply::new(200, NONE)]);
        let n = notifier(&server, "/rest/api/2", "");
        n.notify(&ctx_at(0), &[alert("Down", Some(-5))])
            .await
            .unwrap();
        assert_eq!(server.single().uri, "/rest/api/2/search");
    }

    #[tokio::test]
    async fn cloud_v3_searches_with_search_jql_and_sends_adf_descriptions() {
        let server = TestServer::start().await;
        server.script([Reply::new(200, NONE), Reply::new(201, "{}")]);
        let adf = r#"{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"{{ .Status }}"}]}]}"#;
        let n = notifier(
            &server,
            "/rest/api/3",
            &format!(
                "api_type: cloud\ndescription: '{adf}'\nhttp_config: {{authorization: {{credentials: pat-123}}}}\n"
            ),
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        assert_eq!(reqs[0].uri, "/rest/api/3/search/jql");
        assert_eq!(reqs[0].header("authorization"), "Bearer pat-123");
        assert_eq!(reqs[1].uri, "/rest/api/3/issue");
        let d = &reqs[1].json()["fields"]["description"];
        assert_eq!(d["type"], "doc");
        assert_eq!(d["content"][0]["content"][0]["text"], "firing");

        // A v3 description that is not JSON fails before any request.
        let server = TestServer::start().await;
        let n = notifier(&server, "/rest/api/3", "description: 'plain text'\n");
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "description template: invalid JSON for API v3");
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn search_paths_follow_api_type() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, NONE));
        // cloud with a v2 URL searches v3 but writes v2.
        let n = notifier(&server, "/rest/api/2", "api_type: cloud\n");
        n.notify(&ctx_at(0), &[alert("Down", Some(-1))])
            .await
            .unwrap();
        // datacenter always searches /search.
        let n = notifier(
            &server,
            "/rest/api/3",
            "api_type: datacenter\ndescription: ''\n",
        );
        n.notify(&ctx_at(0), &[alert("Down", Some(-1))])
            .await
            .unwrap();
        let uris: Vec<String> = server.requests().into_iter().map(|r| r.uri).collect();
        assert_eq!(uris, ["/rest/api/3/search/jql", "/rest/api/3/search"]);
    }

    #[tokio::test]
    async fn retries_server_errors_and_429_but_not_client_errors() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(503, "down"),
            Reply::new(429, "slow down"),
            Reply::new(200, NONE),
            Reply::new(
                400,
                r#"{"errorMessages":[],"errors":{"priority":"invalid"}}"#,
            ),
        ]);
        let n = notifier(&server, "/rest/api/2", "");
        let ctx = ctx_at(0);
        let a = [alert("Down", None)];
        let e = n.notify(&ctx, &a).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(
            e.message,
            "failed to look up existing issues: HTTP request to JIRA API: unexpected status code 503: down"
        );
        let e = n.notify(&ctx, &a).await.unwrap_err();
        assert!(e.retry, "429 is retried even without Retry-After");
        assert_eq!(e.reason, FailureReason::RateLimited);
        let e = n.notify(&ctx, &a).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(
            e.message,
            r#"failed to POST request to "issue": unexpected status code 400: {"errorMessages":[],"errors":{"priority":"invalid"}}"#
        );
    }

    #[tokio::test]
    async fn long_summaries_are_cut_to_255_characters() {
        let server = TestServer::start().await;
        server.script([Reply::new(200, NONE), Reply::new(201, "{}")]);
        let long = "ü".repeat(300);
        let n = notifier(&server, "/rest/api/2", &format!("summary: '{long}'\n"));
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let summary = server.requests()[1].json()["fields"]["summary"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(summary.chars().count(), 255);
        assert!(summary.ends_with("ü…"), "{summary}");
    }

    #[tokio::test]
    async fn missing_transitions_and_template_errors_fail_permanently() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(200, &open_issue("indeterminate")),
            Reply::new(204, ""),
            Reply::new(200, r#"{"transitions":[{"id":"1","name":"Close"}]}"#),
        ]);
        let n = notifier(&server, "/rest/api/2", "resolve_transition: Done\n");
        let e = n
            .notify(&ctx_at(0), &[alert("Down", Some(-1))])
            .await
            .unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.message, "can't find transition Done for issue OPS-7");

        let server = TestServer::start().await;
        let n = notifier(&server, "/rest/api/2", "priority: '{{ .Nope.Deeper }}'\n");
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("priority"), "{}", e.message);
        assert!(server.requests().is_empty());
    }

    #[test]
    fn quoting_and_field_values_follow_go() {
        assert_eq!(go_quote("Won't \"Fix\"\n\\"), r#""Won't \"Fix\"\n\\""#);
        assert_eq!(yaml_value("42"), json!(42));
        assert_eq!(yaml_value("yes"), json!(true));
        assert_eq!(yaml_value("[a, b]"), json!(["a", "b"]));
        assert_eq!(yaml_value(""), Value::Null);
        assert_eq!(yaml_value("plain text"), json!("plain text"));
        assert_eq!(yaml_value("a: b"), json!({"a": "b"}));
    }
}
