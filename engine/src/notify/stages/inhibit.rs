//! Inhibition: drops alerts muted by an inhibition rule whose source alerts fire.
//! Without the inhibitor (until it exists) it passes everything on.

use std::sync::Arc;

use super::{Muter, NotifyContext, Stage, StageFuture, unmuted};
use crate::alert::Alert;

/// Drops muted alerts; passes everything when there is no muter.
#[derive(Default)]
pub struct Inhibit {
    muter: Option<Arc<dyn Muter>>,
}

impl Inhibit {
    /// A stage asking `muter`.
    pub fn new(muter: Option<Arc<dyn Muter>>) -> Self {
        Inhibit { muter }
    }
}

impl Stage for Inhibit {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        let now = ctx.now();
        Box::pin(async move { Ok(unmuted(self.muter.as_deref(), now, alerts)) })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::alert::LabelSet;
    use jiff::Timestamp;

    struct MuteB;
    impl Muter for MuteB {
        fn mutes(&self, labels: &LabelSet, _now: Timestamp) -> bool {
            labels.get("alertname") == Some("B")
        }
    }

    #[tokio::test]
    async fn drops_muted_alerts_only() {
        let mut ctx = ctx_at(0);
        let input = vec![alert("A", None), alert("B", None)];
        let out = Inhibit::default()
            .exec(&mut ctx, input.clone())
            .await
            .unwrap();
        assert_eq!(names(&out), ["A", "B"]);
        let out = Inhibit::new(Some(Arc::new(MuteB)))
            .exec(&mut ctx, input)
            .await
            .unwrap();
        assert_eq!(names(&out), ["A"]);
    }
}
