//! Request limits: concurrent GETs (`--web.get-concurrency`), the request timeout
//! (`--web.timeout`), both as upstream applies them to every route, and the size limits of
//! one posted alert.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::alert::Alert;
use crate::config::go_duration::GoDuration;
use crate::metrics::HttpMetrics;

/// Limits of the HTTP server.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Most GET requests served at once; more get 503.
    pub get_concurrency: usize,
    /// Longest time a request may take; `None` for no limit.
    pub timeout: Option<Duration>,
}

impl HttpLimits {
    /// Upstream's default GET concurrency: the number of CPUs or 8, whichever is larger.
    pub fn default_get_concurrency() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .max(8)
    }

    /// From the flag values: zero or less means the defaults (upstream's meaning).
    pub fn from_flags(get_concurrency: i64, timeout: Duration) -> Self {
        HttpLimits {
            get_concurrency: usize::try_from(get_concurrency)
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or_else(Self::default_get_concurrency),
            timeout: (!timeout.is_zero()).then_some(timeout),
        }
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits::from_flags(0, Duration::ZERO)
    }
}

/// The state of the limit layer.
#[derive(Clone)]
pub(crate) struct Limiter {
    limits: HttpLimits,
    permits: Arc<Semaphore>,
    metrics: HttpMetrics,
}

impl Limiter {
    pub(crate) fn new(limits: HttpLimits, metrics: HttpMetrics) -> Self {
        Limiter {
            permits: Arc::new(Semaphore::new(limits.get_concurrency)),
            limits,
            metrics,
        }
    }
}

/// The middleware: GETs beyond the concurrency limit get 503 at once; a request running
/// past the timeout gets 503.
pub(crate) async fn limit(State(l): State<Limiter>, request: Request, next: Next) -> Response {
    let _permit = if request.method() == Method::GET {
        match l.permits.clone().try_acquire_owned() {
            Ok(p) => {
                l.metrics.requests_in_flight.inc();
                Some(InFlight(p, l.metrics.clone()))
            }
            Err(_) => {
                l.metrics.concurrency_limit_exceeded.inc();
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "Limit of concurrent GET requests reached ({}), try again later.\n",
                        l.limits.get_concurrency
                    ),
                )
                    .into_response();
            }
        }
    } else {
        None
    };
    match l.limits.timeout {
        None => next.run(request).await,
        Some(t) => match tokio::time::timeout(t, next.run(request)).await {
            Ok(r) => r,
            Err(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "Exceeded configured timeout of {}.\n",
                    GoDuration(i64::try_from(t.as_nanos()).unwrap_or(i64::MAX))
                ),
            )
                .into_response(),
        },
    }
}

struct InFlight(
    #[allow(dead_code)] tokio::sync::OwnedSemaphorePermit,
    HttpMetrics,
);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.1.requests_in_flight.dec();
    }
}

/// Size limits of one posted alert (0 means no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertLimits {
    /// Most labels (`--alerts.max-labels`).
    pub max_labels: usize,
    /// Largest label, name and value together, in bytes (`--alerts.max-label-bytes`).
    pub max_label_bytes: usize,
    /// Most annotations (`--alerts.max-annotations`).
    pub max_annotations: usize,
    /// Largest annotation, name and value together, in bytes
    /// (`--alerts.max-annotation-bytes`).
    pub max_annotation_bytes: usize,
}

impl Default for AlertLimits {
    fn default() -> Self {
        AlertLimits {
            max_labels: 256,
            max_label_bytes: 64 << 10,
            max_annotations: 256,
            max_annotation_bytes: 1 << 20,
        }
    }
}

impl AlertLimits {
    /// Why `alert` is over a limit, naming the limit and its flag.
    pub fn check(&self, alert: &Alert) -> Result<(), String> {
        let over = |limit: usize, n: usize| limit > 0 && n > limit;
        let labels = alert.labels.len();
        if over(self.max_labels, labels) {
            return Err(format!(
                "{labels} labels exceed the limit of {} (--alerts.max-labels)",
                self.max_labels
            ));
        }
        for (name, value) in alert.labels.iter() {
            let size = name.len() + value.len();
            if over(self.max_label_bytes, size) {
                return Err(format!(
                    "label {name:?} has {size} bytes, over the limit of {} (--alerts.max-label-bytes)",
                    self.max_label_bytes
                ));
            }
        }
        let annotations = alert.annotations.len();
        if over(self.max_annotations, annotations) {
            return Err(format!(
                "{annotations} annotations exceed the limit of {} (--alerts.max-annotations)",
                self.max_annotations
            ));
        }
        for (name, value) in alert.annotations.iter() {
            let size = name.len() + value.len();
            if over(self.max_annotation_bytes, size) {
                return Err(format!(
                    "annotation {name:?} has {size} bytes, over the limit of {} (--alerts.max-annotation-bytes)",
                    self.max_annotation_bytes
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::LabelSet;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    /// `/slow` answers once the gate opens.
    fn app(
        limits: HttpLimits,
        gate: tokio::sync::watch::Receiver<bool>,
        metrics: HttpMetrics,
    ) -> Router {
        let wait = move || {
            let mut gate = gate.clone();
            async move {
                let _ = gate.wait_for(|open| *open).await;
                "done"
            }
        };
        Router::new()
            .route("/slow", get(wait.clone()).post(wait))
            .route("/fast", get(|| async { "fast" }))
            .layer(axum::middleware::from_fn_with_state(
                Limiter::new(limits, metrics),
                limit,
            ))
    }

    async fn call(app: &Router, method: &str, path: &str) -> (u16, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn gets_over_the_concurrency_limit_get_503_and_posts_pass() {
        let (open, gate) = tokio::sync::watch::channel(false);
        let metrics = HttpMetrics::default();
        let limits = HttpLimits {
            get_concurrency: 1,
            timeout: None,
        };
        let app = app(limits, gate, metrics.clone());
        let spawn = |method: &'static str| {
            let app = app.clone();
            tokio::spawn(async move { call(&app, method, "/slow").await })
        };
        let first = spawn("GET");
        // Wait until the first GET holds the only permit.
        while metrics.requests_in_flight.get() == 0 {
            tokio::task::yield_now().await;
        }
        let (status, body) = call(&app, "GET", "/fast").await;
        assert_eq!(status, 503);
        assert_eq!(
            body,
            "Limit of concurrent GET requests reached (1), try again later.\n"
        );
        assert_eq!(metrics.concurrency_limit_exceeded.get(), 1);
        // POSTs are not limited: this one waits at the gate like the GET.
        let post = spawn("POST");
        open.send(true).unwrap();
        assert_eq!(first.await.unwrap(), (200, "done".into()));
        assert_eq!(post.await.unwrap(), (200, "done".into()));
        assert_eq!(metrics.requests_in_flight.get(), 0);
        // The engine keeps serving once the permit is back.
        assert_eq!(call(&app, "GET", "/fast").await, (200, "fast".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_past_the_timeout_get_503() {
        let (_open, gate) = tokio::sync::watch::channel(false);
        let limits = HttpLimits {
            get_concurrency: 8,
            timeout: Some(Duration::from_millis(1500)),
        };
        let app = app(limits, gate, HttpMetrics::default());
        assert_eq!(
            call(&app, "POST", "/slow").await,
            (503, "Exceeded configured timeout of 1.5s.\n".into())
        );
        assert_eq!(call(&app, "GET", "/fast").await, (200, "fast".into()));
    }

    #[test]
    fn flags_of_zero_mean_upstream_defaults() {
        let l = HttpLimits::from_flags(0, Duration::ZERO);
        assert!(l.get_concurrency >= 8);
        assert_eq!(l.timeout, None);
        let l = HttpLimits::from_flags(3, Duration::from_secs(2));
        assert_eq!(
            (l.get_concurrency, l.timeout),
            (3, Some(Duration::from_secs(2)))
        );
    }

    #[test]
    fn alert_limits_name_the_flag() {
        let limits = AlertLimits {
            max_labels: 2,
            max_label_bytes: 10,
            max_annotations: 1,
            max_annotation_bytes: 5,
        };
        let mut alert = Alert {
            labels: LabelSet::from_pairs([("alertname", "A")]),
            annotations: LabelSet::default(),
            starts_at: jiff::Timestamp::UNIX_EPOCH,
            ends_at: None,
            generator_url: String::new(),
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            timeout: false,
        };
        assert_eq!(limits.check(&alert), Ok(()));
        alert.labels = LabelSet::from_pairs([("a", "1"), ("b", "2"), ("c", "3")]);
        assert!(
            limits
                .check(&alert)
                .unwrap_err()
                .contains("--alerts.max-labels")
        );
        alert.labels = LabelSet::from_pairs([("a", "0123456789")]);
        assert!(
            limits
                .check(&alert)
                .unwrap_err()
                .contains("--alerts.max-label-bytes")
        );
        alert.labels = LabelSet::from_pairs([("a", "1")]);
        alert.annotations = LabelSet::from_pairs([("s", "1"), ("d", "2")]);
        assert!(
            limits
                .check(&alert)
                .unwrap_err()
                .contains("--alerts.max-annotations")
        );
        alert.annotations = LabelSet::from_pairs([("s", "123456")]);
        assert!(
            limits
                .check(&alert)
                .unwrap_err()
                .contains("--alerts.max-annotation-bytes")
        );
        assert_eq!(
            AlertLimits {
                max_labels: 0,
                ..limits
            }
            .check(&Alert {
                labels: LabelSet::from_pairs([("a", "1")]),
                annotations: LabelSet::default(),
                ..alert
            }),
            Ok(())
        );
    }
}
