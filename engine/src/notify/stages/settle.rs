//! Gossip settle: waits until the cluster has settled before the first notifications.
//! Without a cluster it passes everything on.

use std::sync::Arc;

use super::{NotifyContext, Stage, StageFuture};
use crate::alert::Alert;

/// Waits for the cluster to settle (pass-through without a cluster).
#[derive(Default)]
pub struct GossipSettle {}

impl Stage for GossipSettle {
    fn exec<'a>(&'a self, _ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        Box::pin(async move { Ok(alerts) })
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
}
