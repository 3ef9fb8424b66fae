//! `--config.secret NAMESPACE/NAME`: the config (and the declarative silences) come from
//! a Kubernetes Secret, watched through the API, instead of a mounted file.
//!
//! The Secret's keys are written into a directory the engine owns, one file per key
//! (like a Secret volume, but within a second of the change instead of the kubelet's
//! sync period): the config key is the config file, the silences key the silences file,
//! and any other keys (templates, credential files) sit beside them, so `templates:`
//! globs and `*_file` fields work as with a mounted Secret. Every change triggers the
//! usual reload, so an invalid config in the Secret is rejected and the old one stays
//! (`alertmanager_config_last_reload_successful` shows 0).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;

/// The empty silences list, written when the Secret has no silences key, so silences
/// that an earlier version listed expire.
const NO_SILENCES: &str = "[]\n";

/// A Secret named `NAMESPACE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl FromStr for SecretRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let valid = |part: &str| {
            !part.is_empty()
                && part.len() <= 253
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        match text.split_once('/') {
            Some((namespace, name)) if valid(namespace) && valid(name) => Ok(SecretRef {
                namespace: namespace.to_string(),
                name: name.to_string(),
            }),
            _ => Err(format!(
                "invalid Secret {text:?}: want NAMESPACE/NAME (lower-case letters, digits, '-' and '.')"
            )),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Where the config comes from and where its files go.
#[derive(Debug, Clone)]
pub struct SecretSourceOptions {
    /// The Secret to watch.
    pub secret: SecretRef,
    /// The key holding the config file (`alertmanager.yaml`).
    pub config_key: String,
    /// The key holding the declarative silences file (`silences.yaml`).
    pub silences_key: String,
    /// The directory the Secret's keys are written to (emptied at start).
    pub dir: PathBuf,
}

/// What can go wrong reading the Secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretSourceError {
    /// No usable in-cluster config or kubeconfig.
    #[error("cannot connect to the Kubernetes API: {0}")]
    Connect(String),
    /// Reading the Secret failed (missing, forbidden, API unreachable).
    #[error("cannot read Secret {secret}: {reason}")]
    Read {
        /// The Secret.
        secret: SecretRef,
        /// Why.
        reason: String,
    },
    /// The Secret has no config key.
    #[error("Secret {secret} has no key {key:?}")]
    MissingKey {
        /// The Secret.
        secret: SecretRef,
        /// The config key.
        key: String,
    },
    /// Writing the Secret's files failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Reads and watches the Secret, keeping its files up to date.
pub struct SecretSource {
    api: kube::Api<Secret>,
    options: SecretSourceOptions,
    /// Keys written so far (the files to delete when a key disappears).
    written: BTreeSet<String>,
}

impl SecretSource {
    /// Connects (in-cluster config, else `KUBECONFIG` or `~/.kube/config`), reads the
    /// Secret and writes its files; retries for up to `wait` while the Secret is missing
    /// or the API unreachable.
    pub async fn start(
        options: SecretSourceOptions,
        wait: Duration,
    ) -> Result<SecretSource, SecretSourceError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = kube::Client::try_default()
            .await
            .map_err(|e| SecretSourceError::Connect(e.to_string()))?;
        let api = kube::Api::namespaced(client, &options.secret.namespace);
        let _ = std::fs::remove_dir_all(&options.dir);
        create_private_dir(&options.dir)?;
        let mut source = SecretSource {
            api,
            options,
            written: BTreeSet::new(),
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let result = match source.api.get(&source.options.secret.name).await {
                Ok(secret) => source.write(&secret).map(|_| ()),
                Err(e) => Err(SecretSourceError::Read {
                    secret: source.options.secret.clone(),
                    reason: e.to_string(),
                }),
            };
            match result {
                Ok(()) => return Ok(source),
                Err(e @ SecretSourceError::Write { .. }) => return Err(e),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(e) => {
                    tracing::warn!(err = %e, "Waiting for the config Secret");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// The config file written from the Secret.
    pub fn config_path(&self) -> PathBuf {
        self.options.dir.join(&self.options.config_key)
    }

    /// The silences file written from the Secret.
    pub fn silences_path(&self) -> PathBuf {
        self.options.dir.join(&self.options.silences_key)
    }

    /// Watches the Secret until the engine stops; after each change that altered a file,
    /// asks `reload` for a reload. A deleted Secret or a missing config key keeps the
    /// files, so the config in force stays.
    pub async fn run(mut self, reload: mpsc::Sender<&'static str>) {
        let config = watcher::Config::default()
            .fields(&format!("metadata.name={}", self.options.secret.name));
        let events = watcher(self.api.clone(), config).default_backoff();
        futures_util::pin_mut!(events);
        while let Some(event) = events.next().await {
            let secret = match event {
                Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => s,
                Ok(watcher::Event::Delete(_)) => {
                    tracing::warn!(secret = %self.options.secret, "The config Secret was deleted; the config in force stays");
                    continue;
                }
                Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
                Err(e) => {
                    tracing::warn!(secret = %self.options.secret, err = %e, "Watching the config Secret failed; retrying");
                    continue;
                }
            };
            match self.write(&secret) {
                Ok(true) => {
                    tracing::info!(secret = %self.options.secret, "The config Secret changed");
                    if reload.send("config Secret change").await.is_err() {
                        return;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(err = %e, "Applying the config Secret failed; the config in force stays");
                }
            }
        }
    }

    /// Writes the Secret's keys as files; tells whether any file changed. Nothing is
    /// written when the config key is missing.
    fn write(&mut self, secret: &Secret) -> Result<bool, SecretSourceError> {
        let empty = BTreeMap::new();
        let data = secret.data.as_ref().unwrap_or(&empty);
        if !data.contains_key(&self.options.config_key) {
            return Err(SecretSourceError::MissingKey {
                secret: self.options.secret.clone(),
                key: self.options.config_key.clone(),
            });
        }
        let mut files: BTreeMap<&str, &[u8]> = data
            .iter()
            .filter(|(key, _)| {
                let ok = is_safe_key(key);
                if !ok {
                    tracing::warn!(key = %key, "Skipping a Secret key that is not a plain file name");
                }
                ok
            })
            .map(|(key, ByteString(value))| (key.as_str(), value.as_slice()))
            .collect();
        files
            .entry(self.options.silences_key.as_str())
            .or_insert(NO_SILENCES.as_bytes());
        let mut changed = false;
        // Everything but the config first: a reload triggered by the config file's
        // change then finds the templates and silences it refers to.
        let config_key = self.options.config_key.as_str();
        let order = files
            .iter()
            .filter(|(k, _)| **k != config_key)
            .chain(files.iter().filter(|(k, _)| **k == config_key));
        for (key, value) in order {
            changed |= write_if_changed(&self.options.dir, key, value)?;
        }
        let keep: BTreeSet<String> = files.keys().map(|k| k.to_string()).collect();
        for gone in self.written.difference(&keep) {
            let path = self.options.dir.join(gone);
            match std::fs::remove_file(&path) {
                Ok(()) => changed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(SecretSourceError::Write { path, source }),
            }
        }
        self.written = keep;
        Ok(changed)
    }
}

/// A Secret key usable as a file name in the directory (Kubernetes allows
/// `[-._a-zA-Z0-9]+`; `.`, `..` and names starting with `..` are refused here too).
fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with("..")
        && key != "."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn create_private_dir(dir: &Path) -> Result<(), SecretSourceError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| SecretSourceError::Write {
            path: dir.to_path_buf(),
            source,
        })
}

/// Replaces `dir/key` atomically (write beside it, then rename) unless it already
/// holds `value`; tells whether it wrote.
fn write_if_changed(dir: &Path, key: &str, value: &[u8]) -> Result<bool, SecretSourceError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(key);
    if std::fs::read(&path).is_ok_and(|old| old == value) {
        return Ok(false);
    }
    let tmp = dir.join(format!("..{key}.tmp"));
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SecretSourceError::Write { path, source }
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err(&tmp))?;
    file.write_all(value).map_err(err(&tmp))?;
    file.sync_all().map_err(err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(err(&path))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_ref_needs_namespace_and_name() {
        assert_eq!(
            "monitoring/larum-config".parse::<SecretRef>(),
            Ok(SecretRef {
                namespace: "monitoring".into(),
                name: "larum-config".into()
            })
        );
        for bad in ["larum-config", "/x", "x/", "a/b/c", "Mon/x", "a/b c"] {
            let err = bad.parse::<SecretRef>().unwrap_err();
            assert!(err.contains("NAMESPACE/NAME"), "{bad}: {err}");
        }
    }

    #[test]
    fn unsafe_keys_are_refused() {
        assert!(is_safe_key("alertmanager.yaml"));
        assert!(is_safe_key("team-a_tmpl.tmpl"));
        for bad in ["", ".", "..", "..data", "a/b", "../x"] {
            assert!(!is_safe_key(bad), "{bad}");
        }
    }

    fn source(dir: &Path) -> SecretSource {
        // An Api is needed only by start() and run(); write() works without a server.
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        SecretSource {
            api: kube::Api::namespaced(client, "ns"),
            options: SecretSourceOptions {
                secret: "ns/cfg".parse().unwrap(),
                config_key: "alertmanager.yaml".into(),
                silences_key: "silences.yaml".into(),
                dir: dir.to_path_buf(),
            },
            written: BTreeSet::new(),
        }
    }

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }

    #[tokio::test]
    async fn keys_become_files_and_only_changes_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = source(dir.path());
        let first = secret(&[("alertmanager.yaml", "a"), ("t.tmpl", "x")]);
        assert!(s.write(&first).unwrap());
        assert_eq!(std::fs::read_to_string(s.config_path()).unwrap(), "a");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("t.tmpl")).unwrap(),
            "x"
        );
        // No silences key: an empty list, so earlier declared silences expire.
        assert_eq!(std::fs::read_to_string(s.silences_path()).unwrap(), "[]\n");
        assert!(!s.write(&first).unwrap(), "same data, nothing changed");

        let second = secret(&[("alertmanager.yaml", "b"), ("silences.yaml", "- id: x\n")]);
        assert!(s.write(&second).unwrap());
        assert!(
            !dir.path().join("t.tmpl").exists(),
            "a removed key's file goes"
        );
        assert_eq!(
            std::fs::read_to_string(s.silences_path()).unwrap(),
            "- id: x\n"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(s.config_path()).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn a_secret_without_the_config_key_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = source(dir.path());
        s.write(&secret(&[("alertmanager.yaml", "a")])).unwrap();
        let err = s.write(&secret(&[("other", "b")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Secret ns/cfg has no key \"alertmanager.yaml\""
        );
        assert_eq!(std::fs::read_to_string(s.config_path()).unwrap(), "a");
        assert!(!dir.path().join("other").exists());
    }
}
