//! Errors of the config layer: every error names the file, the field path and the reason.

use std::fmt;
use std::path::PathBuf;

/// An error found while loading, parsing or validating a configuration.
///
/// Displayed as `FILE:LINE:COL: PATH: MESSAGE`, leaving out the parts that are unknown,
/// for example `alertmanager.yml: route.routes[2].group_wait: invalid duration "5x"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file the error was found in, when the config came from a file.
    pub file: Option<PathBuf>,
    /// The field path, such as `route.routes[2].group_wait`; empty for document-level errors.
    pub path: String,
    /// Line and column (1-based) where the parser knows them.
    pub location: Option<(usize, usize)>,
    /// What is wrong, without the path.
    pub message: String,
}

impl ConfigError {
    /// An error at `path` saying `message`.
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            path: path.into(),
            location: None,
            message: message.into(),
        }
    }

    /// The same error, attributed to `file`.
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// The same error, with its path prefixed by `prefix` (`prefix.path`, or `prefix[0]`-style
    /// when the path starts with an index).
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }

    /// `path: message`, without file and location: the part tests compare.
    pub fn path_and_message(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }
}

/// Joins a parent path and a child path: `a` + `b` = `a.b`, `a` + `[1].b` = `a[1].b`.
pub fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if rest.starts_with('[') => format!("{prefix}{rest}"),
        (false, false) => format!("{prefix}.{rest}"),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
            if let Some((line, col)) = self.location {
                write!(f, "{line}:{col}:")?;
            }
            f.write_str(" ")?;
        } else if let Some((line, col)) = self.location {
            write!(f, "line {line}, column {col}: ")?;
        }
        f.write_str(&self.path_and_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_location_path_and_reason() {
        let mut e =
            ConfigError::at("route.group_wait", "invalid duration \"5x\"").in_file("am.yml");
        assert_eq!(
            e.to_string(),
            "am.yml: route.group_wait: invalid duration \"5x\""
        );
        e.location = Some((3, 15));
        assert_eq!(
            e.to_string(),
            "am.yml:3:15: route.group_wait: invalid duration \"5x\""
        );
    }

    #[test]
    fn paths_join_fields_and_indexes() {
        assert_eq!(
            join_path("route", "routes[2].group_wait"),
            "route.routes[2].group_wait"
        );
        assert_eq!(join_path("receivers", "[0].name"), "receivers[0].name");
        assert_eq!(join_path("", "global"), "global");
        assert_eq!(ConfigError::at("", "x").under("route").path, "route");
    }
}
