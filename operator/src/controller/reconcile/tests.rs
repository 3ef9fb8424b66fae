#![allow(clippy::unwrap_used)]
//! Render passes against a mocked API server (tower-test): what is applied, which
//! statuses are patched, which Events are recorded, and that a pass with nothing new
//! makes no call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use serde_json::{Value, json};

use super::*;
use crate::controller::replicas::ReplicaSource;
use crate::controller::status::ReplicaHash;

/// One request the mock API server received.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    query: String,
    content_type: String,
    body: Value,
}

/// Starts a mock API server that answers every request and records it. Responses echo
/// the object found in `objects` by path (or the request body).
fn mock_client(objects: BTreeMap<String, Value>) -> (Client, Arc<Mutex<Vec<Call>>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let record = calls.clone();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let path = parts.uri.path().to_string();
            let call = Call {
                method: parts.method.to_string(),
                path: path.clone(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                content_type: parts
                    .headers
                    .get("content-type")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default(),
                body: body.clone(),
            };
            record.lock().unwrap().push(call);
            let object_path = path.trim_end_matches("/status");
            let mut reply = objects.get(object_path).cloned().unwrap_or(body);
            if reply.get("metadata").is_none() {
                reply["metadata"] = json!({"name": "x", "namespace": "x"});
            }
            send.send_response(
                Response::builder()
                    .status(200)
                    .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                    .unwrap(),
            );
        }
    });
    (Client::new(service, "default"), calls)
}

/// Replicas that all run a fixed config hash.
struct FixedReplicas(f64, usize);

impl ReplicaSource for FixedReplicas {
    fn config_hashes(&self) -> BoxFuture<'_, Result<Vec<ReplicaHash>, String>> {
        let list = (0..self.1)
            .map(|i| ReplicaHash {
                address: format!("10.0.0.{i}:9093"),
                hash: Ok(self.0),
            })
            .collect();
        Box::pin(async move { Ok(list) })
    }

    fn muted_counts(&self) -> BoxFuture<'_, Option<BTreeMap<String, i32>>> {
        Box::pin(async { Some(BTreeMap::from([("team-a:maint".to_string(), 3)])) })
    }
}

const CONFIG: &str = "route:\n  receiver: platform\nreceivers:\n  - name: platform\n";

fn now() -> Timestamp {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

fn snapshot() -> Snapshot {
    let meta = |ns: &str, name: &str| json!({"namespace": ns, "name": name, "generation": 2, "creationTimestamp": "2026-11-24T11:00:00Z"});
    let good: AlertRoute = serde_json::from_value(json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "AlertRoute", "metadata": meta("team-a", "good"),
        "spec": {"receiver": "hook", "receivers": [{"name": "hook", "webhookConfigs": [{"urlSecret": {"name": "hook", "key": "url"}}]}]}
    }))
    .unwrap();
    let bad: AlertRoute = serde_json::from_value(json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "AlertRoute", "metadata": meta("team-b", "bad"),
        "spec": {"matchers": [{"name": "a", "value": "(", "matchType": "=~"}]}
    }))
    .unwrap();
    let silence: Silence = serde_json::from_value(json!({
        "apiVersion": "larum.dev/v1alpha1", "kind": "Silence", "metadata": meta("team-a", "maint"),
        "spec": {"matchers": [{"name": "service", "value": "db"}], "duration": "2h"}
    }))
    .unwrap();
    let mut secrets = SecretData::new();
    secrets.insert(
        ("team-a".into(), "hook".into()),
        BTreeMap::from([("url".to_string(), b"http://127.0.0.1:9/hook".to_vec())]),
    );
    Snapshot {
        alert_routes: vec![good, bad],
        inhibit_rules: vec![],
        silences: vec![silence],
        secrets,
    }
}

fn objects(snap: &Snapshot) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for r in &snap.alert_routes {
        m.insert(
            format!(
                "/apis/larum.dev/v1alpha1/namespaces/{}/alertroutes/{}",
                r.namespace().unwrap(),
                r.name_any()
            ),
            serde_json::to_value(r).unwrap(),
        );
    }
    for s in &snap.silences {
        m.insert(
            format!(
                "/apis/larum.dev/v1alpha1/namespaces/{}/silences/{}",
                s.namespace().unwrap(),
                s.name_any()
            ),
            serde_json::to_value(s).unwrap(),
        );
    }
    m
}

fn context(client: Client, config: OperatorConfig, hash: f64) -> Context {
    Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "larum-operator".into(),
                instance: Some("test".into()),
            },
        ),
        client,
        config,
        output: OutputSecret {
            namespace: "larum-system".into(),
            name: "larum-config".into(),
        },
        replicas: Arc::new(FixedReplicas(hash, 3)),
        metrics: Arc::new(Metrics::new()),
        last_applied: tokio::sync::Mutex::new(None),
    }
}

fn expected_hash(config: &OperatorConfig, snap: &Snapshot) -> f64 {
    render::render(render::Inputs {
        config,
        alert_routes: &snap.alert_routes,
        inhibit_rules: &snap.inhibit_rules,
        silences: &snap.silences,
        secrets: &snap.secrets,
        now: now(),
    })
    .unwrap()
    .config_hash
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap()
}

#[tokio::test]
async fn a_pass_applies_the_secret_sets_statuses_and_records_an_event_for_the_rejected() {
    let snap = snapshot();
    let config = OperatorConfig::parse(CONFIG).unwrap();
    let hash = expected_hash(&config, &snap);
    let (client, calls) = mock_client(objects(&snap));
    let ctx = context(client, config, hash);

    let pass = reconcile(&ctx, &snap, now()).await.unwrap();
    assert_eq!(pass.loaded, LoadedState::All { replicas: 3 });
    // Muted counts are refreshed while silences exist.
    assert_eq!(pass.requeue_after, Some(MUTED_REFRESH));

    let calls = calls.lock().unwrap().clone();
    let paths: Vec<_> = calls
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(
        paths,
        [
            "PATCH /api/v1/namespaces/larum-system/secrets/larum-config",
            "PATCH /apis/larum.dev/v1alpha1/namespaces/team-a/alertroutes/good/status",
            "POST /apis/events.k8s.io/v1/namespaces/team-b/events",
            "PATCH /apis/larum.dev/v1alpha1/namespaces/team-b/alertroutes/bad/status",
            "PATCH /apis/larum.dev/v1alpha1/namespaces/team-a/silences/maint/status",
        ]
    );

    // The Secret: server-side apply, forced, with both keys.
    let secret = &calls[0];
    assert_eq!(secret.content_type, "application/apply-patch+yaml");
    assert!(
        secret.query.contains("fieldManager=larum-operator"),
        "{}",
        secret.query
    );
    assert!(secret.query.contains("force=true"), "{}", secret.query);
    assert_eq!(secret.body["kind"], "Secret");
    let data = secret.body["data"].as_object().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["alertmanager.yaml", "silences.yaml"]
    );
    assert_eq!(pass.rendered.data.len(), 2);

    let good = &calls[1].body["status"];
    assert_eq!(calls[1].content_type, "application/apply-patch+yaml");
    assert_eq!(good["observedGeneration"], 2);
    assert_eq!(condition(good, "Accepted")["status"], "True");
    assert_eq!(condition(good, "Loaded")["status"], "True");

    let event = &calls[2].body;
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "InvalidMatcher");
    assert_eq!(event["regarding"]["name"], "bad");

    let bad = &calls[3].body["status"];
    assert_eq!(condition(bad, "Accepted")["status"], "False");
    assert_eq!(condition(bad, "Accepted")["reason"], "InvalidMatcher");
    assert!(
        condition(bad, "Accepted")["message"]
            .as_str()
            .unwrap()
            .contains("matchers")
    );

    let sil = &calls[4].body["status"];
    assert_eq!(sil["silenceId"], "team-a:maint");
    assert_eq!(sil["state"], "active");
    assert_eq!(sil["mutedAlerts"], 3);
    assert_eq!(sil["endsAt"], "2026-11-24T13:00:00Z");
}

#[tokio::test]
async fn a_pass_with_nothing_new_makes_no_call() {
    let mut snap = snapshot();
    let config = OperatorConfig::parse(CONFIG).unwrap();
    let hash = expected_hash(&config, &snap);
    let (client, calls) = mock_client(objects(&snap));
    let ctx = context(client, config, hash);
    reconcile(&ctx, &snap, now()).await.unwrap();

    // Feed the written statuses back, as the watch would.
    let written = calls.lock().unwrap().clone();
    for c in &written {
        if c.path.ends_with("/alertroutes/good/status") {
            snap.alert_routes[0].status = serde_json::from_value(c.body["status"].clone()).unwrap();
        } else if c.path.ends_with("/alertroutes/bad/status") {
            snap.alert_routes[1].status = serde_json::from_value(c.body["status"].clone()).unwrap();
        } else if c.path.ends_with("/silences/maint/status") {
            snap.silences[0].status = serde_json::from_value(c.body["status"].clone()).unwrap();
        }
    }
    calls.lock().unwrap().clear();
    let later: Timestamp = "2026-11-24T12:10:00Z".parse().unwrap();
    reconcile(&ctx, &snap, later).await.unwrap();
    assert!(
        calls.lock().unwrap().is_empty(),
        "{:#?}",
        calls.lock().unwrap()
    );
}

#[tokio::test]
async fn replicas_behind_keep_loaded_false_and_poll_again() {
    let snap = snapshot();
    let config = OperatorConfig::parse(CONFIG).unwrap();
    let (client, calls) = mock_client(objects(&snap));
    let ctx = context(client, config, 12345.0);
    let pass = reconcile(&ctx, &snap, now()).await.unwrap();
    assert_eq!(
        pass.loaded,
        LoadedState::Pending {
            loaded: 0,
            replicas: 3
        }
    );
    assert_eq!(pass.requeue_after, Some(LOADED_POLL));
    let calls = calls.lock().unwrap().clone();
    let good = calls
        .iter()
        .find(|c| c.path.ends_with("/alertroutes/good/status"))
        .unwrap();
    let loaded = condition(&good.body["status"], "Loaded");
    assert_eq!(loaded["status"], "False");
    assert_eq!(loaded["reason"], "Pending");
}

#[tokio::test]
async fn a_silence_turns_expired_at_its_end() {
    let snap = snapshot();
    let config = OperatorConfig::parse(CONFIG).unwrap();
    let (client, calls) = mock_client(objects(&snap));
    let ctx = context(client, config, 0.0);
    let after: Timestamp = "2026-11-24T13:00:01Z".parse().unwrap();
    let pass = reconcile(&ctx, &snap, after).await.unwrap();
    let calls = calls.lock().unwrap().clone();
    let sil = calls
        .iter()
        .find(|c| c.path.ends_with("/silences/maint/status"))
        .unwrap();
    assert_eq!(sil.body["status"]["state"], "expired");
    assert!(pass.rendered.next_silence_transition(after).is_none());
}

#[test]
fn referenced_secrets_are_found_in_every_integration() {
    let snap = snapshot();
    let refs = referenced_secrets(&snap.alert_routes);
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        [("team-a".to_string(), "hook".to_string())]
    );
}

#[tokio::test]
async fn expired_silences_are_deleted_after_the_ttl_when_configured() {
    let snap = snapshot();
    let config = OperatorConfig::parse(&format!("{CONFIG}expiredSilenceTtl: 1h\n")).unwrap();
    let (client, calls) = mock_client(objects(&snap));
    let ctx = context(client, config, 0.0);
    // Ends 13:00; at 13:30 it is expired but within the TTL.
    let pass = reconcile(&ctx, &snap, "2026-11-24T13:30:00Z".parse().unwrap())
        .await
        .unwrap();
    assert!(!calls.lock().unwrap().iter().any(|c| c.method == "DELETE"));
    assert!(pass.requeue_after.is_some());
    calls.lock().unwrap().clear();
    reconcile(&ctx, &snap, "2026-11-24T14:00:01Z".parse().unwrap())
        .await
        .unwrap();
    let deletes: Vec<_> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.method == "DELETE")
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        deletes,
        ["/apis/larum.dev/v1alpha1/namespaces/team-a/silences/maint"]
    );
}

#[tokio::test]
async fn without_a_ttl_expired_silences_stay() {
    let snap = snapshot();
    let config = OperatorConfig::parse(CONFIG).unwrap();
    let (client, calls) = mock_client(objects(&snap));
    let ctx = context(client, config, 0.0);
    reconcile(&ctx, &snap, "2027-01-01T00:00:00Z".parse().unwrap())
        .await
        .unwrap();
    assert!(!calls.lock().unwrap().iter().any(|c| c.method == "DELETE"));
}
