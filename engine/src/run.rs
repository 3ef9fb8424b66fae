//! Running the engine: logging, config, HTTP listeners, reload triggers and signals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use larum_engine::alert::marker::AlertMarker;
use larum_engine::alert::store::{AlertStore, StoreOptions};
use larum_engine::api::{self, AppState};
use larum_engine::clock::Clock;
use larum_engine::cluster::{Cluster, ClusterMetrics};
use larum_engine::config::ParseOptions;
use larum_engine::config::coordinator::{ActiveConfig, Coordinator};
use larum_engine::config::secret_source::{SecretSource, SecretSourceOptions};
use larum_engine::dispatch::{Dispatcher, DispatcherOptions};
use larum_engine::inhibit::Inhibitor;
use larum_engine::metrics::Metrics;
use larum_engine::nflog::NotificationLog;
use larum_engine::notify::Pipeline;
use larum_engine::notify::stages::silence::Silencer;
use larum_engine::options::RuntimeOptions;
use larum_engine::silence::{Silences, SilencesOptions, declarative};
use notify::Watcher;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::flags::RunFlags;

/// Runs the engine until SIGTERM or SIGINT.
pub fn run(flags: RunFlags, options: ParseOptions) -> ExitCode {
    init_logging(&flags.log_level, &flags.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(err = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(flags, options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(err = format!("{e:#}"), "larum-engine stopped");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.with_ansi(false).init();
    }
}

/// Parses a listen address as Alertmanager takes it: `host:port`, `:port`, `[v6]:port`.
fn listen_candidates(address: &str) -> anyhow::Result<Vec<SocketAddr>> {
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .with_context(|| format!("invalid port in listen address {address:?}"))?;
        return Ok(vec![
            SocketAddr::from(([0u16; 8], port)),
            SocketAddr::from(([0u8; 4], port)),
        ]);
    }
    let addrs = std::net::ToSocketAddrs::to_socket_addrs(address)
        .with_context(|| format!("invalid listen address {address:?}"))?
        .collect::<Vec<_>>();
    Ok(addrs)
}

async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    let mut last_error = None;
    for candidate in listen_candidates(address)? {
        match TcpListener::bind(candidate).await {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    match last_error {
        Some(e) => Err(e).with_context(|| format!("cannot listen on {address}")),
        None => anyhow::bail!("listen address {address:?} resolves to nothing"),
    }
}

fn route_prefix(flags: &RunFlags) -> String {
    let raw = match (&flags.route_prefix, &flags.external_url) {
        (Some(prefix), _) => prefix.clone(),
        (None, Some(external)) => url::Url::parse(external)
            .map(|u| u.path().to_string())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    api::normalize_route_prefix(&raw)
}

/// Upstream's default `--web.external-url`: `http://<hostname>:<port>/`.
fn default_external_url(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("http://{host}:{port}/")
}

async fn serve(flags: RunFlags, options: ParseOptions) -> anyhow::Result<()> {
    // Install signal handlers first: an early SIGHUP must reload, not kill the process.
    let signals = Signals::install()?;
    if let Some(external) = &flags.external_url {
        url::Url::parse(external)
            .with_context(|| format!("invalid --web.external-url {external:?}"))?;
    }
    let (flags, config_secret) = config_from_secret(flags).await?;
    let mut metrics = Metrics::new();
    let coordinator = Coordinator::load(&flags.config_file, options, metrics.config.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading configuration file failed")?;
    tracing::info!(file = %flags.config_file.display(), "Completed loading of configuration file");
    let coordinator = Arc::new(coordinator);
    let web = match &flags.web_config_file {
        Some(file) => Some(
            api::web_config::WebConfigHandle::load(file)
                .context("loading the web config file (--web.config.file) failed")?,
        ),
        None => None,
    };
    // After the config: an invalid config stops the engine before it touches storage.
    let runtime_options = flags.runtime_options();
    let silences = open_silences(&runtime_options, options.matcher_mode)?;
    silences.metrics().register(metrics.registry_mut());
    let nflog = open_nflog(&runtime_options, metrics.nflog.clone())?;
    let cluster_metrics = ClusterMetrics::default();
    cluster_metrics.register(metrics.registry_mut());
    let metrics = Arc::new(metrics);

    // Bind first: the default external URL names the port actually bound.
    let mut listeners = Vec::with_capacity(flags.listen_addresses.len());
    for address in &flags.listen_addresses {
        listeners.push(bind(address).await?);
    }

    let clock = Clock::system();
    let mut runtime_options = runtime_options;
    if runtime_options.external_url.is_empty() {
        let port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map_or(0, |a| a.port());
        runtime_options.external_url = default_external_url(port);
    }
    let prefix = route_prefix(&flags);
    let cluster_options = flags.cluster_options();
    let cluster = if cluster_options.enabled() {
        let api = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9093)));
        let cluster = Cluster::start(
            cluster_options,
            api,
            &prefix,
            silences.clone(),
            nflog.clone(),
            cluster_metrics,
            Clock::system(),
        )
        .await
        .context("starting the cluster failed")?;
        Some(cluster)
    } else {
        tracing::info!("Clustering disabled (--cluster.listen-address is empty)");
        None
    };
    let core = Core::build(
        coordinator.current(),
        clock,
        &runtime_options,
        &metrics,
        silences.clone(),
        nflog.clone(),
    );
    if let Some(cluster) = &cluster {
        let c = cluster.clone();
        core.pipeline
            .set_cluster(Arc::new(move || c.wait()), cluster.settled());
    }
    tokio::spawn(follow_config(coordinator.subscribe(), core.clone()));
    let forget_silenced = silences.clone();
    tokio::spawn(gc_loop(
        core.store.clone(),
        clock,
        runtime_options.alerts_gc_interval,
        move |fp| forget_silenced.forget(fp),
    ));
    let silences_file = runtime_options.silences_file.clone();
    if let Some(file) = &silences_file {
        load_silences_file(&silences, file, options.matcher_mode).await;
    }

    let mut state = AppState::new(
        coordinator.clone(),
        metrics,
        core.store.clone(),
        core.dispatcher.clone(),
        clock,
        options.matcher_mode,
    );
    state.max_body_bytes = flags.max_request_body_bytes;
    state.http_limits = flags.http_limits();
    state.alert_limits = flags.alert_limits();
    state.silences = silences.clone();
    state.silences_file = silences_file.clone();
    state.cluster = cluster.clone();
    let app = api::secure(api::router(Arc::new(state), &prefix), web.as_ref());

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let local = listener.local_addr()?;
        tracing::info!(address = %local, "Listening on");
        if web.as_ref().is_some_and(|w| w.tls_enabled()) {
            tracing::info!("TLS is enabled.");
        }
        let app = app.clone();
        let mut stop = shutdown_rx.clone();
        servers.spawn(api::serve(listener, app, web.clone(), async move {
            let _ = stop.wait_for(|s| *s).await;
        }));
    }

    // Silence GC and snapshots every interval, and a last snapshot at shutdown.
    let mut stop = shutdown_rx.clone();
    let maintenance = tokio::spawn(silences.clone().run_maintenance(
        runtime_options.maintenance_interval,
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    ));

    // Notification log GC and snapshots every interval, and a last snapshot at shutdown.
    let mut stop = shutdown_rx.clone();
    let nflog_maintenance = tokio::spawn(nflog.run_until(
        runtime_options.maintenance_interval,
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    ));

    let (reload_tx, reload_rx) = mpsc::channel::<&'static str>(16);
    let _watcher = watch_config_dir(&flags.config_file, reload_tx.clone());
    let _silences_watcher = silences_file
        .as_deref()
        .and_then(|file| watch_config_dir(file, reload_tx.clone()));
    let reload_silences = silences_file.map(|file| (silences.clone(), file, options.matcher_mode));
    tokio::spawn(reload_loop(coordinator.clone(), reload_silences, reload_rx));
    if let Some(source) = config_secret {
        tokio::spawn(source.run(reload_tx.clone()));
    }

    signals.wait(reload_tx).await;
    tracing::info!("Received shutdown signal, exiting gracefully");
    let _ = shutdown_tx.send(true);
    if let Some(cluster) = &cluster {
        cluster.shutdown();
    }
    while let Some(result) = servers.join_next().await {
        result
            .context("server task failed")?
            .context("server failed")?;
    }
    maintenance
        .await
        .context("silence maintenance task failed")?;
    nflog_maintenance
        .await
        .context("notification log maintenance task failed")?;
    Ok(())
}

/// With `--config.secret`: reads the Secret into files under `--storage.path` and points
/// `--config.file` (and `--silences.file`, unless given) at them.
async fn config_from_secret(
    mut flags: RunFlags,
) -> anyhow::Result<(RunFlags, Option<SecretSource>)> {
    let Some(secret) = flags.config_secret.clone() else {
        return Ok((flags, None));
    };
    let options = SecretSourceOptions {
        dir: flags.storage_path.join("config-secret"),
        secret,
        config_key: flags.config_secret_key.clone(),
        silences_key: flags.config_secret_silences_key.clone(),
    };
    let source = SecretSource::start(options, flags.config_secret_wait)
        .await
        .context("reading --config.secret failed")?;
    flags.config_file = source.config_path();
    flags
        .silences_file
        .get_or_insert_with(|| source.silences_path());
    Ok((flags, Some(source)))
}

/// Restores the notification log from `--storage.path`; a damaged snapshot is logged
/// and kept aside, and the log starts empty.
fn open_nflog(
    options: &RuntimeOptions,
    metrics: larum_engine::nflog::NflogMetrics,
) -> anyhow::Result<Arc<NotificationLog>> {
    let (log, restored) = NotificationLog::open(
        &options.storage_path,
        options.data_retention,
        Clock::system(),
        metrics,
    )
    .with_context(|| {
        format!(
            "opening the notification log in {} failed",
            options.storage_path.display()
        )
    })?;
    for issue in &restored.issues {
        tracing::error!(issue = %issue, "Restoring the notification log found a problem");
    }
    tracing::info!(
        entries = restored.entries,
        expired = restored.expired,
        path = %options.storage_path.display(),
        "Restored the notification log"
    );
    Ok(Arc::new(log))
}

/// Opens the silences under `--storage.path`; damaged files are logged, not fatal.
fn open_silences(
    options: &RuntimeOptions,
    parse_mode: larum_engine::config::ParseMode,
) -> anyhow::Result<Arc<Silences>> {
    let silence_options = SilencesOptions {
        max_silences: options.max_silences,
        max_silence_size_bytes: options.max_silence_size_bytes,
        parse_mode,
        ..SilencesOptions::from_runtime(options)
    };
    let silences = Silences::open(silence_options, Clock::system())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "opening the silences in {} failed",
                options.storage_path.display()
            )
        })?;
    for issue in silences.recovery_issues() {
        tracing::error!(issue = %issue, "Recovering silences found a problem");
    }
    tracing::info!(
        silences = silences.list().len(),
        path = %options.storage_path.display(),
        "Restored silences"
    );
    Ok(Arc::new(silences))
}

/// Applies the silences file; an invalid file is logged and changes nothing.
async fn load_silences_file(
    silences: &Arc<Silences>,
    file: &Path,
    parse_mode: larum_engine::config::ParseMode,
) -> bool {
    let store = silences.clone();
    let path = file.to_path_buf();
    match tokio::task::spawn_blocking(move || declarative::load_file(&store, &path, parse_mode))
        .await
    {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::error!(file = %file.display(), err = %e, "Loading the silences file failed; the silences in force stay");
            false
        }
        Err(e) => {
            tracing::error!(file = %file.display(), err = %e, "Loading the silences file failed");
            false
        }
    }
}

/// The ingestion and notification core: the alert store, the dispatcher, and the
/// pipeline it flushes to. All the wiring between them is here.
#[derive(Clone)]
struct Core {
    pipeline: Arc<Pipeline>,
    store: Arc<AlertStore>,
    dispatcher: Arc<Dispatcher>,
    inhibitor: Arc<Inhibitor>,
}

impl Core {
    fn build(
        active: Arc<ActiveConfig>,
        clock: Clock,
        options: &RuntimeOptions,
        metrics: &Metrics,
        silences: Arc<Silences>,
        nflog: Arc<NotificationLog>,
    ) -> Core {
        let marker = Arc::new(AlertMarker::default());
        let store = AlertStore::new(
            StoreOptions {
                per_alertname_limit: options.alerts_per_alertname_limit,
                max_alerts: options.alerts_max_alerts,
            },
            clock,
            marker.clone(),
            metrics.alerts.clone(),
        );
        // One pipeline for the engine's life: it keeps the notification log across
        // reloads and rebuilds its stages when the dispatcher passes it a new config.
        let pipeline = Arc::new(
            Pipeline::with_nflog(&active, options, metrics.notify.clone(), nflog)
                .with_silencer(Arc::new(Silencer::new(silences, marker))),
        );
        let inhibitor = Inhibitor::with_metrics(
            &active.config.inhibit_rules,
            store.marker().clone(),
            clock,
            metrics.inhibit.clone(),
        );
        inhibitor.attach(&store);
        pipeline.set_inhibitor(inhibitor.clone());
        let dispatcher = Dispatcher::with_options(
            &active.config,
            pipeline.clone(),
            DispatcherOptions::new(clock, options).with_metrics(metrics.dispatcher.clone()),
        );
        Core {
            pipeline,
            store,
            dispatcher,
            inhibitor,
        }
    }

    /// Switches to a new config: the dispatcher keeps unchanged groups and hands the
    /// config to the pipeline.
    fn apply(&self, active: Arc<ActiveConfig>) {
        self.inhibitor.apply_config(&active.config.inhibit_rules);
        self.dispatcher.apply_config(active);
    }
}

/// Applies every config the coordinator swaps in.
async fn follow_config(mut configs: tokio::sync::watch::Receiver<Arc<ActiveConfig>>, core: Core) {
    configs.borrow_and_update();
    while configs.changed().await.is_ok() {
        let active = configs.borrow_and_update().clone();
        core.apply(active);
    }
}

/// Drops resolved alerts from the store every `interval`; `deleted` hears of each.
async fn gc_loop(
    store: Arc<AlertStore>,
    clock: Clock,
    interval: Duration,
    deleted: impl Fn(larum_engine::alert::Fingerprint),
) {
    if interval.is_zero() {
        tracing::warn!("--alerts.gc-interval is zero: resolved alerts are never garbage-collected");
        return;
    }
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for alert in store.gc(clock.now()) {
            deleted(alert.fingerprint());
        }
    }
}

/// Reloads the config (and the silences file) once per burst of triggers.
async fn reload_loop(
    coordinator: Arc<Coordinator>,
    silences: Option<(Arc<Silences>, PathBuf, larum_engine::config::ParseMode)>,
    mut triggers: mpsc::Receiver<&'static str>,
) {
    while let Some(reason) = triggers.recv().await {
        // Let a burst of file events settle before reading the file.
        tokio::time::sleep(Duration::from_millis(200)).await;
        while triggers.try_recv().is_ok() {}
        tracing::debug!(reason, "reloading configuration");
        let c = coordinator.clone();
        let _ = tokio::task::spawn_blocking(move || c.reload()).await;
        if let Some((silences, file, mode)) = &silences {
            load_silences_file(silences, file, *mode).await;
        }
    }
}

/// Watches the config file's directory, so atomic renames and Kubernetes volume updates
/// (a swapped `..data` symlink) are seen; the returned watcher must be kept alive.
fn watch_config_dir(
    config_file: &Path,
    triggers: mpsc::Sender<&'static str>,
) -> Option<notify::RecommendedWatcher> {
    let dir: PathBuf = match config_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = config_file.file_name().map(|n| n.to_os_string());
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        // The file itself, or the `..data` symlink a Kubernetes volume swaps on update.
        let concerns_config = event.paths.iter().any(|p| {
            let name = p.file_name();
            name == file_name.as_deref()
                || name.is_some_and(|n| n.to_string_lossy().starts_with("..data"))
        });
        if concerns_config {
            let _ = triggers.try_send("file change");
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut watcher) => match watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
            Ok(()) => Some(watcher),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), err = %e, "cannot watch the config directory; reload with SIGHUP or /-/reload");
                None
            }
        },
        Err(e) => {
            tracing::warn!(err = %e, "cannot watch the config directory; reload with SIGHUP or /-/reload");
            None
        }
    }
}

/// The signals the engine handles: SIGHUP reloads, SIGTERM and SIGINT stop it.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Forwards SIGHUPs to the reload loop until SIGTERM or SIGINT arrives.
    async fn wait(mut self, reload: mpsc::Sender<&'static str>) {
        loop {
            tokio::select! {
                _ = self.hup.recv() => { let _ = reload.send("SIGHUP").await; }
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use larum_engine::alert::Alert;
    use larum_engine::alert::LabelSet;

    #[tokio::test(start_paused = true)]
    async fn gc_runs_every_interval_and_drops_resolved_alerts() {
        let start: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        let store = Arc::new(AlertStore::default());
        let alert = |name: &str, ends_in_secs: i64| Alert {
            labels: LabelSet::from_pairs([("alertname", name)]),
            annotations: LabelSet::default(),
            starts_at: start,
            ends_at: Some(start + jiff::SignedDuration::from_secs(ends_in_secs)),
            generator_url: String::new(),
            updated_at: start,
            timeout: false,
        };
        store.put(alert("Soon", 60), start).unwrap();
        store.put(alert("Later", 7200), start).unwrap();
        tokio::spawn(gc_loop(
            store.clone(),
            clock,
            Duration::from_secs(1800),
            |_| {},
        ));

        // Resolved after a minute, but kept until the first GC at 30 minutes.
        tokio::time::sleep(Duration::from_secs(1799)).await;
        assert_eq!(store.len(), 2);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(store.len(), 1);
        tokio::time::sleep(Duration::from_secs(3 * 1800)).await;
        assert!(store.is_empty());
    }
}
