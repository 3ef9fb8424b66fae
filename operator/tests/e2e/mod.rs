//! End-to-end environment for the operator: a real etcd and kube-apiserver
//! (`larum-kube-harness`), the CRDs from `crds/`, `larum-operator` processes, three
//! `larum-engine` replicas that gossip and load their config with `--config.secret`, the
//! engines' headless Service with one EndpointSlice per replica (there is no
//! endpoint controller, so the test writes them), and a recording webhook endpoint.
//!
//! The engine support code (replicas, webhook endpoint, alert sender, Prometheus) is the
//! engine's own test support, included by path.
#![allow(dead_code)]

#[path = "../../../engine/tests/support/mod.rs"]
pub mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::Api;
use larum_kube_harness::{Cluster, Process};
use larum_operator::crd::{AlertRoute, Condition, InhibitRule, Silence};
use serde_json::{Value, json};

use support::alerts::{AlertSpec, post_alerts};
use support::cluster::{Replica, ReplicaSpec, eventually};
use support::process::http_client;
use support::prometheus::Prometheus;
use support::receiver::WebhookReceiver;

/// The operator's admin namespace (its resources apply cluster-wide).
pub const ADMIN_NS: &str = "larum-system";
/// The rendered Secret, `--config.secret` of the engines.
pub const SECRET: &str = "larum-config";
/// The engines' headless Service.
pub const ENGINE_SERVICE: &str = "larum-engine";
/// The Lease of the operators' leader election.
pub const LEASE: &str = "larum-operator";

const OPERATOR: &str = env!("CARGO_BIN_EXE_larum-operator");

/// Engine flags for fast tests: short peer timeout and gossip interval.
const ENGINE_FLAGS: &[&str] = &[
    "--cluster.peer-timeout=1s",
    "--cluster.gossip-interval=100ms",
    "--cluster.settle-timeout=10s",
];

/// What to start.
#[derive(Clone, Debug)]
pub struct EnvSpec {
    /// Number of operator replicas (leader election among them).
    pub operators: usize,
    /// Number of engine replicas.
    pub engines: usize,
    /// The root route's `group_wait`.
    pub root_group_wait: &'static str,
}

impl Default for EnvSpec {
    fn default() -> Self {
        EnvSpec {
            operators: 1,
            engines: 3,
            root_group_wait: "1s",
        }
    }
}

/// One running `larum-operator`.
pub struct Operator {
    /// Its identity in the Lease.
    pub identity: String,
    /// The process (killed with SIGKILL when dropped).
    pub process: Process,
}

/// The whole system, torn down when dropped.
pub struct Env {
    // Field order: processes stop before the control plane.
    /// The recording webhook endpoint every receiver points at (path per receiver).
    pub hook: WebhookReceiver,
    /// Engine replicas.
    pub engines: Vec<Replica>,
    /// Operator replicas.
    pub operators: Vec<Operator>,
    prometheus: Option<Prometheus>,
    /// The control plane.
    pub cluster: Cluster,
    /// A kube client as admin.
    pub client: kube::Client,
    dir: tempfile::TempDir,
}

impl Env {
    /// Starts everything in `spec` and waits until the operators have written the config
    /// Secret and the engines are ready and see each other.
    pub async fn start(spec: EnvSpec) -> Env {
        let cluster = tokio::task::block_in_place(Cluster::start).expect("start the test cluster");
        let client = cluster.client().await.expect("kube client");
        let hook = WebhookReceiver::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = Env {
            hook,
            engines: Vec::new(),
            operators: Vec::new(),
            prometheus: None,
            cluster,
            client,
            dir,
        };
        for ns in [ADMIN_NS, "team-a", "team-b"] {
            env.kubectl(&["create", "namespace", ns]);
        }
        let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
        env.kubectl(&["apply", "-f", &crds.to_string_lossy()]);
        env.kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd",
            "--all",
            "--timeout=60s",
        ]);
        env.apply(&json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": ENGINE_SERVICE, "namespace": ADMIN_NS},
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": true,
                     "ports": [{"name": "http", "port": 9093}]},
        }));
        let config = env.dir.path().join("operator.yaml");
        std::fs::write(&config, operator_config(&env.hook, spec.root_group_wait))
            .expect("write the operator config");
        for i in 0..spec.operators {
            env.start_operator(&format!("operator-{i}"), &config);
        }
        if spec.operators > 0 {
            env.wait_secret().await;
        }
        for i in 0..spec.engines {
            env.start_engine(i).await;
        }
        for engine in &env.engines {
            eventually(
                &format!("{} to see {} members", engine.name, spec.engines),
                Duration::from_secs(20),
                || async { (engine.member_names().await.len() == spec.engines).then_some(()) },
            )
            .await
            .unwrap();
        }
        env
    }

    fn start_operator(&mut self, identity: &str, config: &Path) {
        let port = larum_kube_harness::free_port().expect("free port");
        let args: Vec<String> = vec![
            "run".into(),
            format!("--kubeconfig={}", self.cluster.kubeconfig().display()),
            format!("--config={}", config.display()),
            format!("--output-secret={ADMIN_NS}/{SECRET}"),
            format!("--engine-service={ADMIN_NS}/{ENGINE_SERVICE}"),
            format!("--listen-address=127.0.0.1:{port}"),
            format!("--identity={identity}"),
            format!("--lease-name={LEASE}"),
            "--lease-duration-seconds=3".into(),
        ];
        // The operator runs in a private mount namespace whose /etc/hosts maps the engines'
        // names (the EndpointSlices' FQDN addresses) to loopback, as cluster DNS would.
        let mut wrapped: Vec<String> = vec![
            "-m".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            "mount --bind \"$0\" /etc/hosts && exec \"$@\"".into(),
            self.hosts_file().to_string_lossy().into_owned(),
            OPERATOR.into(),
        ];
        wrapped.extend(args);
        let log = self.dir.path().join(format!("{identity}.log"));
        let process = Process::spawn_with_env(
            identity,
            Path::new("/usr/bin/unshare"),
            &wrapped,
            &[("RUST_LOG", "info,larum_operator=debug")],
            log,
        )
        .expect("start larum-operator");
        self.operators.push(Operator {
            identity: identity.to_string(),
            process,
        });
    }

    async fn wait_secret(&self) {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), ADMIN_NS);
        let found = eventually(
            "the operator to write its Secret",
            Duration::from_secs(60),
            || {
                let secrets = secrets.clone();
                async move { secrets.get_opt(SECRET).await.ok().flatten() }
            },
        )
        .await;
        if let Err(e) = found {
            panic!("{e}; operator logs:\n{}", self.operator_logs());
        }
    }

    async fn start_engine(&mut self, i: usize) {
        let peers: Vec<&str> = self
            .engines
            .first()
            .map(|e| e.gossip.as_str())
            .into_iter()
            .collect();
        let storage = self.dir.path().join(format!("engine-{i}"));
        std::fs::create_dir_all(&storage).expect("engine storage dir");
        let kubeconfig = self.cluster.kubeconfig().to_string_lossy().into_owned();
        let spec = ReplicaSpec::new(&format!("engine-{i}"), &peers)
            .flags(ENGINE_FLAGS)
            .flags(&[&format!("--config.secret={ADMIN_NS}/{SECRET}")])
            .env("KUBECONFIG", &kubeconfig);
        // The file is not read: the Secret is the config source.
        let replica = Replica::start(
            &spec,
            Path::new("/nonexistent/alertmanager.yml"),
            &storage,
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let port: u16 = replica
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("engine port");
        self.apply(&json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{ENGINE_SERVICE}-{i}"), "namespace": ADMIN_NS,
                         "labels": {"kubernetes.io/service-name": ENGINE_SERVICE}},
            // The API server refuses loopback IPs in EndpointSlices; a name is allowed.
            "addressType": "FQDN",
            "endpoints": [{"addresses": [engine_host(i)], "conditions": {"ready": true}}],
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        }));
        self.engines.push(replica);
    }

    /// Runs kubectl as admin; panics with its error output on failure.
    pub fn kubectl(&self, args: &[&str]) -> String {
        tokio::task::block_in_place(|| self.cluster.kubectl(args)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl apply` of a manifest (JSON value); panics on failure.
    pub fn apply(&self, manifest: &Value) -> String {
        self.try_apply(manifest).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl apply` of a manifest; the error text when kubectl refuses it.
    pub fn try_apply(&self, manifest: &Value) -> Result<String, String> {
        tokio::task::block_in_place(|| self.cluster.apply(&manifest.to_string()))
            .map_err(|e| e.to_string())
    }

    /// The logs of every operator, for failure messages.
    pub fn operator_logs(&self) -> String {
        self.operators
            .iter()
            .map(|o| format!("--- {}:\n{}", o.identity, o.process.log_tail(40)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The rendered `alertmanager.yaml`.
    pub async fn rendered_config(&self) -> String {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), ADMIN_NS);
        let secret = secrets.get(SECRET).await.expect("the rendered Secret");
        let bytes = secret
            .data
            .and_then(|d| d.get("alertmanager.yaml").cloned())
            .expect("alertmanager.yaml in the Secret");
        String::from_utf8(bytes.0).expect("UTF-8 config")
    }

    /// The current holder of the operators' Lease.
    pub async fn lease_holder(&self) -> Option<String> {
        let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
            Api::namespaced(self.client.clone(), ADMIN_NS);
        leases
            .get_opt(LEASE)
            .await
            .ok()
            .flatten()
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
    }

    /// Posts `alerts` to every engine, as Prometheus does.
    pub async fn post_to_all(&self, alerts: &[AlertSpec]) {
        let client = http_client();
        for engine in &self.engines {
            post_alerts(&client, &engine.base, alerts)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Each engine's view of the alert whose labels include all of `labels`:
    /// `(state, silencedBy, inhibitedBy)`, `None` where the engine does not have it.
    pub async fn alert_states(&self, labels: &[(&str, &str)]) -> Vec<Option<AlertView>> {
        let mut out = Vec::new();
        for engine in &self.engines {
            let alerts = engine
                .get_json("/api/v2/alerts")
                .await
                .unwrap_or(Value::Null);
            let found = alerts.as_array().into_iter().flatten().find(|a| {
                labels
                    .iter()
                    .all(|(k, v)| a["labels"][*k].as_str() == Some(*v))
            });
            out.push(found.map(AlertView::from_json));
        }
        out
    }

    /// Waits until every engine's view of the alert with `labels` satisfies `check`.
    pub async fn wait_alert_on_all(
        &self,
        what: &str,
        labels: &[(&str, &str)],
        timeout: Duration,
        check: impl Fn(&AlertView) -> bool,
    ) -> Duration {
        let start = Instant::now();
        let deadline = start + timeout;
        loop {
            let views = self.alert_states(labels).await;
            if views.iter().all(|v| v.as_ref().is_some_and(&check)) {
                return start.elapsed();
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; alert {labels:?} on each engine: {views:?}\noperator logs:\n{}",
                    self.operator_logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts Debian's Prometheus evaluating `rules` (a rule file's YAML) every second
    /// and sending to every engine.
    pub async fn start_prometheus(&mut self, rules: &str) {
        let rules_path = self.dir.path().join("rules.yml");
        std::fs::write(&rules_path, rules).expect("write rules");
        let targets: Vec<String> = self
            .engines
            .iter()
            .map(|e| format!("'{}'", e.base.trim_start_matches("http://")))
            .collect();
        let config = format!(
            "global:\n  evaluation_interval: 1s\nrule_files: ['{}']\nalerting:\n  alertmanagers:\n  - api_version: v2\n    static_configs:\n    - targets: [{}]\n",
            rules_path.display(),
            targets.join(", ")
        );
        let config_path = self.dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let data = self.dir.path().join("prometheus-data");
        let prometheus = Prometheus::start(&config_path, &data)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.prometheus = Some(prometheus);
    }

    /// A typed API for AlertRoutes in `namespace`.
    pub fn alert_routes(&self, namespace: &str) -> Api<AlertRoute> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// A typed API for Silences in `namespace`.
    pub fn silences(&self, namespace: &str) -> Api<Silence> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// A typed API for InhibitRules in `namespace`.
    pub fn inhibit_rules(&self, namespace: &str) -> Api<InhibitRule> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Waits until condition `type_` of a resource is `status` for its current generation
    /// and returns the condition.
    pub async fn wait_condition<K>(
        &self,
        api: &Api<K>,
        name: &str,
        type_: &str,
        status: &str,
        timeout: Duration,
    ) -> Condition
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + HasConditions,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let object = api.get_opt(name).await.ok().flatten();
            if let Some(object) = &object {
                let generation = object.meta().generation;
                if let Some(c) = object
                    .conditions()
                    .iter()
                    .find(|c| c.type_ == type_ && c.status == status)
                    && (c.observed_generation.is_none() || c.observed_generation == generation)
                {
                    return c.clone();
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {name} to be {type_}={status}; object: {object:#?}\noperator logs:\n{}",
                    self.operator_logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The operators' `/etc/hosts`: every engine name that can appear, on loopback.
    fn hosts_file(&self) -> PathBuf {
        let path = self.dir.path().join("hosts");
        if !path.exists() {
            let mut text = String::from("127.0.0.1 localhost\n");
            for i in 0..16 {
                text.push_str(&format!("127.0.0.1 {}\n", engine_host(i)));
            }
            std::fs::write(&path, text).expect("write the hosts file");
        }
        path
    }

    /// The path of a file in the environment's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Resources with status conditions.
pub trait HasConditions {
    /// The conditions, empty without a status.
    fn conditions(&self) -> &[Condition];
}

impl HasConditions for AlertRoute {
    fn conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .map_or(&[], |s| s.conditions.as_slice())
    }
}

impl HasConditions for InhibitRule {
    fn conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .map_or(&[], |s| s.conditions.as_slice())
    }
}

impl HasConditions for Silence {
    fn conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .map_or(&[], |s| s.conditions.as_slice())
    }
}

/// The DNS name of engine replica `i` in its EndpointSlice (loopback for the operators).
fn engine_host(i: usize) -> String {
    format!("engine-{i}.larum-engine.e2e.test")
}

/// One engine's view of one alert.
#[derive(Clone, Debug)]
pub struct AlertView {
    /// `status.state`: active, suppressed or unprocessed.
    pub state: String,
    /// `status.silencedBy`.
    pub silenced_by: Vec<String>,
    /// `status.inhibitedBy`.
    pub inhibited_by: Vec<String>,
}

impl AlertView {
    fn from_json(alert: &Value) -> AlertView {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        AlertView {
            state: alert["status"]["state"].as_str().unwrap_or("").to_string(),
            silenced_by: strings(&alert["status"]["silencedBy"]),
            inhibited_by: strings(&alert["status"]["inhibitedBy"]),
        }
    }

    /// Active: neither silenced nor inhibited.
    pub fn is_active(&self) -> bool {
        self.state == "active" && self.silenced_by.is_empty() && self.inhibited_by.is_empty()
    }
}

/// The operator's config: admin namespace, a root route to the `platform` receiver (path
/// `/platform` of the webhook endpoint).
fn operator_config(hook: &WebhookReceiver, group_wait: &str) -> String {
    format!(
        "adminNamespace: {ADMIN_NS}
route:
  receiver: platform
  group_by: [alertname, namespace]
  group_wait: {group_wait}
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: platform
    webhook_configs:
      - url: {}
",
        hook.url("/platform")
    )
}

/// An AlertRoute in `namespace` sending alerts matching `matchers` (`name=value`) to the
/// webhook endpoint's `path`, with the URL from a Secret `<name>-hook` it creates.
pub fn alert_route_with_secret_url(
    env: &Env,
    namespace: &str,
    name: &str,
    matchers: &[(&str, &str, &str)],
    group_wait: &str,
    path: &str,
) -> Value {
    env.apply(&json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{name}-hook"), "namespace": namespace},
        "stringData": {"url": env.hook.url(path)},
    }));
    json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "AlertRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "matchers": matchers.iter().map(|(n, op, v)| json!({"name": n, "matchType": op, "value": v})).collect::<Vec<_>>(),
            "receiver": "hook",
            "groupBy": ["alertname"],
            "groupWait": group_wait,
            "groupInterval": "5s",
            "repeatInterval": "1h",
            "receivers": [{"name": "hook", "webhookConfigs": [{"urlSecret": {"name": format!("{name}-hook"), "key": "url"}}]}],
        },
    })
}
