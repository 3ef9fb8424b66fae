//! The HTTP server: health, readiness, reload and metrics endpoints under the route prefix.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::coordinator::Coordinator;
use crate::metrics::{self, Metrics};

/// What the handlers share.
pub struct AppState {
    /// The config owner, for reloads.
    pub coordinator: Arc<Coordinator>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
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
    let routes = Router::new()
        .route("/-/healthy", get(ok_text))
        .route("/-/ready", get(ok_text))
        .route("/-/reload", post(reload))
        .route("/metrics", get(render_metrics))
        .with_state(state);
    if route_prefix.is_empty() {
        routes
    } else {
        Router::new().nest(route_prefix, routes)
    }
}

async fn ok_text() -> &'static str {
    "OK"
}

async fn reload(State(state): State<Arc<AppState>>) -> Response {
    let coordinator = state.coordinator.clone();
    let result = tokio::task::spawn_blocking(move || coordinator.reload()).await;
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
