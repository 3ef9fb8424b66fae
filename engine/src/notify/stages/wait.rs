//! Wait: in a cluster, a replica waits `position x peer_timeout` before notifying so the
//! first replica's notification log entry can reach it. Position 0 (no cluster) waits not.

use std::sync::Arc;
use std::time::Duration;

use super::{FailureReason, NotifyContext, Stage, StageError, StageFuture};
use crate::alert::Alert;

/// How long to wait (computed at each flush: the position may change).
pub type WaitFn = Arc<dyn Fn() -> Duration + Send + Sync>;

/// Waits before the integration's dedup check.
pub struct Wait {
    wait: WaitFn,
}

impl Wait {
    /// A stage waiting `wait()`.
    pub fn new(wait: WaitFn) -> Self {
        Wait { wait }
    }

    /// No wait (position 0, no cluster).
    pub fn none() -> Self {
        Wait::new(Arc::new(|| Duration::ZERO))
    }
}

impl Stage for Wait {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            let wait = (self.wait)();
            if wait.is_zero() {
                return Ok(alerts);
            }
            let until = tokio::time::Instant::now() + wait;
            if until > ctx.flush.deadline {
                tokio::time::sleep_until(ctx.flush.deadline).await;
                return Err(StageError {
                    reason: FailureReason::ContextDeadlineExceeded,
                    message: "flush deadline reached while waiting for peers".into(),
                });
            }
            tokio::time::sleep_until(until).await;
            Ok(alerts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_its_position() {
        let mut ctx = ctx_at(0);
        let start = tokio::time::Instant::now();
        let out = Wait::none()
            .exec(&mut ctx, vec![alert("A", None)])
            .await
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
        let stage = Wait::new(Arc::new(|| Duration::from_secs(15)));
        stage.exec(&mut ctx, vec![alert("A", None)]).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }
}
