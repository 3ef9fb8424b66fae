//! Alerts as a client sends them (POST /api/v2/alerts), and a timeline that sends them at
//! given offsets to several processes at once.

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

/// One timeline step: at `at` after the start, send `alerts`.
#[derive(Clone, Debug)]
pub struct Step {
    /// Offset from the scenario start.
    pub at: Duration,
    /// The batch to send.
    pub alerts: Vec<AlertSpec>,
}

/// A step sending `alerts` at `secs` seconds after the start.
pub fn at(secs: f64, alerts: Vec<AlertSpec>) -> Step {
    Step {
        at: Duration::from_secs_f64(secs),
        alerts,
    }
}

/// Runs `steps` from `start`, each batch posted to every base URL in `targets` concurrently.
/// Returns the send errors per target index (a failed send does not stop the timeline).
pub async fn run_timeline(
    client: &reqwest::Client,
    targets: &[String],
    steps: &[Step],
    start: Instant,
) -> Vec<Vec<String>> {
    let mut errors = vec![Vec::new(); targets.len()];
    for step in steps {
        tokio::time::sleep_until((start + step.at).into()).await;
        let mut sends = tokio::task::JoinSet::new();
        for (index, base) in targets.iter().enumerate() {
            let client = client.clone();
            let base = base.clone();
            let alerts = step.alerts.clone();
            let at = step.at;
            sends.spawn(async move {
                let result = post_alerts(&client, &base, &alerts).await;
                (index, result.map_err(|e| format!("step at {at:?}: {e}")))
            });
        }
        while let Some(joined) = sends.join_next().await {
            if let Ok((index, Err(e))) = joined {
                errors[index].push(e);
            }
        }
    }
    errors
}
