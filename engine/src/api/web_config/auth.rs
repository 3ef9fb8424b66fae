//! Basic auth and the configured response headers, as a layer over the whole router.
//!
//! bcrypt is slow by design, so a successful check is remembered (keyed by a hash of the
//! user, the configured hash and the password), as exporter-toolkit does; a changed hash
//! or password misses the cache.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{WebConfig, WebConfigHandle};

/// Successful checks remembered at most; the set is emptied when full.
const CACHE_LIMIT: usize = 1024;

/// Applies the web config's basic auth and headers to every request of a router.
#[derive(Clone)]
pub struct WebConfigLayer {
    web: Arc<WebConfigHandle>,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl WebConfigLayer {
    /// A layer reading its settings from `web`.
    pub fn new(web: Arc<WebConfigHandle>) -> Self {
        WebConfigLayer {
            web,
            verified: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// `router` with basic auth and the configured headers on every route.
    pub fn apply(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(self, guard))
    }

    async fn authorized(&self, config: &WebConfig, headers: &HeaderMap) -> bool {
        let Some((user, password)) = credentials(headers) else {
            return false;
        };
        let hash = config
            .file
            .basic_auth_users
            .get(&user)
            .map(|h| h.expose().to_string());
        let key: [u8; 32] = {
            let mut h = Sha256::new();
            for part in [
                user.as_bytes(),
                hash.as_deref().unwrap_or("").as_bytes(),
                password.as_bytes(),
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            h.finalize().into()
        };
        if hash.is_some() && self.lock().contains(&key) {
            return true;
        }
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(hash) => bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false),
            None => {
                // Take as long for an unknown user as for a wrong password.
                let _ = bcrypt::verify(password.as_bytes(), dummy_hash());
                false
            }
        })
        .await
        .unwrap_or(false);
        if ok {
            let mut cache = self.lock();
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        bcrypt::hash("larum-no-such-user", bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}

/// User and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

async fn guard(State(layer): State<WebConfigLayer>, request: Request, next: Next) -> Response {
    let config = layer.web.current();
    let mut response = if config.file.basic_auth_users.is_empty()
        || layer.authorized(&config, request.headers()).await
    {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic")],
            "Unauthorized\n",
        )
            .into_response()
    };
    for (name, value) in &config.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWxpY2U6czNjcjN0OndpdGgtY29sb24="),
        );
        assert_eq!(
            credentials(&headers),
            Some(("alice".into(), "s3cr3t:with-colon".into()))
        );
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(credentials(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(credentials(&headers), None);
    }
}
