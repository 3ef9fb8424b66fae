//! `larum-engine template render`: renders a template text like `amtool template render`,
//! with the built-in templates plus the files of `--template.glob`, against amtool's
//! example data or a JSON file of notification data (`--template.data`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::notify::integrations::defaults::default_templates;
use crate::template::{self, Data, GoTime, Mode, Templates, Value, example_data};

/// What to render.
#[derive(Debug, Clone)]
pub struct RenderRequest {
    /// Globs of template files, parsed after the built-in templates (files of each glob
    /// in name order).
    pub globs: Vec<String>,
    /// The template text to render.
    pub text: String,
    /// text/template or html/template.
    pub mode: Mode,
    /// A JSON file with the data (upstream's `template.Data` layout); amtool's
    /// example data when `None`.
    pub data: Option<PathBuf>,
}

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A `--template.glob` is not a valid pattern.
    #[error("invalid glob {pattern:?}: {reason}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A template file or the text does not parse or execute.
    #[error("{0}")]
    Template(#[from] template::Error),
    /// The data file cannot be read.
    #[error("open {path}: {reason}")]
    ReadData {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The data file is not valid JSON data.
    #[error("{path}: {reason}")]
    BadData {
        /// The file.
        path: String,
        /// The parse error.
        reason: String,
    },
}

/// The built-in templates plus every file `globs` match.
pub fn load_templates(globs: &[String]) -> Result<Templates, RenderError> {
    let mut set = (*default_templates()).clone();
    for pattern in globs {
        let paths = glob::glob(pattern).map_err(|e| RenderError::Glob {
            pattern: pattern.clone(),
            reason: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            set.parse_file(file)?;
        }
    }
    Ok(set)
}

/// Reads notification data from a JSON file.
pub fn read_data(path: &Path) -> Result<Data, RenderError> {
    let text = std::fs::read_to_string(path).map_err(|e| RenderError::ReadData {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Data::from_json(&text).map_err(|reason| RenderError::BadData {
        path: path.display().to_string(),
        reason,
    })
}

/// Renders `req`; the output is printed as is (no newline added), like amtool.
pub fn render(req: &RenderRequest) -> Result<String, RenderError> {
    let set = load_templates(&req.globs)?;
    let data = match &req.data {
        Some(path) => read_data(path)?,
        None => example_data(&GoTime::now()),
    };
    Ok(set.render(&req.text, &Value::Data(Arc::new(data)), req.mode)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(text: &str) -> RenderRequest {
        RenderRequest {
            globs: Vec::new(),
            text: text.to_string(),
            mode: Mode::Text,
            data: None,
        }
    }

    #[test]
    fn renders_defaults_against_example_data() {
        let out = render(&request(r#"{{ template "slack.default.title" . }}"#)).unwrap();
        assert_eq!(out, "[ALERTSTATUS] grouplabelvalue1 grouplabelvalue2 ");
    }

    #[test]
    fn glob_files_override_defaults_and_data_comes_from_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.tmpl"),
            r#"{{ define "__subject" }}custom {{ .Receiver }}{{ end }}"#,
        )
        .unwrap();
        let data = dir.path().join("data.json");
        std::fs::write(&data, r#"{"receiver": "ops", "status": "firing"}"#).unwrap();
        let mut req = request(r#"{{ template "slack.default.title" . }}"#);
        req.globs = vec![format!("{}/*.tmpl", dir.path().display())];
        req.data = Some(data);
        assert_eq!(render(&req).unwrap(), "custom ops");
    }

    #[test]
    fn errors_name_the_file_or_the_position() {
        let mut req = request("x");
        req.data = Some(PathBuf::from("/nonexistent/data.json"));
        let err = render(&req).unwrap_err().to_string();
        assert!(err.starts_with("open /nonexistent/data.json:"), "{err}");
        let err = render(&request("{{ .Nope.X }}")).unwrap_err().to_string();
        assert!(err.contains("Nope"), "{err}");
        let mut req = request("x");
        req.globs = vec!["[".into()];
        assert!(matches!(render(&req), Err(RenderError::Glob { .. })));
    }
}
