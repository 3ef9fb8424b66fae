//! The alerts the load generator posts: distinct, each exactly [`ALERT_BYTES`] of JSON
//! (5 labels, 2 annotations), made from a template so that building a batch is cheap.

use std::fmt::Write as _;

/// Size of one alert's JSON object, as posted (compact, no whitespace).
pub const ALERT_BYTES: usize = 412;

/// Digits of the distinct part of the `instance` label.
const ID_DIGITS: usize = 10;

/// Builds batches of distinct alerts.
#[derive(Clone, Debug)]
pub struct AlertTemplate {
    prefix: String,
    suffix: String,
}

impl AlertTemplate {
    /// A template whose alerts start at `starts_at` (RFC 3339, whole seconds) and whose
    /// `instance` labels carry `nonce`, so that separate runs post distinct alerts.
    pub fn new(starts_at: &str, nonce: u32) -> anyhow::Result<Self> {
        let nonce = nonce % 1_000_000;
        let prefix = format!(
            "{{\"labels\":{{\"alertname\":\"LoadgenHighRequestLatency\",\"instance\":\"host-{nonce:06}-"
        );
        let build_suffix = |description: &str| {
            format!(
                ":9100\",\"job\":\"node-exporter\",\"severity\":\"warning\",\"team\":\"infrastructure\"}},\
                 \"annotations\":{{\"summary\":\"Request latency is above the objective\",\"description\":\"{description}\"}},\
                 \"startsAt\":\"{starts_at}\",\"generatorURL\":\"http://127.0.0.1:9090/graph?g0.expr=latency_seconds%3E0.5\"}}"
            )
        };
        let bare = prefix.len() + ID_DIGITS + build_suffix("").len();
        let Some(fill) = ALERT_BYTES.checked_sub(bare) else {
            anyhow::bail!("alert template is {bare} bytes without description, over {ALERT_BYTES}");
        };
        let filler = "The 99th percentile of request latency has been above 500ms for 10 minutes on this instance; check the upstream services and recent deploys. ";
        let description: String = filler.chars().cycle().take(fill).collect();
        Ok(AlertTemplate {
            prefix,
            suffix: build_suffix(&description),
        })
    }

    /// One alert's JSON.
    pub fn alert(&self, id: u64) -> String {
        let mut s = String::with_capacity(ALERT_BYTES);
        self.push_alert(&mut s, id);
        s
    }

    fn push_alert(&self, out: &mut String, id: u64) {
        out.push_str(&self.prefix);
        let _ = write!(
            out,
            "{:0width$}",
            id % 10u64.pow(ID_DIGITS as u32),
            width = ID_DIGITS
        );
        out.push_str(&self.suffix);
    }

    /// A JSON array of the alerts `first..first + count`.
    pub fn batch(&self, first: u64, count: u64) -> String {
        let mut s = String::with_capacity(2 + count as usize * (ALERT_BYTES + 1));
        s.push('[');
        for i in 0..count {
            if i > 0 {
                s.push(',');
            }
            self.push_alert(&mut s, first + i);
        }
        s.push(']');
        s
    }
}

/// `starts_at` for alerts posted now: the current time in whole seconds.
pub fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    match jiff::Timestamp::from_second(now.as_second()) {
        Ok(t) => t.to_string(),
        Err(_) => now.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_alert_is_412_bytes_of_json_with_5_labels_and_2_annotations() {
        let t = AlertTemplate::new(&now_rfc3339(), 42).unwrap();
        for id in [0, 7, 123_456_789] {
            let a = t.alert(id);
            assert_eq!(a.len(), ALERT_BYTES, "{a}");
            let v: serde_json::Value = serde_json::from_str(&a).unwrap();
            assert_eq!(v["labels"].as_object().unwrap().len(), 5);
            assert_eq!(v["annotations"].as_object().unwrap().len(), 2);
        }
    }

    #[test]
    fn batches_are_arrays_of_distinct_alerts() {
        let t = AlertTemplate::new(&now_rfc3339(), 1).unwrap();
        let v: serde_json::Value = serde_json::from_str(&t.batch(1000, 100)).unwrap();
        let alerts = v.as_array().unwrap();
        assert_eq!(alerts.len(), 100);
        let instances: std::collections::HashSet<_> = alerts
            .iter()
            .map(|a| a["labels"]["instance"].as_str().unwrap())
            .collect();
        assert_eq!(instances.len(), 100);
    }
}
