//! `GET /api/v2/status`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::json;
use super::models::ApiTime;
use crate::api::AppState;

/// Lower-case hex SHA-256 of `data`.
pub(super) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[derive(Serialize)]
struct PeerOut {
    address: String,
    name: String,
}

#[derive(Serialize)]
struct ClusterOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    peers: Vec<PeerOut>,
    status: &'static str,
}

#[derive(Serialize)]
struct ConfigOut {
    original: String,
    /// Larum: SHA-256 (hex) of the config text in force, byte for byte as loaded, so an
    /// operator can tell which rendered config every replica runs.
    sha256: String,
}

#[derive(Serialize)]
struct VersionOut {
    branch: &'static str,
    #[serde(rename = "buildDate")]
    build_date: &'static str,
    #[serde(rename = "buildUser")]
    build_user: &'static str,
    #[serde(rename = "goVersion")]
    go_version: &'static str,
    revision: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct StatusOut {
    cluster: ClusterOut,
    config: ConfigOut,
    uptime: ApiTime,
    #[serde(rename = "versionInfo")]
    version_info: VersionOut,
}

/// The engine's version, start time, cluster state and the config in force, re-serialized
/// with secrets masked (amtool re-parses it).
pub(super) async fn get_status(State(state): State<Arc<AppState>>) -> Response {
    let config = state.coordinator.current();
    let out = StatusOut {
        cluster: match &state.cluster {
            None => ClusterOut {
                name: None,
                peers: Vec::new(),
                status: "disabled",
            },
            Some(cluster) => {
                let status = cluster.status();
                ClusterOut {
                    name: Some(status.name),
                    peers: status
                        .peers
                        .into_iter()
                        .map(|m| PeerOut {
                            address: m.address.to_string(),
                            name: m.name,
                        })
                        .collect(),
                    status: status.status,
                }
            }
        },
        config: ConfigOut {
            original: config.config.to_yaml(),
            sha256: sha256_hex(config.original.as_bytes()),
        },
        uptime: ApiTime(Some(state.started)),
        version_info: VersionOut {
            branch: option_env!("LARUM_GIT_BRANCH").unwrap_or("unknown"),
            build_date: option_env!("LARUM_BUILD_DATE").unwrap_or(""),
            build_user: option_env!("LARUM_BUILD_USER").unwrap_or(""),
            go_version: concat!("larum-engine (Rust) ", env!("CARGO_PKG_VERSION")),
            revision: option_env!("LARUM_GIT_REVISION").unwrap_or("unknown"),
            version: env!("CARGO_PKG_VERSION"),
        },
    };
    json(StatusCode::OK, &out)
}
