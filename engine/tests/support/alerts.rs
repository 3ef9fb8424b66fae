//! Alerts as a client sends them (POST /api/v2/alerts), silences as a client creates and
//! expires them (POST /api/v2/silences, DELETE /api/v2/silence/{id}), and a timeline that
//! sends them at given offsets to several processes at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// An alert to post: labels, annotations, and whether it is firing or resolved.
#[derive(Clone, Debug, Default)]
pub struct AlertSpec {
    /// Label pairs.
    pub labels: Vec<(String, String)>,
    /// Annotation pairs.
    pub annotations: Vec<(String, String)>,
    /// `startsAt` this long before the moment it is sent (none: the server's now).
    pub started_ago: Option<Duration>,
    /// Explicit `startsAt` text (RFC 3339), overriding `started_ago`.
    pub starts_at: Option<String>,
    /// Sent with `endsAt` = the moment it is sent, so the server sees it resolved.
    pub resolved: bool,
    /// `generatorURL`, if any.
    pub generator_url: Option<String>,
}

/// A firing alert with these labels.
pub fn alert(labels: &[(&str, &str)]) -> AlertSpec {
    AlertSpec {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..AlertSpec::default()
    }
}

impl AlertSpec {
    /// The same alert, resolved now.
    pub fn resolved(mut self) -> AlertSpec {
        self.resolved = true;
        self
    }

    /// The same alert, started `ago` before it is sent.
    pub fn started_ago(mut self, ago: Duration) -> AlertSpec {
        self.started_ago = Some(ago);
        self
    }

    /// The same alert with one more annotation.
    pub fn annotation(mut self, name: &str, value: &str) -> AlertSpec {
        self.annotations.push((name.into(), value.into()));
        self
    }

    /// The JSON object API v2 expects, with times relative to `now`.
    pub fn to_json(&self, now: jiff::Timestamp) -> Value {
        let pairs = |list: &[(String, String)]| -> Value {
            Value::Object(
                list.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect::<Map<_, _>>(),
            )
        };
        let mut object = json!({ "labels": pairs(&self.labels) });
        if !self.annotations.is_empty() {
            object["annotations"] = pairs(&self.annotations);
        }
        if let Some(starts_at) = &self.starts_at {
            object["startsAt"] = json!(starts_at);
        } else if let Some(ago) = self.started_ago {
            let ago = jiff::SignedDuration::try_from(ago).unwrap();
            object["startsAt"] = json!(now.checked_sub(ago).unwrap().to_string());
        }
        if self.resolved {
            object["endsAt"] = json!(now.to_string());
        }
        if let Some(url) = &self.generator_url {
            object["generatorURL"] = json!(url);
        }
        object
    }
}

/// Posts `alerts` to `base` (`http://IP:PORT`) as one batch; an error unless the answer is 200.
pub async fn post_alerts(
    client: &reqwest::Client,
    base: &str,
    alerts: &[AlertSpec],
) -> Result<(), String> {
    let now = jiff::Timestamp::now();
    let body = Value::Array(alerts.iter().map(|a| a.to_json(now)).collect());
    let url = format!("{base}/api/v2/alerts");
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let text = response.text().await.unwrap_or_default();
        Err(format!("POST {url} answered {status}: {}", text.trim()))
    }
}

/// A silence matcher as API v2 takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceMatcher {
    /// Label name.
    pub name: String,
    /// Value or regular expression.
    pub value: String,
    /// `isRegex`.
    pub is_regex: bool,
    /// `isEqual` (false for `!=` and `!~`).
    pub is_equal: bool,
}

impl SilenceMatcher {
    /// Parses `name=value`, `name!=value`, `name=~regex` or `name!~regex` (no quotes).
    pub fn parse(text: &str) -> SilenceMatcher {
        let split = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or_else(|| panic!("matcher `{text}` has no operator"));
        let (name, rest) = text.split_at(split);
        let (is_regex, is_equal, value) = if let Some(v) = rest.strip_prefix("=~") {
            (true, true, v)
        } else if let Some(v) = rest.strip_prefix("!~") {
            (true, false, v)
        } else if let Some(v) = rest.strip_prefix("!=") {
            (false, false, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (false, true, v)
        } else {
            panic!("matcher `{text}` has no operator")
        };
        SilenceMatcher {
            name: name.to_string(),
            value: value.to_string(),
            is_regex,
            is_equal,
        }
    }

    /// The JSON object API v2 expects.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        })
    }
}

/// A silence operation of a timeline step. Silences are named by a key local to the scenario;
/// the timeline remembers the ID each target answered for that key.
#[derive(Clone, Debug)]
pub enum SilenceOp {
    /// Create a silence starting now and ending in an hour.
    Create {
        /// The scenario's name for it.
        key: String,
        /// Its matchers.
        matchers: Vec<SilenceMatcher>,
    },
    /// Expire the silence created under `key`.
    Expire {
        /// The scenario's name for it.
        key: String,
    },
}

/// Creates a silence on `base` with `matchers`, from now for an hour; answers its ID.
pub async fn create_silence(
    client: &reqwest::Client,
    base: &str,
    matchers: &[SilenceMatcher],
) -> Result<String, String> {
    let now = jiff::Timestamp::now();
    let ends = now
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .map_err(|e| e.to_string())?;
    let body = json!({
        "matchers": matchers.iter().map(SilenceMatcher::to_json).collect::<Vec<_>>(),
        "startsAt": now.to_string(),
        "endsAt": ends.to_string(),
        "createdBy": "differential test",
        "comment": "differential test",
    });
    let url = format!("{base}/api/v2/silences");
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("POST {url} answered {status}: {}", text.trim()));
    }
    let answer: Value =
        serde_json::from_str(&text).map_err(|e| format!("POST {url}: {e}: {text}"))?;
    answer["silenceID"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("POST {url}: no silenceID in {text}"))
}

/// Expires the silence `id` on `base`.
pub async fn expire_silence(client: &reqwest::Client, base: &str, id: &str) -> Result<(), String> {
    let url = format!("{base}/api/v2/silence/{id}");
    let response = client
        .delete(&url)
        .send()
        .await
        .map_err(|e| format!("DELETE {url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        let text = response.text().await.unwrap_or_default();
        Err(format!("DELETE {url} answered {status}: {}", text.trim()))
    }
}

/// One timeline step: at `at` after the start, apply `silences` (in order), then send `alerts`.
#[derive(Clone, Debug)]
pub struct Step {
    /// Offset from the scenario start.
    pub at: Duration,
    /// The batch to send.
    pub alerts: Vec<AlertSpec>,
    /// Silences to create or expire before the batch is sent.
    pub silences: Vec<SilenceOp>,
}

/// A step sending `alerts` at `secs` seconds after the start.
pub fn at(secs: f64, alerts: Vec<AlertSpec>) -> Step {
    Step {
        at: Duration::from_secs_f64(secs),
        alerts,
        silences: Vec::new(),
    }
}

/// A step creating the silence `key` with `matchers` (see `SilenceMatcher::parse`) at `secs`.
pub fn silence_at(secs: f64, key: &str, matchers: &[&str]) -> Step {
    Step {
        at: Duration::from_secs_f64(secs),
        alerts: Vec::new(),
        silences: vec![SilenceOp::Create {
            key: key.to_string(),
            matchers: matchers.iter().map(|m| SilenceMatcher::parse(m)).collect(),
        }],
    }
}

/// A step expiring the silence `key` at `secs`.
pub fn expire_at(secs: f64, key: &str) -> Step {
    Step {
        at: Duration::from_secs_f64(secs),
        alerts: Vec::new(),
        silences: vec![SilenceOp::Expire {
            key: key.to_string(),
        }],
    }
}

impl Step {
    /// The same step, also sending `alerts` after its silence operations.
    pub fn and_alerts(mut self, alerts: Vec<AlertSpec>) -> Step {
        self.alerts.extend(alerts);
        self
    }
}

/// Applies one step to one target: its silence operations in order, then its alerts.
async fn apply_step(
    client: &reqwest::Client,
    base: &str,
    step: &Step,
    silence_ids: &mut HashMap<String, String>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let at = step.at;
    for op in &step.silences {
        match op {
            SilenceOp::Create { key, matchers } => {
                match create_silence(client, base, matchers).await {
                    Ok(id) => {
                        silence_ids.insert(key.clone(), id);
                    }
                    Err(e) => errors.push(format!("step at {at:?}: silence {key}: {e}")),
                }
            }
            SilenceOp::Expire { key } => match silence_ids.get(key) {
                Some(id) => {
                    if let Err(e) = expire_silence(client, base, id).await {
                        errors.push(format!("step at {at:?}: expire {key}: {e}"));
                    }
                }
                None => errors.push(format!(
                    "step at {at:?}: expire {key}: no silence was created under that key"
                )),
            },
        }
    }
    if (!step.alerts.is_empty() || step.silences.is_empty())
        && let Err(e) = post_alerts(client, base, &step.alerts).await
    {
        errors.push(format!("step at {at:?}: {e}"));
    }
    errors
}

/// Runs `steps` from `start`, each step applied to every base URL in `targets` concurrently.
/// Returns the send errors per target index (a failed send does not stop the timeline).
pub async fn run_timeline(
    client: &reqwest::Client,
    targets: &[String],
    steps: &[Step],
    start: Instant,
) -> Vec<Vec<String>> {
    let mut errors = vec![Vec::new(); targets.len()];
    let mut silence_ids: Vec<HashMap<String, String>> = vec![HashMap::new(); targets.len()];
    for step in steps {
        tokio::time::sleep_until((start + step.at).into()).await;
        let mut sends = tokio::task::JoinSet::new();
        for (index, base) in targets.iter().enumerate() {
            let client = client.clone();
            let base = base.clone();
            let step = step.clone();
            let mut ids = std::mem::take(&mut silence_ids[index]);
            sends.spawn(async move {
                let step_errors = apply_step(&client, &base, &step, &mut ids).await;
                (index, ids, step_errors)
            });
        }
        while let Some(joined) = sends.join_next().await {
            if let Ok((index, ids, step_errors)) = joined {
                silence_ids[index] = ids;
                errors[index].extend(step_errors);
            }
        }
    }
    errors
}
