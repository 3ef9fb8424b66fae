//! The e-mail integration: renders the mail from its templates and delivers it by SMTP,
//! like Alertmanager 0.34: implicit TLS on port 465 (or `force_implicit_tls`), STARTTLS
//! when `require_tls`, authentication chosen from what the server advertises, one
//! connection per notification.
//!
//! Errors: SMTP answers 5xx are permanent, 4xx and connection failures are retried;
//! template, address and TLS-setup errors are permanent. No error message carries the
//! password or secret.
//!
//! Known differences from upstream: upstream retries every SMTP failure (a wrong password
//! too), here 5xx answers and config problems (no usable auth mechanism, bad TLS files)
//! are permanent; templates are rendered before connecting; when authenticating, EHLO is
//! sent a second time to read the server's `AUTH` list in its order (lettre keeps only the
//! mechanisms it knows, unordered); there is no HELO fallback for servers that refuse EHLO;
//! rustls offers TLS 1.2 and 1.3 only and `tls_config.max_version` is not applied.

pub mod auth;
pub mod message;
pub mod smtp;

use std::sync::Arc;

use self::auth::{AuthError, Credentials};
use self::message::{Rendered, Stamp, Threading};
use super::render::{IntegrationEnv, Renderer, group_key_hash, template_data};
use super::{Notifier, NotifyError, NotifyFuture};
use crate::alert::Alert;
use crate::config::receiver::email::{DEFAULT_SUBJECT, EmailConfig};
use crate::notify::stages::{FailureReason, NotifyContext};

/// Sends the notifications of one `email_configs` entry.
pub struct Email {
    config: EmailConfig,
    env: IntegrationEnv,
    threading: Threading,
}

impl Email {
    /// The notifier for `config` (already resolved from `global`). Like upstream,
    /// `Subject`, `To` and `From` headers default to the default subject, `to` and `from`.
    pub fn new(config: &EmailConfig, env: &IntegrationEnv) -> Email {
        let mut config = config.clone();
        let defaults = [
            ("Subject", DEFAULT_SUBJECT.to_string()),
            ("To", config.to.clone()),
            ("From", config.from.clone()),
        ];
        for (name, value) in defaults {
            config.headers.entry(name.to_string()).or_insert(value);
        }
        let threading = match (
            config.threading.enabled,
            config.threading.thread_by_date.as_str(),
        ) {
            (false, _) => Threading::Off,
            (true, "none") => Threading::Group,
            (true, _) => Threading::Daily,
        };
        Email {
            config,
            env: env.clone(),
            threading,
        }
    }

    /// Renders the templated fields for one notification.
    pub fn render(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
    ) -> Result<Rendered, NotifyError> {
        let data = template_data(ctx, alerts, &self.env.external_url);
        let mut r = Renderer::new(&self.env, data);
        let c = &self.config;
        let from = r.text("from", &c.from);
        let to = r.text("to", &c.to);
        let headers = c
            .headers
            .iter()
            .map(|(name, t)| (name.clone(), r.text(&format!("headers.{name}"), t)))
            .collect();
        let text = (!c.text.is_empty()).then(|| r.text("text", &c.text));
        let html = (!c.html.is_empty()).then(|| r.html("html", &c.html));
        r.finish()?;
        Ok(Rendered {
            from,
            to,
            headers,
            text,
            html,
        })
    }

    /// The whole message for one notification, with the envelope addresses.
    pub fn message(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
        stamp: &Stamp,
    ) -> Result<(lettre::address::Envelope, Vec<u8>), NotifyError> {
        let rendered = self.render(ctx, alerts)?;
        let permanent = |e: message::AddressError| NotifyError::permanent(e.to_string());
        let from = message::parse_from(&rendered.from).map_err(permanent)?;
        let to = message::parse_addresses("to", &rendered.to).map_err(permanent)?;
        let envelope = lettre::address::Envelope::new(Some(from), to)
            .map_err(|e| NotifyError::permanent(format!("envelope: {e}")))?;
        let body = message::build(&rendered, &self.threading, &group_key_hash(ctx), stamp);
        Ok((envelope, body))
    }

    fn password(&self) -> Result<String, String> {
        let c = &self.config;
        if c.auth_password_file.is_empty() {
            return Ok(c.auth_password.expose().to_string());
        }
        std::fs::read_to_string(&c.auth_password_file)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("could not read {}: {e}", c.auth_password_file))
    }

    fn secret(&self) -> Result<String, String> {
        let c = &self.config;
        if c.auth_secret_file.is_empty() {
            return Ok(c.auth_secret.expose().to_string());
        }
        // Upstream uses the file's content as it is, without trimming.
        std::fs::read_to_string(&c.auth_secret_file)
            .map_err(|e| format!("could not read {}: {e}", c.auth_secret_file))
    }

    /// The configured secrets that must not show in errors.
    fn secrets(&self) -> Vec<String> {
        [self.password(), self.secret()]
            .into_iter()
            .filter_map(Result::ok)
            .chain([
                self.config.auth_password.expose().to_string(),
                self.config.auth_secret.expose().to_string(),
            ])
            .filter(|s| !s.trim().is_empty())
            .collect()
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let (envelope, body) = self.message(ctx, alerts, &Stamp::now())?;
        let c = &self.config;
        let host = &c.smarthost.host;
        let implicit_tls = c.force_implicit_tls.unwrap_or(c.smarthost.port == "465");
        let tls = c.tls_config.clone().unwrap_or_default();
        let port: u16 = c.smarthost.port.parse().map_err(|_| {
            NotifyError::permanent(format!("smarthost: invalid port {:?}", c.smarthost.port))
        })?;
        let secrets = self.secrets();
        let fail = |what: &str, e: lettre::transport::smtp::Error| smtp_error(what, &e, &secrets);

        let mut conn = if implicit_tls {
            let params = smtp::tls_parameters(&tls, host)?;
            smtp::connect(host, port, &c.hello, Some(params))
                .await
                .map_err(|e| fail("establish TLS connection to server", e))?
        } else {
            smtp::connect(host, port, &c.hello, None)
                .await
                .map_err(|e| fail("establish connection to server", e))?
        };
        if c.require_tls() && !implicit_tls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(NotifyError {
                    retry: true,
                    reason: FailureReason::Other,
                    retry_after: None,
                    message: format!(
                        "'require_tls' is true (default) but \"{}\" does not advertise the STARTTLS extension",
                        c.smarthost
                    ),
                });
            }
            let params = smtp::tls_parameters(&tls, host)?;
            // A failed handshake leaves no usable stream (not even for QUIT): drop it.
            conn.starttls(params, &smtp::client_id(&c.hello))
                .await
                .map_err(|e| fail("send STARTTLS command", e))?;
        }
        let result = async {
            if !c.auth_username.is_empty() {
                self.authenticate(&mut conn, &secrets).await?;
            }
            smtp::deliver(&mut conn, &envelope, &body)
                .await
                .map_err(|(what, e)| fail(what, e))
        }
        .await;
        if result.is_ok() {
            if let Err(e) = conn.quit().await {
                tracing::warn!(err = %scrub(&e.to_string(), &secrets), "failed to close SMTP connection");
            }
        } else {
            conn.abort().await;
        }
        result
    }

    async fn authenticate(
        &self,
        conn: &mut lettre::transport::smtp::client::AsyncSmtpConnection,
        secrets: &[String],
    ) -> Result<(), NotifyError> {
        let c = &self.config;
        let ehlo = conn
            .command(lettre::transport::smtp::commands::Ehlo::new(
                smtp::client_id(&c.hello),
            ))
            .await
            .map_err(|e| smtp_error("send EHLO command", &e, secrets))?;
        let Some(advertised) = auth::advertised(&ehlo) else {
            return Ok(());
        };
        let password = || self.password();
        let secret = || self.secret();
        let creds = Credentials {
            username: &c.auth_username,
            identity: &c.auth_identity,
            password: &password,
            secret: &secret,
        };
        let mech = match auth::choose(&advertised, &creds) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(NotifyError::permanent(scrub(
                    &format!("find auth mechanism: {e}"),
                    secrets,
                )));
            }
        };
        if let auth::Mechanism::Plain { .. } = mech {
            // Like Go's smtp.PlainAuth: never send a password in clear text, except to
            // this machine.
            if !conn.is_encrypted()
                && !["localhost", "127.0.0.1", "::1"].contains(&c.smarthost.host.as_str())
            {
                return Err(NotifyError::permanent("PLAIN auth: unencrypted connection"));
            }
        }
        auth::authenticate(conn, &mech).await.map_err(|e| match e {
            AuthError::Smtp(e) => smtp_error(&format!("{} auth", mech.name()), &e, secrets),
            AuthError::Protocol(m) => {
                NotifyError::permanent(scrub(&format!("{} auth: {m}", mech.name()), secrets))
            }
        })
    }
}

impl Notifier for Email {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

/// Replaces every secret in `message` (and its base64 forms are never built into
/// messages) with `<secret>`.
fn scrub(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for s in secrets {
        out = out.replace(s.as_str(), "<secret>");
    }
    out
}

/// An SMTP failure while doing `what`: 5xx answers are permanent, anything else
/// (4xx answers, connection and TLS failures) is retried.
pub fn smtp_error(
    what: &str,
    e: &lettre::transport::smtp::Error,
    secrets: &[String],
) -> NotifyError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    // Like upstream, every SMTP failure counts as reason "other" in the metrics.
    let reason = FailureReason::Other;
    let retry = !(e.is_permanent() || e.is_client());
    // lettre repeats the kind of a wrapped connection error.
    let message = message.replace("Connection error: Connection error: ", "Connection error: ");
    NotifyError {
        retry,
        reason,
        retry_after: None,
        message: scrub(&format!("{what}: {message}"), secrets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ParseOptions};
    use crate::notify::stages::testutil::{alert, ctx_at};

    fn email(entry: &str) -> Email {
        let yaml = format!(
            "route: {{receiver: m}}\nreceivers:\n- name: m\n  email_configs:\n  - smarthost: 'smtp.example.org:25'\n    {entry}\n"
        );
        let config = Config::parse(&yaml, ParseOptions::default()).unwrap();
        Email::new(
            &config.receivers[0].email_configs[0],
            &IntegrationEnv::with_defaults("http://am.example"),
        )
    }

    #[test]
    fn subject_to_and_from_headers_default_to_the_fields() {
        let e = email(
            "to: '{{ .Receiver }}@example.org'\n    from: am@example.org\n    headers: {X-A: b}",
        );
        let h = &e.config.headers;
        assert_eq!(h["To"], "{{ .Receiver }}@example.org");
        assert_eq!(h["From"], "am@example.org");
        assert_eq!(h["Subject"], DEFAULT_SUBJECT);
        assert_eq!(h["X-A"], "b");
        let e = email(
            "to: a@example.org\n    from: am@example.org\n    headers: {subject: mine, to: other@example.org}",
        );
        assert_eq!(e.config.headers["Subject"], "mine");
        assert_eq!(e.config.headers["To"], "other@example.org");
    }

    #[test]
    fn templates_render_into_fields_headers_and_parts() {
        let e = email(
            "to: '{{ .Receiver }}@example.org'\n    from: am@example.org\n    headers: {Subject: '{{ len .Alerts }} alerts'}\n    text: 't {{ .Status }}'\n    html: '<i>{{ .Status }}</i>'",
        );
        let alerts = vec![alert("A", None), alert("B", Some(-10))];
        let r = e.render(&ctx_at(0), &alerts).unwrap();
        assert_eq!(r.to, "team@example.org");
        assert_eq!(r.headers["Subject"], "2 alerts");
        assert_eq!(r.headers["To"], "team@example.org");
        assert_eq!(r.text.as_deref(), Some("t firing"));
        assert_eq!(r.html.as_deref(), Some("<i>firing</i>"));
        // No text template: no text part.
        let e = email(
            "to: a@example.org\n    from: am@example.org\n    headers: {Subject: s}\n    html: h",
        );
        assert_eq!(e.render(&ctx_at(0), &alerts).unwrap().text, None);
    }

    #[test]
    fn template_and_address_errors_are_permanent() {
        let alerts = vec![alert("A", None)];
        let e = email(
            "to: a@example.org\n    from: am@example.org\n    headers: {Subject: '{{ .Nope }'}",
        );
        let err = e.render(&ctx_at(0), &alerts).unwrap_err();
        assert!(!err.retry);
        assert!(
            err.message
                .starts_with("rendering template of headers.Subject: "),
            "{err:?}"
        );
        let e = email(
            "to: 'not an address'\n    from: am@example.org\n    headers: {Subject: s}\n    html: h",
        );
        let err = e.message(&ctx_at(0), &alerts, &Stamp::now()).unwrap_err();
        assert!(!err.retry);
        assert!(err.message.starts_with("parse 'to' addresses: "), "{err:?}");
        let e = email(
            "to: a@example.org\n    from: 'a@example.org, b@example.org'\n    headers: {Subject: s}\n    html: h",
        );
        let err = e.message(&ctx_at(0), &alerts, &Stamp::now()).unwrap_err();
        assert_eq!(err.message, "must be exactly one 'from' address (got: 2)");
    }

    #[test]
    fn envelope_takes_the_bare_addresses() {
        let e = email(
            "to: 'Ops <ops@example.org>, b@example.org'\n    from: 'AM <am@example.org>'\n    headers: {Subject: s}\n    html: h",
        );
        let (env, body) = e
            .message(&ctx_at(0), &[alert("A", None)], &Stamp::now())
            .unwrap();
        assert_eq!(env.from().unwrap().to_string(), "am@example.org");
        let to: Vec<String> = env.to().iter().map(|a| a.to_string()).collect();
        assert_eq!(to, ["ops@example.org", "b@example.org"]);
        let body = String::from_utf8(body).unwrap();
        assert!(
            body.contains("To: Ops <ops@example.org>, b@example.org\r\n"),
            "{body}"
        );
    }

    #[test]
    fn default_subject_and_html() {
        let e = email("to: a@example.org\n    from: am@example.org");
        let alerts = vec![alert("DiskFull", None)];
        let t = &e.env.templates;
        if t.has("email.default.subject") && t.has("email.default.html") {
            let r = e.render(&ctx_at(0), &alerts).unwrap();
            assert!(r.headers["Subject"].contains("DiskFull"), "{r:?}");
            assert!(
                r.html.as_deref().is_some_and(|h| h.contains("DiskFull")),
                "{r:?}"
            );
            assert_eq!(r.text, None);
        } else {
            // Until the default templates exist, the send fails with the reason.
            let err = e.render(&ctx_at(0), &alerts).unwrap_err();
            assert!(!err.retry);
            assert!(err.message.contains("not defined"), "{err:?}");
        }
    }

    #[test]
    fn secrets_are_scrubbed() {
        let s = vec!["hunter2".to_string()];
        assert_eq!(scrub("535 bad hunter2 given", &s), "535 bad <secret> given");
    }
}
