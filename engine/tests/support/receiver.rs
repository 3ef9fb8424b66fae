//! A local webhook endpoint on `127.0.0.1:0` that records every request (path, arrival time,
//! headers, JSON body) and answers with scripted status codes (200 unless told otherwise).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;

/// One request the endpoint received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Request path, e.g. `/team-a`.
    pub path: String,
    /// When it arrived.
    pub at: Instant,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body parsed as JSON (`Value::Null` when it was not JSON).
    pub body: Value,
    /// The raw body text.
    pub raw: String,
    /// The status code the endpoint answered with.
    pub answered: u16,
}

impl Received {
    /// The payload's `receiver` field.
    pub fn receiver(&self) -> &str {
        self.body["receiver"].as_str().unwrap_or("")
    }

    /// The payload's `status` field.
    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap_or("")
    }

    /// The payload's alerts.
    pub fn alerts(&self) -> &[Value] {
        self.body["alerts"].as_array().map_or(&[], Vec::as_slice)
    }

    /// A one-line summary for failure messages.
    pub fn summary(&self, since: Instant) -> String {
        let alerts: Vec<String> = self
            .alerts()
            .iter()
            .map(|a| {
                format!(
                    "{} {}",
                    compact_labels(&a["labels"]),
                    a["status"].as_str().unwrap_or("?")
                )
            })
            .collect();
        format!(
            "+{:.2}s {} receiver={} status={} groupLabels={} alerts=[{}] truncated={}",
            self.at.saturating_duration_since(since).as_secs_f64(),
            self.path,
            self.receiver(),
            self.status(),
            compact_labels(&self.body["groupLabels"]),
            alerts.join("; "),
            self.body["truncatedAlerts"]
        )
    }
}

/// `{a=1,b=2}` from a JSON object of labels, keys sorted.
pub fn compact_labels(labels: &Value) -> String {
    let mut pairs: Vec<String> = labels
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    format!("{{{}}}", pairs.join(","))
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    scripted: Mutex<HashMap<String, VecDeque<u16>>>,
}

/// The running endpoint; it stops when dropped.
pub struct WebhookReceiver {
    /// `IP:PORT` it listens on.
    pub address: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Starts the endpoint on a free loopback port.
    pub async fn start() -> WebhookReceiver {
        WebhookReceiver::start_on("127.0.0.1:0").await
    }

    /// Starts the endpoint on `address` (`IP:PORT`, port 0 for a free one).
    pub async fn start_on(address: &str) -> WebhookReceiver {
        let state = Arc::new(State::default());
        let handler_state = state.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = handler_state.clone();
            async move { record(&state, uri, headers, body) }
        });
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            address,
            state,
            server,
        }
    }

    /// `http://IP:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The next requests on `path` are answered with `codes`, in order; later ones with 200.
    pub fn respond_with(&self, path: &str, codes: &[u16]) {
        self.state
            .scripted
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default()
            .extend(codes.iter().copied());
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The requests so far on `path`.
    pub fn received_on(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Polls until `done` holds for the requests so far and returns them; after `timeout`, an
    /// error naming `what` and listing what did arrive.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        since: Instant,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> Result<Vec<Received>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if done(&received) {
                return Ok(received);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}; the webhook received {}:\n    {}",
                    received.len(),
                    received
                        .iter()
                        .map(|r| r.summary(since))
                        .collect::<Vec<_>>()
                        .join("\n    ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn record(state: &State, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let path = uri.path().to_string();
    let code = state
        .scripted
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(200);
    let raw = String::from_utf8_lossy(&body).into_owned();
    state.received.lock().unwrap().push(Received {
        path,
        at: Instant::now(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
        answered: code,
    });
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
