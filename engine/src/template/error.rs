//! Template errors, worded like Go's so users recognise them.

/// A template failed to parse: `template: NAME:LINE: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The full message, as Go prints it.
    pub message: String,
}

/// Parsing or executing a template failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template text is invalid.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Execution failed: `template: NAME:LINE:COL: executing "NAME" at <NODE>: message`.
    #[error("{0}")]
    Exec(String),
}
