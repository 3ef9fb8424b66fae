//! The AWS SNS integration: the `Publish` action of SNS's query API, signed with
//! SigV4 (see [`sigv4`]).
//!
//! As upstream: `api_url`, `topic_arn`, `phone_number`, `target_arn`, `message`,
//! `subject` and the attribute names and values are templates; the message is cut to
//! 256 KiB (1600 bytes when sending an SMS to `phone_number`) and then carries the
//! attribute `truncated=true`; a topic whose ARN ends in `.fifo` gets the group key's
//! hash as `MessageGroupId` and `MessageDeduplicationId`. A 5xx answer is retried,
//! other error answers fail with SNS's error message; requests that get no answer are
//! retried.
//!
//! Credentials: `sigv4.access_key`/`secret_key`, else `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), else the shared credentials
//! file's profile (`sigv4.profile`, `AWS_PROFILE` or `default`; the file is read at
//! each send, so rotated keys take effect without a reload; a profile chosen by name
//! is tried before the environment's keys, as the AWS SDK does). With `sigv4.role_arn` those credentials assume the role through STS
//! `AssumeRole` (with `external_id`; the FIPS endpoint with `use_fips_sts_endpoint`),
//! and the temporary credentials are kept until shortly before they expire. The
//! region is `sigv4.region`, `AWS_REGION`, `AWS_DEFAULT_REGION` or the profile's
//! `region` in the shared config file. Not supported (upstream's AWS SDK has them):
//! web identity tokens, container and EC2 instance metadata credentials, SSO
//! profiles and `credential_process`.
//!
//! Differences: upstream cuts the message at exactly the byte limit, possibly inside
//! a character (making it invalid UTF-8); here the cut is at the last whole
//! character within the limit. Upstream's AWS SDK also retries a few times itself
//! before reporting a failure; here the retry stage does all retrying.

pub mod sigv4;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http::{HttpClient, HttpConfigError, USER_AGENT, status_error, transport_error};
use super::{
    IntegrationEnv, Notifier, NotifyError, NotifyFuture, Renderer, group_key_hash, template_data,
};
use crate::alert::Alert;
use crate::config::receiver::sns::SnsConfig;
use crate::notify::stages::{FailureReason, NotifyContext};
use sigv4::Credentials;

/// Largest message SNS accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest SMS message (`phone_number`), in bytes like upstream.
pub const MAX_SMS_BYTES: usize = 1600;
/// The SNS query API version.
pub const API_VERSION: &str = "2010-03-31";
/// The form content type of query API requests.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// Temporary credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// Shortens `message` to at most `limit` bytes at a character boundary; says whether
/// it cut.
pub fn truncate_message(message: &str, limit: usize) -> (&str, bool) {
    if message.len() <= limit {
        return (message, false);
    }
    let mut end = limit;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    (&message[..end], true)
}

/// The text of the first `<tag>` element of an XML document (entities decoded).
fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = doc.find(&open)? + open.len();
    let end = start + doc[start..].find(&close)?;
    Some(
        doc[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// The error message of an AWS query API error document (`<Error><Message>`), else
/// its code, else the body.
fn aws_error_message(body: &str) -> String {
    xml_text(body, "Message")
        .or_else(|| xml_text(body, "Code"))
        .unwrap_or_else(|| body.trim().to_string())
}

/// The settings of an AWS shared config or credentials file: section name to keys.
fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

/// The process environment, non-empty values only.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads environment variables (the process's; tests give their own).
type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

struct Assumed {
    credentials: Credentials,
    expires: Option<jiff::Timestamp>,
}

/// Sends SNS notifications for one `sns_configs` entry.
pub struct Sns {
    config: SnsConfig,
    http: HttpClient,
    env: IntegrationEnv,
    /// The clock of the signatures.
    clock: fn() -> jiff::Timestamp,
    /// STS endpoint override (`AWS_ENDPOINT_URL_STS`, or tests).
    sts_endpoint: Option<String>,
    /// Where `AWS_*` variables come from.
    env_lookup: EnvLookup,
    assumed: Mutex<Option<Assumed>>,
}

/// One `Publish` call's parameters.
#[derive(Debug, Default)]
struct Publish {
    topic_arn: Option<String>,
    phone_number: Option<String>,
    target_arn: Option<String>,
    message: String,
    subject: Option<String>,
    attributes: BTreeMap<String, String>,
    fifo_id: Option<String>,
}

impl Publish {
    fn form(&self) -> String {
        let mut f = url::form_urlencoded::Serializer::new(String::new());
        f.append_pair("Action", "Publish");
        f.append_pair("Version", API_VERSION);
        f.append_pair("Message", &self.message);
        for (i, (name, value)) in self.attributes.iter().enumerate() {
            let p = format!("MessageAttributes.entry.{}", i + 1);
            f.append_pair(&format!("{p}.Name"), name);
            f.append_pair(&format!("{p}.Value.DataType"), "String");
            f.append_pair(&format!("{p}.Value.StringValue"), value);
        }
        if let Some(id) = &self.fifo_id {
            f.append_pair("MessageDeduplicationId", id);
            f.append_pair("MessageGroupId", id);
        }
        if let Some(v) = &self.phone_number {
            f.append_pair("PhoneNumber", v);
        }
        if let Some(v) = &self.subject {
            f.append_pair("Subject", v);
        }
        if let Some(v) = &self.target_arn {
            f.append_pair("TargetArn", v);
        }
        if let Some(v) = &self.topic_arn {
            f.append_pair("TopicArn", v);
        }
        f.finish()
    }
}

impl Sns {
    /// The notifier for `config` (its `http_config` already resolved from `global`).
    pub fn new(config: &SnsConfig, env: IntegrationEnv) -> Result<Self, HttpConfigError> {
        let http = HttpClient::new(&config.http_config.clone().unwrap_or_default())?;
        if config.use_aws_http_client {
            tracing::debug!(
                "sns use_aws_http_client has no effect: requests use the http_config client"
            );
        }
        Ok(Sns {
            config: config.clone(),
            http,
            env,
            clock: jiff::Timestamp::now,
            sts_endpoint: process_env("AWS_ENDPOINT_URL_STS"),
            env_lookup: Arc::new(process_env),
            assumed: Mutex::new(None),
        })
    }

    fn env(&self, name: &str) -> Option<String> {
        (self.env_lookup)(name).filter(|v| !v.is_empty())
    }

    /// `$env_var`, else `~/.aws/name`.
    fn aws_file(&self, env_var: &str, name: &str) -> Option<std::path::PathBuf> {
        if let Some(p) = self.env(env_var) {
            return Some(p.into());
        }
        self.env("HOME")
            .map(|h| std::path::Path::new(&h).join(".aws").join(name))
    }

    /// Whether a profile was chosen (`sigv4.profile` or `AWS_PROFILE`): its
    /// credentials then win over the environment's, as with the AWS SDK.
    fn profile_chosen(&self) -> bool {
        !self.config.sigv4.profile.is_empty() || self.env("AWS_PROFILE").is_some()
    }

    fn profile(&self) -> String {
        if !self.config.sigv4.profile.is_empty() {
            return self.config.sigv4.profile.clone();
        }
        self.env("AWS_PROFILE")
            .unwrap_or_else(|| "default".to_string())
    }

    fn region(&self) -> Result<String, NotifyError> {
        if !self.config.sigv4.region.is_empty() {
            return Ok(self.config.sigv4.region.clone());
        }
        if let Some(r) = self
            .env("AWS_REGION")
            .or_else(|| self.env("AWS_DEFAULT_REGION"))
        {
            return Ok(r);
        }
        let profile = self.profile();
        let section = if profile == "default" {
            profile.clone()
        } else {
            format!("profile {profile}")
        };
        let from_file = self
            .aws_file("AWS_CONFIG_FILE", "config")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| parse_ini(&t).get(&section)?.get("region").cloned())
            .filter(|r| !r.is_empty());
        from_file.ok_or_else(|| NotifyError {
            retry: true,
            reason: FailureReason::Other,
            retry_after: None,
            message: "region not configured in sns.sigv4.region or in default credentials chain"
                .into(),
        })
    }

    /// The base credentials: config, environment, shared credentials file.
    fn base_credentials(&self) -> Result<Credentials, NotifyError> {
        let s = &self.config.sigv4;
        if !s.access_key.is_empty() {
            return Ok(Credentials {
                access_key: s.access_key.clone(),
                secret_key: s.secret_key.expose().to_string(),
                session_token: None,
            });
        }
        let from_env = || {
            Some(Credentials {
                access_key: self.env("AWS_ACCESS_KEY_ID")?,
                secret_key: self.env("AWS_SECRET_ACCESS_KEY")?,
                session_token: self.env("AWS_SESSION_TOKEN"),
            })
        };
        let profile = self.profile();
        let from_profile = || {
            let text = std::fs::read_to_string(
                self.aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")?,
            )
            .ok()?;
            let ini = parse_ini(&text);
            let sec = ini.get(&profile)?;
            Some(Credentials {
                access_key: sec.get("aws_access_key_id")?.clone(),
                secret_key: sec.get("aws_secret_access_key")?.clone(),
                session_token: sec.get("aws_session_token").cloned(),
            })
        };
        let found = if self.profile_chosen() {
            from_profile().or_else(from_env)
        } else {
            from_env().or_else(from_profile)
        };
        if let Some(c) = found {
            return Ok(c);
        }
        Err(NotifyError {
            retry: true,
            reason: FailureReason::Other,
            retry_after: None,
            message: format!(
                "no AWS credentials: none in sns.sigv4, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the shared credentials profile {profile:?}"
            ),
        })
    }

    async fn credentials(&self, region: &str) -> Result<Credentials, NotifyError> {
        let base = self.base_credentials()?;
        if self.config.sigv4.role_arn.is_empty() {
            return Ok(base);
        }
        let now = (self.clock)();
        {
            let guard = self.assumed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(a) = guard.as_ref() {
                let fresh = a.expires.is_none_or(|exp| {
                    now.checked_add(RENEW_BEFORE)
                        .map(|t| t < exp)
                        .unwrap_or(false)
                });
                if fresh {
                    return Ok(a.credentials.clone());
                }
            }
        }
        let assumed = self.assume_role(&base, region, now).await?;
        let creds = assumed.credentials.clone();
        *self.assumed.lock().unwrap_or_else(|p| p.into_inner()) = Some(assumed);
        Ok(creds)
    }

    /// STS `AssumeRole` with the base credentials.
    async fn assume_role(
        &self,
        base: &Credentials,
        region: &str,
        now: jiff::Timestamp,
    ) -> Result<Assumed, NotifyError> {
        let s = &self.config.sigv4;
        let endpoint = match &self.sts_endpoint {
            Some(e) => e.clone(),
            None if s.use_fips_sts_endpoint => format!("https://sts-fips.{region}.amazonaws.com/"),
            None => format!("https://sts.{region}.{}/", dns_suffix(region)),
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|e| NotifyError::permanent(format!("STS endpoint {endpoint:?}: {e}")))?;
        let body = {
            let mut f = url::form_urlencoded::Serializer::new(String::new());
            f.append_pair("Action", "AssumeRole");
            f.append_pair("Version", "2011-06-15");
            f.append_pair("RoleArn", &s.role_arn);
            f.append_pair("RoleSessionName", &format!("larum-{}", now.as_second()));
            if !s.external_id.is_empty() {
                f.append_pair("ExternalId", &s.external_id);
            }
            f.finish()
        };
        let text = self
            .signed_post(&url, base, region, "sts", now, body)
            .await
            .map_err(|mut e| {
                e.message = format!("assuming role {}: {}", s.role_arn, e.message);
                e
            })?;
        let field = |tag: &str| {
            xml_text(&text, tag).ok_or_else(|| NotifyError {
                retry: true,
                reason: FailureReason::Other,
                retry_after: None,
                message: format!("assuming role {}: no {tag} in the STS answer", s.role_arn),
            })
        };
        let credentials = Credentials {
            access_key: field("AccessKeyId")?,
            secret_key: field("SecretAccessKey")?,
            session_token: Some(field("SessionToken")?),
        };
        let expires = xml_text(&text, "Expiration").and_then(|e| e.parse().ok());
        Ok(Assumed {
            credentials,
            expires,
        })
    }

    /// POSTs the form `body` to `url`, signed; returns the answer's body.
    async fn signed_post(
        &self,
        url: &url::Url,
        creds: &Credentials,
        region: &str,
        service: &str,
        now: jiff::Timestamp,
        body: String,
    ) -> Result<String, NotifyError> {
        let signature = sigv4::sign(
            creds,
            region,
            service,
            now,
            "POST",
            url,
            &[("Content-Type", FORM)],
            body.as_bytes(),
        );
        let mut req = self
            .http
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .header(reqwest::header::USER_AGENT, USER_AGENT);
        for (name, value) in signature.headers {
            req = req.header(name, value);
        }
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| transport_error(&e))?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(status_error(status, &aws_error_message(&text), None, &[]))
    }

    fn render(
        &self,
        ctx: &NotifyContext,
        alerts: &[Arc<Alert>],
    ) -> Result<(String, Publish), NotifyError> {
        let c = &self.config;
        let mut r = Renderer::new(
            &self.env,
            template_data(ctx, alerts, &self.env.external_url),
        );
        let api_url = r.text("api_url", &c.api_url);
        let mut p = Publish::default();
        for (k, v) in &c.attributes {
            let name = r.text("attributes", k);
            let value = r.text("attributes", v);
            p.attributes.insert(name, value);
        }
        let mut limit = MAX_MESSAGE_BYTES;
        if !c.topic_arn.is_empty() {
            let arn = r.text("topic_arn", &c.topic_arn);
            if arn.ends_with(".fifo") {
                p.fifo_id = Some(group_key_hash(ctx));
            }
            p.topic_arn = Some(arn);
        }
        if !c.phone_number.is_empty() {
            p.phone_number = Some(r.text("phone_number", &c.phone_number));
            limit = MAX_SMS_BYTES;
        }
        if !c.target_arn.is_empty() {
            p.target_arn = Some(r.text("target_arn", &c.target_arn));
        }
        let message = r.text("message", &c.message);
        if !c.subject.is_empty() {
            p.subject = Some(r.text("subject", &c.subject));
        }
        r.finish()?;
        let (kept, cut) = truncate_message(&message, limit);
        if cut {
            tracing::warn!(
                receiver = %ctx.flush.receiver,
                max_bytes = limit,
                "truncated SNS message"
            );
            p.attributes.insert("truncated".into(), "true".into());
        }
        p.message = kept.to_string();
        Ok((api_url, p))
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), NotifyError> {
        let (api_url, publish) = self.render(ctx, alerts)?;
        let region = self.region()?;
        let endpoint = if !api_url.is_empty() {
            api_url
        } else if let Some(e) = self.env("AWS_ENDPOINT_URL_SNS") {
            e
        } else {
            format!("https://sns.{region}.{}/", dns_suffix(&region))
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|e| NotifyError::permanent(format!("sns api_url {endpoint:?}: {e}")))?;
        let _permit = self.http.permit().await;
        let creds = self.credentials(&region).await?;
        let service = if self.config.sigv4.service_name.is_empty() {
            "sns"
        } else {
            &self.config.sigv4.service_name
        };
        let answer = self
            .signed_post(
                &url,
                &creds,
                &region,
                service,
                (self.clock)(),
                publish.form(),
            )
            .await?;
        tracing::debug!(
            message_id = xml_text(&answer, "MessageId").unwrap_or_default(),
            "SNS message published"
        );
        Ok(())
    }
}

/// The DNS suffix of AWS endpoints in `region`'s partition.
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

impl Notifier for Sns {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, alerts: &'a [Arc<Alert>]) -> NotifyFuture<'a> {
        Box::pin(self.send(ctx, alerts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::global::GlobalConfig;
    use crate::notify::integrations::testserver::{Recorded, Reply, TestServer};
    use crate::notify::stages::testutil::*;

    const PUBLISHED: &str = "<PublishResponse xmlns=\"https://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult></PublishResponse>";

    fn at() -> jiff::Timestamp {
        "2023-11-14T22:13:20Z".parse().unwrap()
    }

    fn notifier(server: &TestServer, extra: &str) -> Sns {
        let mut yaml = format!("api_url: '{}'\n{extra}", server.url("/"));
        for (key, default) in [
            (
                "sigv4",
                "{region: eu-west-1, access_key: AKIDTEST, secret_key: 'sEcReT/key'}",
            ),
            ("subject", "'{{ .Status }} {{ .CommonLabels.alertname }}'"),
            ("message", "'alerts: {{ len .Alerts }}'"),
        ] {
            if !extra.contains(&format!("{key}:")) {
                yaml.push_str(&format!("{key}: {default}\n"));
            }
        }
        let mut c: SnsConfig = crate::config::deserialize_yaml(&yaml).unwrap();
        c.resolve(&GlobalConfig::default()).unwrap();
        let mut n = Sns::new(&c, IntegrationEnv::with_defaults("http://am")).unwrap();
        n.clock = at;
        n
    }

    fn form(r: &Recorded) -> BTreeMap<String, String> {
        url::form_urlencoded::parse(&r.body).into_owned().collect()
    }

    /// Checks the signature of a recorded request by signing what was received.
    fn assert_signed(r: &Recorded, creds: &Credentials, region: &str, service: &str) {
        let auth = r.header("authorization");
        let prefix = format!(
            "AWS4-HMAC-SHA256 Credential={}/20231114/{region}/{service}/aws4_request, SignedHeaders=content-type;host;x-amz-date",
            creds.access_key
        );
        assert!(auth.starts_with(&prefix), "{auth}");
        assert_eq!(r.header("x-amz-date"), "20231114T221320Z");
        let url = url::Url::parse(&format!("http://{}{}", r.header("host"), r.uri)).unwrap();
        let again = sigv4::sign(
            creds,
            region,
            service,
            at(),
            r.method.as_str(),
            &url,
            &[("Content-Type", r.header("content-type"))],
            &r.body,
        );
        assert_eq!(
            again.headers.last().unwrap().1,
            auth,
            "signature over what was sent"
        );
    }

    #[tokio::test]
    async fn publishes_to_a_topic_signed_with_sigv4() {
        let server = TestServer::start().await;
        server.script([Reply::new(200, PUBLISHED)]);
        let n = notifier(
            &server,
            "topic_arn: 'arn:aws:sns:eu-west-1:123456789012:alerts'\nattributes: {team: '{{ .CommonLabels.alertname }}', env: 'prod & qa = 1+1 ü'}\n",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let r = server.single();
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri, "/");
        assert_eq!(r.header("content-type"), FORM);
        let f = form(&r);
        assert_eq!(f["Action"], "Publish");
        assert_eq!(f["Version"], "2010-03-31");
        assert_eq!(f["TopicArn"], "arn:aws:sns:eu-west-1:123456789012:alerts");
        assert_eq!(f["Subject"], "firing Down");
        assert_eq!(f["Message"], "alerts: 1");
        assert_eq!(f["MessageAttributes.entry.1.Name"], "env");
        assert_eq!(
            f["MessageAttributes.entry.1.Value.StringValue"],
            "prod & qa = 1+1 ü"
        );
        assert_eq!(f["MessageAttributes.entry.2.Name"], "team");
        assert_eq!(f["MessageAttributes.entry.2.Value.DataType"], "String");
        assert_eq!(f["MessageAttributes.entry.2.Value.StringValue"], "Down");
        assert!(!f.contains_key("MessageGroupId") && !f.contains_key("PhoneNumber"));
        let creds = Credentials {
            access_key: "AKIDTEST".into(),
            secret_key: "sEcReT/key".into(),
            session_token: None,
        };
        assert_signed(&r, &creds, "eu-west-1", "sns");
        assert!(
            !r.headers
                .iter()
                .any(|(_, v)| v.as_bytes().windows(6).any(|w| w == b"sEcReT"))
        );
    }

    #[tokio::test]
    async fn fifo_topics_get_the_group_key_hash_and_sms_is_cut_at_1600_bytes() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, PUBLISHED));
        let n = notifier(
            &server,
            "topic_arn: 'arn:aws:sns:eu-west-1:1:alerts.fifo'\n",
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let f = form(&server.single());
        assert_eq!(f["MessageGroupId"], group_key_hash(&ctx_at(0)));
        assert_eq!(f["MessageDeduplicationId"], group_key_hash(&ctx_at(0)));
        assert!(!f.contains_key("MessageAttributes.entry.1.Name"));

        let server = TestServer::start().await;
        server.always(Reply::new(200, PUBLISHED));
        let long = "ä".repeat(1000);
        let n = notifier(
            &server,
            &format!("phone_number: '+15555550100'\nmessage: '{long}'\n"),
        );
        n.notify(&ctx_at(0), &[alert("Down", None)]).await.unwrap();
        let f = form(&server.single());
        assert_eq!(f["PhoneNumber"], "+15555550100");
        assert_eq!(f["Message"].len(), 1600);
        assert_eq!(f["MessageAttributes.entry.1.Name"], "truncated");
        assert_eq!(f["MessageAttributes.entry.1.Value.StringValue"], "true");
    }

    #[test]
    fn messages_are_cut_at_256_kib_on_a_character_boundary() {
        let m = "x".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(truncate_message(&m, MAX_MESSAGE_BYTES), (m.as_str(), false));
        let m = format!("{}é", "x".repeat(MAX_MESSAGE_BYTES - 1));
        let (kept, cut) = truncate_message(&m, MAX_MESSAGE_BYTES);
        assert!(cut);
        assert_eq!(kept.len(), MAX_MESSAGE_BYTES - 1);
    }

    #[tokio::test]
    async fn server_errors_retry_and_client_errors_fail_with_the_aws_message() {
        let server = TestServer::start().await;
        server.script([
            Reply::new(
                500,
                "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>try again</Message></Error></ErrorResponse>",
            ),
            Reply::new(
                400,
                "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: TopicArn &amp; more</Message></Error><RequestId>r</RequestId></ErrorResponse>",
            ),
            Reply::new(403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>"),
        ]);
        let n = notifier(
            &server,
            "target_arn: 'arn:aws:sns:eu-west-1:1:endpoint/x'\n",
        );
        let ctx = ctx_at(0);
        let alerts = [alert("Down", None)];
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.message, "unexpected status code 500: try again");
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.reason, FailureReason::ClientError);
        assert_eq!(
            e.message,
            "unexpected status code 400: Invalid parameter: TopicArn & more"
        );
        let e = n.notify(&ctx, &alerts).await.unwrap_err();
        assert!(!e.retry);
        assert_eq!(e.reason, FailureReason::AuthError);
        assert_eq!(
            e.message,
            "unexpected status code 403: SignatureDoesNotMatch"
        );
        assert_eq!(
            form(&server.requests()[0])["TargetArn"],
            "arn:aws:sns:eu-west-1:1:endpoint/x"
        );
    }

    #[tokio::test]
    async fn a_role_is_assumed_through_sts_and_its_credentials_kept() {
        let sts = TestServer::start().await;
        sts.script([Reply::new(
            200,
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIATEMP</AccessKeyId><SecretAccessKey>tempSecret</SecretAccessKey><SessionToken>tok+en/=</SessionToken><Expiration>2023-11-14T23:13:20Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
        )]);
        let server = TestServer::start().await;
        server.always(Reply::new(200, PUBLISHED));
        let mut n = notifier(
            &server,
            "topic_arn: t\nsigv4: {region: eu-west-1, access_key: AKIDBASE, secret_key: base, role_arn: 'arn:aws:iam::1:role/am', external_id: ext}\n",
        );
        n.sts_endpoint = Some(sts.url("/"));
        let ctx = ctx_at(0);
        n.notify(&ctx, &[alert("Down", None)]).await.unwrap();
        n.notify(&ctx, &[alert("Down", None)]).await.unwrap();
        let s = sts.single();
        let f = form(&s);
        assert_eq!(f["Action"], "AssumeRole");
        assert_eq!(f["Version"], "2011-06-15");
        assert_eq!(f["RoleArn"], "arn:aws:iam::1:role/am");
        assert_eq!(f["ExternalId"], "ext");
        assert!(f["RoleSessionName"].starts_with("larum-"));
        let base = Credentials {
            access_key: "AKIDBASE".into(),
            secret_key: "base".into(),
            session_token: None,
        };
        assert_signed(&s, &base, "eu-west-1", "sts");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2);
        for r in &reqs {
            assert_eq!(r.header("x-amz-security-token"), "tok+en/=");
            let auth = r.header("authorization");
            assert!(
                auth.starts_with("AWS4-HMAC-SHA256 Credential=ASIATEMP/20231114/eu-west-1/sns/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="),
                "{auth}"
            );
        }
    }

    #[tokio::test]
    async fn a_template_error_fails_permanently_before_any_request() {
        let server = TestServer::start().await;
        let n = notifier(&server, "topic_arn: '{{ .Nope.Deeper }}'\n");
        let e = n
            .notify(&ctx_at(0), &[alert("Down", None)])
            .await
            .unwrap_err();
        assert!(!e.retry);
        assert!(e.message.contains("topic_arn"), "{}", e.message);
        assert!(server.requests().is_empty());
    }

    fn with_env(n: &mut Sns, vars: &[(&str, String)]) {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        n.env_lookup = Arc::new(move |name| vars.get(name).cloned());
    }

    #[tokio::test]
    async fn credentials_and_region_come_from_the_environment_and_shared_files() {
        let server = TestServer::start().await;
        server.always(Reply::new(200, PUBLISHED));
        let dir = tempfile::tempdir().unwrap();
        let creds_file = dir.path().join("credentials");
        let config_file = dir.path().join("config");
        std::fs::write(
            &creds_file,
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n[ops]\naws_access_key_id = AKIDOPS1\naws_secret_access_key = s1\n",
        )
        .unwrap();
        std::fs::write(&config_file, "[profile ops]\nregion = ap-south-1\n").unwrap();
        let mut n = notifier(&server, "topic_arn: t\nsigv4: {profile: ops}\n");
        with_env(
            &mut n,
            &[
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    creds_file.display().to_string(),
                ),
                ("AWS_CONFIG_FILE", config_file.display().to_string()),
                // A chosen profile wins over the environment's keys.
                ("AWS_ACCESS_KEY_ID", "AKIDENV".to_string()),
                ("AWS_SECRET_ACCESS_KEY", "e".to_string()),
            ],
        );
        let ctx = ctx_at(0);
        n.notify(&ctx, &[alert("Down", None)]).await.unwrap();
        // The file is read at each send: a rotated key takes effect at once.
        std::fs::write(
            &creds_file,
            "[ops]\naws_access_key_id = AKIDOPS2\naws_secret_access_key = s2\n",
        )
        .unwrap();
        n.notify(&ctx, &[alert("Down", None)]).await.unwrap();
        let reqs = server.requests();
        let key = |c: &str, s: &str| Credentials {
            access_key: c.into(),
            secret_key: s.into(),
            session_token: None,
        };
        assert_signed(&reqs[0], &key("AKIDOPS1", "s1"), "ap-south-1", "sns");
        assert_signed(&reqs[1], &key("AKIDOPS2", "s2"), "ap-south-1", "sns");

        // Without a profile the environment's keys and region are used.
        let server = TestServer::start().await;
        server.always(Reply::new(200, PUBLISHED));
        let mut n = notifier(&server, "topic_arn: t\nsigv4: {}\n");
        with_env(
            &mut n,
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDENV".to_string()),
                ("AWS_SECRET_ACCESS_KEY", "e".to_string()),
                ("AWS_SESSION_TOKEN", "sess".to_string()),
                ("AWS_REGION", "us-west-2".to_string()),
            ],
        );
        n.notify(&ctx, &[alert("Down", None)]).await.unwrap();
        let r = server.single();
        assert_eq!(r.header("x-amz-security-token"), "sess");
        assert!(
            r.header("authorization")
                .starts_with("AWS4-HMAC-SHA256 Credential=AKIDENV/20231114/us-west-2/sns/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "),
            "{}",
            r.header("authorization")
        );

        // Nothing configured: retried like upstream, and nothing sent.
        let server = TestServer::start().await;
        let mut n = notifier(&server, "topic_arn: t\nsigv4: {region: eu-west-1}\n");
        with_env(
            &mut n,
            &[("HOME", dir.path().join("none").display().to_string())],
        );
        let e = n.notify(&ctx, &[alert("Down", None)]).await.unwrap_err();
        assert!(e.retry);
        assert!(e.message.starts_with("no AWS credentials"), "{}", e.message);
        let mut n = notifier(&server, "topic_arn: t\nsigv4: {}\n");
        with_env(&mut n, &[]);
        let e = n.notify(&ctx, &[alert("Down", None)]).await.unwrap_err();
        assert_eq!(
            e.message,
            "region not configured in sns.sigv4.region or in default credentials chain"
        );
        assert!(server.requests().is_empty());
    }

    #[test]
    fn shared_files_parse() {
        let ini =
            parse_ini("# c\n[default]\naws_access_key_id = A\n[profile p]\nregion=eu-central-1\n");
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile p"]["region"], "eu-central-1");
    }
}
