//! Inhibition: drops alerts muted by an inhibition rule whose source alerts fire
//! ([`crate::inhibit::Inhibitor`]). Without an inhibitor it passes everything on.

use std::sync::{Arc, OnceLock};

use super::{Muter, NotifyContext, Stage, StageFuture, unmuted};
use crate::alert::Alert;

/// Where the pipeline puts the inhibitor once it exists; the stages of every config share it.
pub type MuterSlot = Arc<OnceLock<Arc<dyn Muter>>>;

/// Drops muted alerts; passes everything when there is no muter.
#[derive(Default)]
pub struct Inhibit {
    muter: MuterSlot,
}

impl Inhibit {
    /// A stage asking `muter`.
    pub fn new(muter: Option<Arc<dyn Muter>>) -> Self {
        let slot = OnceLock::new();
        if let Some(m) = muter {
            let _ = slot.set(m);
        }
        Inhibit {
            muter: Arc::new(slot),
        }
    }

    /// A stage asking whatever muter is in `slot` when it runs.
    pub fn shared(slot: MuterSlot) -> Self {
        Inhibit { muter: slot }
    }
}

impl Stage for Inhibit {
    fn exec<'a>(&'a self, ctx: &'a mut NotifyContext, alerts: Vec<Arc<Alert>>) -> StageFuture<'a> {
        let now = ctx.now();
        Box::pin(async move {
            let muter = self.muter.get().map(|m| &**m);
            Ok(unmuted(muter, now, alerts))
        })
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
