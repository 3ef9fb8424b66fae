//! Set-notifies: records the successful notification in the notification log, with the
//! firing and resolved hashes the dedup stage computed, expiring after twice the repeat
//! interval (or the retention when shorter), like upstream.

use std::sync::Arc;

use super::{NotifyContext, Stage, StageFuture};
use crate::alert::Alert;
use crate::nflog::{NotificationLog, ReceiverKey};

/// Writes the notification log entry.
pub struct SetNotifies {
    nflog: Arc<NotificationLog>,
    receiver: ReceiverKey,
}

impl SetNotifies {
    /// A stage for one integration.
    pub fn new(nflog: Arc<NotificationLog>, receiver: ReceiverKey) -> Self {
        SetNotifies { nflog, receiver }
    }
}

impl Stage for SetNotifies {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            let expiry = ctx.flush.repeat_interval.saturating_mul(2);
            self.nflog.log(
                &self.receiver,
                &ctx.flush.group_key,
                ctx.firing.clone(),
                ctx.resolved.clone(),
                expiry,
            );
            Ok(alerts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::clock::Clock;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn records_hashes_with_twice_the_repeat_interval() {
        let clock = Clock::starting_at(ts(0));
        let log = Arc::new(NotificationLog::new(Duration::from_secs(3600 * 120), clock));
        let recv = ReceiverKey {
            group_name: "team".into(),
            integration: "webhook".into(),
            idx: 1,
        };
        let mut ctx = ctx_at(0);
        ctx.firing = vec![7];
        ctx.resolved = vec![8];
        SetNotifies::new(log.clone(), recv.clone())
            .exec(&mut ctx, vec![alert("A", None)])
            .await
            .unwrap();
        let all = log.entries();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].entry.firing_alerts, [7]);
        assert_eq!(all[0].entry.resolved_alerts, [8]);
        assert_eq!(all[0].entry.group_key, "{}:{}");
        // repeat_interval is 1h in the test context: kept 2h.
        assert_eq!(all[0].expires_at, ts(7200));
    }
}
