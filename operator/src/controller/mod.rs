//! The controller: watches AlertRoutes, InhibitRules, Silences and each Secret they
//! reference (by name, see [`secrets`]), and on every change (and at silence start/end times) runs a render pass
//! ([`reconcile::reconcile`]) while it holds the leader Lease.
//!
//! Like kube-rs's `controller-rs`: reflector caches feed the passes, status goes
//! through server-side apply, rejections become Events, and `/metrics`, `/healthz`
//! and `/readyz` are served beside it. Unlike a per-object controller, every pass
//! renders all resources, since they all end up in one Secret.

pub mod metrics;
pub mod reconcile;
pub mod replicas;
pub mod secrets;
pub mod server;
pub mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client};
use tokio::sync::Notify;

use crate::crd::{AlertRoute, InhibitRule, Silence};
use crate::render::OperatorConfig;
use metrics::Metrics;
use reconcile::{Context, OutputSecret, Snapshot};
use replicas::{EndpointSliceReplicas, NoReplicas, ReplicaSource};
use secrets::SecretWatches;
use server::Health;

/// Flags of `larum-operator run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Kubeconfig file (default: in-cluster config, or $KUBECONFIG / ~/.kube/config).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// The operator's config file (root route, global, admin receivers, admin namespace).
    #[arg(long = "config", value_name = "FILE")]
    pub config: PathBuf,
    /// The Secret to write, NAMESPACE/NAME.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub output_secret: String,
    /// The engine's headless Service, NAMESPACE/NAME, for the `Loaded` condition.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub engine_service: Option<String>,
    /// Name of the engine's HTTP port in the Service.
    #[arg(long, default_value = "http")]
    pub engine_port_name: String,
    /// The engine's HTTP port when the Service names none.
    #[arg(long, default_value_t = 9093)]
    pub engine_port: u16,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen_address: SocketAddr,
    /// The engine's HTTP path prefix (`--web.route-prefix`, or the path of its
    /// `--web.external-url`), e.g. `/alertmanager`.
    #[arg(long, default_value = "")]
    pub engine_path_prefix: String,
    /// Elect a leader through a Lease (run several replicas safely).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "larum-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (default: the output Secret's).
    #[arg(long)]
    pub lease_namespace: Option<String>,
    /// Lease duration in seconds (a new leader takes over after about this long).
    #[arg(long, default_value_t = 15)]
    pub lease_duration_seconds: u64,
    /// This replica's identity in the Lease (default: $POD_NAME, else host name and PID).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, default_value = "text")]
    pub log_format: String,
}

fn split_ref(s: &str, flag: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => anyhow::bail!("--{flag}: expected NAMESPACE/NAME, got {s:?}"),
    }
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// An API client from a kubeconfig file, or the default (in-cluster, then $KUBECONFIG).
pub async fn client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .with_context(|| format!("loading kubeconfig {}", path.display()))?
        }
        None => kube::Config::infer()
            .await
            .context("finding a Kubernetes config")?,
    };
    Client::try_from(config).context("building the Kubernetes client")
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Caches of the watched kinds.
#[derive(Clone)]
struct Caches {
    routes: Store<AlertRoute>,
    inhibits: Store<InhibitRule>,
    silences: Store<Silence>,
    secrets: Arc<SecretWatches>,
    /// `(namespace, name)` of the output Secret.
    output: (String, String),
}

impl Caches {
    /// What a pass renders, or `None` while a newly needed Secret watch has not answered
    /// yet (it pokes the trigger when it does). Keeps the Secret watches in step with the
    /// AlertRoutes: one per referenced Secret, plus the output Secret (someone else
    /// changing it makes a pass restore it).
    fn snapshot(&self) -> Option<Snapshot> {
        fn clone<K: Clone>(v: Vec<Arc<K>>) -> Vec<K> {
            v.into_iter().map(|a| (*a).clone()).collect()
        }
        let alert_routes: Vec<AlertRoute> = clone(self.routes.state());
        let wanted = reconcile::referenced_secrets(&alert_routes);
        let mut watched = wanted.clone();
        watched.insert(self.output.clone());
        self.secrets.watch_exactly(&watched);
        if !self.secrets.synced() {
            return None;
        }
        let mut secrets = self.secrets.data();
        secrets.retain(|key, _| wanted.contains(key));
        Some(Snapshot {
            alert_routes,
            inhibit_rules: clone(self.inhibits.state()),
            silences: clone(self.silences.state()),
            secrets,
        })
    }
}

/// Starts a reflector for `K` whose events poke `trigger` (when `relevant` says so).
fn spawn_reflector<K>(
    api: Api<K>,
    trigger: Arc<Notify>,
    relevant: impl Fn(&K) -> bool + Send + 'static,
) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher::watcher(api, watcher::Config::default()).default_backoff(),
    );
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(WatchEvent::Apply(o) | WatchEvent::Delete(o)) => {
                    if relevant(&o) {
                        trigger.notify_one();
                    }
                }
                Ok(WatchEvent::InitDone) => trigger.notify_one(),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(kind = %K::kind(&()), error = %e, "watch failed; retrying")
                }
            }
        }
    });
    store
}

/// Runs the controller until SIGTERM/SIGINT.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_tracing(&args.log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = OperatorConfig::load(&args.config)?;
    let (out_ns, out_name) = split_ref(&args.output_secret, "output-secret")?;
    let client = client(args.kubeconfig.as_deref()).await?;
    run_with(
        args,
        client,
        config,
        OutputSecret {
            namespace: out_ns,
            name: out_name,
        },
        shutdown_signal(),
    )
    .await
}

/// Runs the controller with a ready client and config until `shutdown` resolves
/// (what tests call).
pub async fn run_with(
    args: RunArgs,
    client: Client,
    config: OperatorConfig,
    output: OutputSecret,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let server = tokio::spawn(server::serve(
        args.listen_address,
        metrics.clone(),
        health.clone(),
        stopped(stop_rx.clone()),
    ));

    let replicas: Arc<dyn ReplicaSource> = match &args.engine_service {
        Some(s) => {
            let (ns, name) = split_ref(s, "engine-service")?;
            Arc::new(EndpointSliceReplicas::new(
                client.clone(),
                &ns,
                &name,
                &args.engine_port_name,
                args.engine_port,
                &args.engine_path_prefix,
            )?)
        }
        None => Arc::new(NoReplicas),
    };

    let trigger = Arc::new(Notify::new());
    let caches = Caches {
        routes: spawn_reflector(Api::all(client.clone()), trigger.clone(), |_| true),
        inhibits: spawn_reflector(Api::all(client.clone()), trigger.clone(), |_| true),
        silences: spawn_reflector(Api::all(client.clone()), trigger.clone(), |_| true),
        secrets: Arc::new(SecretWatches::new(client.clone(), trigger.clone())),
        output: (output.namespace.clone(), output.name.clone()),
    };
    for ready in [
        caches.routes.wait_until_ready().await,
        caches.inhibits.wait_until_ready().await,
        caches.silences.wait_until_ready().await,
    ] {
        ready.context("a watch stopped before its first list")?;
    }
    health.set_ready(true);
    tracing::info!("caches synced");

    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "larum-operator".to_string());
        format!("{host}-{}", std::process::id())
    });
    let (mut leader_rx, lease_task) = if args.leader_election {
        let lease_ns = args
            .lease_namespace
            .clone()
            .unwrap_or(output.namespace.clone());
        let manager =
            kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &args.lease_name)
                .with_namespace(&lease_ns)
                .with_identity(&identity)
                .with_duration(args.lease_duration_seconds)
                .with_grace(args.lease_duration_seconds.div_ceil(3).max(1))
                .build()
                .await
                .context("setting up leader election")?;
        let (rx, task) = manager.watch().await;
        (rx, Some(task))
    } else {
        (tokio::sync::watch::channel(true).1, None)
    };

    let ctx = Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "larum-operator".to_string(),
                instance: Some(identity.clone()),
            },
        ),
        client,
        config,
        output,
        replicas,
        metrics: metrics.clone(),
        last_applied: tokio::sync::Mutex::new(None),
    };

    let mut stop = stop_rx.clone();
    let mut requeue: Option<Duration> = Some(Duration::ZERO);
    let mut failures = 0u32;
    loop {
        let leader = *leader_rx.borrow_and_update();
        metrics.leader.set(i64::from(leader));
        let wait = if leader { requeue } else { None };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            changed = leader_rx.changed() => {
                if changed.is_err() {
                    anyhow::bail!("leader election stopped");
                }
                if *leader_rx.borrow() {
                    tracing::info!(%identity, "became the leader");
                    *ctx.last_applied.lock().await = None;
                    requeue = Some(Duration::ZERO);
                } else {
                    tracing::info!(%identity, "lost the lease");
                }
                continue;
            }
            _ = trigger.notified() => {}
            _ = sleep_opt(wait) => {}
        }
        if !*leader_rx.borrow() {
            continue;
        }
        // Coalesce a burst of events into one pass.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let Some(snap) = caches.snapshot() else {
            // Render once every Secret watch has answered, so a Secret that exists is
            // never reported missing.
            requeue = Some(Duration::from_secs(1));
            continue;
        };
        match reconcile::reconcile(&ctx, &snap, jiff::Timestamp::now()).await {
            Ok(pass) => {
                failures = 0;
                requeue = pass.requeue_after;
            }
            Err(_) => {
                failures = failures.saturating_add(1);
                requeue = Some(Duration::from_millis(
                    200u64.saturating_mul(1 << failures.min(6)),
                ));
            }
        }
    }

    tracing::info!("shutting down");
    health.set_ready(false);
    drop(leader_rx);
    if let Some(task) = lease_task {
        // Dropping the receiver makes the manager release the lease.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(())
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
