//! The control plane of the node: certificates and tokens, etcd, kube-apiserver,
//! kube-controller-manager and kube-scheduler, all inside the node's network namespace.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    SanType,
};

use super::netns::NetNs;
use super::{API_PORT, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME, POD_CIDR, SERVICE_CIDR};
use crate::{HarnessError, Process, io, random_hex, tool, write_kubeconfig};

/// Certificates and keys of one node cluster, as files in its temp dir.
pub(crate) struct NodePki {
    pub(crate) ca_pem: String,
    pub(crate) ca_file: PathBuf,
    pub(crate) ca_key: PathBuf,
    pub(crate) apiserver_cert: PathBuf,
    pub(crate) apiserver_key: PathBuf,
    /// The API server's client certificate towards kubelets (group system:masters).
    pub(crate) kubelet_client_cert: PathBuf,
    pub(crate) kubelet_client_key: PathBuf,
    /// The kubelet's serving certificate (IP SAN = the node's address).
    pub(crate) kubelet_cert: PathBuf,
    pub(crate) kubelet_key: PathBuf,
    pub(crate) sa_key: PathBuf,
    pub(crate) sa_pub: PathBuf,
}

fn cert_err(what: &'static str) -> impl FnOnce(rcgen::Error) -> HarnessError {
    move |source| HarnessError::Certificate { what, source }
}

/// One certificate signed by `ca`: (certificate PEM, key PEM).
fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    what: &'static str,
    common_name: &str,
    organization: Option<&str>,
    dns: &[&str],
    ips: &[Ipv4Addr],
    usage: ExtendedKeyUsagePurpose,
) -> Result<(String, String), HarnessError> {
    let key = KeyPair::generate().map_err(cert_err(what))?;
    let mut params = CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>())
        .map_err(cert_err(what))?;
    for ip in ips {
        params
            .subject_alt_names
            .push(SanType::IpAddress((*ip).into()));
    }
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    if let Some(o) = organization {
        params.distinguished_name.push(DnType::OrganizationName, o);
    }
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let cert = params.signed_by(&key, ca).map_err(cert_err(what))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Makes the CA, the API server's and kubelet's certificates and the service-account key.
pub(crate) fn generate_pki(dir: &Path) -> Result<NodePki, HarnessError> {
    let (ca, ca_key_pem) = crate::self_signed_ca("larum-node-ca")?;
    let (apiserver, apiserver_key) = leaf(
        &ca,
        "the API server's certificate",
        "kube-apiserver",
        None,
        &[
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
        &[Ipv4Addr::LOCALHOST, NODE_IP, KUBERNETES_SERVICE_IP],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let (kubelet_client, kubelet_client_key) = leaf(
        &ca,
        "the API server's kubelet client certificate",
        "kube-apiserver-kubelet-client",
        Some("system:masters"),
        &[],
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    )?;
    let (kubelet, kubelet_key) = leaf(
        &ca,
        "the kubelet's serving certificate",
        NODE_NAME,
        None,
        &[NODE_NAME],
        &[NODE_IP],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let sa_key = KeyPair::generate().map_err(cert_err("the service-account key"))?;
    let pki_dir = dir.join("pki");
    std::fs::create_dir_all(&pki_dir).map_err(io("creating the pki dir"))?;
    let write = |name: &str, text: &str| -> Result<PathBuf, HarnessError> {
        let path = pki_dir.join(name);
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
        Ok(path)
    };
    Ok(NodePki {
        ca_pem: ca.pem(),
        ca_file: write("ca.crt", &ca.pem())?,
        ca_key: write("ca.key", &ca_key_pem)?,
        apiserver_cert: write("apiserver.crt", &apiserver)?,
        apiserver_key: write("apiserver.key", &apiserver_key)?,
        kubelet_client_cert: write("apiserver-kubelet-client.crt", &kubelet_client)?,
        kubelet_client_key: write("apiserver-kubelet-client.key", &kubelet_client_key)?,
        kubelet_cert: write("kubelet.crt", &kubelet)?,
        kubelet_key: write("kubelet.key", &kubelet_key)?,
        sa_key: write("sa.key", &sa_key.serialize_pem())?,
        sa_pub: write("sa.pub", &sa_key.public_key_pem())?,
    })
}

/// The kubeconfigs of the admin and of each component (bearer tokens from the API
/// server's token file; the kubelet's is its Node identity, so the Node authorizer and
/// NodeRestriction apply to it).
pub(crate) struct Credentials {
    /// The admin's, pointing at the API server inside the namespace.
    pub(crate) admin_in_netns: PathBuf,
    pub(crate) admin_token: String,
    pub(crate) kubelet: PathBuf,
    pub(crate) controller_manager: PathBuf,
    pub(crate) scheduler: PathBuf,
    pub(crate) proxy: PathBuf,
    pub(crate) token_file: PathBuf,
}

/// Writes the token file and one kubeconfig per component.
pub(crate) fn credentials(dir: &Path, ca_pem: &str) -> Result<Credentials, HarnessError> {
    let server = format!("https://{NODE_IP}:{API_PORT}");
    let kc_dir = dir.join("kubeconfigs");
    std::fs::create_dir_all(&kc_dir).map_err(io("creating the kubeconfig dir"))?;
    let users: [(&str, String, &str); 5] = [
        ("admin", "admin".into(), "system:masters"),
        (
            "kubelet",
            format!("system:node:{NODE_NAME}"),
            "system:nodes",
        ),
        (
            "controller-manager",
            "system:kube-controller-manager".into(),
            "",
        ),
        ("scheduler", "system:kube-scheduler".into(), ""),
        ("proxy", "system:kube-proxy".into(), ""),
    ];
    let mut tokens = String::new();
    let mut paths = Vec::new();
    let mut admin_token = String::new();
    for (file, user, group) in users {
        let token = random_hex();
        let groups = if group.is_empty() {
            String::new()
        } else {
            format!(",\"{group}\"")
        };
        tokens.push_str(&format!("{token},{user},{file}-uid{groups}\n"));
        let path = kc_dir.join(file);
        write_kubeconfig(&path, &server, ca_pem, &token)?;
        if file == "admin" {
            admin_token = token;
        }
        paths.push(path);
    }
    let token_file = dir.join("pki").join("tokens.csv");
    std::fs::write(&token_file, tokens).map_err(io("writing the token file"))?;
    let mut paths = paths.into_iter();
    let mut next = || paths.next().unwrap_or_default();
    Ok(Credentials {
        admin_in_netns: next(),
        admin_token,
        kubelet: next(),
        controller_manager: next(),
        scheduler: next(),
        proxy: next(),
        token_file,
    })
}

/// Starts `program` inside the namespace, logging to `<dir>/logs/<name>.log`.
pub(crate) fn spawn_in_netns(
    netns: &NetNs,
    dir: &Path,
    name: &str,
    program: &Path,
    args: &[String],
) -> Result<Process, HarnessError> {
    let mut all = netns.nsenter_args();
    all.push(program.display().to_string());
    all.extend(args.iter().cloned());
    Process::spawn(
        name,
        Path::new("/usr/bin/nsenter"),
        &all,
        dir.join("logs").join(format!("{name}.log")),
    )
}

/// etcd and the API server.
pub(crate) struct ApiServer {
    pub(crate) etcd: Process,
    pub(crate) apiserver: Process,
}

/// The controller manager and the scheduler.
pub(crate) struct Controllers {
    pub(crate) controller_manager: Process,
    pub(crate) scheduler: Process,
}

/// Starts etcd and the API server (not waiting for them).
pub(crate) fn start_api(
    netns: &NetNs,
    dir: &Path,
    pki: &NodePki,
    creds: &Credentials,
) -> Result<ApiServer, HarnessError> {
    let p = |path: &Path| path.display().to_string();
    let etcd = spawn_in_netns(
        netns,
        dir,
        "etcd",
        &tool("etcd")?,
        &[
            "--name=larum-node".into(),
            format!("--data-dir={}", p(&dir.join("etcd"))),
            "--listen-client-urls=http://127.0.0.1:2379".into(),
            "--advertise-client-urls=http://127.0.0.1:2379".into(),
            "--listen-peer-urls=http://127.0.0.1:2380".into(),
            "--initial-advertise-peer-urls=http://127.0.0.1:2380".into(),
            "--initial-cluster=larum-node=http://127.0.0.1:2380".into(),
            "--listen-metrics-urls=".into(),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ],
    )?;
    let apiserver = spawn_in_netns(
        netns,
        dir,
        "kube-apiserver",
        &tool("kube-apiserver")?,
        &[
            "--etcd-servers=http://127.0.0.1:2379".into(),
            "--bind-address=0.0.0.0".into(),
            format!("--advertise-address={NODE_IP}"),
            format!("--secure-port={API_PORT}"),
            format!("--cert-dir={}", p(&dir.join("apiserver-certs"))),
            format!("--tls-cert-file={}", p(&pki.apiserver_cert)),
            format!("--tls-private-key-file={}", p(&pki.apiserver_key)),
            format!("--client-ca-file={}", p(&pki.ca_file)),
            format!("--token-auth-file={}", p(&creds.token_file)),
            "--authorization-mode=Node,RBAC".into(),
            "--enable-admission-plugins=NodeRestriction,PodSecurity".into(),
            "--allow-privileged=true".into(),
            format!("--service-cluster-ip-range={SERVICE_CIDR}"),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", p(&pki.sa_pub)),
            format!("--service-account-signing-key-file={}", p(&pki.sa_key)),
            format!(
                "--kubelet-client-certificate={}",
                p(&pki.kubelet_client_cert)
            ),
            format!("--kubelet-client-key={}", p(&pki.kubelet_client_key)),
            format!("--kubelet-certificate-authority={}", p(&pki.ca_file)),
            // The node's address, never a name the machine's DNS would be asked about.
            "--kubelet-preferred-address-types=InternalIP".into(),
            "--enable-priority-and-fairness=false".into(),
            "--profiling=false".into(),
            "--v=0".into(),
        ],
    )?;
    Ok(ApiServer { etcd, apiserver })
}

/// Starts the controller manager and the scheduler, once the API server is ready (they
/// exit when RBAC's bootstrap roles are not there yet).
pub(crate) fn start_controllers(
    netns: &NetNs,
    dir: &Path,
    pki: &NodePki,
    creds: &Credentials,
) -> Result<Controllers, HarnessError> {
    let p = |path: &Path| path.display().to_string();
    let controller_manager = spawn_in_netns(
        netns,
        dir,
        "kube-controller-manager",
        &tool("kube-controller-manager")?,
        &[
            format!("--kubeconfig={}", p(&creds.controller_manager)),
            format!(
                "--authentication-kubeconfig={}",
                p(&creds.controller_manager)
            ),
            format!(
                "--authorization-kubeconfig={}",
                p(&creds.controller_manager)
            ),
            "--bind-address=127.0.0.1".into(),
            format!("--cert-dir={}", p(&dir.join("controller-manager-certs"))),
            format!("--service-account-private-key-file={}", p(&pki.sa_key)),
            format!("--root-ca-file={}", p(&pki.ca_file)),
            "--use-service-account-credentials=true".into(),
            format!("--cluster-signing-cert-file={}", p(&pki.ca_file)),
            format!("--cluster-signing-key-file={}", p(&pki.ca_key)),
            format!("--service-cluster-ip-range={SERVICE_CIDR}"),
            format!("--cluster-cidr={POD_CIDR}"),
            "--allocate-node-cidrs=false".into(),
            "--leader-elect=false".into(),
            "--profiling=false".into(),
            "--v=0".into(),
        ],
    )?;
    let scheduler = spawn_in_netns(
        netns,
        dir,
        "kube-scheduler",
        &tool("kube-scheduler")?,
        &[
            format!("--kubeconfig={}", p(&creds.scheduler)),
            format!("--authentication-kubeconfig={}", p(&creds.scheduler)),
            format!("--authorization-kubeconfig={}", p(&creds.scheduler)),
            "--bind-address=127.0.0.1".into(),
            "--leader-elect=false".into(),
            "--profiling=false".into(),
            "--v=0".into(),
        ],
    )?;
    Ok(Controllers {
        controller_manager,
        scheduler,
    })
}
