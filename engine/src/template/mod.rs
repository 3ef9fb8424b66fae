//! Go text/template and html/template, as Alertmanager uses them.
//!
//! Notification templates written for Alertmanager run unmodified: the
//! syntax (actions, trim markers, comments, `define`/`template`/`block`,
//! `if`/`else if`, `range` with `break`/`continue`, `with`/`else with`,
//! variables, pipelines), Go's builtins with Go's comparison and printing
//! rules, Alertmanager's functions, and method calls on the notification
//! data (`.Alerts.Firing`, `.Labels.SortedPairs`, `.StartsAt.Format`, ...).
//!
//! Templates are parsed once into a [`Templates`] set; texts to render are
//! compiled once into a [`Template`] and executed for each notification.
//!
//! ```
//! use larum_engine::template::{Mode, Templates, Value};
//! let mut set = Templates::new();
//! set.parse("my.tmpl", r#"{{ define "greet" }}Hello {{ . }}{{ end }}"#).unwrap();
//! let t = set.compile(r#"{{ template "greet" "world" }}"#).unwrap();
//! assert_eq!(set.execute(&t, &Value::Nil, Mode::Text).unwrap(), "Hello world");
//! ```

mod data;
mod error;
mod example;
mod exec;
mod format;
mod funcs;
mod gotime;
mod html;
mod lexer;
mod parse;
mod value;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use data::{Alert, Data, Kv};
pub use error::{Error, ParseError};
pub use example::example_data;
pub use exec::{MAX_EXEC_DEPTH, MissingKey};
pub use funcs::Env;
pub use gotime::{GoTime, duration_string};
pub use value::{AlertListKind, StrListKind, Value};

use exec::{Exec, Lookup};
use parse::Tree;

/// How output is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// text/template: values are printed as is.
    Text,
    /// html/template: values are escaped for the HTML context they land in.
    Html,
}

/// A set of named templates (template files and their `define`s).
#[derive(Debug, Clone, Default)]
pub struct Templates {
    trees: HashMap<String, Arc<Tree>>,
    missing_key: MissingKey,
}

/// A compiled text to render against a [`Templates`] set (the text of a
/// receiver's `title:`, `text:`, `html:` field, for example).
#[derive(Debug, Clone)]
pub struct Template {
    root: Arc<Tree>,
    local: Vec<Arc<Tree>>,
}

struct SetLookup<'a> {
    set: &'a Templates,
    local: &'a [Arc<Tree>],
}

impl Lookup for SetLookup<'_> {
    fn lookup<'s>(&'s self, name: &str) -> Option<&'s Arc<Tree>> {
        self.local
            .iter()
            .rev()
            .find(|t| t.name == name)
            .or_else(|| self.set.trees.get(name))
    }
}

impl Templates {
    /// An empty set with Alertmanager's options (`missingkey=zero`).
    pub fn new() -> Templates {
        Templates::default()
    }

    /// Sets what missing map keys evaluate to.
    pub fn set_missing_key(&mut self, m: MissingKey) {
        self.missing_key = m;
    }

    /// Parses a template file's text under `name` (its file name). Its
    /// `define`s join the set; a later non-empty definition replaces an
    /// earlier one, as in Go.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let trees = parse::parse(name, text, &funcs::exists)?;
        for t in trees {
            let keep_old = t.is_empty() && self.trees.contains_key(&t.name);
            if !keep_old {
                self.trees.insert(t.name.clone(), Arc::new(t));
            }
        }
        Ok(())
    }

    /// Reads and parses a template file, named by its base name like Go's
    /// `ParseGlob` does.
    pub fn parse_file(&mut self, path: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Exec(format!("open {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.parse(&name, &text)
    }

    /// Whether a template of that name is defined.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Names of all defined templates, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Compiles a text to execute against this set. Its own `define`s are
    /// visible only to it (Go clones the set for each text).
    pub fn compile(&self, text: &str) -> Result<Template, Error> {
        let mut trees = parse::parse("", text, &funcs::exists)?
            .into_iter()
            .map(Arc::new);
        let root = trees
            .next()
            .ok_or_else(|| Error::Exec("empty parse".into()))?;
        Ok(Template {
            root,
            local: trees.collect(),
        })
    }

    /// Executes a compiled text with `data` as dot.
    pub fn execute(&self, t: &Template, data: &Value, mode: Mode) -> Result<String, Error> {
        self.execute_with(t, data, mode, &Env::default())
    }

    /// Executes a compiled text with extra context for functions.
    pub fn execute_with(
        &self,
        t: &Template,
        data: &Value,
        mode: Mode,
        env: &Env,
    ) -> Result<String, Error> {
        self.run(&t.root, &t.local, data, mode, env)
    }

    /// Executes the named template of the set.
    pub fn execute_named(&self, name: &str, data: &Value, mode: Mode) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error::Exec(format!(
                "template: no template {} associated with template {}",
                format::go_quote(name),
                format::go_quote("")
            )));
        };
        self.run(tree, &[], data, mode, &Env::default())
    }

    /// Parses and executes `text` in one go (Alertmanager's
    /// `ExecuteTextString` / `ExecuteHTMLString`); an empty text renders
    /// empty. Prefer [`Templates::compile`] once plus [`Templates::execute`].
    pub fn render(&self, text: &str, data: &Value, mode: Mode) -> Result<String, Error> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let t = self.compile(text)?;
        let env = match data {
            Value::Data(d) => Env {
                route_labels: Some(d.route_labels.clone()),
            },
            _ => Env::default(),
        };
        self.execute_with(&t, data, mode, &env)
    }

    fn run(
        &self,
        root: &Tree,
        local: &[Arc<Tree>],
        data: &Value,
        mode: Mode,
        env: &Env,
    ) -> Result<String, Error> {
        let lookup = SetLookup { set: self, local };
        let mut out = String::with_capacity(256);
        let mut ex = Exec {
            lookup: &lookup,
            tree: root,
            vars: vec![("$", data.clone())],
            depth: 0,
            out: &mut out,
            html: match mode {
                Mode::Text => None,
                Mode::Html => Some(html::Escaper::default()),
            },
            missing_key: self.missing_key,
            env,
        };
        ex.run(data)?;
        Ok(out)
    }
}
