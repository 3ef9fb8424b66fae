//! Sending a JSON document the way upstream's `notify.PostJSON` does, shared by the
//! chat integrations (Slack, Mattermost, Rocket.Chat, Discord, Teams, Webex, Telegram).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::NotifyError;
use super::http::{HttpClient, USER_AGENT, read_secret, transport_error};
use crate::alert::Alert;
use crate::config::secret::SecretUrl;
use crate::notify::stages::NotifyContext;

/// Encodes `body` like Go's `json.Encoder` (a trailing newline).
pub fn encode_json(body: &impl Serialize) -> Result<Vec<u8>, NotifyError> {
    let mut out = serde_json::to_vec(body)
        .map_err(|e| NotifyError::permanent(format!("encoding the message: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// POSTs `body` as `application/json` to `url` with the client's credentials, waiting
/// for a place among the requests in flight; `timeout` zero means none. A request
/// without an answer is retried; its error never shows the URL.
pub async fn post_json(
    http: &HttpClient,
    url: &str,
    body: Vec<u8>,
    timeout: Duration,
    extra_headers: &[(&str, &str)],
) -> Result<reqwest::Response, NotifyError> {
    let _permit = http.permit().await;
    let mut req = http
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, USER_AGENT)
        .body(body);
    for (name, value) in extra_headers {
        req = req.header(*name, *value);
    }
    if timeout > Duration::ZERO {
        req = req.timeout(timeout);
    }
    let req = http
        .authorize(req)
        .map_err(|e| NotifyError::permanent(e.to_string()))?;
    req.send().await.map_err(|e| transport_error(&e))
}

/// A URL given inline or in a file (`webhook_url` / `webhook_url_file`), the file read
/// now; `field` names the config field in errors, which never show the URL.
pub fn secret_url(
    inline: Option<&SecretUrl>,
    file: &str,
    field: &str,
) -> Result<String, NotifyError> {
    let url = match inline {
        Some(u) => u.expose().to_string(),
        None => read_secret("", file, field)?,
    };
    if url.is_empty() {
        return Err(NotifyError::permanent(format!("{field} is empty")));
    }
    Ok(url)
}

/// Whether any alert fires at the flush time (upstream's `types.Alerts(..).Status()`).
pub fn any_firing(ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> bool {
    alerts.iter().any(|a| !ctx.is_resolved(a))
}

/// Prefixes an error's message (`channel "x": ...`), keeping its classification.
pub fn context(mut e: NotifyError, prefix: &str) -> NotifyError {
    e.message = format!("{prefix}: {}", e.message);
    e
}

#[cfg(test)]
pub(crate) mod testing {
    //! Test support: receivers parsed through the real config parser, so `global`
    //! defaults apply as in production.

    use crate::config::{Config, ParseOptions, Receiver};

    /// Parses a config with `global` (YAML mapping body, may be empty) and one
    /// receiver `r` whose body is `receiver` (YAML mapping entries, indented by 4).
    pub fn receiver(global: &str, receiver: &str) -> Receiver {
        let global = if global.trim().is_empty() {
            "global: {}".to_string()
        } else {
            format!("global:\n{global}")
        };
        let yaml =
            format!("{global}\nroute:\n  receiver: r\nreceivers:\n  - name: r\n{receiver}\n");
        let config = Config::parse(&yaml, ParseOptions::default())
            .unwrap_or_else(|e| panic!("config does not parse: {e}\n{yaml}"));
        config
            .receivers
            .into_iter()
            .find(|r| r.name == "r")
            .unwrap_or_else(|| unreachable!())
    }
}
