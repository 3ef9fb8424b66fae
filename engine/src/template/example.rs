//! The example data `amtool template render` uses when no data file is given, so
//! `larum-engine template render` and the tests can compare with amtool.

use std::sync::Arc;

use super::{Alert, Data, GoTime, Kv};

/// amtool's built-in example data (upstream v0.34): receiver `receiver`, status
/// `alertstatus`, a firing and a resolved alert that started 5 and 10 minutes
/// before `now` and end at `now`, external URL `https://example.com`.
pub fn example_data(now: &GoTime) -> Data {
    let kv = |p: &[(&str, &str)]| Arc::new(p.iter().copied().collect::<Kv>());
    let minutes_ago = |m: i64| Arc::new(now.add_nanos(-m * 60_000_000_000));
    let common_labels = [
        ("commonlabelkey1", "commonlabelvalue1"),
        ("commonlabelkey2", "commonlabelvalue2"),
    ];
    let common_annotations = [
        ("commonannotationkey1", "commonannotationvalue1"),
        ("commonannotationkey2", "commonannotationvalue2"),
    ];
    let with = |own: &[(&'static str, &'static str)], common: &[(&'static str, &'static str)]| {
        let mut all = own.to_vec();
        all.extend_from_slice(common);
        kv(&all)
    };
    let alerts = vec![
        Arc::new(Alert {
            status: Arc::from("firing"),
            labels: with(
                &[
                    ("label1", "value1"),
                    ("label2", "value2"),
                    ("instance", "foo.bar:1234"),
                ],
                &common_labels,
            ),
            annotations: with(
                &[("annotation1", "value1"), ("annotation2", "value2")],
                &common_annotations,
            ),
            starts_at: minutes_ago(5),
            ends_at: Arc::new(now.clone()),
            generator_url: Arc::from("https://generatorurl.com"),
            fingerprint: Arc::from("fingerprint1"),
        }),
        Arc::new(Alert {
            status: Arc::from("resolved"),
            labels: with(&[("foo", "bar"), ("baz", "qux")], &common_labels),
            annotations: with(&[("aaa", "bbb"), ("ccc", "ddd")], &common_annotations),
            starts_at: minutes_ago(10),
            ends_at: Arc::new(now.clone()),
            generator_url: Arc::from("https://generatorurl.com"),
            fingerprint: Arc::from("fingerprint2"),
        }),
    ];
    Data {
        receiver: Arc::from("receiver"),
        status: Arc::from("alertstatus"),
        alerts: Arc::new(alerts),
        notification_reason: Arc::from(""),
        group_labels: kv(&[
            ("grouplabelkey1", "grouplabelvalue1"),
            ("grouplabelkey2", "grouplabelvalue2"),
        ]),
        common_labels: kv(&common_labels),
        common_annotations: kv(&common_annotations),
        route_labels: Arc::new(Kv::default()),
        external_url: Arc::from("https://example.com"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Mode, Templates, Value};

    #[test]
    fn example_has_a_firing_and_a_resolved_alert() {
        let data = Value::Data(Arc::new(example_data(&GoTime::now())));
        let out = Templates::new()
            .render(
                "{{ .Status }} {{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }} {{ .GroupLabels.SortedPairs.Values }}",
                &data,
                Mode::Text,
            )
            .unwrap();
        assert_eq!(out, "alertstatus 1/1 [grouplabelvalue1 grouplabelvalue2]");
    }
}
