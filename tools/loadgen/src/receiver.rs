//! A local webhook receiver that counts deliveries and its open connections.

use std::collections::{HashMap, HashSet};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::any;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Counters of the receiver, shared with the measuring loop.
#[derive(Default, Debug)]
pub struct Deliveries {
    /// Webhook requests received.
    pub requests: AtomicU64,
    /// Requests whose body was not a webhook payload.
    pub bad_requests: AtomicU64,
    /// Connections open now.
    pub open_connections: AtomicU64,
    /// Most connections open at once.
    pub peak_connections: AtomicU64,
    /// Connections accepted in total.
    pub connections: AtomicU64,
    distinct: Mutex<HashSet<String>>,
}

impl Deliveries {
    /// Distinct alerts (by their `instance` label) delivered so far.
    pub fn distinct_alerts(&self) -> u64 {
        self.distinct.lock().map(|d| d.len() as u64).unwrap_or(0)
    }
}

#[derive(Deserialize)]
struct Payload {
    alerts: Vec<PayloadAlert>,
}

#[derive(Deserialize)]
struct PayloadAlert {
    labels: HashMap<String, String>,
}

async fn webhook(State(d): State<Arc<Deliveries>>, body: Bytes) -> &'static str {
    d.requests.fetch_add(1, Ordering::Relaxed);
    match serde_json::from_slice::<Payload>(&body) {
        Ok(p) => {
            if let Ok(mut set) = d.distinct.lock() {
                for mut a in p.alerts {
                    if let Some(instance) = a.labels.remove("instance") {
                        set.insert(instance);
                    }
                }
            }
        }
        Err(_) => {
            d.bad_requests.fetch_add(1, Ordering::Relaxed);
        }
    }
    "ok"
}

/// A TCP listener that counts its open connections.
struct CountingListener {
    inner: TcpListener,
    counters: Arc<Deliveries>,
}

/// A connection that is counted as open until dropped.
struct CountedStream {
    inner: TcpStream,
    counters: Arc<Deliveries>,
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.counters
            .open_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl axum::serve::Listener for CountingListener {
    type Io = CountedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // Errors (such as running out of descriptors) are retried by the inner listener.
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let c = &self.counters;
        c.connections.fetch_add(1, Ordering::Relaxed);
        let open = c.open_connections.fetch_add(1, Ordering::Relaxed) + 1;
        c.peak_connections.fetch_max(open, Ordering::Relaxed);
        (
            CountedStream {
                inner: stream,
                counters: c.clone(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Serves the receiver on `listener` (every path accepts webhook posts) until the
/// returned task is aborted.
pub fn serve(listener: TcpListener) -> (Arc<Deliveries>, tokio::task::JoinHandle<()>) {
    let counters = Arc::new(Deliveries::default());
    let app = axum::Router::new()
        .fallback(any(webhook))
        .with_state(counters.clone());
    let listener = CountingListener {
        inner: listener,
        counters: counters.clone(),
    };
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (counters, task)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn counts_distinct_alerts_and_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (d, task) = serve(listener);
        let client = {
            crate::tls::install_crypto_provider();
            reqwest::Client::builder()
        }
        .no_proxy()
        .build()
        .unwrap();
        for instance in ["a", "b", "a"] {
            let body = format!(
                r#"{{"version":"4","alerts":[{{"status":"firing","labels":{{"instance":"{instance}"}}}}]}}"#
            );
            let resp = client.post(&url).body(body).send().await.unwrap();
            assert!(resp.status().is_success());
        }
        assert_eq!(d.requests.load(Ordering::Relaxed), 3);
        assert_eq!(d.distinct_alerts(), 2);
        assert!(d.peak_connections.load(Ordering::Relaxed) >= 1);
        task.abort();
    }
}
