//! The notification pipeline: the stage order, in one place, as upstream builds it
//! (`notify.PipelineBuilder.New`):
//!
//! 1. for every receiver: gossip settle, inhibit, time-active, time-mute, silence;
//! 2. then, for each integration of the receiver, concurrently: wait (cluster position),
//!    dedup (notification log), retry (send), set-notifies (record in the log).
//!
//! The stages are built per config and swapped on reload; the notification log and the
//! metrics outlive configs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::integrations::{self, IntegrationEnv};
use super::metrics::NotifyMetrics;
use super::stages::dedup::Dedup;
use super::stages::inhibit::{Inhibit, MuterSlot};
use super::stages::retry::Retry;
use super::stages::set_notifies::SetNotifies;
use super::stages::settle::{GossipSettle, SettleSlot};
use super::stages::silence::Silence;
use super::stages::time_active::TimeActive;
use super::stages::time_mute::TimeMute;
use super::stages::wait::{Wait, WaitFn};
use super::stages::{Muter, NotifyContext, Stage, run_chain};
use super::{BoxFuture, FlushContext, FlushHandler};
use crate::alert::Alert;
use crate::clock::Clock;
use crate::config::Config;
use crate::config::coordinator::ActiveConfig;
use crate::nflog::{NflogMetrics, NotificationLog, ReceiverKey};
use crate::options::RuntimeOptions;

/// The stages of one config.
struct Stages {
    /// Run once per flush, before the receiver's integrations.
    common: Vec<Box<dyn Stage>>,
    /// Per receiver name, one chain per integration.
    receivers: HashMap<String, Vec<Vec<Box<dyn Stage>>>>,
}

/// What building stages needs besides the config.
#[derive(Clone)]
struct Shared {
    nflog: Arc<NotificationLog>,
    metrics: NotifyMetrics,
    external_url: Arc<str>,
    wait: WaitFn,
    /// The cluster's wait (position x peer timeout), once set.
    cluster_wait: Arc<std::sync::OnceLock<WaitFn>>,
    silencer: Arc<LateMuter>,
    inhibitor: MuterSlot,
    settle: SettleSlot,
}

/// A muter set once after the pipeline is built (the silences); mutes nothing before.
#[derive(Default)]
struct LateMuter(std::sync::OnceLock<Arc<dyn Muter>>);

impl Muter for LateMuter {
    fn mutes(&self, labels: &crate::alert::LabelSet, now: jiff::Timestamp) -> bool {
        self.0.get().is_some_and(|m| m.mutes(labels, now))
    }
}

fn build(active: &ActiveConfig, shared: &Shared) -> Stages {
    let config = &active.config;
    let env = IntegrationEnv {
        templates: active.templates.clone(),
        external_url: shared.external_url.clone(),
    };
    let intervals: Arc<HashMap<_, _>> = Arc::new(
        config
            .time_intervals
            .iter()
            .chain(config.mute_time_intervals.iter())
            .map(|i| (i.name.clone(), i.clone()))
            .collect(),
    );
    let common: Vec<Box<dyn Stage>> = vec![
        Box::new(GossipSettle::new(shared.settle.clone())),
        Box::new(Inhibit::shared(shared.inhibitor.clone())),
        Box::new(TimeActive::new(intervals.clone())),
        Box::new(TimeMute::new(intervals)),
        Box::new(Silence::new(Some(shared.silencer.clone()))),
    ];
    let mut receivers = HashMap::new();
    for receiver in &config.receivers {
        let chains = integrations::build(receiver, &env)
            .into_iter()
            .map(|integration| {
                let key = ReceiverKey {
                    group_name: receiver.name.clone(),
                    integration: integration.name.to_string(),
                    idx: integration.idx,
                };
                let chain: Vec<Box<dyn Stage>> = vec![
                    Box::new(Wait::new(shared.wait.clone())),
                    Box::new(Dedup::new(
                        shared.nflog.clone(),
                        key.clone(),
                        integration.send_resolved,
                    )),
                    Box::new(Retry::new(integration, shared.metrics.clone())),
                    Box::new(SetNotifies::new(shared.nflog.clone(), key)),
                ];
                chain
            })
            .collect();
        receivers.insert(receiver.name.clone(), chains);
    }
    Stages { common, receivers }
}

/// The notification pipeline for every receiver of a config.
pub struct Pipeline {
    stages: ArcSwap<Stages>,
    shared: Shared,
}

impl Pipeline {
    /// Builds the pipeline for the receivers of `config`, with metrics nobody scrapes.
    pub fn new(config: &Config, clock: Clock, options: &RuntimeOptions) -> Self {
        Pipeline::with_metrics(
            config,
            clock,
            options,
            NotifyMetrics::default(),
            NflogMetrics::default(),
        )
    }

    /// Builds the pipeline updating the given metrics (see [`crate::metrics::Metrics`]).
    pub fn with_metrics(
        config: &Config,
        clock: Clock,
        options: &RuntimeOptions,
        metrics: NotifyMetrics,
        nflog_metrics: NflogMetrics,
    ) -> Self {
        let nflog = Arc::new(
            NotificationLog::new(options.data_retention, clock).with_metrics(nflog_metrics),
        );
        NotificationLog::spawn_maintenance(&nflog, options.maintenance_interval);
        Pipeline::with_nflog(
            &ActiveConfig::from_config(config.clone()),
            options,
            metrics,
            nflog,
        )
    }

    /// Builds the pipeline on a notification log the caller owns (restored from
    /// `--storage.path`, say); the caller runs its maintenance.
    pub fn with_nflog(
        config: &ActiveConfig,
        options: &RuntimeOptions,
        metrics: NotifyMetrics,
        nflog: Arc<NotificationLog>,
    ) -> Self {
        let cluster_wait: Arc<std::sync::OnceLock<WaitFn>> = Arc::default();
        let slot = cluster_wait.clone();
        let shared = Shared {
            nflog,
            metrics,
            external_url: options.external_url.as_str().into(),
            wait: Arc::new(move || slot.get().map_or(Duration::ZERO, |w| w())),
            cluster_wait,
            settle: SettleSlot::default(),
            silencer: Arc::default(),
            inhibitor: MuterSlot::default(),
        };
        Pipeline {
            stages: ArcSwap::from_pointee(build(config, &shared)),
            shared,
        }
    }

    /// Mutes silenced alerts with `silencer` (the silence stage), for every config;
    /// only the first call has an effect.
    pub fn with_silencer(self, silencer: Arc<dyn Muter>) -> Self {
        let _ = self.shared.silencer.0.set(silencer);
        self
    }

    /// Mutes alerts with `inhibitor` in the inhibit stage from now on (set once).
    pub fn set_inhibitor(&self, inhibitor: Arc<dyn Muter>) {
        if self.shared.inhibitor.set(inhibitor).is_err() {
            tracing::warn!("the pipeline already has an inhibitor; keeping it");
        }
    }

    /// Joins the pipeline to a cluster (set once): the wait stage waits `wait()`, the
    /// settle stage holds notifications until `settled` is true.
    pub fn set_cluster(&self, wait: WaitFn, settled: tokio::sync::watch::Receiver<bool>) {
        let _ = self.shared.cluster_wait.set(wait);
        let _ = self.shared.settle.set(settled);
    }

    /// The notification log (for snapshots and, later, gossip).
    pub fn nflog(&self) -> &Arc<NotificationLog> {
        &self.shared.nflog
    }

    /// The notification metrics.
    pub fn metrics(&self) -> &NotifyMetrics {
        &self.shared.metrics
    }
}

async fn run(stages: Arc<Stages>, ctx: FlushContext, alerts: Vec<Arc<Alert>>) -> bool {
    let receiver = ctx.receiver.clone();
    let mut nctx = NotifyContext::new(Arc::new(ctx));
    let alerts = match run_chain(&stages.common, &mut nctx, alerts).await {
        Ok(a) if a.is_empty() => return true,
        Ok(a) => a,
        Err(e) => {
            tracing::error!(group = %nctx.flush.group_key, err = %e, "notify for alerts failed");
            return false;
        }
    };
    let Some(chains) = stages.receivers.get(&receiver) else {
        tracing::error!(receiver = %receiver, "no pipeline for receiver");
        return false;
    };
    let n = alerts.len();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..chains.len() {
        let stages = stages.clone();
        let receiver = receiver.clone();
        let mut ctx = nctx.clone();
        let alerts = alerts.clone();
        tasks.spawn(async move {
            let Some(chain) = stages.receivers.get(&receiver).and_then(|c| c.get(i)) else {
                return Ok(());
            };
            run_chain(chain, &mut ctx, alerts).await.map(|_| ())
        });
    }
    let mut ok = true;
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(group = %nctx.flush.group_key, num_alerts = n, err = %e, "notify for alerts failed");
                ok = false;
            }
            Err(e) => {
                tracing::error!(group = %nctx.flush.group_key, err = %e, "notification task failed");
                ok = false;
            }
        }
    }
    ok
}

impl FlushHandler for Pipeline {
    fn flush(&self, ctx: FlushContext, alerts: Vec<Arc<Alert>>) -> BoxFuture<bool> {
        Box::pin(run(self.stages.load_full(), ctx, alerts))
    }

    fn apply_config(&self, config: &ActiveConfig) {
        self.stages.store(Arc::new(build(config, &self.shared)));
    }
}
