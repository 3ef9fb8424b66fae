#![allow(clippy::unwrap_used)]
//! The e-mail integration against a real SMTP server (aiosmtpd, started by each test from
//! `tests/support/smtp_server.py`; `scripts/install-test-deps.sh` installs it): plain
//! delivery, STARTTLS with a CA made by the test, implicit TLS, PLAIN / LOGIN / CRAM-MD5
//! authentication, which failures are retried, and one delivery through the engine binary.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use larum_engine::alert::{Alert, LabelSet};
use larum_engine::config::{Config, ParseOptions};
use larum_engine::notify::FlushContext;
use larum_engine::notify::integrations::{self, IntegrationEnv, NotifyError};
use larum_engine::notify::stages::NotifyContext;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

const GROUP_KEY: &str = "{}:{alertname=\"DiskFull\"}";

/// The Python that has aiosmtpd: `$LARUM_TEST_PYTHON`, the repo's `.cache/smtp-venv`
/// (made by scripts/install-test-deps.sh), else `python3`.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("LARUM_TEST_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/smtp-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// A test CA and a server certificate it signed for `localhost` and `127.0.0.1`.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Larum test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// A running aiosmtpd: killed when dropped (and it exits by itself when stdin closes).
struct SmtpServer {
    port: u16,
    dir: tempfile::TempDir,
    _child: Child,
    _stdin: ChildStdin,
}

impl SmtpServer {
    async fn start(args: &[&str]) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut child = Command::new(python())
            .arg(&script)
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting python for the SMTP test server");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), stdout.next_line()).await;
        let port = match first {
            Ok(Ok(Some(line))) => line.trim().parse::<u16>().ok(),
            _ => None,
        };
        let Some(port) = port else {
            let _ = child.start_kill();
            let out = child.wait_with_output().await.unwrap();
            panic!(
                "the SMTP test server did not start (is aiosmtpd installed? run scripts/install-test-deps.sh): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        SmtpServer {
            port,
            dir,
            _child: child,
            _stdin: stdin,
        }
    }

    /// The `n`th mail received (from 1), waiting for it up to 30 s.
    async fn mail(&self, n: usize) -> Mail {
        let path = self.dir.path().join(format!("{n}.json"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                return Mail::parse(serde_json::from_str(&text).unwrap());
            }
            assert!(Instant::now() < deadline, "no mail {n} within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn received(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
    }
}

/// A received mail: envelope, authentication, headers and decoded parts.
#[derive(Debug)]
struct Mail {
    mail_from: String,
    rcpt_tos: Vec<String>,
    auth: serde_json::Value,
    /// The message as Python's `email` package parsed it: an independent MIME check.
    parsed: serde_json::Value,
    headers: BTreeMap<String, String>,
    /// Content type and decoded body of each part.
    parts: Vec<(String, String)>,
}

impl Mail {
    fn parse(v: serde_json::Value) -> Mail {
        let data = v["data"].as_str().unwrap().to_string();
        let (head, body) = data.split_once("\r\n\r\n").unwrap();
        assert!(
            body.ends_with("--\r\n"),
            "the message ends with the closing boundary: {body:?}"
        );
        let headers: BTreeMap<String, String> = head
            .split("\r\n")
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let ct = &headers["Content-Type"];
        let boundary = ct.split("boundary=").nth(1).unwrap().to_string();
        let mut parts = Vec::new();
        for chunk in body.split(&format!("--{boundary}")).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.trim_start_matches("\r\n");
            let (part_head, part_body) = chunk.split_once("\r\n\r\n").unwrap();
            let part_body = part_body.strip_suffix("\r\n").unwrap_or(part_body);
            assert!(
                part_head.contains("Content-Transfer-Encoding: quoted-printable"),
                "{part_head}"
            );
            let kind = part_head
                .split("\r\n")
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .unwrap()
                .to_string();
            let decoded =
                quoted_printable::decode(part_body, quoted_printable::ParseMode::Strict).unwrap();
            parts.push((kind, String::from_utf8(decoded).unwrap()));
        }
        Mail {
            mail_from: v["mail_from"].as_str().unwrap().to_string(),
            rcpt_tos: v["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
            auth: v["auth"].clone(),
            parsed: v["parsed"].clone(),
            headers,
            parts,
        }
    }

    fn part(&self, kind: &str) -> &str {
        self.parts
            .iter()
            .find(|(k, _)| k.starts_with(kind))
            .map(|(_, b)| b.as_str())
            .unwrap_or_else(|| panic!("no {kind} part in {:?}", self.parts))
    }
}

/// A config with one receiver `mail` and the given `email_configs` entry (YAML lines
/// indented by 4).
fn config(entry: &str) -> String {
    format!(
        "route:\n  receiver: mail\n  group_by: [alertname]\n  group_wait: 100ms\nreceivers:\n- name: mail\n  email_configs:\n  - {}\n",
        entry.trim_start()
    )
}

/// The entry's common fields, for the server on `port`.
fn entry(port: u16, extra: &str) -> String {
    format!(
        "to: 'Ops Team <ops@example.org>, oncall@example.org'\n    from: 'Alertmanager <am@example.org>'\n    smarthost: '127.0.0.1:{port}'\n    headers:\n      Subject: '[{{{{ .Status | toUpper }}}}] {{{{ .GroupLabels.alertname }}}}'\n      X-Team: '{{{{ .CommonLabels.team }}}}'\n    text: 'Alerts:{{{{ range .Alerts }}}} {{{{ .Labels.instance }}}}={{{{ .Annotations.summary }}}}{{{{ end }}}}'\n    html: '<p>{{{{ .CommonAnnotations.summary }}}}</p>'\n    {}",
        extra.trim_start()
    )
}

fn alert(instance: &str, summary: &str) -> Arc<Alert> {
    Arc::new(Alert {
        labels: LabelSet::from_pairs([
            ("alertname", "DiskFull"),
            ("instance", instance),
            ("team", "storage"),
        ]),
        annotations: LabelSet::from_pairs([("summary", summary)]),
        starts_at: jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60),
        ends_at: None,
        generator_url: "http://prometheus.example/graph".into(),
        updated_at: jiff::Timestamp::now(),
        timeout: false,
    })
}

fn context() -> NotifyContext {
    NotifyContext::new(Arc::new(FlushContext {
        receiver: "mail".into(),
        group_key: GROUP_KEY.into(),
        group_labels: LabelSet::from_pairs([("alertname", "DiskFull")]),
        route_labels: LabelSet::default(),
        repeat_interval: Duration::from_secs(3600),
        mute_time_intervals: Vec::new(),
        active_time_intervals: Vec::new(),
        now: jiff::Timestamp::now(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(60),
    }))
}

/// Builds the `mail` receiver's e-mail notifier from `entry` and sends two alerts.
async fn notify(entry: &str) -> Result<(), NotifyError> {
    let yaml = config(entry);
    let config =
        Config::parse(&yaml, ParseOptions::default()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let receiver = config.receivers.iter().find(|r| r.name == "mail").unwrap();
    let built = integrations::build(
        receiver,
        &IntegrationEnv::with_defaults("http://am.example"),
    );
    assert_eq!(built.len(), 1);
    assert_eq!(built[0].name, "email");
    let alerts = vec![
        alert("db1", "disk <b>full</b> & more"),
        alert("db2", "disk <b>full</b> & more"),
    ];
    let ctx = context();
    tokio::time::timeout(
        Duration::from_secs(30),
        built[0].notifier.notify(&ctx, &alerts),
    )
    .await
    .expect("notify did not finish within 30 s")
}

/// The checks every delivered test mail passes.
fn check_content(mail: &Mail) {
    assert_eq!(mail.mail_from, "am@example.org");
    assert_eq!(mail.rcpt_tos, ["ops@example.org", "oncall@example.org"]);
    assert_eq!(mail.headers["Subject"], "[FIRING] DiskFull");
    assert_eq!(mail.headers["X-Team"], "storage");
    assert_eq!(mail.headers["From"], "Alertmanager <am@example.org>");
    assert_eq!(
        mail.headers["To"],
        "Ops Team <ops@example.org>, oncall@example.org"
    );
    assert_eq!(mail.headers["MIME-Version"], "1.0");
    assert!(
        mail.headers["Content-Type"].starts_with("multipart/alternative;"),
        "{:?}",
        mail.headers
    );
    let id = &mail.headers["Message-Id"];
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );
    jiff::fmt::rfc2822::parse(&mail.headers["Date"]).unwrap();
    assert_eq!(mail.parts.len(), 2, "{:?}", mail.parts);
    assert!(mail.parts[0].0.starts_with("text/plain; charset=UTF-8"));
    assert!(mail.parts[1].0.starts_with("text/html; charset=UTF-8"));
    // Text templates do not escape; the HTML part is escaped like html/template.
    assert_eq!(
        mail.part("text/plain"),
        "Alerts: db1=disk <b>full</b> & more db2=disk <b>full</b> & more"
    );
    assert_eq!(
        mail.part("text/html"),
        "<p>disk &lt;b&gt;full&lt;/b&gt; &amp; more</p>"
    );
    check_parsed(mail);
}

/// Python's parser saw a defect-free multipart/alternative with the same parts.
fn check_parsed(mail: &Mail) {
    let p = &mail.parsed;
    assert_eq!(p["content_type"], "multipart/alternative", "{p}");
    assert_eq!(p["defects"], serde_json::json!([]), "{p}");
    let parts = p["parts"].as_array().unwrap();
    assert_eq!(parts.len(), mail.parts.len(), "{p}");
    for (theirs, (kind, body)) in parts.iter().zip(&mail.parts) {
        assert!(kind.starts_with(theirs["type"].as_str().unwrap()), "{p}");
        assert_eq!(theirs["defects"], serde_json::json!([]), "{p}");
        assert_eq!(
            theirs["content"].as_str().unwrap().replace("\r\n", "\n"),
            body.replace("\r\n", "\n"),
            "{p}"
        );
    }
}

#[tokio::test]
async fn plain_delivery_with_headers_parts_and_threading() {
    let server = SmtpServer::start(&[]).await;
    notify(&entry(
        server.port,
        "require_tls: false\n    threading:\n      enabled: true\n      thread_by_date: none",
    ))
    .await
    .unwrap();
    let mail = server.mail(1).await;
    check_content(&mail);
    assert!(mail.auth.is_null());
    let hash = format!("{:x}", Sha256::digest(GROUP_KEY.as_bytes()));
    let root = format!("<alert-{}-@alertmanager>", &hash[..16]);
    assert_eq!(mail.headers["References"], root);
    assert_eq!(mail.headers["In-Reply-To"], root);
}

#[tokio::test]
async fn non_ascii_headers_and_dot_lines_arrive_intact() {
    let server = SmtpServer::start(&[]).await;
    let extra = format!(
        "to: ops@example.org\n    from: am@example.org\n    smarthost: '127.0.0.1:{}'\n    require_tls: false\n    headers:\n      Subject: 'Café {{{{ .GroupLabels.alertname }}}} — über alles, with a subject long enough to need several encoded words'\n    text: \"first\\n.dot line\\n..two dots\\nlast\"\n    html: '<p>été</p>'",
        server.port
    );
    notify(&extra).await.unwrap();
    let mail = server.mail(1).await;
    let subject = &mail.headers["Subject"];
    assert!(subject.starts_with("=?utf-8?q?"), "{subject}");
    assert_eq!(
        mail.parsed["subject"],
        "Caf\u{e9} DiskFull \u{2014} \u{fc}ber alles, with a subject long enough to need several encoded words"
    );
    assert_eq!(
        mail.part("text/plain"),
        "first\r\n.dot line\r\n..two dots\r\nlast"
    );
    assert_eq!(mail.part("text/html"), "<p>\u{e9}t\u{e9}</p>");
    check_parsed(&mail);
}

#[tokio::test]
async fn daily_threads_carry_the_date() {
    let server = SmtpServer::start(&[]).await;
    notify(&entry(
        server.port,
        "require_tls: false\n    threading:\n      enabled: true\n      thread_by_date: daily",
    ))
    .await
    .unwrap();
    let mail = server.mail(1).await;
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let references = &mail.headers["References"];
    assert!(
        references.ends_with(&format!("-{today}@alertmanager>")),
        "{references}"
    );
}

#[tokio::test]
async fn starttls_with_test_ca_and_plain_auth() {
    let pki = Pki::new();
    let server = SmtpServer::start(&[
        "--mode",
        "starttls",
        "--cert",
        &pki.path("server.pem"),
        "--key",
        &pki.path("server.key"),
        "--user",
        "alice",
        "--password",
        "s3cret-pw",
        "--mechanisms",
        "PLAIN",
    ])
    .await;
    let extra = format!(
        "auth_username: alice\n    auth_password: s3cret-pw\n    auth_identity: ops-identity\n    tls_config:\n      ca_file: {}",
        pki.path("ca.pem")
    );
    notify(&entry(server.port, &extra)).await.unwrap();
    let mail = server.mail(1).await;
    check_content(&mail);
    assert_eq!(mail.auth["mechanism"], "PLAIN");
    assert_eq!(mail.auth["login"], "alice");
    assert_eq!(mail.auth["identity"], "ops-identity");
}

#[tokio::test]
async fn starttls_checks_the_server_certificate() {
    let pki = Pki::new();
    let server = SmtpServer::start(&[
        "--mode",
        "starttls",
        "--cert",
        &pki.path("server.pem"),
        "--key",
        &pki.path("server.key"),
    ])
    .await;
    // Not signed by a CA the system trusts: the handshake fails, and is retried.
    let e = notify(&entry(server.port, "")).await.unwrap_err();
    assert!(e.retry, "{e:?}");
    assert!(e.message.starts_with("send STARTTLS command: "), "{e:?}");
    // The wrong server name against the test CA fails too.
    let extra = format!(
        "tls_config:\n      ca_file: {}\n      server_name: other.example",
        pki.path("ca.pem")
    );
    let e = notify(&entry(server.port, &extra)).await.unwrap_err();
    assert!(e.message.starts_with("send STARTTLS command: "), "{e:?}");
    assert_eq!(server.received(), 0);
    // insecure_skip_verify accepts it.
    notify(&entry(
        server.port,
        "tls_config:\n      insecure_skip_verify: true",
    ))
    .await
    .unwrap();
    check_content(&server.mail(1).await);
}

#[tokio::test]
async fn require_tls_needs_starttls() {
    let server = SmtpServer::start(&[]).await;
    let e = notify(&entry(server.port, "")).await.unwrap_err();
    assert!(e.retry, "{e:?}");
    assert_eq!(
        e.message,
        format!(
            "'require_tls' is true (default) but \"127.0.0.1:{}\" does not advertise the STARTTLS extension",
            server.port
        )
    );
    assert_eq!(server.received(), 0);
}

#[tokio::test]
async fn implicit_tls_with_login_auth_from_a_password_file() {
    let pki = Pki::new();
    let server = SmtpServer::start(&[
        "--mode",
        "implicit",
        "--cert",
        &pki.path("server.pem"),
        "--key",
        &pki.path("server.key"),
        "--user",
        "bob",
        "--password",
        "from-file",
        "--mechanisms",
        "LOGIN",
    ])
    .await;
    let pw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pw.path(), "from-file\n").unwrap();
    let extra = format!(
        "force_implicit_tls: true\n    auth_username: bob\n    auth_password_file: {}\n    tls_config:\n      ca_file: {}",
        pw.path().display(),
        pki.path("ca.pem")
    );
    notify(&entry(server.port, &extra)).await.unwrap();
    let mail = server.mail(1).await;
    check_content(&mail);
    assert_eq!(mail.auth["mechanism"], "LOGIN");
    assert_eq!(mail.auth["login"], "bob");
    // The file is read at each send: a changed password takes effect at once.
    std::fs::write(pw.path(), "rotated\n").unwrap();
    let e = notify(&entry(server.port, &extra)).await.unwrap_err();
    assert!(e.message.starts_with("LOGIN auth: "), "{e:?}");
    assert!(!e.message.contains("rotated"), "{e:?}");
    assert_eq!(server.received(), 1);
}

#[tokio::test]
async fn cram_md5_is_used_when_advertised_first() {
    let server = SmtpServer::start(&[
        "--user",
        "carol",
        "--password",
        "pw",
        "--secret",
        "cram-secret",
    ])
    .await;
    // aiosmtpd offers "CRAM-MD5 LOGIN PLAIN": the first one the config can serve wins.
    let extra = "require_tls: false\n    auth_username: carol\n    auth_password: pw\n    auth_secret: cram-secret";
    notify(&entry(server.port, extra)).await.unwrap();
    let mail = server.mail(1).await;
    check_content(&mail);
    assert_eq!(mail.auth["mechanism"], "CRAM-MD5");
    assert_eq!(mail.auth["login"], "carol");
    // Without a secret, CRAM-MD5 is passed over for LOGIN.
    let extra = "require_tls: false\n    auth_username: carol\n    auth_password: pw";
    notify(&entry(server.port, extra)).await.unwrap();
    assert_eq!(server.mail(2).await.auth["mechanism"], "LOGIN");
}

#[tokio::test]
async fn wrong_password_is_permanent_and_not_shown() {
    let server = SmtpServer::start(&[
        "--user",
        "dave",
        "--password",
        "right",
        "--mechanisms",
        "PLAIN",
    ])
    .await;
    let extra = "require_tls: false\n    auth_username: dave\n    auth_password: Wr0ngPassw0rd";
    let e = notify(&entry(server.port, extra)).await.unwrap_err();
    assert!(!e.retry, "{e:?}");
    assert!(e.message.contains("535"), "{e:?}");
    assert!(e.message.starts_with("PLAIN auth: "), "{e:?}");
    assert!(
        !e.message.contains("Wr0ng") && !format!("{e:?}").contains("Wr0ng"),
        "{e:?}"
    );
    assert_eq!(server.received(), 0);
}

#[tokio::test]
async fn temporary_rejections_are_retried_permanent_ones_not() {
    let server = SmtpServer::start(&["--rcpt-reply", "451 4.3.0 Try again later"]).await;
    let e = notify(&entry(server.port, "require_tls: false"))
        .await
        .unwrap_err();
    assert!(e.retry, "{e:?}");
    assert!(e.message.starts_with("send RCPT command: "), "{e:?}");
    assert!(e.message.contains("451"), "{e:?}");
    let server = SmtpServer::start(&["--rcpt-reply", "550 5.1.1 No such user"]).await;
    let e = notify(&entry(server.port, "require_tls: false"))
        .await
        .unwrap_err();
    assert!(!e.retry, "{e:?}");
    assert!(e.message.contains("550"), "{e:?}");
}

#[tokio::test]
async fn connection_refused_is_retried() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = notify(&entry(port, "require_tls: false"))
        .await
        .unwrap_err();
    assert!(e.retry, "{e:?}");
    assert!(
        e.message.starts_with("establish connection to server: "),
        "{e:?}"
    );
}

#[tokio::test]
async fn engine_binary_delivers_mail() {
    use support::alerts::{alert as spec, post_alerts};
    use support::process::{AmProcess, Target, http_client};
    let server = SmtpServer::start(&[]).await;
    let yaml = config(&entry(server.port, "require_tls: false"));
    let engine = AmProcess::start(&Target::larum(), &yaml, &[])
        .await
        .unwrap();
    let alerts = [
        spec(&[
            ("alertname", "DiskFull"),
            ("instance", "db1"),
            ("team", "storage"),
        ])
        .annotation("summary", "disk <b>full</b> & more"),
        spec(&[
            ("alertname", "DiskFull"),
            ("instance", "db2"),
            ("team", "storage"),
        ])
        .annotation("summary", "disk <b>full</b> & more"),
    ];
    post_alerts(&http_client(), &engine.url(""), &alerts)
        .await
        .unwrap();
    let mail = server.mail(1).await;
    check_content(&mail);
    engine.stop().await;
}
