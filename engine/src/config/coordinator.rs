//! Loads the config file and reloads it: validate fully, then swap atomically.
//!
//! An invalid file never replaces the running config; the failure shows in the log,
//! in `alertmanager_config_last_reload_successful` and in [`Coordinator::last_error`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use tokio::sync::watch;

use super::{Config, ConfigError, ParseOptions};
use crate::metrics::ConfigMetrics;
use crate::notify::integrations::defaults::default_templates;
use crate::template::Templates;

/// A config in force, with what it was loaded from.
#[derive(Debug)]
pub struct ActiveConfig {
    /// The parsed config.
    pub config: Config,
    /// The file's text.
    pub original: String,
    /// Upstream's `alertmanager_config_hash` value of the file's bytes.
    pub hash: f64,
    /// The built-in templates plus the config's `templates:` files.
    pub templates: Arc<Templates>,
}

impl ActiveConfig {
    /// A config not read from a file (tests, benchmarks): shown as its serialized
    /// YAML, with the built-in templates only.
    pub fn from_config(config: Config) -> ActiveConfig {
        let original = config.to_yaml();
        ActiveConfig {
            hash: config_hash(original.as_bytes()),
            original,
            config,
            templates: default_templates(),
        }
    }
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new config is in force.
    Applied,
    /// The file had not changed; nothing to do.
    Unchanged,
}

/// Owns the active config and reloads it.
pub struct Coordinator {
    path: PathBuf,
    options: ParseOptions,
    active: watch::Sender<Arc<ActiveConfig>>,
    metrics: ConfigMetrics,
    last_error: Mutex<Option<ConfigError>>,
    reload_lock: Mutex<()>,
}

/// Upstream's hash metric value: the first 6 bytes of the MD5 sum, little endian.
pub fn config_hash(data: &[u8]) -> f64 {
    let sum = Md5::digest(data);
    let mut bytes = [0u8; 8];
    bytes[..6].copy_from_slice(&sum[..6]);
    u64::from_le_bytes(bytes) as f64
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Coordinator {
    /// Loads the config at `path`; fails when it is invalid (there is nothing to fall back to).
    pub fn load(
        path: &Path,
        options: ParseOptions,
        metrics: ConfigMetrics,
    ) -> Result<Self, ConfigError> {
        let active = match load_active(path, options) {
            Ok(active) => active,
            Err(e) => {
                metrics.last_reload_successful.set(0);
                return Err(e);
            }
        };
        metrics.hash.set(active.hash);
        metrics.last_reload_successful.set(1);
        metrics
            .last_reload_success_timestamp_seconds
            .set(now_seconds());
        let (active, _) = watch::channel(Arc::new(active));
        Ok(Coordinator {
            path: path.to_path_buf(),
            options,
            active,
            metrics,
            last_error: Mutex::new(None),
            reload_lock: Mutex::new(()),
        })
    }

    /// The config file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The config in force.
    pub fn current(&self) -> Arc<ActiveConfig> {
        self.active.borrow().clone()
    }

    /// A receiver that sees every config swap.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ActiveConfig>> {
        self.active.subscribe()
    }

    /// The error of the last reload, if it failed.
    pub fn last_error(&self) -> Option<ConfigError> {
        self.last_error.lock().map(|e| e.clone()).unwrap_or(None)
    }

    /// Reads the file again and swaps it in when it is valid.
    pub fn reload(&self) -> Result<ReloadOutcome, ConfigError> {
        let _serialized = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.try_reload();
        match &result {
            Ok(outcome) => {
                self.metrics.last_reload_successful.set(1);
                if *outcome == ReloadOutcome::Applied {
                    self.metrics
                        .last_reload_success_timestamp_seconds
                        .set(now_seconds());
                    tracing::info!(file = %self.path.display(), "Completed loading of configuration file");
                }
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
            Err(e) => {
                self.metrics.last_reload_successful.set(0);
                tracing::error!(file = %self.path.display(), err = %e, "Loading configuration file failed");
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
            }
        }
        result
    }

    fn try_reload(&self) -> Result<ReloadOutcome, ConfigError> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            ConfigError::at("", format!("cannot read config file: {e}")).in_file(&self.path)
        })?;
        if text == self.active.borrow().original {
            return Ok(ReloadOutcome::Unchanged);
        }
        let active = parse_active(&self.path, text, self.options)?;
        self.metrics.hash.set(active.hash);
        self.active.send_replace(Arc::new(active));
        Ok(ReloadOutcome::Applied)
    }
}

fn load_active(path: &Path, options: ParseOptions) -> Result<ActiveConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::at("", format!("cannot read config file: {e}")).in_file(path))?;
    parse_active(path, text, options)
}

fn parse_active(
    path: &Path,
    text: String,
    options: ParseOptions,
) -> Result<ActiveConfig, ConfigError> {
    let config = Config::parse(&text, options).map_err(|e| e.in_file(path))?;
    let templates = load_templates(&config, path).map_err(|e| e.in_file(path))?;
    let hash = config_hash(text.as_bytes());
    Ok(ActiveConfig {
        config,
        original: text,
        hash,
        templates: Arc::new(templates),
    })
}

/// The built-in templates plus every file the `templates` globs match (relative to the
/// config file's directory, files in name order, like Go's `ParseGlob`). A glob that
/// is invalid or a file that does not parse rejects the config; a glob that matches
/// nothing is fine, as upstream.
pub fn load_templates(config: &Config, path: &Path) -> Result<Templates, ConfigError> {
    let mut set = (*default_templates()).clone();
    let base = path.parent().unwrap_or(Path::new("."));
    for (i, pattern) in config.templates.iter().enumerate() {
        let field = format!("templates[{i}]");
        let full = base.join(pattern);
        let paths = glob::glob(&full.to_string_lossy())
            .map_err(|e| ConfigError::at(&field, format!("invalid glob {pattern:?}: {e}")))?;
        let mut files: Vec<std::path::PathBuf> = paths.filter_map(Result::ok).collect();
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            set.parse_file(file).map_err(|e| {
                ConfigError::at(&field, format!("template file {}: {e}", file.display()))
            })?;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "route:\n  receiver: a\nreceivers:\n- name: a\n";

    #[test]
    fn hash_matches_upstreams_formula() {
        // md5("") = d41d8cd98f00b204..., first six bytes read little endian.
        assert_eq!(
            config_hash(b""),
            u64::from_le_bytes([0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0, 0]) as f64
        );
    }

    #[test]
    fn invalid_reload_keeps_the_old_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("am.yml");
        std::fs::write(&path, VALID).unwrap();
        let metrics = ConfigMetrics::default();
        let c = Coordinator::load(&path, ParseOptions::default(), metrics.clone()).unwrap();
        assert_eq!(c.reload().unwrap(), ReloadOutcome::Unchanged);

        std::fs::write(&path, "route:\n  receiver: b\nreceivers:\n- name: a\n").unwrap();
        let err = c.reload().unwrap_err();
        assert_eq!(err.path, "route.receiver");
        assert_eq!(metrics.last_reload_successful.get(), 0);
        assert_eq!(c.current().original, VALID);
        assert!(c.last_error().is_some());

        std::fs::write(&path, VALID.replace("a\n", "b\n")).unwrap();
        assert_eq!(c.reload().unwrap(), ReloadOutcome::Applied);
        assert_eq!(metrics.last_reload_successful.get(), 1);
        assert_eq!(
            c.current().config.root_route().receiver.as_deref(),
            Some("b")
        );
        assert!(c.last_error().is_none());
    }
}
