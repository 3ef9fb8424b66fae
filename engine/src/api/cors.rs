//! Headers of API v2 responses as upstream sets them: `Cache-Control: no-store`, and CORS
//! with the permissive defaults upstream's API uses (any origin; GET, POST and HEAD;
//! the simple request headers; no credentials).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

const ALLOWED_METHODS: &[&str] = &["GET", "POST", "HEAD"];
const ALLOWED_HEADERS: &[&str] = &["origin", "accept", "content-type", "x-requested-with"];

/// The middleware for the API v2 routes.
pub(crate) async fn api_headers(request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    if request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let mut response = StatusCode::NO_CONTENT.into_response();
        preflight(request.headers(), origin, response.headers_mut());
        return response;
    }
    let method_allowed = ALLOWED_METHODS.contains(&request.method().as_str());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if origin.is_some() && method_allowed {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// Answers a CORS preflight: allow headers only when the method and every requested
/// header are allowed.
fn preflight(request: &HeaderMap, origin: Option<HeaderValue>, out: &mut HeaderMap) {
    for vary in [
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    ] {
        out.append(header::VARY, HeaderValue::from_static(vary));
    }
    if origin.is_none() {
        return;
    }
    let method = request
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_uppercase();
    if !ALLOWED_METHODS.contains(&method.as_str()) {
        return;
    }
    let requested: Vec<String> = request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if !requested
        .iter()
        .all(|h| ALLOWED_HEADERS.contains(&h.as_str()))
    {
        return;
    }
    out.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(m) = HeaderValue::from_str(&method) {
        out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
    }
    if !requested.is_empty()
        && let Ok(h) = HeaderValue::from_str(&requested.join(", "))
    {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, h);
    }
}
