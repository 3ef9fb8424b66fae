//! Silences: upstream's model, validation and update rules, a matching index with a
//! per-alert cache, durable storage (snapshot plus fsynced log), and declarative
//! silences from `--silences.file`.
//!
//! The API calls [`Silences::set`], [`Silences::expire`], [`Silences::get`] and
//! [`Silences::list`]; the pipeline's silencing stage calls
//! [`Silences::silenced_by_fingerprint`]; the engine runs
//! [`Silences::run_maintenance`] and loads the silences file with
//! [`declarative::load_file`].

pub mod declarative;
pub mod index;
pub mod metrics;
pub mod model;
pub mod persist;
pub mod store;
pub mod validate;

#[cfg(test)]
mod tests;

pub use metrics::SilenceMetrics;
pub use model::{Origin, Silence, SilenceMatcher, SilenceState, ZERO_TIME};
pub use store::{Expired, FileApplied, Silences, SilencesOptions};

use crate::config::ConfigError;
use crate::storage::StorageError;

/// Why a silence operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    /// No silence has this ID (API: 404).
    #[error("silence not found")]
    NotFound,
    /// The silence is invalid (API: 400); the message is upstream's.
    #[error("invalid silence: {0}")]
    Invalid(String),
    /// `--silences.max-silences` or `--silences.max-silence-size-bytes` (API: 400).
    #[error("{0}")]
    Limit(String),
    /// The silence belongs to the silences file (API: 409).
    #[error("silence {id} is managed by the silences file {file}; change it there")]
    FileOwned {
        /// The silence.
        id: String,
        /// The file that declares it.
        file: String,
    },
    /// The silences file is invalid; nothing was changed.
    #[error("{0}")]
    File(ConfigError),
    /// The change could not be made durable; it was not applied.
    #[error("storing silences failed: {0}")]
    Storage(#[from] StorageError),
    /// The operation's thread stopped before it finished.
    #[error("silence operation interrupted: {0}")]
    Interrupted(String),
}
