#![allow(clippy::unwrap_used)]
//! Silences through API v2 on a running engine: create, get, list, update, expire and
//! their errors; silences from `--silences.file` (409 on API changes, runtime edits of
//! the file); an alert silenced and notified again after expiry; silences surviving
//! `kill -9` during churn and a clean stop.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Engine, http, http_json, wait_until};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

const CONFIG: &str = "route:\n  receiver: default\nreceivers:\n- name: default\n";

fn write_config(dir: &Path, yaml: &str) -> std::path::PathBuf {
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn in_secs(secs: i64) -> String {
    (Timestamp::now() + SignedDuration::from_secs(secs)).to_string()
}

fn silence_body(matchers: Value, starts: &str, ends: &str, comment: &str) -> String {
    json!({
        "matchers": matchers,
        "startsAt": starts,
        "endsAt": ends,
        "createdBy": "tester",
        "comment": comment,
    })
    .to_string()
}

fn eq(name: &str, value: &str) -> Value {
    json!([{"name": name, "value": value, "isRegex": false}])
}

/// POSTs a silence; returns status and body.
fn post(engine: &Engine, body: &str) -> (u16, String) {
    http_json("POST", &engine.url("/api/v2/silences"), body)
}

fn create(engine: &Engine, body: &str) -> String {
    let (status, text) = post(engine, body);
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["silenceID"].as_str().unwrap().to_string()
}

fn get_silence(engine: &Engine, id: &str) -> (u16, Value) {
    let (status, text) = http("GET", &engine.url(&format!("/api/v2/silence/{id}")));
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn list(engine: &Engine, query: &str) -> Vec<Value> {
    let (status, text) = http("GET", &engine.url(&format!("/api/v2/silences{query}")));
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn ids(silences: &[Value]) -> Vec<String> {
    silences
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn create_get_list_update_expire_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(&write_config(dir.path(), CONFIG), &[]);
    let now = Timestamp::now().to_string();

    let a = create(
        &engine,
        &silence_body(eq("job", "a"), &now, &in_secs(3600), "first"),
    );
    let (status, sil) = get_silence(&engine, &a);
    assert_eq!(status, 200);
    assert_eq!(sil["status"]["state"], "active");
    assert_eq!(sil["comment"], "first");
    assert_eq!(sil["createdBy"], "tester");
    assert_eq!(sil["matchers"][0]["isEqual"], true);

    // Active ones by end, then pending by start, then expired, most recent first.
    let b = create(
        &engine,
        &silence_body(eq("job", "b"), &now, &in_secs(600), "b"),
    );
    let p = create(
        &engine,
        &silence_body(eq("job", "p"), &in_secs(1200), &in_secs(7200), "p"),
    );
    assert_eq!(ids(&list(&engine, "")), [b.clone(), a.clone(), p.clone()]);
    assert_eq!(
        ids(&list(&engine, "?filter=job%3D%22a%22")),
        vec![a.clone()]
    );
    assert_eq!(ids(&list(&engine, "?active=false")), vec![p.clone()]);

    // Same matchers, same start: updated in place.
    let start = sil["startsAt"].as_str().unwrap().to_string();
    let mut update: Value = serde_json::from_str(&silence_body(
        eq("job", "a"),
        &start,
        &in_secs(7200),
        "second",
    ))
    .unwrap();
    update["id"] = json!(a);
    assert_eq!(create(&engine, &update.to_string()), a);
    assert_eq!(get_silence(&engine, &a).1["comment"], "second");
    // Other matchers: the old one expires and a new ID is made.
    update["matchers"] = eq("job", "c");
    let c = create(&engine, &update.to_string());
    assert_ne!(c, a);
    assert_eq!(get_silence(&engine, &a).1["status"]["state"], "expired");
    assert_eq!(get_silence(&engine, &c).1["status"]["state"], "active");

    // Expire: 200, again 200, unknown 404.
    let url = engine.url(&format!("/api/v2/silence/{b}"));
    assert_eq!(http("DELETE", &url).0, 200);
    assert_eq!(get_silence(&engine, &b).1["status"]["state"], "expired");
    assert_eq!(http("DELETE", &url).0, 200);
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        http("DELETE", &engine.url(&format!("/api/v2/silence/{unknown}"))).0,
        404
    );
    assert_eq!(get_silence(&engine, unknown).0, 404);
    let expired = ids(&list(&engine, "?active=false&pending=false"));
    assert_eq!(expired.len(), 2);
    assert!(expired.contains(&a) && expired.contains(&b));

    // Refusals with upstream's messages.
    let (status, text) = post(
        &engine,
        &silence_body(eq("x", "y"), &in_secs(60), &in_secs(30), ""),
    );
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            "\"Failed to create silence: start time must be before end time\""
        )
    );
    let (status, text) = post(
        &engine,
        &silence_body(eq("x", "y"), &in_secs(-60), &in_secs(-30), ""),
    );
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            "\"Failed to create silence: end time can't be in the past\""
        )
    );
    let (status, text) = post(&engine, &silence_body(eq("x", ""), &now, &in_secs(30), ""));
    assert_eq!(status, 400, "{text}");
    let mut unknown_id: Value =
        serde_json::from_str(&silence_body(eq("x", "y"), &now, &in_secs(30), "")).unwrap();
    unknown_id["id"] = json!(unknown);
    assert_eq!(post(&engine, &unknown_id.to_string()).0, 404);
    let (status, text) = post(
        &engine,
        r#"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2030-01-01T00:00:00Z","endsAt":"2030-01-02T00:00:00Z","comment":""}"#,
    );
    assert_eq!(status, 422);
    assert!(text.contains("createdBy in body is required"), "{text}");
}

/// A webhook endpoint counting notifications, with the time each arrived.
struct Hook {
    url: String,
    received: Arc<Mutex<Vec<(Instant, Value)>>>,
    stop: Arc<AtomicBool>,
}

impl Hook {
    fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, halt) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push((Instant::now(), v));
                }
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Hook {
            url,
            received,
            stop,
        }
    }

    fn times(&self) -> Vec<Instant> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| *t)
            .collect()
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn silenced_alert_is_suppressed_then_notifies_again_after_expiry() {
    let hook = Hook::start();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 100ms\n  group_interval: 500ms\n  repeat_interval: 1s\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: {}\n",
        hook.url
    );
    let engine = Engine::start(&write_config(dir.path(), &config), &[]);
    let alert = json!([{"labels": {"alertname": "Disk", "instance": "db1"}}]).to_string();
    assert_eq!(
        http_json("POST", &engine.url("/api/v2/alerts"), &alert).0,
        200
    );
    wait_until("a first notification", Duration::from_secs(10), || {
        (!hook.times().is_empty()).then_some(())
    });

    let silence_secs = 4;
    // The silence ends `silence_secs` after this instant (its endsAt is computed now).
    let ends = Instant::now() + Duration::from_secs(silence_secs as u64);
    let id = create(
        &engine,
        &silence_body(
            eq("instance", "db1"),
            &Timestamp::now().to_string(),
            &in_secs(silence_secs),
            "maintenance",
        ),
    );
    let silenced_at = Instant::now();
    let alerts = wait_until(
        "the alert shown as suppressed",
        Duration::from_secs(5),
        || {
            let (_, text) = http("GET", &engine.url("/api/v2/alerts"));
            let v: Value = serde_json::from_str(&text).ok()?;
            (v[0]["status"]["state"] == "suppressed").then_some(v)
        },
    );
    assert_eq!(alerts[0]["status"]["silencedBy"], json!([id]));
    let (_, text) = http("GET", &engine.url("/api/v2/alerts?silenced=false"));
    assert_eq!(text.trim(), "[]");

    // Notified again once the silence has ended.
    wait_until(
        "a notification after the silence ended",
        Duration::from_secs(15),
        || hook.times().iter().any(|t| *t > ends).then_some(()),
    );
    // Nothing was sent while the silence was in force (after one flush interval of slack
    // for a notification already on its way when the silence was made).
    let during: Vec<_> = hook
        .times()
        .into_iter()
        .filter(|t| *t > silenced_at + Duration::from_millis(700) && *t < ends)
        .collect();
    assert!(
        during.is_empty(),
        "{} notifications during the silence",
        during.len()
    );
    let (_, text) = http("GET", &engine.url("/api/v2/alerts"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["status"]["state"], "active");
    assert_eq!(v[0]["status"]["silencedBy"], json!([]));
}

fn file_silence(id: &str, comment: &str) -> String {
    format!(
        "- id: {id}\n  matchers: ['service=\"{id}\"']\n  endsAt: {}\n  createdBy: ops\n  comment: {comment}\n",
        in_secs(3600)
    )
}

#[test]
fn silences_file_is_applied_at_start_and_on_changes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let sil_dir = dir.path().join("silences");
    std::fs::create_dir(&sil_dir).unwrap();
    let file = sil_dir.join("silences.yaml");
    std::fs::write(&file, file_silence("db-maint", "first")).unwrap();
    let engine = Engine::start(&config, &[&format!("--silences.file={}", file.display())]);
    let (status, sil) = get_silence(&engine, "db-maint");
    assert_eq!(status, 200);
    assert_eq!(sil["status"]["state"], "active");

    // The API cannot change or expire it, and says where it comes from.
    let (status, text) = http("DELETE", &engine.url("/api/v2/silence/db-maint"));
    assert_eq!(status, 409);
    assert!(text.contains(&file.display().to_string()), "{text}");
    let mut update: Value = serde_json::from_str(&silence_body(
        eq("service", "db-maint"),
        &Timestamp::now().to_string(),
        &in_secs(60),
        "api",
    ))
    .unwrap();
    update["id"] = json!("db-maint");
    assert_eq!(post(&engine, &update.to_string()).0, 409);

    // Changed and added at runtime (file change).
    std::fs::write(
        &file,
        file_silence("db-maint", "second") + &file_silence("web-maint", "new"),
    )
    .unwrap();
    wait_until("the changed file applied", Duration::from_secs(10), || {
        let (_, sil) = get_silence(&engine, "db-maint");
        let (status, _) = get_silence(&engine, "web-maint");
        (sil["comment"] == "second" && status == 200).then_some(())
    });

    // Invalid: reported, nothing changes.
    std::fs::write(&file, "- id: db-maint\n  matchers: []\n  endsAt: nope\n").unwrap();
    let mut engine = engine;
    engine.wait_for_log("Loading the silences file failed", Duration::from_secs(10));
    assert_eq!(
        http("POST", &engine.url("/-/reload")).0,
        500,
        "reload reports the invalid silences file"
    );
    assert_eq!(
        get_silence(&engine, "db-maint").1["status"]["state"],
        "active"
    );
    assert_eq!(
        get_silence(&engine, "web-maint").1["status"]["state"],
        "active"
    );

    // Removed from the file: expired.
    std::fs::write(&file, file_silence("web-maint", "new")).unwrap();
    assert_eq!(http("POST", &engine.url("/-/reload")).0, 200);
    assert_eq!(
        get_silence(&engine, "db-maint").1["status"]["state"],
        "expired"
    );
    assert_eq!(
        get_silence(&engine, "web-maint").1["status"]["state"],
        "active"
    );
}

/// A request that reports failures instead of panicking (the engine may be killed).
fn try_post(
    client: &reqwest::Client,
    rt: &tokio::runtime::Runtime,
    url: &str,
    body: String,
) -> Option<(u16, String)> {
    rt.block_on(async {
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    })
}

#[test]
fn every_acknowledged_silence_survives_kill_9_during_churn() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let storage = dir.path().join("data");
    let storage_flag = format!("--storage.path={}", storage.display());
    // A short maintenance interval, so snapshots are taken during the churn too.
    let engine = Engine::start(
        &config,
        &[&storage_flag, "--data.maintenance-interval=300ms"],
    );

    let acked: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let url = engine.url("/api/v2/silences");
    let base = engine.url("/api/v2/silence/");
    let sink = acked.clone();
    let churn = std::thread::spawn(move || {
        larum_engine::notify::integrations::http::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for i in 0.. {
            let body = silence_body(
                eq("churn", &i.to_string()),
                &Timestamp::now().to_string(),
                &in_secs(3600),
                "churn",
            );
            let Some((200, text)) = try_post(&client, &rt, &url, body) else {
                return;
            };
            let id = serde_json::from_str::<Value>(&text).unwrap()["silenceID"]
                .as_str()
                .unwrap()
                .to_string();
            // Expire every third one: expiries must survive too.
            let expired = i % 3 == 0
                && rt
                    .block_on(client.delete(format!("{base}{id}")).send())
                    .is_ok_and(|r| r.status().as_u16() == 200);
            sink.lock().unwrap().push((id, expired));
        }
    });
    wait_until("200 acknowledged silences", Duration::from_secs(60), || {
        (acked.lock().unwrap().len() >= 200).then_some(())
    });
    engine.signal("KILL");
    churn.join().unwrap();
    drop(engine);
    let acked = acked.lock().unwrap().clone();

    let engine = Engine::start(&config, &[&storage_flag]);
    let all = list(&engine, "");
    let states: std::collections::HashMap<String, String> = all
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["status"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (id, expired) in &acked {
        let state = states
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged silence {id} lost"));
        if *expired {
            assert_eq!(state, "expired", "acknowledged expiry of {id} lost");
        }
    }
}

#[test]
fn a_clean_stop_keeps_every_silence() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), CONFIG);
    let storage_flag = format!("--storage.path={}", dir.path().join("data").display());
    let mut engine = Engine::start(&config, &[&storage_flag]);
    let now = Timestamp::now().to_string();
    for i in 0..20 {
        let id = create(
            &engine,
            &silence_body(eq("n", &i.to_string()), &now, &in_secs(3600), "x"),
        );
        if i % 4 == 0 {
            assert_eq!(
                http("DELETE", &engine.url(&format!("/api/v2/silence/{id}"))).0,
                200
            );
        }
    }
    create(
        &engine,
        &silence_body(eq("n", "pending"), &in_secs(600), &in_secs(3600), "later"),
    );
    let before = list(&engine, "");
    engine.signal("TERM");
    assert!(engine.wait_exit(Duration::from_secs(20)), "clean exit");
    let engine = Engine::start(&config, &[&storage_flag]);
    assert_eq!(list(&engine, ""), before);
}
