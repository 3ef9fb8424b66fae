//! Gossip settle: waits until the cluster has settled (caught up with a peer, or the
//! settle timeout passed) before the first notifications. Without a cluster it passes
//! everything on.

use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

use super::{NotifyContext, Stage, StageFuture};
use crate::alert::Alert;

/// Where the cluster's "settled" signal is set once the cluster starts.
pub type SettleSlot = Arc<OnceLock<watch::Receiver<bool>>>;

/// Waits for the cluster to settle (pass-through without a cluster).
#[derive(Default)]
pub struct GossipSettle {
    settled: SettleSlot,
}

impl GossipSettle {
    /// A stage waiting for the signal in `settled`, once one is set.
    pub fn new(settled: SettleSlot) -> Self {
        GossipSettle { settled }
    }
}

impl Stage for GossipSettle {
    fn exec<'a>(&'a self, _ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move {
            if let Some(settled) = self.settled.get() {
                let mut settled = settled.clone();
                // A dropped sender (shutdown) lets notifications through.
                let _ = settled.wait_for(|s| *s).await;
            }
            Ok(alerts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[tokio::test]
    async fn passes_everything_without_a_cluster() {
        let mut ctx = ctx_at(0);
        let out = GossipSettle::default()
            .exec(&mut ctx, vec![alert("A", None)])
            .await
            .unwrap();
        assert_eq!(names(&out), ["A"]);
    }

    #[tokio::test(start_paused = true)]
    async fn holds_until_the_cluster_settles() {
        let slot = SettleSlot::default();
        let (tx, rx) = watch::channel(false);
        slot.set(rx).unwrap();
        let stage = Arc::new(GossipSettle::new(slot));
        let task = tokio::spawn({
            let stage = stage.clone();
            async move {
                let mut ctx = ctx_at(0);
                stage
                    .exec(&mut ctx, vec![alert("A", None)])
                    .await
                    .unwrap()
                    .len()
            }
        });
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        assert!(!task.is_finished(), "held while settling");
        tx.send(true).unwrap();
        assert_eq!(task.await.unwrap(), 1);
    }
}
