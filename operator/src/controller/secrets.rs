//! Watches of single Secrets: one watch per Secret that an AlertRoute references (and one
//! of the output Secret), each narrowed to its name with a `metadata.name` field selector.
//! The API server authorizes such a list/watch against `resourceNames`, so the operator
//! needs no permission on any other Secret: a team grants it its receivers' Secrets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::Notify;

use crate::render::SecretData;

/// `(namespace, name)` of a Secret.
pub type SecretKey = (String, String);

/// What a watch knows about its Secret. An error after the Secret was read keeps its
/// data (the watch retries); an error before that is `Failed`.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum WatchState {
    /// No first answer yet.
    #[default]
    Syncing,
    /// The Secret's data.
    Found(BTreeMap<String, Vec<u8>>),
    /// The Secret does not exist.
    Absent,
    /// The watch fails, e.g. forbidden: the message.
    Failed(String),
}

struct Entry {
    state: Arc<Mutex<WatchState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The set of running single-Secret watches; each pokes `trigger` when its Secret changes.
pub struct SecretWatches {
    client: Client,
    trigger: Arc<Notify>,
    entries: Mutex<BTreeMap<SecretKey, Entry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SecretWatches {
    /// No watches yet.
    pub fn new(client: Client, trigger: Arc<Notify>) -> Self {
        SecretWatches {
            client,
            trigger,
            entries: Mutex::default(),
        }
    }

    /// Watches exactly `keys` from now on: starts the missing watches, stops the others.
    pub fn watch_exactly(&self, keys: &BTreeSet<SecretKey>) {
        let mut entries = lock(&self.entries);
        entries.retain(|k, _| keys.contains(k));
        for key in keys {
            if !entries.contains_key(key) {
                let state = Arc::new(Mutex::new(WatchState::Syncing));
                let task = tokio::spawn(watch_one(
                    Api::namespaced(self.client.clone(), &key.0),
                    key.1.clone(),
                    state.clone(),
                    self.trigger.clone(),
                ));
                entries.insert(key.clone(), Entry { state, task });
            }
        }
    }

    /// Whether every watch has its first answer (the Secret, its absence or an error).
    pub fn synced(&self) -> bool {
        lock(&self.entries)
            .values()
            .all(|e| *lock(&e.state) != WatchState::Syncing)
    }

    /// The data of every watched Secret that exists and can be read.
    pub fn data(&self) -> SecretData {
        lock(&self.entries)
            .iter()
            .filter_map(|(k, e)| match &*lock(&e.state) {
                WatchState::Found(data) => Some((k.clone(), data.clone())),
                _ => None,
            })
            .collect()
    }

    /// The state of one watch, if it runs.
    pub fn state(&self, key: &SecretKey) -> Option<WatchState> {
        lock(&self.entries).get(key).map(|e| lock(&e.state).clone())
    }
}

fn data_of(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// Runs one watch until aborted, keeping `state` current and poking `trigger` on change.
async fn watch_one(
    api: Api<Secret>,
    name: String,
    state: Arc<Mutex<WatchState>>,
    trigger: Arc<Notify>,
) {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = watcher::watcher(api, config).default_backoff();
    futures::pin_mut!(stream);
    let mut initial: Option<WatchState> = None;
    while let Some(event) = stream.next().await {
        let next = match event {
            Ok(Event::Init) => {
                initial = Some(WatchState::Absent);
                continue;
            }
            Ok(Event::InitApply(s)) => {
                initial = Some(WatchState::Found(data_of(&s)));
                continue;
            }
            Ok(Event::InitDone) => initial.take().unwrap_or(WatchState::Absent),
            Ok(Event::Apply(s)) => WatchState::Found(data_of(&s)),
            Ok(Event::Delete(_)) => WatchState::Absent,
            Err(e) => {
                tracing::warn!(secret = %name, error = %e, "watching a referenced Secret failed; retrying");
                // A broken connection does not make a Secret we read disappear.
                if matches!(*lock(&state), WatchState::Found(_)) {
                    continue;
                }
                WatchState::Failed(e.to_string())
            }
        };
        let changed = {
            let mut current = lock(&state);
            let changed = *current != next;
            *current = next;
            changed
        };
        if changed {
            trigger.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    /// A watch answers with the Secret's list narrowed to its name; a forbidden one is
    /// recorded as failed, and both count as synced.
    #[tokio::test]
    async fn each_watch_lists_only_its_secret_by_name_and_records_refusals() {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = tokio::spawn(async move {
            let mut uris = Vec::new();
            // Two initial lists (one per watch), then the watch calls hang.
            for _ in 0..2 {
                let (request, send) = handle.next_request().await.unwrap();
                let uri = request.uri().to_string();
                let response = if uri.contains("/namespaces/team-a/") {
                    let list = serde_json::json!({
                        "apiVersion": "v1", "kind": "SecretList",
                        "metadata": {"resourceVersion": "1"},
                        "items": [{"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": "hook", "namespace": "team-a", "resourceVersion": "1"},
                                   "data": {"url": "aHR0cDovL2hvb2s="}}],
                    });
                    Response::builder()
                        .body(Body::from(serde_json::to_vec(&list).unwrap()))
                        .unwrap()
                } else {
                    let status = serde_json::json!({
                        "apiVersion": "v1", "kind": "Status", "status": "Failure",
                        "message": "secrets \"hook\" is forbidden", "reason": "Forbidden", "code": 403,
                    });
                    Response::builder()
                        .status(403)
                        .body(Body::from(serde_json::to_vec(&status).unwrap()))
                        .unwrap()
                };
                send.send_response(response);
                uris.push(uri);
            }
            uris
        });
        let trigger = Arc::new(Notify::new());
        let watches = SecretWatches::new(Client::new(service, "default"), trigger.clone());
        let keys: BTreeSet<SecretKey> = [
            ("team-a".to_string(), "hook".to_string()),
            ("team-b".to_string(), "hook".to_string()),
        ]
        .into();
        watches.watch_exactly(&keys);
        let uris = server.await.unwrap();
        for uri in &uris {
            assert!(uri.contains("fieldSelector=metadata.name%3Dhook"), "{uri}");
        }
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !watches.synced() {
                trigger.notified().await;
            }
        })
        .await
        .unwrap();
        let data = watches.data();
        assert_eq!(
            data[&("team-a".to_string(), "hook".to_string())]["url"],
            b"http://hook"
        );
        assert!(!data.contains_key(&("team-b".to_string(), "hook".to_string())));
        match watches.state(&("team-b".to_string(), "hook".to_string())) {
            Some(WatchState::Failed(m)) => assert!(m.contains("forbidden"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Dropping a key stops its watch.
        watches.watch_exactly(&[("team-a".to_string(), "hook".to_string())].into());
        assert!(
            watches
                .state(&("team-b".to_string(), "hook".to_string()))
                .is_none()
        );
    }
}
