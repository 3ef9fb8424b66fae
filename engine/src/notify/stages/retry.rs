//! Retry: sends through the integration, retrying recoverable failures (5xx, network
//! errors) with exponential backoff until the flush deadline; other answers (4xx) fail at
//! once. A `Retry-After` from the receiver sets the earliest next attempt. Without
//! `send_resolved` resolved alerts are left out, and nothing is sent when none fires.
//!
//! Backoff as upstream's (cenkalti/backoff defaults): first attempt at once, then 500 ms
//! growing by 1.5, randomized by +-50%, at most 60 s apart.

use std::sync::Arc;
use std::time::Duration;

use super::{FailureReason, NotifyContext, Stage, StageError, StageFuture};
use crate::alert::Alert;
use crate::notify::integrations::Integration;
use crate::notify::metrics::{NotifyMetrics, failed_labels, labels};

/// Exponential backoff with jitter.
#[derive(Debug)]
pub struct Backoff {
    interval: Duration,
    state: u64,
}

impl Backoff {
    const INITIAL: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(60);

    /// A fresh backoff; `seed` feeds the jitter.
    pub fn new(seed: u64) -> Self {
        Backoff {
            interval: Self::INITIAL,
            state: seed | 1,
        }
    }

    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        // xorshift64 for the jitter: quality does not matter here.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let unit = (self.state >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let factor = 0.5 + unit; // [0.5, 1.5)
        let wait = self.interval.mul_f64(factor);
        self.interval = self.interval.mul_f64(1.5).min(Self::MAX);
        wait
    }
}

/// Sends with retries.
pub struct Retry {
    integration: Integration,
    metrics: NotifyMetrics,
}

impl Retry {
    /// A stage for one integration.
    pub fn new(integration: Integration, metrics: NotifyMetrics) -> Self {
        Retry {
            integration,
            metrics,
        }
    }

    async fn send(&self, ctx: &NotifyContext, alerts: &[Arc<Alert>]) -> Result<(), StageError> {
        let sent: Vec<Arc<Alert>>;
        let sent: &[Arc<Alert>] = if self.integration.send_resolved {
            alerts
        } else {
            if ctx.firing.is_empty() {
                return Ok(());
            }
            sent = alerts
                .iter()
                .filter(|a| !ctx.is_resolved(a))
                .cloned()
                .collect();
            &sent
        };
        let name = self.integration.name;
        let l = labels(name);
        let seed = ctx.flush.group_key.len() as u64
            ^ u64::from(self.integration.idx) << 32
            ^ ctx.now().as_nanosecond() as u64;
        let mut backoff = Backoff::new(seed);
        let deadline = ctx.flush.deadline;
        let mut attempts = 0u32;
        loop {
            let start = tokio::time::Instant::now();
            let result =
                tokio::time::timeout_at(deadline, self.integration.notifier.notify(ctx, sent))
                    .await;
            attempts += 1;
            self.metrics
                .notification_latency_seconds
                .get_or_create(&l)
                .observe(start.elapsed().as_secs_f64());
            self.metrics
                .notification_requests_total
                .get_or_create(&l)
                .inc();
            let err = match result {
                Ok(Ok(())) => {
                    tracing::debug!(receiver = %ctx.flush.receiver, integration = ?self.integration, attempts, alerts = sent.len(), "notify success");
                    return Ok(());
                }
                Ok(Err(e)) => e,
                Err(_) => {
                    self.metrics
                        .notification_requests_failed_total
                        .get_or_create(&l)
                        .inc();
                    return Err(StageError {
                        reason: FailureReason::ContextDeadlineExceeded,
                        message: format!(
                            "{}/{:?}: notify retry canceled after {attempts} attempts: flush deadline reached",
                            ctx.flush.receiver, self.integration
                        ),
                    });
                }
            };
            self.metrics
                .notification_requests_failed_total
                .get_or_create(&l)
                .inc();
            if !err.retry {
                return Err(StageError {
                    reason: err.reason,
                    message: format!(
                        "{}/{:?}: notify retry canceled due to unrecoverable error after {attempts} attempts: {}",
                        ctx.flush.receiver, self.integration, err.message
                    ),
                });
            }
            tracing::warn!(receiver = %ctx.flush.receiver, integration = ?self.integration, attempts, err = %err.message, "notify attempt failed, will retry later");
            let wait = backoff.next_wait().max(err.retry_after.unwrap_or_default());
            let next = tokio::time::Instant::now() + wait;
            if next >= deadline {
                tokio::time::sleep_until(deadline).await;
                return Err(StageError {
                    reason: err.reason,
                    message: format!(
                        "{}/{:?}: notify retry canceled after {attempts} attempts: {}",
                        ctx.flush.receiver, self.integration, err.message
                    ),
                });
            }
            tokio::time::sleep_until(next).await;
        }
    }
}

impl Stage for Retry {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            let name = self.integration.name;
            self.metrics
                .notifications_total
                .get_or_create(&labels(name))
                .inc();
            match self.send(ctx, &alerts).await {
                Ok(()) => Ok(alerts),
                Err(e) => {
                    self.metrics
                        .notifications_failed_total
                        .get_or_create(&failed_labels(name, e.reason))
                        .inc();
                    Err(e)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::notify::integrations::{Notifier, NotifyError, NotifyFuture};
    use std::sync::Mutex;

    /// Answers with the scripted results in turn and records what it was sent.
    struct Scripted {
        results: Mutex<Vec<Result<(), NotifyError>>>,
        calls: Mutex<Vec<(tokio::time::Instant, Vec<String>)>>,
    }

    impl Notifier for Scripted {
        fn notify<'a>(
            &'a self,
            _ctx: &'a NotifyContext,
            alerts: &'a [Arc<Alert>],
        ) -> NotifyFuture<'a> {
            self.calls
                .lock()
                .unwrap()
                .push((tokio::time::Instant::now(), names(alerts)));
            let r = {
                let mut results = self.results.lock().unwrap();
                if results.is_empty() {
                    Ok(())
                } else {
                    results.remove(0)
                }
            };
            Box::pin(async move { r })
        }
    }

    fn server_error(retry_after: Option<u64>) -> NotifyError {
        NotifyError {
            retry: true,
            reason: FailureReason::ServerError,
            retry_after: retry_after.map(Duration::from_secs),
            message: "unexpected status code 500".into(),
        }
    }

    fn stage(
        results: Vec<Result<(), NotifyError>>,
        send_resolved: bool,
    ) -> (Retry, Arc<Scripted>, NotifyMetrics) {
        let n = Arc::new(Scripted {
            results: Mutex::new(results),
            calls: Mutex::new(Vec::new()),
        });
        let metrics = NotifyMetrics::default();
        let integration = Integration {
            name: "webhook",
            idx: 0,
            send_resolved,
            notifier: n.clone(),
        };
        (Retry::new(integration, metrics.clone()), n, metrics)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_recoverable_errors_until_success() {
        let (s, n, m) = stage(vec![Err(server_error(None)), Err(server_error(None))], true);
        let mut ctx = ctx_at(0);
        ctx.firing = vec![1];
        s.exec(&mut ctx, vec![alert("A", None)]).await.unwrap();
        let calls = n.calls.lock().unwrap();
        assert_eq!(calls.len(), 3);
        let gap = calls[1].0 - calls[0].0;
        assert!(
            gap >= Duration::from_millis(250) && gap <= Duration::from_millis(750),
            "{gap:?}"
        );
        let l = labels("webhook");
        assert_eq!(m.notification_requests_total.get_or_create(&l).get(), 3);
        assert_eq!(
            m.notification_requests_failed_total.get_or_create(&l).get(),
            2
        );
        assert_eq!(m.notifications_total.get_or_create(&l).get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let e = NotifyError {
            retry: false,
            reason: FailureReason::ClientError,
            retry_after: None,
            message: "unexpected status code 400".into(),
        };
        let (s, n, m) = stage(vec![Err(e)], true);
        let mut ctx = ctx_at(0);
        ctx.firing = vec![1];
        let err = s.exec(&mut ctx, vec![alert("A", None)]).await.unwrap_err();
        assert_eq!(err.reason, FailureReason::ClientError);
        assert!(err.message.contains("unrecoverable"), "{}", err.message);
        assert_eq!(n.calls.lock().unwrap().len(), 1);
        assert_eq!(
            m.notifications_failed_total
                .get_or_create(&failed_labels("webhook", FailureReason::ClientError))
                .get(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_deadline_ends_retries() {
        let (s, n, _) = stage(
            vec![Err(server_error(Some(20))), Err(server_error(Some(100)))],
            true,
        );
        let mut ctx = ctx_at(0); // deadline 60 s ahead
        ctx.firing = vec![1];
        let start = tokio::time::Instant::now();
        let err = s.exec(&mut ctx, vec![alert("A", None)]).await.unwrap_err();
        assert_eq!(err.reason, FailureReason::ServerError);
        let calls = n.calls.lock().unwrap();
        assert_eq!(
            calls.len(),
            2,
            "the 100 s Retry-After goes past the deadline"
        );
        assert_eq!(calls[1].0 - calls[0].0, Duration::from_secs(20));
        assert_eq!(start.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn without_send_resolved_only_firing_alerts_go_out() {
        let (s, n, _) = stage(vec![], false);
        let mut ctx = ctx_at(0);
        ctx.firing = vec![1];
        let out = s
            .exec(&mut ctx, vec![alert("A", None), alert("B", Some(-1))])
            .await
            .unwrap();
        assert_eq!(out.len(), 2, "the stage passes all alerts on (for the log)");
        assert_eq!(n.calls.lock().unwrap()[0].1, ["A"]);
        // Nothing firing: nothing sent, and no error.
        let mut ctx = ctx_at(0);
        s.exec(&mut ctx, vec![alert("B", Some(-1))]).await.unwrap();
        assert_eq!(n.calls.lock().unwrap().len(), 1);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut b = Backoff::new(42);
        let waits: Vec<Duration> = (0..30).map(|_| b.next_wait()).collect();
        assert!(waits[0] >= Duration::from_millis(250) && waits[0] < Duration::from_millis(750));
        assert!(waits.iter().all(|w| *w < Duration::from_secs(90)));
        assert!(waits[29] >= Duration::from_secs(30));
    }
}
