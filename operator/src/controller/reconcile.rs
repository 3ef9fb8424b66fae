//! One render pass: render everything, apply the output Secret, update each resource's
//! status and record Events for new rejections.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde_json::json;

use super::metrics::{Metrics, ResourceLabels};
use super::replicas::ReplicaSource;
use super::status::{self, LoadedState};
use crate::crd::{AlertRoute, Condition, InhibitRule, Silence};
use crate::render::{self, Kind, ObjectKey, OperatorConfig, Outcome, Rendered, SecretData};

/// Field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "larum-operator";

/// Errors of a render pass (the pass is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Rendering failed as a whole (the operator's own config).
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// An API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Where the rendered Secret goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSecret {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// What a pass reads: the caches' current content.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// AlertRoutes.
    pub alert_routes: Vec<AlertRoute>,
    /// InhibitRules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// Silences.
    pub silences: Vec<Silence>,
    /// Data of the Secrets the resources reference.
    pub secrets: SecretData,
}

/// Everything a pass needs besides the snapshot.
pub struct Context {
    /// API client.
    pub client: Client,
    /// The operator's config.
    pub config: OperatorConfig,
    /// Where the rendered Secret goes.
    pub output: OutputSecret,
    /// What the engine replicas run.
    pub replicas: Arc<dyn ReplicaSource>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Event recorder.
    pub recorder: Recorder,
    /// The Secret data last applied (skips identical applies).
    pub last_applied: tokio::sync::Mutex<Option<BTreeMap<String, String>>>,
}

/// The result of a pass.
#[derive(Clone, Debug)]
pub struct Pass {
    /// The render.
    pub rendered: Rendered,
    /// Replica state.
    pub loaded: LoadedState,
    /// When to run again without a change (silence transitions, replicas catching up).
    pub requeue_after: Option<Duration>,
}

/// Interval of passes while replicas have not loaded the latest config.
pub const LOADED_POLL: Duration = Duration::from_millis(200);

/// Interval of passes refreshing the muted-alert counts of Silences.
pub const MUTED_REFRESH: Duration = Duration::from_secs(10);

/// Deletes Silence objects that expired longer than `expiredSilenceTtl` ago; returns
/// when the next one is due.
async fn collect_expired_silences(
    ctx: &Context,
    snap: &Snapshot,
    rendered: &Rendered,
    now: Timestamp,
) -> Result<Option<Timestamp>, Error> {
    let Some(ttl) = ctx.config.expired_silence_ttl()? else {
        return Ok(None);
    };
    let mut next = None;
    for s in &snap.silences {
        let Some(info) = rendered
            .outcomes
            .get(&key_of(Kind::Silence, s))
            .and_then(|o| o.silence.as_ref())
        else {
            continue;
        };
        let Ok(due) = info.ends_at.checked_add(ttl) else {
            continue;
        };
        if due > now {
            next = Some(next.map_or(due, |n: Timestamp| n.min(due)));
            continue;
        }
        let ns = s.namespace().unwrap_or_default();
        let name = s.name_any();
        let api: Api<Silence> = Api::namespaced(ctx.client.clone(), &ns);
        match api.delete(&name, &kube::api::DeleteParams::default()).await {
            Ok(_) => {
                tracing::info!(silence = %format!("{ns}/{name}"), "deleted an expired Silence")
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(source) => {
                return Err(Error::Kube {
                    action: format!("deleting the expired Silence {ns}/{name}"),
                    source,
                });
            }
        }
    }
    Ok(next)
}

/// Names of the Secrets referenced by AlertRoutes: (namespace, name).
pub fn referenced_secrets(routes: &[AlertRoute]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for ar in routes {
        let ns = ar.namespace().unwrap_or_default();
        let text = serde_json::to_value(&ar.spec.receivers).unwrap_or_default();
        collect_refs(&text, &ns, &mut out);
    }
    out
}

fn collect_refs(v: &serde_json::Value, ns: &str, out: &mut BTreeSet<(String, String)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                if k.ends_with("Secret")
                    && let Some(name) = child.get("name").and_then(|n| n.as_str())
                {
                    out.insert((ns.to_string(), name.to_string()));
                }
                collect_refs(child, ns, out);
            }
        }
        serde_json::Value::Array(list) => list.iter().for_each(|c| collect_refs(c, ns, out)),
        _ => {}
    }
}

/// The output Secret as applied.
pub fn output_secret(output: &OutputSecret, data: &BTreeMap<String, String>) -> Secret {
    let mut s = Secret::default();
    s.metadata.name = Some(output.name.clone());
    s.metadata.namespace = Some(output.namespace.clone());
    s.metadata.labels = Some(BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_string(),
        FIELD_MANAGER.to_string(),
    )]));
    s.type_ = Some("Opaque".to_string());
    s.data = Some(
        data.iter()
            .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
            .collect(),
    );
    s
}

/// Server-side applies the output Secret.
pub async fn apply_secret(
    client: &Client,
    output: &OutputSecret,
    data: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), &output.namespace);
    let mut body = serde_json::to_value(output_secret(output, data)).unwrap_or_default();
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("Secret");
    api.patch(
        &output.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await
    .map_err(|source| Error::Kube {
        action: format!("applying Secret {}/{}", output.namespace, output.name),
        source,
    })?;
    Ok(())
}

/// Server-side applies the status of one resource.
pub async fn apply_status<K, S>(client: &Client, obj: &K, status: &S) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: Serialize,
{
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let api: Api<K> = Api::namespaced(client.clone(), &ns);
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await
    .map_err(|source| Error::Kube {
        action: format!("updating the status of {} {ns}/{name}", K::kind(&())),
        source,
    })?;
    Ok(())
}

fn key_of<K: ResourceExt>(kind: Kind, obj: &K) -> ObjectKey {
    ObjectKey {
        kind,
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    }
}

async fn record_rejection<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    old: &[Condition],
    new: &[Condition],
) {
    if !status::newly_rejected(old, new) {
        return;
    }
    let Some(accepted) = new.iter().find(|c| c.type_ == crate::crd::common::ACCEPTED) else {
        return;
    };
    let event = Event {
        type_: EventType::Warning,
        reason: accepted.reason.clone(),
        note: Some(accepted.message.chars().take(1000).collect()),
        action: "Render".to_string(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, "cannot record an Event");
    }
}

/// Runs one pass over a snapshot.
pub async fn reconcile(ctx: &Context, snap: &Snapshot, now: Timestamp) -> Result<Pass, Error> {
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    let result = reconcile_inner(ctx, snap, now).await;
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        ctx.metrics.reconcile_errors.inc();
        tracing::warn!(error = %e, "render pass failed");
    }
    result
}

async fn reconcile_inner(ctx: &Context, snap: &Snapshot, now: Timestamp) -> Result<Pass, Error> {
    let rendered = render::render(render::Inputs {
        config: &ctx.config,
        alert_routes: &snap.alert_routes,
        inhibit_rules: &snap.inhibit_rules,
        silences: &snap.silences,
        secrets: &snap.secrets,
        now,
    })?;
    update_resource_metrics(&ctx.metrics, &rendered.outcomes);

    {
        let mut last = ctx.last_applied.lock().await;
        if last.as_ref() != Some(&rendered.data) {
            apply_secret(&ctx.client, &ctx.output, &rendered.data).await?;
            ctx.metrics.secret_updates.inc();
            tracing::info!(
                secret = %format!("{}/{}", ctx.output.namespace, ctx.output.name),
                config_hash = rendered.config_hash,
                "applied the rendered config"
            );
            *last = Some(rendered.data.clone());
        }
    }

    let loaded = status::loaded_state(rendered.config_hash, &ctx.replicas.config_hashes().await);
    let muted = if snap.silences.is_empty() {
        None
    } else {
        ctx.replicas.muted_counts().await
    };

    let mut first_error = None;
    let mut keep = |r: Result<(), Error>| {
        if let Err(e) = r {
            tracing::warn!(error = %e, "status update failed");
            first_error.get_or_insert(e);
        }
    };
    for ar in &snap.alert_routes {
        if let Some(o) = rendered.outcomes.get(&key_of(Kind::AlertRoute, ar)) {
            keep(update_plain(ctx, ar, ar.status.as_ref(), o, &loaded, now).await);
        }
    }
    for ir in &snap.inhibit_rules {
        if let Some(o) = rendered.outcomes.get(&key_of(Kind::InhibitRule, ir)) {
            keep(update_plain(ctx, ir, ir.status.as_ref(), o, &loaded, now).await);
        }
    }
    for s in &snap.silences {
        if let Some(o) = rendered.outcomes.get(&key_of(Kind::Silence, s)) {
            let id = o.silence.as_ref().map(|i| i.id.clone());
            let count = match (&muted, id) {
                (Some(m), Some(id)) => Some(m.get(&id).copied().unwrap_or(0)),
                _ => None,
            };
            let desired = status::silence_status(o, &loaded, s.status.as_ref(), count, now);
            if s.status.as_ref() != Some(&desired) {
                let old = s
                    .status
                    .as_ref()
                    .map(|st| st.conditions.clone())
                    .unwrap_or_default();
                record_rejection(ctx, s, &old, &desired.conditions).await;
                keep(apply_status(&ctx.client, s, &desired).await);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }

    let next_gc = collect_expired_silences(ctx, snap, &rendered, now).await?;

    let due = [rendered.next_silence_transition(now), next_gc]
        .into_iter()
        .flatten()
        .min();
    let mut requeue = due
        .and_then(|t| (t - now).try_into().ok())
        .map(|d: Duration| d + Duration::from_millis(10));
    let mut at_most = |limit: Duration| {
        requeue = Some(requeue.map_or(limit, |r| r.min(limit)));
    };
    if matches!(loaded, LoadedState::Pending { .. }) {
        at_most(LOADED_POLL);
    }
    if muted.is_some() {
        at_most(MUTED_REFRESH);
    }
    Ok(Pass {
        rendered,
        loaded,
        requeue_after: requeue,
    })
}

async fn update_plain<K>(
    ctx: &Context,
    obj: &K,
    current: Option<&crate::crd::ResourceStatus>,
    outcome: &Outcome,
    loaded: &LoadedState,
    now: Timestamp,
) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let desired = status::resource_status(outcome, loaded, current, now);
    if current == Some(&desired) {
        return Ok(());
    }
    let old = current.map(|s| s.conditions.clone()).unwrap_or_default();
    record_rejection(ctx, obj, &old, &desired.conditions).await;
    apply_status(&ctx.client, obj, &desired).await
}

fn update_resource_metrics(metrics: &Metrics, outcomes: &BTreeMap<ObjectKey, Outcome>) {
    for kind in [Kind::AlertRoute, Kind::InhibitRule, Kind::Silence] {
        for state in ["accepted", "rejected"] {
            let n = outcomes
                .iter()
                .filter(|(k, o)| k.kind == kind && (o.result.is_ok() == (state == "accepted")))
                .count();
            metrics
                .resources
                .get_or_create(&ResourceLabels {
                    kind: format!("{kind:?}"),
                    state: state.to_string(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
mod tests;
