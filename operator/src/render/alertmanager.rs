//! `alertmanager.yaml`: the admin config plus every accepted AlertRoute and InhibitRule.

use std::collections::BTreeMap;

use kube::ResourceExt;
use larum_engine::config::{Config, ParseOptions};
use serde_json::{Value, json};

use super::{
    Inputs, Kind, ObjectKey, Outcome, Rejection, RenderError, object, secret_value, to_yaml,
};
use crate::crd::alert_route::{Receiver, TimeInterval};
use crate::crd::{AlertRoute, InhibitRule, MatchType, Matcher, RouteNode};

/// The parts one AlertRoute adds to the config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteFragment {
    /// The route (a child of the root route).
    pub route: Value,
    /// Its receivers, with unique names.
    pub receivers: Vec<Value>,
    /// Its time intervals, with unique names.
    pub time_intervals: Vec<Value>,
    /// Secret values it uses (to redact error messages).
    secrets: Vec<String>,
}

/// The `namespace="N"` matcher scoping a resource, or none in the admin namespace.
pub fn scope_matcher(inputs: &Inputs<'_>, namespace: &str) -> Option<Matcher> {
    (!inputs.config.is_admin(namespace))
        .then(|| Matcher::new("namespace", MatchType::Equal, namespace))
}

/// The rendered name of a receiver or time interval of an AlertRoute.
pub fn scoped_name(namespace: &str, resource: &str, name: &str) -> String {
    format!("{namespace}/{resource}/{name}")
}

fn matcher_strings(matchers: &[Matcher]) -> Value {
    Value::Array(
        matchers
            .iter()
            .map(|m| Value::String(m.to_matcher_string()))
            .collect(),
    )
}

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| json!(s))
}

fn opt_bool(v: Option<bool>) -> Value {
    v.map_or(Value::Null, |b| json!(b))
}

/// Renders one AlertRoute into its fragment (without checking it against the engine).
pub fn route_fragment(inputs: &Inputs<'_>, ar: &AlertRoute) -> Result<RouteFragment, Rejection> {
    let ns = ar.namespace().unwrap_or_default();
    let name = ar.name_any();
    let spec = &ar.spec;
    let mut frag = RouteFragment::default();

    let mut receiver_names = BTreeMap::new();
    for (i, r) in spec.receivers.iter().enumerate() {
        let full = scoped_name(&ns, &name, &r.name);
        if receiver_names
            .insert(r.name.clone(), full.clone())
            .is_some()
        {
            return Err(Rejection::new(
                "DuplicateName",
                format!(
                    "receivers[{i}].name: receiver {:?} is defined twice",
                    r.name
                ),
            ));
        }
        let rendered = receiver(
            inputs,
            &ns,
            r,
            &format!("receivers[{i}]"),
            &mut frag.secrets,
        )?;
        frag.receivers.push(object(
            std::iter::once(("name", json!(full))).chain(rendered),
        ));
    }
    let mut interval_names = BTreeMap::new();
    for (i, t) in spec.time_intervals.iter().enumerate() {
        let full = scoped_name(&ns, &name, &t.name);
        if interval_names
            .insert(t.name.clone(), full.clone())
            .is_some()
        {
            return Err(Rejection::new(
                "DuplicateName",
                format!(
                    "timeIntervals[{i}].name: time interval {:?} is defined twice",
                    t.name
                ),
            ));
        }
        frag.time_intervals.push(time_interval(&full, t));
    }

    let mut top = spec.to_node();
    check_tree(&top, "spec")?;
    if let Some(m) = scope_matcher(inputs, &ns) {
        top.matchers.insert(0, m);
    }
    frag.route = route(&top, "spec", &receiver_names, &interval_names)?;
    Ok(frag)
}

/// Checks a resource's own matchers (regular expressions) so errors name its fields.
pub fn check_matchers(matchers: &[Matcher], path: &str) -> Result<(), Rejection> {
    use larum_engine::config::matcher::{MatchType as E, Matcher as EngineMatcher};
    for (i, m) in matchers.iter().enumerate() {
        let t = match m.match_type {
            MatchType::Equal => E::Equal,
            MatchType::NotEqual => E::NotEqual,
            MatchType::Regex => E::Regexp,
            MatchType::NotRegex => E::NotRegexp,
        };
        EngineMatcher::new(&m.name, &m.value, t)
            .map_err(|e| Rejection::new("InvalidMatcher", format!("{path}[{i}]: {e}")))?;
    }
    Ok(())
}

fn route(
    node: &RouteNode,
    path: &str,
    receivers: &BTreeMap<String, String>,
    intervals: &BTreeMap<String, String>,
) -> Result<Value, Rejection> {
    let receiver = match &node.receiver {
        None => Value::Null,
        Some(r) if r.is_empty() => Value::Null,
        Some(r) => json!(receivers.get(r).ok_or_else(|| {
            Rejection::new(
                "UnknownReceiver",
                format!("{path}.receiver: no receiver named {r:?} in this AlertRoute"),
            )
        })?),
    };
    let names = |list: &[String], field: &str| -> Result<Value, Rejection> {
        if list.is_empty() {
            return Ok(Value::Null);
        }
        list.iter()
            .map(|n| {
                intervals.get(n).map(|full| json!(full)).ok_or_else(|| {
                    Rejection::new(
                        "UnknownTimeInterval",
                        format!("{path}.{field}: no time interval named {n:?} in this AlertRoute"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    };
    let mute = names(&node.mute_time_intervals, "muteTimeIntervals")?;
    let active = names(&node.active_time_intervals, "activeTimeIntervals")?;
    let mut children = Vec::with_capacity(node.routes.len());
    for (i, child) in node.routes.iter().enumerate() {
        children.push(route(
            child,
            &format!("{path}.routes[{i}]"),
            receivers,
            intervals,
        )?);
    }
    Ok(object([
        ("receiver", receiver),
        (
            "matchers",
            if node.matchers.is_empty() {
                Value::Null
            } else {
                matcher_strings(&node.matchers)
            },
        ),
        (
            "group_by",
            node.group_by.as_ref().map_or(Value::Null, |g| json!(g)),
        ),
        ("group_wait", opt_str(&node.group_wait)),
        ("group_interval", opt_str(&node.group_interval)),
        ("repeat_interval", opt_str(&node.repeat_interval)),
        (
            "continue",
            if node.continue_ {
                json!(true)
            } else {
                Value::Null
            },
        ),
        ("mute_time_intervals", mute),
        ("active_time_intervals", active),
        (
            "routes",
            if children.is_empty() {
                Value::Null
            } else {
                Value::Array(children)
            },
        ),
    ]))
}

/// A receiver's integration lists (without the name).
fn receiver(
    inputs: &Inputs<'_>,
    ns: &str,
    r: &Receiver,
    path: &str,
    used: &mut Vec<String>,
) -> Result<Vec<(&'static str, Value)>, Rejection> {
    let mut secret = |r: &crate::crd::SecretKeyRef, field: String| -> Result<Value, Rejection> {
        let v = secret_value(inputs.secrets, ns, r, &field)?;
        used.push(v.clone());
        Ok(json!(v))
    };
    let mut out = Vec::new();
    let mut list = Vec::new();
    for (i, c) in r.webhook_configs.iter().enumerate() {
        let p = format!("{path}.webhookConfigs[{i}]");
        let url = match (&c.url, &c.url_secret) {
            (_, Some(s)) => secret(s, format!("{p}.urlSecret"))?,
            (Some(u), None) => json!(u),
            (None, None) => {
                return Err(Rejection::new(
                    "InvalidReceiver",
                    format!("{p}: url or urlSecret is required"),
                ));
            }
        };
        list.push(object([
            ("url", url),
            ("send_resolved", opt_bool(c.send_resolved)),
            ("max_alerts", c.max_alerts.map_or(Value::Null, |m| json!(m))),
        ]));
    }
    if !list.is_empty() {
        out.push(("webhook_configs", Value::Array(std::mem::take(&mut list))));
    }
    for (i, c) in r.slack_configs.iter().enumerate() {
        let p = format!("{path}.slackConfigs[{i}]");
        list.push(object([
            (
                "api_url",
                secret(&c.api_url_secret, format!("{p}.apiUrlSecret"))?,
            ),
            ("channel", opt_str(&c.channel)),
            ("username", opt_str(&c.username)),
            ("title", opt_str(&c.title)),
            ("text", opt_str(&c.text)),
            ("send_resolved", opt_bool(c.send_resolved)),
        ]));
    }
    if !list.is_empty() {
        out.push(("slack_configs", Value::Array(std::mem::take(&mut list))));
    }
    for (i, c) in r.pagerduty_configs.iter().enumerate() {
        let p = format!("{path}.pagerdutyConfigs[{i}]");
        let routing = match &c.routing_key_secret {
            Some(s) => secret(s, format!("{p}.routingKeySecret"))?,
            None => Value::Null,
        };
        let service = match &c.service_key_secret {
            Some(s) => secret(s, format!("{p}.serviceKeySecret"))?,
            None => Value::Null,
        };
        list.push(object([
            ("routing_key", routing),
            ("service_key", service),
            ("url", opt_str(&c.url)),
            ("description", opt_str(&c.description)),
            ("severity", opt_str(&c.severity)),
            ("send_resolved", opt_bool(c.send_resolved)),
        ]));
    }
    if !list.is_empty() {
        out.push(("pagerduty_configs", Value::Array(std::mem::take(&mut list))));
    }
    for (i, c) in r.email_configs.iter().enumerate() {
        let p = format!("{path}.emailConfigs[{i}]");
        let password = match &c.auth_password_secret {
            Some(s) => secret(s, format!("{p}.authPasswordSecret"))?,
            None => Value::Null,
        };
        list.push(object([
            ("to", json!(c.to)),
            ("from", opt_str(&c.from)),
            ("smarthost", opt_str(&c.smarthost)),
            ("auth_username", opt_str(&c.auth_username)),
            ("auth_password", password),
            ("require_tls", opt_bool(c.require_tls)),
            ("send_resolved", opt_bool(c.send_resolved)),
        ]));
    }
    if !list.is_empty() {
        out.push(("email_configs", Value::Array(std::mem::take(&mut list))));
    }
    for (i, c) in r.opsgenie_configs.iter().enumerate() {
        let p = format!("{path}.opsgenieConfigs[{i}]");
        list.push(object([
            (
                "api_key",
                secret(&c.api_key_secret, format!("{p}.apiKeySecret"))?,
            ),
            ("api_url", opt_str(&c.api_url)),
            ("message", opt_str(&c.message)),
            ("priority", opt_str(&c.priority)),
            ("send_resolved", opt_bool(c.send_resolved)),
        ]));
    }
    if !list.is_empty() {
        out.push(("opsgenie_configs", Value::Array(list)));
    }
    Ok(out)
}

fn time_interval(full: &str, t: &TimeInterval) -> Value {
    let list = |v: &[String]| if v.is_empty() { Value::Null } else { json!(v) };
    let intervals: Vec<Value> = t
        .time_intervals
        .iter()
        .map(|s| {
            object([
                (
                    "times",
                    if s.times.is_empty() {
                        Value::Null
                    } else {
                        Value::Array(
                            s.times
                                .iter()
                                .map(
                                    |r| json!({"start_time": r.start_time, "end_time": r.end_time}),
                                )
                                .collect(),
                        )
                    },
                ),
                ("weekdays", list(&s.weekdays)),
                ("days_of_month", list(&s.days_of_month)),
                ("months", list(&s.months)),
                ("years", list(&s.years)),
                ("location", opt_str(&s.location)),
            ])
        })
        .collect();
    json!({"name": full, "time_intervals": intervals})
}

fn check_tree(node: &RouteNode, path: &str) -> Result<(), Rejection> {
    check_matchers(&node.matchers, &format!("{path}.matchers"))?;
    for (i, child) in node.routes.iter().enumerate() {
        check_tree(child, &format!("{path}.routes[{i}]"))?;
    }
    Ok(())
}

/// Renders one InhibitRule: sources from any namespace, targets scoped.
pub fn inhibit_rule(inputs: &Inputs<'_>, ir: &InhibitRule) -> Value {
    let ns = ir.namespace().unwrap_or_default();
    let mut targets = ir.spec.target_matchers.clone();
    if let Some(m) = scope_matcher(inputs, &ns) {
        targets.insert(0, m);
    }
    object([
        ("source_matchers", matcher_strings(&ir.spec.source_matchers)),
        ("target_matchers", matcher_strings(&targets)),
        (
            "equal",
            if ir.spec.equal.is_empty() {
                Value::Null
            } else {
                json!(ir.spec.equal)
            },
        ),
    ])
}

/// The config being assembled.
#[derive(Clone, Debug)]
struct Assembly {
    routes: Vec<Value>,
    receivers: Vec<Value>,
    time_intervals: Vec<Value>,
    inhibit_rules: Vec<Value>,
}

impl Assembly {
    fn base(inputs: &Inputs<'_>) -> Self {
        Assembly {
            routes: Vec::new(),
            receivers: inputs.config.receivers.clone(),
            time_intervals: inputs.config.time_intervals.clone(),
            inhibit_rules: inputs.config.inhibit_rules.clone(),
        }
    }

    fn to_value(&self, inputs: &Inputs<'_>) -> Value {
        let mut root = inputs.config.route.clone();
        if let Value::Object(map) = &mut root {
            let mut routes = self.routes.clone();
            if let Some(Value::Array(admin)) = map.get("routes") {
                routes.extend(admin.iter().cloned());
            }
            if routes.is_empty() {
                map.remove("routes");
            } else {
                map.insert("routes".into(), Value::Array(routes));
            }
        }
        let nonempty = |v: &Vec<Value>| {
            if v.is_empty() {
                Value::Null
            } else {
                Value::Array(v.clone())
            }
        };
        object([
            (
                "global",
                inputs.config.global.clone().unwrap_or(Value::Null),
            ),
            ("route", root),
            ("receivers", nonempty(&self.receivers)),
            ("inhibit_rules", nonempty(&self.inhibit_rules)),
            ("time_intervals", nonempty(&self.time_intervals)),
            (
                "templates",
                if inputs.config.templates.is_empty() {
                    Value::Null
                } else {
                    json!(inputs.config.templates)
                },
            ),
        ])
    }

    /// The YAML text, checked by the engine's parser.
    fn check(&self, inputs: &Inputs<'_>) -> Result<String, String> {
        let yaml = to_yaml(&self.to_value(inputs)).map_err(|e| e.to_string())?;
        Config::parse(&yaml, ParseOptions::default()).map_err(|e| e.to_string())?;
        Ok(yaml)
    }
}

/// Replaces every secret value in a message.
fn redact(message: String, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message, |m, s| m.replace(s.as_str(), "<secret>"))
}

/// Renders `alertmanager.yaml`, recording an outcome per AlertRoute and InhibitRule.
pub fn render(
    inputs: Inputs<'_>,
    outcomes: &mut BTreeMap<ObjectKey, Outcome>,
) -> Result<String, RenderError> {
    let base = Assembly::base(&inputs);
    base.check(&inputs).map_err(RenderError::BaseConfig)?;
    let mut all = base.clone();

    let mut routes: Vec<&AlertRoute> = inputs.alert_routes.iter().collect();
    routes.sort_by_key(|r| {
        (
            std::cmp::Reverse(r.spec.priority),
            r.namespace().unwrap_or_default(),
            r.name_any(),
        )
    });
    for ar in routes {
        let key = ObjectKey {
            kind: Kind::AlertRoute,
            namespace: ar.namespace().unwrap_or_default(),
            name: ar.name_any(),
        };
        let result = route_fragment(&inputs, ar).and_then(|frag| {
            let mut alone = base.clone();
            alone.routes.push(frag.route.clone());
            alone.receivers.extend(frag.receivers.iter().cloned());
            alone
                .time_intervals
                .extend(frag.time_intervals.iter().cloned());
            alone
                .check(&inputs)
                .map_err(|e| Rejection::new("InvalidConfig", redact(e, &frag.secrets)))?;
            all.routes.push(frag.route);
            all.receivers.extend(frag.receivers);
            all.time_intervals.extend(frag.time_intervals);
            Ok(())
        });
        outcomes.insert(
            key,
            Outcome {
                generation: ar.metadata.generation,
                result,
                silence: None,
            },
        );
    }

    let mut rules: Vec<&InhibitRule> = inputs.inhibit_rules.iter().collect();
    rules.sort_by_key(|r| (r.namespace().unwrap_or_default(), r.name_any()));
    for ir in rules {
        let key = ObjectKey {
            kind: Kind::InhibitRule,
            namespace: ir.namespace().unwrap_or_default(),
            name: ir.name_any(),
        };
        let rendered = inhibit_rule(&inputs, ir);
        let mut alone = base.clone();
        alone.inhibit_rules.push(rendered.clone());
        let result = check_matchers(&ir.spec.source_matchers, "spec.sourceMatchers")
            .and_then(|()| check_matchers(&ir.spec.target_matchers, "spec.targetMatchers"))
            .and_then(|()| {
                alone
                    .check(&inputs)
                    .map(|_| all.inhibit_rules.push(rendered))
                    .map_err(|e| Rejection::new("InvalidConfig", e))
            });
        outcomes.insert(
            key,
            Outcome {
                generation: ir.metadata.generation,
                result,
                silence: None,
            },
        );
    }

    // Each part passed alone and every name is scoped, so the whole passes too; check
    // anyway, since the engine must never be handed a config it refuses.
    all.check(&inputs).map_err(RenderError::BaseConfig)
}
