//! `--web.config.file`: TLS, mTLS, basic auth, response headers and live reloads, checked
//! against the engine process with certificates made by the test; Debian's Prometheus and
//! amtool (0.25 and 0.34) talk to it with their own TLS and basic auth settings.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use support::process::{larum_engine, listening_address};

const CONFIG: &str = "route:\n  receiver: blackhole\nreceivers:\n- name: blackhole\n";

/// A test certificate authority.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate and key (PEM) for `localhost`/`127.0.0.1`, for a server or a client.
    fn leaf(&self, client: bool) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "larum test");
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A directory with a CA, a server certificate and a web config file.
struct Setup {
    dir: tempfile::TempDir,
    ca: Ca,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("larum test ca");
        let setup = Setup { dir, ca };
        setup.write_server_cert(&setup.ca);
        std::fs::write(setup.path("ca.pem"), setup.ca.pem()).unwrap();
        setup
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_server_cert(&self, ca: &Ca) {
        let (cert, key) = ca.leaf(false);
        // Replace atomically: a half-written file must not be read.
        for (name, text) in [("server.key", key), ("server.pem", cert)] {
            let tmp = self.path(&format!("{name}.tmp"));
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, self.path(name)).unwrap();
        }
    }

    fn write_web_config(&self, text: &str) -> PathBuf {
        let path = self.path("web.yml");
        let tmp = self.path("web.yml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }
}

fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// The engine with a web config file.
struct Engine {
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
    _storage: tempfile::TempDir,
}

impl Engine {
    /// Starts the engine and returns once it logged its address (the listener is bound).
    async fn start(web_config: &Path) -> Result<Engine, String> {
        let storage = tempfile::tempdir().unwrap();
        std::fs::write(storage.path().join("am.yml"), CONFIG).unwrap();
        let mut child = Command::new(larum_engine())
            .arg(format!(
                "--config.file={}",
                storage.path().join("am.yml").display()
            ))
            .arg(format!("--storage.path={}", storage.path().display()))
            .arg("--web.listen-address=127.0.0.1:0")
            // Clustering is on by default (0.0.0.0:9094): off, so tests can run side by side.
            .arg("--cluster.listen-address=")
            .arg(format!("--web.config.file={}", web_config.display()))
            .arg("--log.level=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = log
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| listening_address(l));
            if let Some(address) = found {
                return Ok(Engine {
                    child,
                    address,
                    log,
                    _storage: storage,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Let the reader drain stderr.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!(
                    "exited with {status}: {}",
                    log.lock().unwrap().join("\n")
                ));
            }
            assert!(Instant::now() < deadline, "no Listening on line within 20s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port())
    }

    fn port(&self) -> u16 {
        self.address.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until `check` holds for a log line.
    async fn wait_log(&self, what: &str, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log.lock().unwrap().iter().any(|l| check(l)) {
            assert!(
                Instant::now() < deadline,
                "no log line {what}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A client trusting `ca_pem`, presenting `identity` (cert + key PEM) when given.
fn client(ca_pem: &str, identity: Option<(String, String)>) -> reqwest::Client {
    larum_engine::notify::integrations::http::install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .no_proxy()
        // A new connection (and handshake) for every request: changes apply to new ones.
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).unwrap())
        .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

/// Polls `GET url` with `request` until it answers `status` (the engine applies changes on
/// the next request, but file events may take a moment to be visible).
async fn wait_status(
    what: &str,
    mut request: impl FnMut() -> reqwest::RequestBuilder,
    status: u16,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let last = request().send().await;
        if let Ok(r) = &last
            && r.status().as_u16() == status
        {
            return last.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{what}: wanted {status}, last answer {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_basic_auth_accepts_the_right_password_only() {
    let s = Setup::new();
    let web = s.write_web_config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: {}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        hash("wonderland")
    ));
    let engine = Engine::start(&web).await.unwrap();
    let c = client(&s.ca.pem(), None);

    let ok = wait_status(
        "right password",
        || {
            c.get(engine.url("/api/v2/status"))
                .basic_auth("alice", Some("wonderland"))
        },
        200,
    )
    .await;
    assert_eq!(ok.headers()["x-frame-options"], "deny");
    // Cached checks answer the same.
    for _ in 0..3 {
        let r = c
            .get(engine.url("/-/healthy"))
            .basic_auth("alice", Some("wonderland"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    let wrong = c
        .get(engine.url("/api/v2/status"))
        .basic_auth("alice", Some("looking-glass"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.headers()["www-authenticate"], "Basic");
    assert_eq!(wrong.headers()["x-frame-options"], "deny");
    let unknown = c
        .get(engine.url("/api/v2/status"))
        .basic_auth("mallory", Some("wonderland"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let missing = c.get(engine.url("/api/v2/alerts")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let post = c
        .post(engine.url("/api/v2/alerts"))
        .json(&serde_json::json!([{"labels": {"alertname": "X"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 401);

    // Plain HTTP on the TLS port gets no API answer.
    let plain = support::process::http_client()
        .get(format!("http://{}/api/v2/status", engine.address))
        .basic_auth("alice", Some("wonderland"))
        .send()
        .await;
    assert!(
        plain.map(|r| r.status() != 200).unwrap_or(true),
        "plain HTTP was served"
    );
    // A client that does not trust the CA cannot connect.
    let stranger = client(&Ca::new("other ca").pem(), None);
    assert!(stranger.get(engine.url("/-/healthy")).send().await.is_err());
    // The password never appears in the log, nor does the hash.
    assert!(!engine.log().contains("wonderland"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_requires_a_client_certificate_from_the_client_ca() {
    let s = Setup::new();
    let client_ca = Ca::new("client ca");
    std::fs::write(s.path("client-ca.pem"), client_ca.pem()).unwrap();
    let web = s.write_web_config(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: client-ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: TLS12\n",
    );
    let engine = Engine::start(&web).await.unwrap();

    let trusted = client(&s.ca.pem(), Some(client_ca.leaf(true)));
    wait_status(
        "client certificate from the client CA",
        || trusted.get(engine.url("/-/healthy")),
        200,
    )
    .await;
    let anonymous = client(&s.ca.pem(), None);
    assert!(
        anonymous
            .get(engine.url("/-/healthy"))
            .send()
            .await
            .is_err()
    );
    let foreign = client(&s.ca.pem(), Some(Ca::new("foreign").leaf(true)));
    assert!(foreign.get(engine.url("/-/healthy")).send().await.is_err());

    // VerifyClientCertIfGiven: no certificate is fine, a foreign one is not.
    s.write_web_config(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_ca_file: client-ca.pem\n  client_auth_type: VerifyClientCertIfGiven\n",
    );
    wait_status(
        "no client certificate under VerifyClientCertIfGiven",
        || anonymous.get(engine.url("/-/healthy")),
        200,
    )
    .await;
    assert!(foreign.get(engine.url("/-/healthy")).send().await.is_err());

    // RequireAnyClientCert: any certificate, none refused.
    s.write_web_config(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n",
    );
    wait_status(
        "a foreign certificate under RequireAnyClientCert",
        || foreign.get(engine.url("/-/healthy")),
        200,
    )
    .await;
    assert!(
        anonymous
            .get(engine.url("/-/healthy"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_files_apply_without_restart_and_bad_ones_keep_the_old_settings() {
    let s = Setup::new();
    let web = s.write_web_config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: {}\n",
        hash("first")
    ));
    let engine = Engine::start(&web).await.unwrap();
    let c = client(&s.ca.pem(), None);
    wait_status(
        "first password",
        || {
            c.get(engine.url("/-/healthy"))
                .basic_auth("alice", Some("first"))
        },
        200,
    )
    .await;

    // A new password is used at once.
    s.write_web_config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: {}\n",
        hash("second")
    ));
    wait_status(
        "second password",
        || {
            c.get(engine.url("/-/healthy"))
                .basic_auth("alice", Some("second"))
        },
        200,
    )
    .await;
    let old = c
        .get(engine.url("/-/healthy"))
        .basic_auth("alice", Some("first"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);

    // A broken file is logged and changes nothing.
    s.write_web_config("basic_auth_users:\n  alice: not-a-hash\n");
    let r = c
        .get(engine.url("/-/healthy"))
        .basic_auth("alice", Some("second"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    engine
        .wait_log("about the failed reload naming the field", |l| {
            l.contains("Reloading the web config failed") && l.contains("basic_auth_users.alice")
        })
        .await;
    assert!(!engine.log().contains("second\""));

    // A rotated certificate (from a new CA) is served to the next connection.
    s.write_web_config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: {}\n",
        hash("second")
    ));
    let new_ca = Ca::new("rotated ca");
    s.write_server_cert(&new_ca);
    let rotated = client(&new_ca.pem(), None);
    wait_status(
        "the rotated certificate",
        || {
            rotated
                .get(engine.url("/-/healthy"))
                .basic_auth("alice", Some("second"))
        },
        200,
    )
    .await;
    assert!(c.get(engine.url("/-/healthy")).send().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_web_config_at_start_is_a_clear_error() {
    let s = Setup::new();
    for (text, expected) in [
        (
            "tls_server_config:\n  cert_file: server.pem\n",
            "tls_server_config.key_file",
        ),
        (
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
            "TLS_RSA_WITH_RC4_128_SHA",
        ),
        (
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: server.key\n",
            "missing.pem",
        ),
        (
            "basic_auth_users:\n  bob: hunter2\n",
            "basic_auth_users.bob",
        ),
        (
            "http_server_config:\n  headers:\n    Set-Cookie: a=b\n",
            "Set-Cookie",
        ),
        (
            "tls_server_config:\n  client_auth_type: Always\n",
            "client_auth_type",
        ),
    ] {
        let web = s.write_web_config(text);
        let err = match Engine::start(&web).await {
            Ok(_) => panic!("started with {text:?}"),
            Err(e) => e,
        };
        assert!(err.contains(expected), "{text:?}: {err}");
        assert!(err.contains("web config"), "{text:?}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

/// Writes an `--http.config.file` for Prometheus' client library (amtool and Prometheus).
fn client_http_config(s: &Setup, password: &str) -> PathBuf {
    let path = s.path(&format!("http-{password}.yml"));
    std::fs::write(
        &path,
        format!(
            "basic_auth:\n  username: alice\n  password: {password}\ntls_config:\n  ca_file: {}\n",
            s.path("ca.pem").display()
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_works_over_tls_with_basic_auth() {
    let s = Setup::new();
    let web = s.write_web_config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  alice: {}\n",
        hash("amtool-pw")
    ));
    let engine = Engine::start(&web).await.unwrap();
    let c = client(&s.ca.pem(), None);
    wait_status(
        "ready",
        || {
            c.get(engine.url("/-/ready"))
                .basic_auth("alice", Some("amtool-pw"))
        },
        200,
    )
    .await;
    let good = client_http_config(&s, "amtool-pw");
    let amtools: Vec<PathBuf> = [Some(PathBuf::from(support::amtool::DEBIAN_AMTOOL))]
        .into_iter()
        .chain([support::amtool::upstream_amtool()])
        .flatten()
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !amtools.is_empty(),
        "no amtool: run scripts/install-test-deps.sh"
    );
    for amtool in amtools {
        let run = |config: &Path, args: &[&str]| {
            std::process::Command::new(&amtool)
                .arg(format!("--alertmanager.url={}", engine.url("")))
                .arg(format!("--http.config.file={}", config.display()))
                .args(args)
                .output()
                .unwrap()
        };
        let add = run(&good, &["alert", "add", "AmtoolOverTls", "severity=page"]);
        assert!(
            add.status.success(),
            "{}: {}",
            amtool.display(),
            String::from_utf8_lossy(&add.stderr)
        );
        let query = run(&good, &["alert", "query", "-o", "json"]);
        assert!(
            query.status.success(),
            "{}",
            String::from_utf8_lossy(&query.stderr)
        );
        assert!(String::from_utf8_lossy(&query.stdout).contains("AmtoolOverTls"));
        let bad = client_http_config(&s, "wrong");
        let refused = run(&bad, &["alert", "query"]);
        assert!(
            !refused.status.success(),
            "{} accepted a wrong password",
            amtool.display()
        );
        std::fs::remove_file(&bad).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sends_alerts_over_tls_with_basic_auth() {
    support::process::require_program("prometheus").unwrap();
    let s = Setup::new();
    let web = s.write_web_config(&format!(
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\nbasic_auth_users:\n  prometheus: {}\n",
        hash("prom-pw")
    ));
    let engine = Engine::start(&web).await.unwrap();
    let rules = s.path("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: larum\n  rules:\n  - alert: LarumOverTls\n    expr: vector(1)\n    labels:\n      team: larum\n",
    )
    .unwrap();
    let config = s.path("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files:\n- {}\nalerting:\n  alertmanagers:\n  - api_version: v2\n    scheme: https\n    basic_auth:\n      username: prometheus\n      password: prom-pw\n    tls_config:\n      ca_file: {}\n      server_name: localhost\n    static_configs:\n    - targets: ['127.0.0.1:{}']\n",
            rules.display(),
            s.path("ca.pem").display(),
            engine.port()
        ),
    )
    .unwrap();
    let prometheus = support::prometheus::Prometheus::start(&config, &s.path("tsdb"))
        .await
        .unwrap();
    let c = client(&s.ca.pem(), None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alerts: serde_json::Value = c
            .get(engine.url("/api/v2/alerts"))
            .basic_auth("prometheus", Some("prom-pw"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["labels"]["alertname"] == "LarumOverTls" && a["labels"]["team"] == "larum")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            prometheus.failure("did not deliver the alert over TLS within 60s")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
