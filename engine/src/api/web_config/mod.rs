//! `--web.config.file`: TLS, client certificates, basic auth and response headers, in the
//! web configuration format shared by Alertmanager, Prometheus and the exporters
//! (Prometheus' exporter-toolkit).
//!
//! The file and the files it names (certificate, key, client CA) are watched through
//! their metadata: every new connection and every request checks them, and a change is
//! applied at once, without a restart, as upstream does. A file that no longer parses keeps
//! the settings in force and is logged.

pub mod auth;
pub mod model;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

pub use auth::WebConfigLayer;
pub use model::{ClientAuthType, TlsServerConfig, WebConfigFile};
pub use tls::TlsListener;

/// Why a web configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file cannot be read.
    #[error("cannot read web config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The YAML does not fit the format.
    #[error("web config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The field and the reason.
        message: String,
    },
    /// A field has a value that cannot be used.
    #[error("web config {field}: {reason}")]
    Invalid {
        /// The field, as written in the file (`tls_server_config.min_version`).
        field: String,
        /// Why.
        reason: String,
    },
}

impl WebConfigError {
    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        WebConfigError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A parsed and checked web configuration, with its TLS server config built.
pub struct WebConfig {
    /// The file's content.
    pub file: WebConfigFile,
    /// The rustls server config when `tls_server_config` enables TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The checked response headers.
    pub headers: Vec<(axum::http::HeaderName, axum::http::HeaderValue)>,
}

impl WebConfig {
    /// Reads and checks `path`; relative file names in it are relative to its directory.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, dir).map_err(|e| match e {
            WebConfigError::Parse { message, .. } => WebConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks a web configuration; relative file names are joined to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, WebConfigError> {
        let mut file = model::parse(text)?;
        file.resolve_paths(dir);
        file.check()?;
        let tls = match &file.tls_server_config {
            Some(t) if t.enabled() => Some(tls::server_config(t)?),
            _ => None,
        };
        let headers = file.http_server_config.checked_headers()?;
        Ok(WebConfig { file, tls, headers })
    }

    /// The files whose change means a reload: the certificate, key and client CA files.
    fn watched_files(&self) -> Vec<PathBuf> {
        let Some(t) = &self.file.tls_server_config else {
            return Vec::new();
        };
        [&t.cert_file, &t.key_file, &t.client_ca_file]
            .into_iter()
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect()
    }
}

/// What identifies a version of a file without reading it.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

/// The web configuration in force, re-read when its files change.
pub struct WebConfigHandle {
    path: PathBuf,
    current: ArcSwap<WebConfig>,
    /// The stamps of the last version looked at (applied or refused), so a bad file is
    /// reported once, not on every request.
    seen: Mutex<Vec<(PathBuf, Stamp)>>,
    tls_at_start: bool,
}

impl WebConfigHandle {
    /// Loads `path`; an error names the field and reason.
    pub fn load(path: &Path) -> Result<Arc<WebConfigHandle>, WebConfigError> {
        let config = WebConfig::load(path)?;
        let seen = stamps(path, &config);
        Ok(Arc::new(WebConfigHandle {
            path: path.to_path_buf(),
            tls_at_start: config.tls.is_some(),
            current: ArcSwap::from_pointee(config),
            seen: Mutex::new(seen),
        }))
    }

    /// Whether the listeners serve TLS (fixed at start, like upstream).
    pub fn tls_enabled(&self) -> bool {
        self.tls_at_start
    }

    /// The configuration in force, after applying any change of its files.
    pub fn current(&self) -> Arc<WebConfig> {
        self.refresh();
        self.current.load_full()
    }

    /// Re-reads the files when their metadata changed; a bad new version is logged and
    /// the settings in force stay.
    pub fn refresh(&self) {
        let config = self.current.load();
        let now = stamps(&self.path, &config);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if *seen == now {
            return;
        }
        *seen = now;
        match WebConfig::load(&self.path) {
            Ok(new) if new.tls.is_some() != self.tls_at_start => {
                tracing::error!(
                    file = %self.path.display(),
                    "Web config change ignored: turning TLS on or off needs a restart; the settings in force stay"
                );
            }
            Ok(new) => {
                // The new config may name other files: watch those from now on.
                *seen = stamps(&self.path, &new);
                self.current.store(Arc::new(new));
                tracing::info!(file = %self.path.display(), "Applied the changed web config");
            }
            Err(e) => {
                tracing::error!(
                    file = %self.path.display(),
                    err = %e,
                    "Reloading the web config failed; the settings in force stay"
                );
            }
        }
    }
}

fn stamps(path: &Path, config: &WebConfig) -> Vec<(PathBuf, Stamp)> {
    std::iter::once(path.to_path_buf())
        .chain(config.watched_files())
        .map(|p| {
            let s = stamp(&p);
            (p, s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_means_plain_http_without_auth() {
        let c = WebConfig::parse("", Path::new("/")).unwrap();
        assert!(c.tls.is_none());
        assert!(c.file.basic_auth_users.is_empty());
        assert!(c.headers.is_empty());
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let e = WebConfig::parse("tls_server_config:\n  certfile: x\n", Path::new("/"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("certfile"), "{e}");
    }

    #[test]
    fn bad_reload_keeps_the_settings_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        let hash = bcrypt::hash("pw", 4).unwrap();
        std::fs::write(&path, format!("basic_auth_users:\n  alice: {hash}\n")).unwrap();
        let handle = WebConfigHandle::load(&path).unwrap();
        std::fs::write(&path, "basic_auth_users: [oops\n").unwrap();
        assert!(handle.current().file.basic_auth_users.contains_key("alice"));
        std::fs::write(&path, format!("basic_auth_users:\n  bob: {hash}\n")).unwrap();
        let now = handle.current();
        assert!(now.file.basic_auth_users.contains_key("bob"));
        assert!(!now.file.basic_auth_users.contains_key("alice"));
    }
}
