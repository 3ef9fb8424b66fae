#![allow(dead_code)] // test support: not every helper is used by every test build
//! A local HTTP endpoint for integration tests: records every request (method, path
//! with query, headers, body) and answers with scripted responses, so a test can
//! check what an integration sent against the provider's published API and how it
//! reacts to errors.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use super::IntegrationEnv;
use crate::alert::{Alert, LabelSet};
use crate::notify::stages::testutil::ts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method.
    pub method: Method,
    /// The path and query (`/api/v1/x?y=1`).
    pub uri: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON (panics when it is not JSON: tests only).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header's value as text ("" when missing).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Reply {
    /// An answer with `status` and `body`.
    pub fn new(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

/// The running server (stops when dropped).
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server on a free loopback port that answers `200 ok` unless scripted.
    pub async fn start() -> TestServer {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                    s.requests.push(Recorded {
                        method,
                        uri: uri.to_string(),
                        headers,
                        body,
                    });
                    let reply = s
                        .script
                        .pop_front()
                        .or_else(|| s.default.clone())
                        .unwrap_or_else(|| Reply::new(200, "ok"));
                    respond(reply)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer { addr, state, task }
    }

    /// `http://127.0.0.1:port` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with `replies`, in order, then as before.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// Answers every unscripted request with `reply`.
    pub fn always(&self, reply: Reply) {
        self.lock().default = Some(reply);
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The only request so far (panics unless there is exactly one: tests only).
    pub fn single(&self) -> Recorded {
        let r = self.requests();
        assert_eq!(r.len(), 1, "expected one request, got {r:?}");
        r.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn respond(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, reply.body).into_response();
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// An alert as integration tests use it: `labels`, `annotations`, a generator URL,
/// started at `ts(-100)` and ending at `ends` (seconds after `ts(0)`, as in
/// `stages::testutil`).
pub fn alert_with(
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
    ends: Option<i64>,
) -> Arc<Alert> {
    Arc::new(Alert {
        labels: LabelSet::from_pairs(labels.iter().copied()),
        annotations: LabelSet::from_pairs(annotations.iter().copied()),
        starts_at: ts(-100),
        ends_at: ends.map(ts),
        generator_url: "http://prom/graph".into(),
        updated_at: ts(-100),
        timeout: false,
    })
}

/// The built-in templates plus the `define`s in `extra` (stand-ins that make a test
/// independent of the default templates' text), with external URL `http://am:9093`.
pub fn env_with(extra: &str) -> IntegrationEnv {
    let mut t = (*super::defaults::default_templates()).clone();
    t.parse("stubs.tmpl", extra)
        .unwrap_or_else(|e| panic!("stub templates: {e}"));
    IntegrationEnv {
        templates: Arc::new(t),
        external_url: Arc::from("http://am:9093"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_requests_and_follows_the_script() {
        let server = TestServer::start().await;
        server.script([Reply::new(503, "busy").header("Retry-After", "7")]);
        let client = reqwest::Client::new();
        let first = client
            .post(server.url("/x?y=1"))
            .header("X-Test", "a")
            .body("{\"k\":1}")
            .send()
            .await
            .unwrap();
        assert_eq!(first.status().as_u16(), 503);
        assert_eq!(first.headers()["retry-after"], "7");
        let second = client.get(server.url("/z")).send().await.unwrap();
        assert_eq!(second.status().as_u16(), 200);
        let r = server.requests();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].method, Method::POST);
        assert_eq!(r[0].uri, "/x?y=1");
        assert_eq!(r[0].header("x-test"), "a");
        assert_eq!(r[0].json()["k"], 1);
        assert_eq!(r[1].uri, "/z");
    }
}
