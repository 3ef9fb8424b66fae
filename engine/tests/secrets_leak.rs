//! Secrets never leak: the engine runs at debug level with a config holding a distinct
//! secret in every secret field (each integration type, `http_config` basic auth, bearer
//! and OAuth2 secrets, the web config's basic auth), notifies receivers that fail (an
//! endpoint answering 500 and a closed port), reloads (good and bad configs), and serves
//! the API and `/metrics`; every log line and response is scanned for every secret.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use support::process::{AmProcess, Target, http_client};

/// Every secret of the config, each a distinct string.
const SECRETS: &[&str] = &[
    "lk-smtp-password-s3cr3t",
    "lk-smtp-secret-s3cr3t",
    "lk-global-slack-url-s3cr3t",
    "lk-global-opsgenie-key-s3cr3t",
    "lk-global-victorops-key-s3cr3t",
    "lk-global-wechat-secret-s3cr3t",
    "lk-global-rocketchat-token-s3cr3t",
    "lk-global-rocketchat-tokenid-s3cr3t",
    "lk-global-basic-password-s3cr3t",
    "lk-discord-url-s3cr3t",
    "lk-email-password-s3cr3t",
    "lk-email-secret-s3cr3t",
    "lk-incidentio-token-s3cr3t",
    "lk-jira-password-s3cr3t",
    "lk-mattermost-url-s3cr3t",
    "lk-msteams-url-s3cr3t",
    "lk-msteamsv2-url-s3cr3t",
    "lk-opsgenie-key-s3cr3t",
    "lk-pagerduty-routing-s3cr3t",
    "lk-pushover-user-s3cr3t",
    "lk-pushover-token-s3cr3t",
    "lk-rocketchat-token-s3cr3t",
    "lk-rocketchat-tokenid-s3cr3t",
    "lk-slack-url-s3cr3t",
    "lk-sns-secret-key-s3cr3t",
    "lk-telegram-token-s3cr3t",
    "lk-victorops-key-s3cr3t",
    "lk-webex-bearer-s3cr3t",
    "lk-webhook-url-s3cr3t",
    "lk-webhook-oauth-s3cr3t",
    "lk-webhook-bearer-s3cr3t",
    "lk-wechat-secret-s3cr3t",
    "lk-web-password-s3cr3t",
    "lk-bad-url-s3cr3t",
];

fn config(failing: &str, closed: &str, group_interval: &str) -> String {
    format!(
        r#"global:
  smtp_smarthost: {closed}
  smtp_from: am@example.org
  smtp_auth_username: am
  smtp_auth_password: lk-smtp-password-s3cr3t
  smtp_auth_secret: lk-smtp-secret-s3cr3t
  smtp_require_tls: false
  slack_api_url: {failing}/slack/lk-global-slack-url-s3cr3t
  opsgenie_api_key: lk-global-opsgenie-key-s3cr3t
  opsgenie_api_url: {failing}/opsgenie/
  victorops_api_key: lk-global-victorops-key-s3cr3t
  victorops_api_url: {failing}/victorops/
  wechat_api_url: {failing}/wechat/
  wechat_api_secret: lk-global-wechat-secret-s3cr3t
  wechat_api_corp_id: corp
  rocketchat_api_url: {failing}/rocketchat/
  rocketchat_token: lk-global-rocketchat-token-s3cr3t
  rocketchat_token_id: lk-global-rocketchat-tokenid-s3cr3t
  telegram_api_url: {failing}
  webex_api_url: {failing}/webex
  jira_api_url: {failing}/jira/
  http_config:
    basic_auth:
      username: am
      password: lk-global-basic-password-s3cr3t
route:
  receiver: everything
  group_by: [alertname]
  group_wait: 100ms
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
- name: everything
  discord_configs:
  - webhook_url: {failing}/discord/lk-discord-url-s3cr3t
  email_configs:
  - to: oncall@example.org
    auth_username: am
    auth_password: lk-email-password-s3cr3t
    auth_secret: lk-email-secret-s3cr3t
  incidentio_configs:
  - url: {closed_url}/incidentio
    alert_source_token: lk-incidentio-token-s3cr3t
  jira_configs:
  - project: OPS
    issue_type: Bug
    http_config:
      basic_auth:
        username: jira
        password: lk-jira-password-s3cr3t
  mattermost_configs:
  - webhook_url: {failing}/mattermost/lk-mattermost-url-s3cr3t
  msteams_configs:
  - webhook_url: {failing}/msteams/lk-msteams-url-s3cr3t
  msteamsv2_configs:
  - webhook_url: {closed_url}/msteamsv2/lk-msteamsv2-url-s3cr3t
  opsgenie_configs:
  - api_key: lk-opsgenie-key-s3cr3t
  pagerduty_configs:
  - routing_key: lk-pagerduty-routing-s3cr3t
    url: {failing}/pagerduty
  pushover_configs:
  - user_key: lk-pushover-user-s3cr3t
    token: lk-pushover-token-s3cr3t
    http_config:
      proxy_url: {failing}
  rocketchat_configs:
  - channel: '#alerts'
    token: lk-rocketchat-token-s3cr3t
    token_id: lk-rocketchat-tokenid-s3cr3t
  slack_configs:
  - channel: '#alerts'
    api_url: {closed_url}/slack/lk-slack-url-s3cr3t
  - channel: '#global'
  sns_configs:
  - api_url: {failing}/sns
    topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts
    sigv4:
      region: eu-west-1
      access_key: AKIAEXAMPLE
      secret_key: lk-sns-secret-key-s3cr3t
  telegram_configs:
  - bot_token: lk-telegram-token-s3cr3t
    chat_id: -100123
  victorops_configs:
  - api_key: lk-victorops-key-s3cr3t
    routing_key: ops
  webex_configs:
  - room_id: room
    http_config:
      authorization:
        credentials: lk-webex-bearer-s3cr3t
  webhook_configs:
  - url: {failing}/webhook/lk-webhook-url-s3cr3t
    http_config:
      oauth2:
        client_id: am
        client_secret: lk-webhook-oauth-s3cr3t
        token_url: {failing}/token
  - url: {closed_url}/hook
    http_config:
      authorization:
        credentials: lk-webhook-bearer-s3cr3t
  wechat_configs:
  - to_user: '@all'
    api_secret: lk-wechat-secret-s3cr3t
"#,
        closed_url = format!("http://{closed}"),
    )
}

/// An HTTP endpoint answering 500 to everything; returns its base URL.
async fn failing_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .fallback(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "internal failure") });
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// A loopback address nothing listens on.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    address
}

fn leaks(what: &str, text: &str) -> Vec<String> {
    SECRETS
        .iter()
        .filter(|s| text.contains(*s))
        .map(|s| format!("{what} contains {s}"))
        .collect()
}

/// The integrations with at least one failed notification request.
fn failed_integrations(metrics: &str) -> Vec<String> {
    let mut out: Vec<String> = metrics
        .lines()
        .filter(|l| l.starts_with("alertmanager_notification_requests_failed_total{"))
        .filter(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|v| v > 0.0)
        })
        .filter_map(|l| {
            let rest = l.split("integration=\"").nth(1)?;
            Some(rest.split('"').next()?.to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_api_or_metrics() {
    let failing = failing_endpoint().await;
    let closed = closed_address();
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        format!(
            "basic_auth_users:\n  am: {}\n",
            bcrypt::hash("lk-web-password-s3cr3t", 4).unwrap()
        ),
    )
    .unwrap();
    let engine = AmProcess::start(
        &Target::larum(),
        &config(&failing, &closed, "1s"),
        &[
            "--log.level=debug".to_string(),
            format!("--web.config.file={}", web.display()),
        ],
    )
    .await
    .unwrap();
    let c = http_client();
    let get = |path: &str| {
        c.get(engine.url(path))
            .basic_auth("am", Some("lk-web-password-s3cr3t"))
    };
    let mut findings = Vec::new();
    let mut seen = String::new();

    let r = c
        .post(engine.url("/api/v2/alerts"))
        .basic_auth("am", Some("lk-web-password-s3cr3t"))
        .json(&serde_json::json!([{"labels": {"alertname": "LeakCheck"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A wrong password is refused; its text must not be logged either.
    let r = c
        .get(engine.url("/api/v2/status"))
        .basic_auth("am", Some("lk-bad-url-s3cr3t"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Wait until the integrations that can reach an endpoint have failed at least once.
    let expected = larum_engine::config::receiver::INTEGRATION_TYPES;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let metrics = get("/metrics").send().await.unwrap().text().await.unwrap();
        let failed = failed_integrations(&metrics);
        if expected.iter().all(|i| failed.iter().any(|f| f == i)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "integrations without a failed request after 90s: {:?}\n{}",
            expected
                .iter()
                .filter(|i| !failed.iter().any(|f| f == *i))
                .collect::<Vec<_>>(),
            engine.log().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A good reload, and a bad one whose error concerns a secret URL.
    std::fs::write(
        engine.dir().join("alertmanager.yml"),
        config(&failing, &closed, "2s"),
    )
    .unwrap();
    let r = c
        .post(engine.url("/-/reload"))
        .basic_auth("am", Some("lk-web-password-s3cr3t"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    std::fs::write(
        engine.dir().join("alertmanager.yml"),
        config(&failing, &closed, "2s").replace(
            &format!("{failing}/webhook/lk-webhook-url-s3cr3t"),
            "'http://exa mple/lk-bad-url-s3cr3t'",
        ),
    )
    .unwrap();
    let r = c
        .post(engine.url("/-/reload"))
        .basic_auth("am", Some("lk-web-password-s3cr3t"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let text = r.text().await.unwrap();
    findings.extend(leaks("the failed reload's answer", &text));
    seen.push_str(&text);

    for path in [
        "/api/v2/status",
        "/api/v2/receivers",
        "/api/v2/alerts",
        "/api/v2/alerts/groups",
        "/metrics",
    ] {
        let r = get(path).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let text = r.text().await.unwrap();
        findings.extend(leaks(path, &text));
        seen.push_str(&text);
    }
    // The config is shown, with its secrets masked.
    assert!(seen.contains("<secret>"), "no masked secret in the status");

    let log = engine.log().join("\n");
    assert!(
        log.contains("level=DEBUG") || log.contains("DEBUG"),
        "the engine did not log at debug level"
    );
    assert!(
        log.lines()
            .any(|l| l.to_lowercase().contains("notify")
                || l.to_lowercase().contains("notification")),
        "no notification failure was logged:\n{log}"
    );
    for line in log.lines() {
        findings.extend(leaks(&format!("log line {line:?}"), line));
    }
    assert!(
        findings.is_empty(),
        "secrets leaked:\n{}",
        findings.join("\n")
    );
}
