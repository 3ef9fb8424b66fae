//! What every integration needs to turn a notification into text: the template
//! data of a flush (upstream's `template.Data`), a renderer that keeps the first
//! template error like upstream's `tmplText`, and the group key's hash.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::NotifyError;
use crate::alert::{Alert, LabelSet};
use crate::notify::stages::NotifyContext;
use crate::template::{self, Data, Env, GoTime, Kv, Mode, Templates, Value};

/// What integrations share besides their own config: the config's templates (the
/// defaults plus the `templates:` files) and the engine's external URL.
#[derive(Clone)]
pub struct IntegrationEnv {
    /// Templates of the config in force.
    pub templates: Arc<Templates>,
    /// The engine's external URL (`--web.external-url`).
    pub external_url: Arc<str>,
}

impl IntegrationEnv {
    /// An environment with the built-in templates only.
    pub fn with_defaults(external_url: &str) -> IntegrationEnv {
        IntegrationEnv {
            templates: super::defaults::default_templates(),
            external_url: Arc::from(external_url),
        }
    }
}

fn kv(labels: &LabelSet) -> Kv {
    labels.iter().collect()
}

/// The template data of one notification: `alerts` as the integration sends them.
pub fn template_data(ctx: &NotifyContext, alerts: &[Arc<Alert>], external_url: &str) -> Data {
    let now = ctx.now();
    let list = alerts
        .iter()
        .map(|a| {
            let resolved = a.resolved_at(now);
            template::Alert {
                status: Arc::from(if resolved { "resolved" } else { "firing" }),
                labels: Arc::new(kv(&a.labels)),
                annotations: Arc::new(kv(&a.annotations)),
                starts_at: Arc::new(GoTime::utc(a.starts_at)),
                ends_at: Arc::new(match (resolved, a.ends_at) {
                    (true, Some(end)) => GoTime::utc(end),
                    _ => GoTime::zero(),
                }),
                generator_url: Arc::from(a.generator_url.as_str()),
                fingerprint: Arc::from(a.fingerprint().to_string()),
            }
        })
        .collect();
    let mut data = Data::new(
        &ctx.flush.receiver,
        kv(&ctx.flush.group_labels),
        list,
        external_url,
        ctx.reason.as_str(),
    );
    data.route_labels = Arc::new(kv(&ctx.flush.route_labels));
    data
}

/// Upstream's `notify.ExtractGroupKey(ctx).Hash()`: the SHA-256 of the group key in
/// hex. PagerDuty's `dedup_key`, Opsgenie's alias and others use it.
pub fn group_key_hash(ctx: &NotifyContext) -> String {
    let sum = Sha256::digest(ctx.flush.group_key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in sum {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Renders an integration's template fields against one notification's data. Like
/// upstream's `tmplText`, the first error is kept and later fields render empty;
/// [`Renderer::finish`] reports it.
pub struct Renderer<'a> {
    templates: &'a Templates,
    data: Value,
    env: Env,
    first_error: Option<(String, template::Error)>,
}

impl<'a> Renderer<'a> {
    /// A renderer for `data` with the templates of `env`.
    pub fn new(env: &'a IntegrationEnv, data: Data) -> Renderer<'a> {
        let route_labels = Some(data.route_labels.clone());
        Renderer {
            templates: &env.templates,
            data: Value::from(data),
            env: Env { route_labels },
            first_error: None,
        }
    }

    /// The data templates see.
    pub fn value(&self) -> &Value {
        &self.data
    }

    fn render(&mut self, field: &str, text: &str, mode: Mode) -> String {
        if self.first_error.is_some() || text.is_empty() {
            return String::new();
        }
        let result = self
            .templates
            .compile(text)
            .and_then(|t| self.templates.execute_with(&t, &self.data, mode, &self.env));
        match result {
            Ok(s) => s,
            Err(e) => {
                self.first_error = Some((field.to_string(), e));
                String::new()
            }
        }
    }

    /// Renders a text/template field (`field` names it in the error).
    pub fn text(&mut self, field: &str, text: &str) -> String {
        self.render(field, text, Mode::Text)
    }

    /// Renders an html/template field (e-mail HTML bodies).
    pub fn html(&mut self, field: &str, text: &str) -> String {
        self.render(field, text, Mode::Html)
    }

    /// Whether a field failed to render so far.
    pub fn failed(&self) -> bool {
        self.first_error.is_some()
    }

    /// Ends rendering: the first template error as a permanent notification error.
    pub fn finish(self) -> Result<(), NotifyError> {
        match self.first_error {
            None => Ok(()),
            Some((field, e)) => Err(NotifyError::permanent(format!(
                "rendering template of {field}: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::stages::testutil::*;

    #[test]
    fn data_has_status_common_labels_and_receiver() {
        let ctx = ctx_at(0);
        let alerts = vec![alert("Down", None), alert("Down", Some(-5))];
        let data = template_data(&ctx, &alerts, "http://am");
        assert_eq!(data.status.as_ref(), "firing");
        assert_eq!(data.alerts.len(), 2);
        assert_eq!(data.alerts[1].status.as_ref(), "resolved");
        assert_eq!(
            data.common_labels.get("alertname").map(|v| &**v),
            Some("Down")
        );
        assert_eq!(data.external_url.as_ref(), "http://am");
    }

    #[test]
    fn renderer_keeps_the_first_error_and_names_the_field() {
        let env = IntegrationEnv::with_defaults("http://am");
        let ctx = ctx_at(0);
        let mut r = Renderer::new(&env, template_data(&ctx, &[alert("Down", None)], ""));
        assert_eq!(r.text("title", "{{ .Status }}"), "firing");
        assert_eq!(r.text("text", "{{ .Nope.Deeper }}"), "");
        assert_eq!(r.text("footer", "{{ .Status }}"), "");
        let err = r.finish().unwrap_err();
        assert!(!err.retry);
        assert!(err.message.contains("text"), "{}", err.message);
    }

    #[test]
    fn group_key_hash_is_sha256_hex() {
        // `printf '{}:{}' | sha256sum`
        assert_eq!(
            group_key_hash(&ctx_at(0)),
            "cc9772a1ec901d26ef71dae861793e4d08979fa5030a3f0a5f3ba549f1f2d0b6"
        );
    }
}
