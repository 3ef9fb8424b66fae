//! Handler tests: requests through the router, as a client sees them.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::alert::marker::AlertMarker;
use crate::alert::store::{AlertStore, StoreOptions};
use crate::api::{AppState, router};
use crate::clock::Clock;
use crate::config::coordinator::Coordinator;
use crate::config::{Config, ParseMode, ParseOptions};
use crate::dispatch::Dispatcher;
use crate::metrics::Metrics;
use crate::notify::Pipeline;

const CONFIG: &str = r#"
global:
  resolve_timeout: 10m
route:
  receiver: default
  group_by: [alertname]
  routes:
  - matchers: ['team="db"']
    receiver: db
    continue: true
  - matchers: ['severity="critical"']
    receiver: pager
receivers:
- name: default
- name: db
  labels: {owner: dba}
- name: pager
  webhook_configs:
  - url: http://127.0.0.1:1/hook/token
"#;

struct Api {
    state: Arc<AppState>,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

fn start() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn api_with(max_body_bytes: usize) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("am.yml");
    std::fs::write(&path, CONFIG).unwrap();
    let metrics = Arc::new(Metrics::new());
    let coordinator = Arc::new(
        Coordinator::load(&path, ParseOptions::default(), metrics.config.clone()).unwrap(),
    );
    let clock = Clock::starting_at(start());
    let store = AlertStore::new(
        StoreOptions::default(),
        clock,
        Arc::new(AlertMarker::default()),
        metrics.alerts.clone(),
    );
    let active = coordinator.current();
    let pipeline = Arc::new(Pipeline::new(
        &active.config,
        clock,
        &crate::options::RuntimeOptions::default(),
    ));
    let dispatcher = Dispatcher::new(active, pipeline);
    let mut state = AppState::new(
        coordinator,
        metrics,
        store,
        dispatcher,
        clock,
        ParseMode::Fallback,
    );
    state.max_body_bytes = max_body_bytes;
    let state = Arc::new(state);
    Api {
        app: router(state.clone(), ""),
        state,
        _dir: dir,
    }
}

fn api() -> Api {
    api_with(crate::api::DEFAULT_MAX_BODY_BYTES)
}

impl Api {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value, String) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value, text)
    }

    async fn post(&self, body: impl Into<String>) -> (StatusCode, Value, String) {
        self.send(
            Request::post("/api/v2/alerts")
                .header("content-type", "application/json")
                .body(Body::from(body.into()))
                .unwrap(),
        )
        .await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, value, _) = self
            .send(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (status, value)
    }

    async fn names(&self, uri: &str) -> Vec<String> {
        let (status, value) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {value}");
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn posted_alerts_are_listed_with_upstreams_shape() {
    let api = api();
    let (status, _, _) = api
        .post(
            json!([{
                "labels": {"alertname": "DiskFull", "team": "db", "empty": ""},
                "annotations": {"summary": "disk full"},
                "generatorURL": "http://prometheus/graph"
            }])
            .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, alerts) = api.get("/api/v2/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let fingerprint =
        crate::alert::LabelSet::from_pairs([("alertname", "DiskFull"), ("team", "db")])
            .fingerprint()
            .to_string();
    assert_eq!(
        alerts,
        json!([{
            "annotations": {"summary": "disk full"},
            "endsAt": "2026-03-01T12:10:00.000Z",
            "fingerprint": fingerprint,
            "receivers": [{"name": "db"}],
            "startsAt": "2026-03-01T12:00:00.000Z",
            "status": {"inhibitedBy": [], "mutedBy": [], "silencedBy": [], "state": "active"},
            "updatedAt": "2026-03-01T12:00:00.000Z",
            "generatorURL": "http://prometheus/graph",
            "labels": {"alertname": "DiskFull", "team": "db"}
        }])
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_alert_is_named_and_the_valid_ones_are_kept() {
    let api = api();
    let (status, message, _) = api
        .post(
            json!([
                {"labels": {"alertname": "Good"}},
                {"labels": {"alertname": "Backwards"},
                 "startsAt": "2026-03-01T12:00:00Z", "endsAt": "2026-03-01T11:00:00Z"},
                {"labels": {"only": ""}},
            ])
            .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        message,
        json!(
            "alert 1 {alertname=\"Backwards\"}: start time must be before end time\n\
             alert 2 {}: at least one label pair required"
        )
    );
    assert_eq!(api.names("/api/v2/alerts").await, ["Good"]);
    let metrics = api.state.metrics.render();
    assert!(
        metrics.contains("alertmanager_alerts_invalid_total{version=\"v2\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} 2")
    );
    assert!(
        metrics
            .contains("alertmanager_alerts_received_total{status=\"resolved\",version=\"v2\"} 1")
    );
    assert!(metrics.contains("alertmanager_alerts{state=\"active\"} 1"));
}

#[tokio::test(start_paused = true)]
async fn requests_with_a_bad_structure_get_upstreams_codes() {
    let api = api_with(1024);
    let (status, body, _) = api.post("[{\"labels\": {\"a\": \"b\"}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("parsing alerts body failed")
    );

    let (status, body, _) = api.post("[{\"annotations\": {}}]").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["message"], "0.labels in body is required");

    let (status, _, _) = api.post("").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let big = format!("[{{\"labels\": {{\"a\": \"{}\"}}}}]", "x".repeat(2000));
    let (status, body, _) = api.post(big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["message"],
        "request body is larger than the limit of 1024 bytes"
    );

    let (status, _, _) = api
        .send(
            Request::post("/api/v2/alerts")
                .header("content-type", "text/plain")
                .body(Body::from("[]"))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(api.state.store.is_empty());
}

#[tokio::test(start_paused = true)]
async fn listings_filter_by_matchers_receivers_and_state() {
    let api = api();
    api.post(
        json!([
            {"labels": {"alertname": "A", "team": "db"}},
            {"labels": {"alertname": "B", "severity": "critical"}},
            {"labels": {"alertname": "C", "severity": "warning"}},
            {"labels": {"alertname": "Old"}, "startsAt": "2026-03-01T10:00:00Z",
             "endsAt": "2026-03-01T11:00:00Z"},
        ])
        .to_string(),
    )
    .await;
    let mut all = api.names("/api/v2/alerts").await;
    all.sort();
    assert_eq!(all, ["A", "B", "C"], "resolved alerts are not listed");
    assert_eq!(
        api.names("/api/v2/alerts?filter=team%3D%22db%22").await,
        ["A"]
    );
    assert_eq!(
        api.names(
            "/api/v2/alerts?filter=alertname%3D~%22A%7CB%22&filter=severity%3D%22critical%22"
        )
        .await,
        ["B"]
    );
    // An empty value on `=` ignores alerts without the label; `!=""` keeps those with it.
    let mut with = api.names("/api/v2/alerts?filter=severity!%3D%22%22").await;
    with.sort();
    assert_eq!(with, ["B", "C"]);
    assert_eq!(api.names("/api/v2/alerts?receiver=pag.*").await, ["B"]);
    assert_eq!(
        api.names("/api/v2/alerts?receiver_matchers=owner%3Ddba")
            .await,
        ["A"]
    );
    assert!(api.names("/api/v2/alerts?active=false").await.is_empty());
    assert_eq!(api.names("/api/v2/alerts?unprocessed=false").await.len(), 3);

    // A silence muting B: GET computes the status from the silences, like upstream.
    let now = api.state.clock.now();
    let id = api
        .state
        .silences
        .set(crate::silence::Silence::new(
            vec![crate::silence::SilenceMatcher::new(
                "alertname",
                "B",
                crate::config::matcher::MatchType::Equal,
            )],
            now,
            now + jiff::SignedDuration::from_hours(1),
        ))
        .unwrap();
    assert_eq!(api.names("/api/v2/alerts?active=false").await, ["B"]);
    assert_eq!(api.names("/api/v2/alerts?silenced=false").await.len(), 2);
    let (_, alerts) = api.get("/api/v2/alerts?active=false").await;
    assert_eq!(alerts[0]["status"]["state"], "suppressed");
    assert_eq!(alerts[0]["status"]["silencedBy"], json!([id]));

    let (status, body) = api.get("/api/v2/alerts?filter=foo").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.is_string());
    let (status, body) = api.get("/api/v2/alerts?receiver=(").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.as_str()
            .unwrap()
            .starts_with("failed to parse receiver param")
    );
    let (status, groups) = api.get("/api/v2/alerts/groups?filter=foo").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{groups}");
}

#[tokio::test(start_paused = true)]
async fn resends_merge_into_the_stored_alert() {
    let api = api();
    let alert = |starts: &str, summary: &str| {
        json!([{"labels": {"alertname": "A"}, "annotations": {"summary": summary},
                "startsAt": starts}])
        .to_string()
    };
    api.post(alert("2026-03-01T11:59:00Z", "first")).await;
    tokio::time::advance(std::time::Duration::from_secs(60)).await;
    api.post(alert("2026-03-01T12:00:30Z", "second")).await;
    let (_, alerts) = api.get("/api/v2/alerts").await;
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    assert_eq!(alerts[0]["startsAt"], "2026-03-01T11:59:00.000Z");
    assert_eq!(alerts[0]["annotations"]["summary"], "second");
    assert_eq!(alerts[0]["updatedAt"], "2026-03-01T12:01:00.000Z");
    assert_eq!(alerts[0]["endsAt"], "2026-03-01T12:11:00.000Z");
}

#[tokio::test(start_paused = true)]
async fn receivers_status_and_v1() {
    let api = api();
    let (status, receivers) = api.get("/api/v2/receivers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        receivers,
        json!([
            {"labels": {"name": "default"}, "name": "default"},
            {"labels": {"name": "db", "owner": "dba"}, "name": "db"},
            {"labels": {"name": "pager"}, "name": "pager"},
        ])
    );
    let (_, receivers) = api
        .get("/api/v2/receivers?receiver_matchers=owner%3D%22dba%22")
        .await;
    assert_eq!(
        receivers,
        json!([{"labels": {"name": "db", "owner": "dba"}, "name": "db"}])
    );

    let (status, s) = api.get("/api/v2/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["cluster"], json!({"peers": [], "status": "disabled"}));
    assert_eq!(s["uptime"], "2026-03-01T12:00:00.000Z");
    assert_eq!(s["versionInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        super::status::sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // The hash is of the file's bytes as loaded, not of the masked re-serialization.
    assert_eq!(
        s["config"]["sha256"],
        super::status::sha256_hex(CONFIG.as_bytes())
    );
    let original = s["config"]["original"].as_str().unwrap();
    assert!(
        !original.contains("/hook/token"),
        "secrets are masked: {original}"
    );
    let reparsed = Config::parse(original, ParseOptions::default()).unwrap();
    assert_eq!(reparsed.receivers.len(), 3);

    let (status, _) = api.get("/api/v2/alerts/groups").await;
    assert_eq!(status, StatusCode::OK);

    for (method, uri) in [
        ("GET", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts"),
        ("GET", "/api/v1/status"),
    ] {
        let (status, body, _) = api
            .send(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::GONE, "{method} {uri}");
        assert_eq!(body["status"], "deprecated");
    }
}
