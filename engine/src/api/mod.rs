//! The HTTP server: health, readiness, reload and metrics endpoints and API v2 under the
//! route prefix; API v1 answers 410 Gone like upstream.

mod cors;
pub mod limits;
pub mod v2;
pub mod web_config;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jiff::Timestamp;

use crate::alert::store::AlertStore;
use crate::clock::Clock;
use crate::config::ParseMode;
use crate::config::coordinator::{ActiveConfig, Coordinator};
use crate::dispatch::{Dispatcher, RouteNode};
use crate::metrics::{self, Metrics};
use crate::silence::{Silences, SilencesOptions};

/// Default limit of a request body: 32 MiB, about 80,000 alerts of 400 bytes in one batch
/// (Prometheus sends batches of at most a few hundred). Upstream has no limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;

/// What the handlers share.
pub struct AppState {
    /// The config owner, for reloads and the config in force.
    pub coordinator: Arc<Coordinator>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// Every alert.
    pub store: Arc<AlertStore>,
    /// Routes stored alerts into aggregation groups.
    pub dispatcher: Arc<Dispatcher>,
    /// Wall time.
    pub clock: Clock,
    /// Matcher syntax of filters and label name rules (`--enable-feature`).
    pub parse_mode: ParseMode,
    /// When the engine started (`uptime` in the status).
    pub started: Timestamp,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The silences (an empty in-memory store unless the engine sets its own).
    pub silences: Arc<Silences>,
    /// Concurrency and timeout limits of every route.
    pub http_limits: limits::HttpLimits,
    /// Size limits of one posted alert.
    pub alert_limits: limits::AlertLimits,
    /// `--silences.file`, reloaded with the config by `POST /-/reload`.
    pub silences_file: Option<std::path::PathBuf>,
    /// The cluster, when clustering is on.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    routes: RwLock<Option<(Arc<ActiveConfig>, Arc<RouteNode>)>>,
}

impl AppState {
    /// The shared state; the body limit starts at [`DEFAULT_MAX_BODY_BYTES`].
    pub fn new(
        coordinator: Arc<Coordinator>,
        metrics: Arc<Metrics>,
        store: Arc<AlertStore>,
        dispatcher: Arc<Dispatcher>,
        clock: Clock,
        parse_mode: ParseMode,
    ) -> Self {
        AppState {
            coordinator,
            metrics,
            store,
            dispatcher,
            started: clock.now(),
            clock,
            parse_mode,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            silences: Arc::new(Silences::in_memory(SilencesOptions::default(), clock)),
            silences_file: None,
            cluster: None,
            http_limits: limits::HttpLimits::default(),
            alert_limits: limits::AlertLimits::default(),
            routes: RwLock::new(None),
        }
    }

    /// Records in the marker which silences mute this alert now and returns its status,
    /// as upstream's API does before showing an alert (`setAlertStatus`).
    pub fn refresh_status(
        &self,
        alert: &crate::alert::Alert,
        now: jiff::Timestamp,
    ) -> crate::alert::marker::AlertStatus {
        let fp = alert.fingerprint();
        let marker = self.store.marker();
        let ids = self.silences.silenced_by_fingerprint(fp, &alert.labels);
        // Inhibition is refreshed by the store's observers (the inhibitor).
        let status = self.store.status(alert, now);
        if status.silenced_by.len() != ids.len()
            || status
                .silenced_by
                .iter()
                .zip(ids.iter())
                .any(|(a, b)| a.as_str() != &**b)
        {
            marker.set_silenced(fp, ids.iter().map(|id| id.to_string()).collect());
            return marker.status(fp);
        }
        status
    }

    /// The config in force and its routing tree (built once per config).
    pub fn config_and_routes(&self) -> (Arc<ActiveConfig>, Arc<RouteNode>) {
        let current = self.coordinator.current();
        if let Some((config, routes)) = &*self.routes.read().unwrap_or_else(|p| p.into_inner())
            && Arc::ptr_eq(config, &current)
        {
            return (config.clone(), routes.clone());
        }
        let routes = Arc::new(RouteNode::new(current.config.root_route()));
        *self.routes.write().unwrap_or_else(|p| p.into_inner()) =
            Some((current.clone(), routes.clone()));
        (current, routes)
    }
}

/// Normalizes a route prefix: `""` and `"/"` are the root, others start with `/` and do not end with one.
pub fn normalize_route_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// The router with every endpoint under `route_prefix` (already normalized).
pub fn router(state: Arc<AppState>, route_prefix: &str) -> Router {
    let limiter = limits::Limiter::new(state.http_limits.clone(), state.metrics.http.clone());
    let routes = Router::new()
        .route("/-/healthy", get(ok_text))
        .route("/-/ready", get(ready))
        .route(
            crate::cluster::catchup::SNAPSHOT_PATH,
            get(cluster_snapshot),
        )
        .route("/-/reload", post(reload))
        .route("/metrics", get(render_metrics))
        .route("/api/v1", any(v1_gone))
        .route("/api/v1/{*rest}", any(v1_gone))
        .nest(
            "/api/v2",
            v2::router().layer(axum::middleware::from_fn(cors::api_headers)),
        )
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(limiter, limits::limit));
    if route_prefix.is_empty() {
        routes
    } else {
        Router::new().nest(route_prefix, routes)
    }
}

/// `app` behind the web config's basic auth and headers, when a web config is given.
pub fn secure(app: Router, web: Option<&Arc<web_config::WebConfigHandle>>) -> Router {
    match web {
        Some(web) => web_config::WebConfigLayer::new(web.clone()).apply(app),
        None => app,
    }
}

/// Serves `app` on `listener`, over TLS when the web config turns it on, until `shutdown`
/// completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    web: Option<Arc<web_config::WebConfigHandle>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match web {
        Some(web) if web.tls_enabled() => {
            let listener = web_config::TlsListener::new(listener, web)?;
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        _ => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

async fn ok_text() -> &'static str {
    "OK"
}

/// 200 once the replica has settled and caught up with its peers (at once without a
/// cluster), 503 before.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match &state.cluster {
        Some(cluster) if !cluster.is_ready() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Cluster is settling: waiting for the state of a peer\n",
        )
            .into_response(),
        _ => "OK".into_response(),
    }
}

/// The replica's silences and notification log, for a peer catching up (404 without a
/// cluster).
async fn cluster_snapshot(State(state): State<Arc<AppState>>) -> Response {
    let Some(cluster) = state.cluster.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let body = tokio::task::spawn_blocking(move || serde_json::to_vec(&cluster.snapshot())).await;
    match body {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Upstream's answer on every removed v1 endpoint.
async fn v1_gone(uri: axum::http::Uri) -> Response {
    tracing::warn!(path = %uri.path(), "v1 API received a request on a removed endpoint");
    (
        StatusCode::GONE,
        [(header::CONTENT_TYPE, "application/json")],
        "{\"status\":\"deprecated\",\"error\":\"The Alertmanager v1 API was deprecated in version 0.16.0 and is removed as of version 0.27.0 - please use the equivalent route in the v2 API\"}\n",
    )
        .into_response()
}

async fn reload(State(state): State<Arc<AppState>>) -> Response {
    let coordinator = state.coordinator.clone();
    let result = tokio::task::spawn_blocking(move || coordinator.reload()).await;
    if let Some(file) = state.silences_file.clone() {
        let silences = state.silences.clone();
        let mode = state.parse_mode;
        let loaded = tokio::task::spawn_blocking(move || {
            crate::silence::declarative::load_file(&silences, &file, mode)
        })
        .await;
        let err = match loaded {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(err) = err {
            tracing::error!(err = %err, "Loading the silences file failed; the silences in force stay");
            if matches!(result, Ok(Ok(_))) {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("failed to reload silences file: {err}\n"),
                )
                    .into_response();
            }
        }
    }
    match result {
        Ok(Ok(_)) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalized() {
        assert_eq!(normalize_route_prefix("/"), "");
        assert_eq!(normalize_route_prefix(""), "");
        assert_eq!(normalize_route_prefix("am/"), "/am");
        assert_eq!(normalize_route_prefix("/a/b"), "/a/b");
    }
}
