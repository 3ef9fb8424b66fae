//! Dedup: asks the notification log whether this integration already notified the
//! group's current state, with upstream's rules (`needsUpdate`):
//! - no entry: notify when something fires ("first notification");
//! - a firing alert not among the entry's firing alerts: notify ("new alerts added", or "first notification"
//!   when the entry had no firing alert);
//! - nothing fires: notify when the entry had firing alerts ("all alerts resolved");
//! - with `send_resolved`, a resolved alert not among the entry's resolved alerts: notify
//!   ("some alerts resolved");
//! - otherwise notify when the entry is older than the repeat interval.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{NotifyContext, NotifyReason, Stage, StageFuture, hash_alert};
use crate::alert::Alert;
use crate::nflog::{Entry, NotificationLog, ReceiverKey};

/// Drops the flush when the log shows it would repeat the last notification too early.
pub struct Dedup {
    nflog: Arc<NotificationLog>,
    receiver: ReceiverKey,
    send_resolved: bool,
}

impl Dedup {
    /// A stage for one integration.
    pub fn new(nflog: Arc<NotificationLog>, receiver: ReceiverKey, send_resolved: bool) -> Self {
        Dedup {
            nflog,
            receiver,
            send_resolved,
        }
    }
}

/// Upstream's decision whether to notify, and why.
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &HashSet<u64>,
    resolved: &HashSet<u64>,
    send_resolved: bool,
    repeat: Duration,
    now: Timestamp,
) -> NotifyReason {
    let Some(entry) = entry else {
        return if firing.is_empty() {
            NotifyReason::DoNotNotify
        } else {
            NotifyReason::FirstNotification
        };
    };
    if !entry.is_firing_subset(firing) {
        return if entry.firing_alerts.is_empty() {
            NotifyReason::FirstNotification
        } else {
            NotifyReason::NewAlertsInGroup
        };
    }
    if firing.is_empty() {
        return if entry.firing_alerts.is_empty() {
            NotifyReason::DoNotNotify
        } else {
            NotifyReason::AllAlertsResolved
        };
    }
    if send_resolved && !entry.is_resolved_subset(resolved) {
        return NotifyReason::NewResolvedAlerts;
    }
    let threshold = SignedDuration::try_from(repeat)
        .ok()
        .and_then(|r| now.checked_sub(r).ok())
        .unwrap_or(Timestamp::MIN);
    if entry.timestamp < threshold {
        NotifyReason::RepeatIntervalElapsed
    } else {
        NotifyReason::DoNotNotify
    }
}

impl Stage for Dedup {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            let mut firing = Vec::with_capacity(alerts.len());
            let mut resolved = Vec::new();
            for a in &alerts {
                if ctx.is_resolved(a) {
                    resolved.push(hash_alert(a));
                } else {
                    firing.push(hash_alert(a));
                }
            }
            let firing_set: HashSet<u64> = firing.iter().copied().collect();
            let resolved_set: HashSet<u64> = resolved.iter().copied().collect();
            let entry = self.nflog.query(&self.receiver, &ctx.flush.group_key);
            let reason = needs_update(
                entry.as_ref(),
                &firing_set,
                &resolved_set,
                self.send_resolved,
                ctx.flush.repeat_interval,
                ctx.now(),
            );
            ctx.firing = firing;
            ctx.resolved = resolved;
            ctx.reason = reason;
            if reason == NotifyReason::DoNotNotify {
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
    use super::*;
    use crate::clock::Clock;

    fn entry(firing: &[u64], resolved: &[u64], at: i64) -> Entry {
        Entry {
            group_key: "g".into(),
            receiver: ReceiverKey {
                group_name: "r".into(),
                integration: "webhook".into(),
                idx: 0,
            },
            timestamp: ts(at),
            firing_alerts: firing.to_vec(),
            resolved_alerts: resolved.to_vec(),
        }
    }

    fn set(v: &[u64]) -> HashSet<u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn needs_update_follows_upstream_rules() {
        let hour = Duration::from_secs(3600);
        let now = ts(0);
        use NotifyReason::*;
        type Case<'a> = (Option<Entry>, &'a [u64], &'a [u64], bool, NotifyReason);
        let cases: Vec<Case<'_>> = vec![
            (None, &[], &[], true, DoNotNotify),
            (None, &[1], &[], true, FirstNotification),
            (
                Some(entry(&[], &[1], -10)),
                &[1],
                &[],
                true,
                FirstNotification,
            ),
            (
                Some(entry(&[1], &[], -10)),
                &[1, 2],
                &[],
                true,
                NewAlertsInGroup,
            ),
            (
                Some(entry(&[1, 2], &[], -10)),
                &[1],
                &[2],
                true,
                NewResolvedAlerts,
            ),
            (
                Some(entry(&[1, 2], &[], -10)),
                &[1],
                &[2],
                false,
                DoNotNotify,
            ),
            (
                Some(entry(&[1], &[], -10)),
                &[],
                &[1],
                true,
                AllAlertsResolved,
            ),
            (
                Some(entry(&[1], &[], -10)),
                &[],
                &[1],
                false,
                AllAlertsResolved,
            ),
            (Some(entry(&[], &[1], -10)), &[], &[1], true, DoNotNotify),
            (Some(entry(&[1], &[], -10)), &[1], &[], true, DoNotNotify),
            (Some(entry(&[1], &[], -3600)), &[1], &[], true, DoNotNotify),
            (
                Some(entry(&[1], &[], -3601)),
                &[1],
                &[],
                true,
                RepeatIntervalElapsed,
            ),
        ];
        for (i, (e, firing, resolved, send_resolved, want)) in cases.into_iter().enumerate() {
            let got = needs_update(
                e.as_ref(),
                &set(firing),
                &set(resolved),
                send_resolved,
                hour,
                now,
            );
            assert_eq!(got, want, "case {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sets_hashes_and_reason_and_stops_duplicates() {
        let clock = Clock::starting_at(ts(0));
        let log = Arc::new(NotificationLog::new(Duration::from_secs(3600 * 120), clock));
        let recv = ReceiverKey {
            group_name: "team".into(),
            integration: "webhook".into(),
            idx: 0,
        };
        let stage = Dedup::new(log.clone(), recv.clone(), true);
        let mut ctx = ctx_at(0);
        let input = vec![alert("A", None), alert("B", Some(-1))];
        let out = stage.exec(&mut ctx, input.clone()).await.unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(ctx.reason, NotifyReason::FirstNotification);
        assert_eq!(ctx.firing, [hash_alert(&input[0])]);
        assert_eq!(ctx.resolved, [hash_alert(&input[1])]);
        log.log(
            &recv,
            "{}:{}",
            ctx.firing.clone(),
            ctx.resolved.clone(),
            Duration::ZERO,
        );
        let mut ctx = ctx_at(0);
        assert!(stage.exec(&mut ctx, input).await.unwrap().is_empty());
        assert_eq!(ctx.reason, NotifyReason::DoNotNotify);
    }
}
