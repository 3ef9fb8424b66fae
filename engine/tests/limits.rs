//! Request limits and API headers seen from a client: per-alert label and annotation
//! limits (400 naming the alert and the limit, the rest of the batch kept, the engine
//! still serving), the body limit, `--web.get-concurrency`/`--web.timeout` flags and their
//! metric, and the CORS and cache headers of API v2 as upstream sets them.

#![allow(clippy::unwrap_used)]

mod support;

use support::process::{AmProcess, Target, http_client};

const CONFIG: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";

fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn post(engine: &AmProcess, body: &serde_json::Value) -> (u16, String) {
    let r = http_client()
        .post(engine.url("/api/v2/alerts"))
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn alert_names(engine: &AmProcess) -> Vec<String> {
    let alerts: serde_json::Value = http_client()
        .get(engine.url("/api/v2/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut names: Vec<String> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_over_the_label_and_annotation_limits_get_400_naming_them() {
    let engine = AmProcess::start(
        &Target::larum(),
        CONFIG,
        &flags(&[
            "--alerts.max-labels=3",
            "--alerts.max-label-bytes=40",
            "--alerts.max-annotations=2",
            "--alerts.max-annotation-bytes=100",
        ]),
    )
    .await
    .unwrap();
    let cases = [
        (
            serde_json::json!({"alertname": "TooMany", "a": "1", "b": "2", "c": "3"}),
            serde_json::json!({}),
            "alert 1 ",
            "4 labels exceed the limit of 3 (--alerts.max-labels)",
        ),
        (
            serde_json::json!({"alertname": "LongLabel", "a": "x".repeat(40)}),
            serde_json::json!({}),
            "alert 1 ",
            "has 41 bytes, over the limit of 40 (--alerts.max-label-bytes)",
        ),
        (
            serde_json::json!({"alertname": "ManyNotes"}),
            serde_json::json!({"a": "1", "b": "2", "c": "3"}),
            "alert 1 ",
            "3 annotations exceed the limit of 2 (--alerts.max-annotations)",
        ),
        (
            serde_json::json!({"alertname": "LongNote"}),
            serde_json::json!({"description": "y".repeat(200)}),
            "alert 1 ",
            "has 211 bytes, over the limit of 100 (--alerts.max-annotation-bytes)",
        ),
    ];
    for (labels, annotations, index, message) in cases {
        let batch = serde_json::json!([
            {"labels": {"alertname": "Fine"}},
            {"labels": labels, "annotations": annotations},
        ]);
        let (status, body) = post(&engine, &batch).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(index) && body.contains(message), "{body}");
        // The valid alert of the batch is stored, the oversized one is not.
        assert_eq!(alert_names(&engine).await, vec!["Fine".to_string()]);
    }
    // The engine keeps serving.
    let (status, _) = post(
        &engine,
        &serde_json::json!([{"labels": {"alertname": "After"}}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        alert_names(&engine).await,
        vec!["After".to_string(), "Fine".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_413_and_the_engine_keeps_serving() {
    let engine = AmProcess::start(
        &Target::larum(),
        CONFIG,
        &flags(&["--web.max-request-body-bytes=1000"]),
    )
    .await
    .unwrap();
    let big = serde_json::json!([{"labels": {"alertname": "Big", "x": "z".repeat(2000)}}]);
    let (status, body) = post(&engine, &big).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("larger than the limit of 1000 bytes"),
        "{body}"
    );
    let (status, _) = post(
        &engine,
        &serde_json::json!([{"labels": {"alertname": "Small"}}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(alert_names(&engine).await, vec!["Small".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_and_timeout_flags_are_accepted_and_the_metric_is_exported() {
    let engine = AmProcess::start(
        &Target::larum(),
        CONFIG,
        &flags(&["--web.get-concurrency=2", "--web.timeout=5s"]),
    )
    .await
    .unwrap();
    let metrics = http_client()
        .get(engine.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("alertmanager_http_concurrency_limit_exceeded_total 0"),
        "{metrics}"
    );
    // Two sequential GETs never hit a limit of 2.
    for _ in 0..5 {
        let r = http_client()
            .get(engine.url("/api/v2/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_responses_carry_upstreams_cors_and_cache_headers() {
    let engine = AmProcess::start(&Target::under_test(), CONFIG, &[])
        .await
        .unwrap();
    let c = http_client();
    let r = c
        .get(engine.url("/api/v2/status"))
        .header("Origin", "https://grafana.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers().get_all("vary").iter().any(|v| v == "Origin"));
    // Without an Origin there is no CORS answer.
    let r = c.get(engine.url("/api/v2/status")).send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.headers()["cache-control"], "no-store");

    // A preflight for a POST with JSON is allowed.
    let r = c
        .request(reqwest::Method::OPTIONS, engine.url("/api/v2/alerts"))
        .header("Origin", "https://grafana.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["access-control-allow-methods"], "POST");
    assert_eq!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase(),
        "content-type"
    );
    // DELETE is not among the allowed methods: no allow headers.
    let r = c
        .request(reqwest::Method::OPTIONS, engine.url("/api/v2/silence/abc"))
        .header("Origin", "https://grafana.example")
        .header("Access-Control-Request-Method", "DELETE")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // Outside the API there are no CORS headers.
    let r = c
        .get(engine.url("/-/healthy"))
        .header("Origin", "https://grafana.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

async fn metrics_text(engine: &AmProcess) -> String {
    http_client()
        .get(engine.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_alerts_past_the_alert_cap_are_refused_and_kept_ones_still_update() {
    let engine = AmProcess::start(&Target::larum(), CONFIG, &flags(&["--alerts.max-alerts=2"]))
        .await
        .unwrap();
    let a = |name: &str, summary: &str| serde_json::json!({"labels": {"alertname": name}, "annotations": {"summary": summary}});
    let (status, _) = post(&engine, &serde_json::json!([a("A", "one"), a("B", "one")])).await;
    assert_eq!(status, 200);
    let (status, body) = post(&engine, &serde_json::json!([a("A", "two"), a("C", "one")])).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("alert 1: the limit of 2 alerts is reached (--alerts.max-alerts)"),
        "{body}"
    );
    assert_eq!(
        alert_names(&engine).await,
        vec!["A".to_string(), "B".to_string()]
    );
    // The update of A in the same batch applied.
    let alerts: serde_json::Value = http_client()
        .get(engine.url("/api/v2/alerts?filter=alertname%3D%22A%22"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts[0]["annotations"]["summary"], "two");
    assert!(
        metrics_text(&engine)
            .await
            .contains("alertmanager_alerts_insert_limited_total 1")
    );
    assert!(
        engine
            .log()
            .iter()
            .any(|l| l.contains("Alert limit reached")),
        "{:?}",
        engine.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_past_the_group_cap_are_not_grouped_and_existing_groups_keep_working() {
    let config = "route:\n  receiver: a\n  group_by: [alertname]\nreceivers:\n- name: a\n";
    let engine = AmProcess::start(
        &Target::larum(),
        config,
        &flags(&["--dispatch.max-aggregation-groups=1"]),
    )
    .await
    .unwrap();
    let a = |name: &str, instance: &str| serde_json::json!({"labels": {"alertname": name, "instance": instance}});
    for batch in [vec![a("A", "1")], vec![a("B", "1")], vec![a("A", "2")]] {
        let (status, body) = post(&engine, &serde_json::json!(batch)).await;
        assert_eq!(status, 200, "{body}");
    }
    let groups: serde_json::Value = http_client()
        .get(engine.url("/api/v2/alerts/groups"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["labels"]["alertname"], "A");
    assert_eq!(groups[0]["alerts"].as_array().unwrap().len(), 2);
    // B is stored (the API lists it) but not grouped.
    assert_eq!(
        alert_names(&engine).await,
        vec!["A".to_string(), "A".to_string(), "B".to_string()]
    );
    let metrics = metrics_text(&engine).await;
    assert!(
        metrics.contains("alertmanager_dispatcher_aggregation_group_limit_reached_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("alertmanager_dispatcher_aggregation_groups 1"));
    assert!(
        engine
            .log()
            .iter()
            .any(|l| l.contains("Aggregation group limit reached")),
        "{:?}",
        engine.log()
    );
}
