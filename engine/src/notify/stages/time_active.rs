//! Time-active: a route with `active_time_intervals` notifies only inside one of them.

use std::collections::HashMap;
use std::sync::Arc;

use super::{NotifyContext, Stage, StageFuture};
use crate::alert::Alert;
use crate::config::NamedTimeInterval;

/// Mutes the group outside of the route's active time intervals.
pub struct TimeActive {
    intervals: Arc<HashMap<String, NamedTimeInterval>>,
}

impl TimeActive {
    /// A stage reading the config's named time intervals.
    pub fn new(intervals: Arc<HashMap<String, NamedTimeInterval>>) -> Self {
        TimeActive { intervals }
    }
}

impl Stage for TimeActive {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            let names = &ctx.flush.active_time_intervals;
            if names.is_empty() {
                return Ok(alerts);
            }
            let now = ctx.now();
            let active = names
                .iter()
                .any(|n| self.intervals.get(n).is_some_and(|i| i.contains(now)));
            if active {
                Ok(alerts)
            } else {
                tracing::debug!(group = %ctx.flush.group_key, "notifications not sent: outside active time intervals");
                Ok(Vec::new())
            }
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::config::deserialize_yaml;

    pub(crate) fn intervals() -> Arc<HashMap<String, NamedTimeInterval>> {
        // ts(0) is 2023-11-14T22:13:20Z, a Tuesday.
        let list: Vec<NamedTimeInterval> = deserialize_yaml(
            "- name: tuesdays\n  time_intervals: [{weekdays: [tuesday]}]\n- name: mondays\n  time_intervals: [{weekdays: [monday]}]\n",
        )
        .unwrap();
        Arc::new(list.into_iter().map(|i| (i.name.clone(), i)).collect())
    }

    fn ctx_with(active: &[&str]) -> NotifyContext {
        let mut ctx = ctx_at(0);
        let mut flush = (*ctx.flush).clone();
        flush.active_time_intervals = active.iter().map(|s| s.to_string()).collect();
        ctx.flush = Arc::new(flush);
        ctx
    }

    #[tokio::test]
    async fn notifies_only_inside_an_active_interval() {
        let stage = TimeActive::new(intervals());
        let input = vec![alert("A", None)];
        let out = stage.exec(&mut ctx_with(&[]), input.clone()).await.unwrap();
        assert_eq!(out.len(), 1, "no intervals: always active");
        let out = stage
            .exec(&mut ctx_with(&["tuesdays"]), input.clone())
            .await
            .unwrap();
        assert_eq!(out.len(), 1);
        let out = stage
            .exec(&mut ctx_with(&["mondays"]), input)
            .await
            .unwrap();
        assert!(out.is_empty());
    }
}
