//! Silencing: drops alerts muted by an active silence.
//! Without the silencer (until it exists) it passes everything on.

use std::sync::Arc;

use super::{Muter, NotifyContext, Stage, StageFuture, unmuted};
use crate::alert::Alert;

/// Drops muted alerts; passes everything when there is no muter.
#[derive(Default)]
pub struct Silence {
    muter: Option<Arc<dyn Muter>>,
}

impl Silence {
    /// A stage asking `muter`.
    pub fn new(muter: Option<Arc<dyn Muter>>) -> Self {
        Silence { muter }
    }
}

impl Stage for Silence {
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
        let out = Silence::default()
            .exec(&mut ctx, input.clone())
            .await
            .unwrap();
        assert_eq!(names(&out), ["A", "B"]);
        let out = Silence::new(Some(Arc::new(MuteB)))
            .exec(&mut ctx, input)
            .await
            .unwrap();
        assert_eq!(names(&out), ["A"]);
    }
}
