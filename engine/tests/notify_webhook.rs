#![allow(clippy::unwrap_used)]
//! The dispatcher and the pipeline against a local webhook endpoint (real HTTP on
//! loopback, real time with short intervals): retries, permanent errors, Retry-After,
//! max_alerts, and the resolved flow with and without send_resolved.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use jiff::{SignedDuration, Timestamp};
use larum_engine::alert::{Alert, LabelSet};
use larum_engine::clock::Clock;
use larum_engine::config::{Config, ParseOptions};
use larum_engine::dispatch::{Dispatcher, DispatcherOptions};
use larum_engine::notify::Pipeline;
use larum_engine::notify::metrics::{failed_labels, labels};
use larum_engine::notify::stages::FailureReason;
use larum_engine::options::RuntimeOptions;

#[derive(Default)]
struct Receiver {
    /// (path, arrival, body)
    got: Mutex<Vec<(String, Instant, serde_json::Value)>>,
    /// Answers to give, in turn: status and Retry-After; 200 once they run out.
    script: Mutex<Vec<(u16, Option<&'static str>)>>,
}

async fn hook(
    State(r): State<Arc<Receiver>>,
    Path(path): Path<String>,
    body: String,
) -> (StatusCode, HeaderMap, &'static str) {
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    r.got.lock().unwrap().push((path, Instant::now(), v));
    let (code, retry_after) = {
        let mut s = r.script.lock().unwrap();
        if s.is_empty() {
            (200, None)
        } else {
            s.remove(0)
        }
    };
    let mut h = HeaderMap::new();
    if let Some(ra) = retry_after {
        h.insert("retry-after", HeaderValue::from_static(ra));
    }
    (StatusCode::from_u16(code).unwrap(), h, "answer body")
}

async fn serve(script: Vec<(u16, Option<&'static str>)>) -> (Arc<Receiver>, u16) {
    let r = Arc::new(Receiver {
        got: Mutex::default(),
        script: Mutex::new(script),
    });
    let app = axum::Router::new()
        .route("/{path}", post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, port)
}

struct Engine {
    dispatcher: Arc<Dispatcher>,
    pipeline: Arc<Pipeline>,
}

fn engine(yaml: &str) -> Engine {
    let config = Config::parse(yaml, ParseOptions::default()).unwrap();
    let clock = Clock::system();
    let options = RuntimeOptions {
        external_url: "http://am.example:9093".into(),
        ..RuntimeOptions::default()
    };
    let pipeline = Arc::new(Pipeline::new(&config, clock, &options));
    let dispatcher = Dispatcher::with_options(
        &config,
        pipeline.clone(),
        DispatcherOptions::new(clock, &options),
    );
    Engine {
        dispatcher,
        pipeline,
    }
}

fn alert(name: &str, instance: &str, resolved: bool) -> Arc<Alert> {
    let now = Timestamp::now();
    Arc::new(Alert {
        labels: LabelSet::from_pairs([("alertname", name), ("instance", instance)]),
        annotations: LabelSet::from_pairs([("summary", "it broke")]),
        starts_at: now - SignedDuration::from_secs(1),
        ends_at: resolved.then(|| now - SignedDuration::from_millis(1)),
        generator_url: "http://prometheus/graph".into(),
        updated_at: now,
        timeout: false,
    })
}

/// Polls `cond` every 20 ms until it holds or `within` passes.
async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

fn config(port: u16, group_interval: &str, webhooks: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 100ms
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
{}
"#,
        webhooks.replace("PORT", &port.to_string())
    )
}

#[tokio::test]
async fn retries_a_500_then_succeeds() {
    let (r, port) = serve(vec![(500, None)]).await;
    let e = engine(&config(port, "1h", "  - url: http://127.0.0.1:PORT/a"));
    e.dispatcher.insert(alert("Down", "x", false));
    assert!(eventually(Duration::from_secs(10), || r.got.lock().unwrap().len() == 2).await);
    let m = e.pipeline.metrics();
    let l = labels("webhook");
    assert!(
        eventually(Duration::from_secs(5), || m
            .notification_requests_total
            .get_or_create(&l)
            .get()
            == 2)
        .await
    );
    assert_eq!(
        m.notification_requests_failed_total.get_or_create(&l).get(),
        1
    );
    assert_eq!(m.notifications_total.get_or_create(&l).get(), 1);
    let got = r.got.lock().unwrap();
    assert_eq!(got[0].2, got[1].2, "the retry sends the same message");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (r, port) = serve(vec![(400, None)]).await;
    let e = engine(&config(port, "1h", "  - url: http://127.0.0.1:PORT/a"));
    e.dispatcher.insert(alert("Down", "x", false));
    let m = e.pipeline.metrics();
    let failed = failed_labels("webhook", FailureReason::ClientError);
    assert!(
        eventually(Duration::from_secs(10), || m
            .notifications_failed_total
            .get_or_create(&failed)
            .get()
            == 1)
        .await
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(r.got.lock().unwrap().len(), 1);
    assert_eq!(
        m.notification_requests_total
            .get_or_create(&labels("webhook"))
            .get(),
        1
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (r, port) = serve(vec![(503, Some("2"))]).await;
    let e = engine(&config(port, "1h", "  - url: http://127.0.0.1:PORT/a"));
    e.dispatcher.insert(alert("Down", "x", false));
    assert!(eventually(Duration::from_secs(10), || r.got.lock().unwrap().len() == 2).await);
    let got = r.got.lock().unwrap();
    assert!(
        got[1].1 - got[0].1 >= Duration::from_secs(2),
        "{:?}",
        got[1].1 - got[0].1
    );
}

#[tokio::test]
async fn max_alerts_truncates_and_payload_is_version_4() {
    let (r, port) = serve(vec![]).await;
    let e = engine(&config(
        port,
        "1h",
        "  - url: http://127.0.0.1:PORT/a\n    max_alerts: 2",
    ));
    for i in ["1", "2", "3"] {
        e.dispatcher.insert(alert("Down", i, false));
    }
    assert!(eventually(Duration::from_secs(10), || r.got.lock().unwrap().len() == 1).await);
    let v = r.got.lock().unwrap()[0].2.clone();
    assert_eq!(v["version"], "4");
    assert_eq!(v["truncatedAlerts"], 1);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(v["alerts"][0]["labels"]["instance"], "1");
    assert_eq!(v["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["receiver"], "hook");
    assert_eq!(v["groupKey"], "{}:{alertname=\"Down\"}");
    assert_eq!(v["externalURL"], "http://am.example:9093");
    assert_eq!(v["notification_reason"], "first notification");
}

#[tokio::test]
async fn resolved_flow_with_and_without_send_resolved() {
    let (r, port) = serve(vec![]).await;
    let e = engine(&config(
        port,
        "500ms",
        "  - url: http://127.0.0.1:PORT/a\n  - url: http://127.0.0.1:PORT/b\n    send_resolved: false",
    ));
    e.dispatcher.insert(alert("Down", "x", false));
    assert!(eventually(Duration::from_secs(10), || r.got.lock().unwrap().len() == 2).await);
    e.dispatcher.insert(alert("Down", "x", true));
    assert!(eventually(Duration::from_secs(10), || r.got.lock().unwrap().len() == 3).await);
    // The group is gone once the resolved notification went out.
    assert!(eventually(Duration::from_secs(10), || e.dispatcher.groups().is_empty()).await);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let got = r.got.lock().unwrap();
    assert_eq!(got.len(), 3, "no further notification: {got:?}");
    let to = |p: &str| {
        got.iter()
            .filter(|g| g.0 == p)
            .map(|g| g.2["status"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(to("a"), ["firing", "resolved"]);
    assert_eq!(
        to("b"),
        ["firing"],
        "send_resolved: false gets no resolved notification"
    );
    let resolved = got
        .iter()
        .find(|g| g.0 == "a" && g.2["status"] == "resolved")
        .unwrap();
    assert_eq!(resolved.2["notification_reason"], "all alerts resolved");
    assert_ne!(resolved.2["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
}
