//! Time-mute: a route's `mute_time_intervals` silence the group while one of them holds.

use std::collections::HashMap;
use std::sync::Arc;

use super::{NotifyContext, Stage, StageFuture};
use crate::alert::Alert;
use crate::config::NamedTimeInterval;

/// Mutes the group inside any of the route's mute time intervals.
pub struct TimeMute {
    intervals: Arc<HashMap<String, NamedTimeInterval>>,
}

impl TimeMute {
    /// A stage reading the config's named time intervals.
    pub fn new(intervals: Arc<HashMap<String, NamedTimeInterval>>) -> Self {
        TimeMute { intervals }
    }
}

impl Stage for TimeMute {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            let now = ctx.now();
            let muted = ctx
                .flush
                .mute_time_intervals
                .iter()
                .any(|n| self.intervals.get(n).is_some_and(|i| i.contains(now)));
            if muted {
                tracing::debug!(group = %ctx.flush.group_key, "notifications not sent: inside a mute time interval");
                Ok(Vec::new())
            } else {
                Ok(alerts)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::time_active::tests::intervals;
    use super::*;

    fn ctx_with(mute: &[&str]) -> NotifyContext {
        let mut ctx = ctx_at(0);
        let mut flush = (*ctx.flush).clone();
        flush.mute_time_intervals = mute.iter().map(|s| s.to_string()).collect();
        ctx.flush = Arc::new(flush);
        ctx
    }

    #[tokio::test]
    async fn mutes_inside_a_mute_interval() {
        let stage = TimeMute::new(intervals());
        let input = vec![alert("A", None)];
        assert_eq!(
            stage
                .exec(&mut ctx_with(&[]), input.clone())
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            stage
                .exec(&mut ctx_with(&["mondays"]), input.clone())
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            stage
                .exec(&mut ctx_with(&["mondays", "tuesdays"]), input)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
