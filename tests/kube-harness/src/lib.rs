//! A real Kubernetes control plane for tests: etcd and kube-apiserver (built by
//! `make cluster-tools` from `tests/cluster/`) on free loopback ports, with certificates,
//! a service-account signing key and an admin token made for each cluster, a kubeconfig,
//! `kubectl` and a [`kube::Client`].
//!
//! ```no_run
//! let cluster = larum_kube_harness::Cluster::start().unwrap();
//! cluster.kubectl(&["create", "namespace", "team-a"]).unwrap();
//! // ... the processes are killed and the temp dir removed when `cluster` is dropped,
//! // also when the test panics.
//! ```
//!
//! The binaries are looked up in `$LARUM_CLUSTER_TOOLS/bin`, else in
//! `<workspace>/.cache/cluster-tools/bin`.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

pub mod node;
mod process;
pub use process::Process;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// How long [`Cluster::start`] waits for `/readyz` by default.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What can go wrong while starting or using a test cluster.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A binary of `make cluster-tools` is missing.
    #[error("{tool} not found in {dir}: run `make cluster-tools` (or set LARUM_CLUSTER_TOOLS)")]
    ToolMissing {
        /// The binary's name.
        tool: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Generating certificates or keys failed.
    #[error("generating {what}: {source}")]
    Certificate {
        /// Which certificate or key.
        what: &'static str,
        /// The cause.
        source: rcgen::Error,
    },
    /// A control-plane process exited while it should run.
    #[error("{process} exited with {status}; last log lines:\n{log}")]
    Exited {
        /// etcd or kube-apiserver.
        process: String,
        /// Its exit status.
        status: ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// The API server did not become ready in time.
    #[error(
        "kube-apiserver not ready within {timeout:?} (last answer: {last}); last log lines:\n{log}"
    )]
    NotReady {
        /// The deadline that passed.
        timeout: Duration,
        /// The last `/readyz` answer or error.
        last: String,
        /// The end of the API server's log.
        log: String,
    },
    /// `kubectl` (or `helm`) failed.
    #[error("{tool} {args} failed ({status}): {stderr}")]
    Kubectl {
        /// The program (`kubectl`, `helm`).
        tool: String,
        /// The arguments.
        args: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on standard error.
        stderr: String,
    },
    /// Building the kube client failed.
    #[error("kube client: {0}")]
    Client(String),
    /// Something a [`node::Node`] needs is missing on this machine (a tool, a kernel
    /// feature, root): tests skip on it unless `CI` or `LARUM_REQUIRE_ALL` is set.
    #[error("missing requirement: {0}")]
    Requirement(String),
    /// A helper command (ip, ctr, runc, ...) failed.
    #[error("{command} failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A stage of a node's start-up failed or timed out.
    #[error("node {stage}: {detail}")]
    Stage {
        /// The stage (netns, containerd, start-up, ...).
        stage: &'static str,
        /// What happened, with log excerpts.
        detail: String,
    },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The directory with `kube-apiserver`, `etcd`, `kubectl` and `helm`.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("LARUM_CLUSTER_TOOLS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("bin"),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/cluster-tools/bin"),
    }
}

/// The path of one cluster tool (`kube-apiserver`, `etcd`, `kubectl`, `helm`), if built.
pub fn tool(name: &str) -> Result<PathBuf, HarnessError> {
    let dir = tools_dir();
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(HarnessError::ToolMissing {
            tool: name.to_string(),
            dir,
        })
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> Result<u16, HarnessError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("binding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io("reading the bound port"))?
        .port();
    Ok(port)
}

pub(crate) fn random_hex() -> String {
    let mut out = String::new();
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let _ = write!(out, "{:016x}", h.finish());
    }
    out
}

/// Files made for one cluster.
struct Pki {
    ca_pem: String,
    serving_cert: PathBuf,
    serving_key: PathBuf,
    ca_file: PathBuf,
    sa_key: PathBuf,
    sa_pub: PathBuf,
}

/// A self-signed certificate authority named `common_name` for a test cluster, and the
/// PEM of its key.
pub(crate) fn self_signed_ca(
    common_name: &str,
) -> Result<(CertifiedIssuer<'static, KeyPair>, String), HarnessError> {
    let cert_err = |what| move |source| HarnessError::Certificate { what, source };
    let ca_key = KeyPair::generate().map_err(cert_err("the CA key"))?;
    let ca_key_pem = ca_key.serialize_pem();
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(cert_err("the CA"))?;
    Ok((ca, ca_key_pem))
}

fn generate_pki(dir: &Path) -> Result<Pki, HarnessError> {
    let cert_err = |what| move |source| HarnessError::Certificate { what, source };
    let (ca, _) = self_signed_ca("larum-test-ca")?;

    let serving_key = KeyPair::generate().map_err(cert_err("the serving key"))?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
    ])
    .map_err(cert_err("the serving certificate's names"))?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
    params
        .subject_alt_names
        .push(SanType::IpAddress(Ipv4Addr::new(10, 0, 0, 1).into()));
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving = params
        .signed_by(&serving_key, &ca)
        .map_err(cert_err("the serving certificate"))?;
    let sa_key = KeyPair::generate().map_err(cert_err("the service-account key"))?;

    let write = |name: &str, text: &str| -> Result<PathBuf, HarnessError> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
        Ok(path)
    };
    Ok(Pki {
        ca_pem: ca.pem(),
        ca_file: write("ca.crt", &ca.pem())?,
        serving_cert: write("apiserver.crt", &serving.pem())?,
        serving_key: write("apiserver.key", &serving_key.serialize_pem())?,
        sa_key: write("sa.key", &sa_key.serialize_pem())?,
        sa_pub: write("sa.pub", &sa_key.public_key_pem())?,
    })
}

/// A running etcd plus kube-apiserver, torn down on drop.
pub struct Cluster {
    // Field order matters: the API server stops before etcd, the directory goes last.
    apiserver: Process,
    etcd: Process,
    server: String,
    token: String,
    ca_pem: String,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts a cluster and waits until `/readyz` answers ok (at most
    /// [`DEFAULT_READY_TIMEOUT`]).
    pub fn start() -> Result<Cluster, HarnessError> {
        Cluster::start_with_timeout(DEFAULT_READY_TIMEOUT)
    }

    /// Starts a cluster, waiting at most `timeout` for `/readyz`.
    pub fn start_with_timeout(timeout: Duration) -> Result<Cluster, HarnessError> {
        let etcd_bin = tool("etcd")?;
        let apiserver_bin = tool("kube-apiserver")?;
        let kubectl = tool("kubectl")?;
        let dir = tempfile::Builder::new()
            .prefix("larum-kube-")
            .tempdir()
            .map_err(io("creating the cluster's temp dir"))?;
        let pki = generate_pki(dir.path())?;
        let token = random_hex();
        let tokens = dir.path().join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{token},admin,admin-uid,\"system:masters\"\n"),
        )
        .map_err(io("writing the token file"))?;

        let client_port = free_port()?;
        let peer_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd_args: Vec<String> = vec![
            "--name=larum".into(),
            format!("--data-dir={}", dir.path().join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=larum={peer_url}"),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ];
        let etcd = Process::spawn("etcd", &etcd_bin, &etcd_args, dir.path().join("etcd.log"))?;

        let port = free_port()?;
        let server = format!("https://127.0.0.1:{port}");
        let apiserver_args: Vec<String> = vec![
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", dir.path().join("certs").display()),
            format!("--tls-cert-file={}", pki.serving_cert.display()),
            format!("--tls-private-key-file={}", pki.serving_key.display()),
            format!("--client-ca-file={}", pki.ca_file.display()),
            format!("--token-auth-file={}", tokens.display()),
            "--authorization-mode=RBAC".into(),
            "--service-cluster-ip-range=10.0.0.0/24".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", pki.sa_pub.display()),
            format!(
                "--service-account-signing-key-file={}",
                pki.sa_key.display()
            ),
            // The default reconciler refuses a loopback advertise address.
            "--endpoint-reconciler-type=none".into(),
            "--enable-priority-and-fairness=false".into(),
            "--profiling=false".into(),
            "--v=0".into(),
        ];
        let apiserver = Process::spawn(
            "kube-apiserver",
            &apiserver_bin,
            &apiserver_args,
            dir.path().join("kube-apiserver.log"),
        )?;

        let kubeconfig = dir.path().join("kubeconfig");
        write_kubeconfig(&kubeconfig, &server, &pki.ca_pem, &token)?;
        let cluster = Cluster {
            apiserver,
            etcd,
            server,
            token,
            ca_pem: pki.ca_pem,
            kubeconfig,
            kubectl,
            dir,
        };
        cluster.wait_ready(timeout)?;
        Ok(cluster)
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        let mut last: String;
        loop {
            self.etcd.check_running()?;
            self.apiserver.check_running()?;
            match self.kubectl(&["get", "--raw", "/readyz"]) {
                Ok(out) if out.trim() == "ok" => return Ok(()),
                Ok(out) => last = out,
                Err(e) => last = e.to_string(),
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NotReady {
                    timeout,
                    last,
                    log: self.apiserver.log_tail(15),
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The API server's URL, `https://127.0.0.1:PORT`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The admin bearer token (group `system:masters`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The PEM of the CA that signed the API server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig file for the admin user (set it as `KUBECONFIG` for other processes).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The cluster's temp dir (removed on drop); logs are `etcd.log` and `kube-apiserver.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PIDs of etcd and kube-apiserver.
    pub fn pids(&self) -> Vec<u32> {
        vec![self.etcd.pid(), self.apiserver.pid()]
    }

    /// Runs `kubectl` with the admin kubeconfig and returns its standard output.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, HarnessError> {
        self.kubectl_with_stdin(args, None)
    }

    /// `kubectl apply -f -` of a YAML or JSON manifest; returns kubectl's output.
    pub fn apply(&self, manifest: &str) -> Result<String, HarnessError> {
        self.kubectl_with_stdin(&["apply", "-f", "-"], Some(manifest))
    }

    /// Runs `kubectl` with `input` on its standard input.
    pub fn kubectl_with_stdin(
        &self,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<String, HarnessError> {
        run_kubectl(&self.kubectl, &self.kubeconfig, args, input)
    }

    /// A kube client authenticated as the admin.
    pub async fn client(&self) -> Result<kube::Client, HarnessError> {
        client_for(&self.kubeconfig).await
    }

    /// Stops the API server and etcd and removes the temp dir (what dropping does).
    pub fn shutdown(self) {
        drop(self);
    }
}

/// Runs `KUBECTL --kubeconfig=KUBECONFIG ARGS...` (kubectl, or helm, which takes the same
/// flag), with `input` on its standard input; its standard output.
pub fn run_kubectl(
    kubectl: &Path,
    kubeconfig: &Path,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, HarnessError> {
    let mut child = Command::new(kubectl)
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("starting kubectl"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(io("writing kubectl's input"))?;
    }
    let out = child.wait_with_output().map_err(io("running kubectl"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(HarnessError::Kubectl {
            tool: kubectl
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            args: args.join(" "),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// A kube client from a kubeconfig file.
pub(crate) async fn client_for(kubeconfig: &Path) -> Result<kube::Client, HarnessError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig)
        .map_err(|e| HarnessError::Client(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| HarnessError::Client(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| HarnessError::Client(e.to_string()))
}

pub(crate) fn write_kubeconfig(
    path: &Path,
    server: &str,
    ca_pem: &str,
    token: &str,
) -> Result<(), HarnessError> {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    // JSON is YAML: kubectl and kube read it alike.
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "larum-test", "cluster": {
            "server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "larum-test", "context": {
            "cluster": "larum-test", "user": "admin", "namespace": "default"}}],
        "current-context": "larum-test",
    });
    std::fs::write(path, config.to_string()).map_err(io("writing the kubeconfig"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_names_the_server_ca_and_token() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("kc");
        write_kubeconfig(&path, "https://127.0.0.1:1", "PEM", "tok")
            .unwrap_or_else(|e| panic!("{e}"));
        let kc = kube::config::Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("{e}"));
        let cluster = kc.clusters[0]
            .cluster
            .as_ref()
            .unwrap_or_else(|| panic!("no cluster"));
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:1"));
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("UEVN"));
        assert_eq!(kc.current_context.as_deref(), Some("larum-test"));
    }

    #[test]
    fn pki_is_a_chain_with_loopback_names() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pki = generate_pki(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let cert = std::fs::read_to_string(&pki.serving_cert).unwrap_or_else(|e| panic!("{e}"));
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let key = std::fs::read_to_string(&pki.sa_key).unwrap_or_else(|e| panic!("{e}"));
        assert!(key.contains("PRIVATE KEY"));
        let public = std::fs::read_to_string(&pki.sa_pub).unwrap_or_else(|e| panic!("{e}"));
        assert!(public.contains("BEGIN PUBLIC KEY"));
    }

    #[test]
    fn a_missing_tool_names_the_make_target() {
        let err = HarnessError::ToolMissing {
            tool: "etcd".into(),
            dir: PathBuf::from("/nowhere"),
        };
        assert!(err.to_string().contains("make cluster-tools"));
    }
}
