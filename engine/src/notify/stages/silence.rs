//! Silencing: drops alerts muted by an active silence, and records in the marker which
//! silences mute each alert (`silencedBy` in the API).

use std::sync::Arc;

use jiff::Timestamp;

use super::{Muter, NotifyContext, Stage, StageFuture, unmuted};
use crate::alert::marker::AlertMarker;
use crate::alert::{Alert, LabelSet};
use crate::silence::Silences;

/// The silences as a [`Muter`]: asks the index (cached per alert) and marks the alert.
pub struct Silencer {
    silences: Arc<Silences>,
    marker: Arc<AlertMarker>,
}

impl Silencer {
    /// A muter asking `silences` and recording the result in `marker`.
    pub fn new(silences: Arc<Silences>, marker: Arc<AlertMarker>) -> Self {
        Silencer { silences, marker }
    }
}

impl Muter for Silencer {
    fn mutes(&self, labels: &LabelSet, _now: Timestamp) -> bool {
        let fp = labels.fingerprint();
        let ids = self.silences.silenced_by_fingerprint(fp, labels);
        let muted = !ids.is_empty();
        // Skip the marker's write lock when nothing mutes the alert and nothing did.
        if muted || !self.marker.status(fp).silenced_by.is_empty() {
            self.marker
                .set_silenced(fp, ids.iter().map(|id| id.to_string()).collect());
        }
        muted
    }
}

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
    async fn silencer_mutes_and_marks() {
        use crate::alert::marker::AlertState;
        use crate::clock::Clock;
        use crate::config::matcher::MatchType;
        use crate::silence::{Silence as Sil, SilenceMatcher, SilencesOptions};
        let clock = Clock::starting_at(ts(0));
        let silences = Arc::new(Silences::in_memory(SilencesOptions::default(), clock));
        let id = silences
            .set(Sil::new(
                vec![SilenceMatcher::new("alertname", "B", MatchType::Equal)],
                ts(0),
                ts(3600),
            ))
            .unwrap();
        let marker = Arc::new(AlertMarker::default());
        let stage = Silence::new(Some(Arc::new(Silencer::new(silences, marker.clone()))));
        let mut ctx = ctx_at(0);
        let out = stage
            .exec(&mut ctx, vec![alert("A", None), alert("B", None)])
            .await
            .unwrap();
        assert_eq!(names(&out), ["A"]);
        let fp = LabelSet::from_pairs([("alertname", "B")]).fingerprint();
        let status = marker.status(fp);
        assert_eq!(status.state, AlertState::Suppressed);
        assert_eq!(status.silenced_by, [id]);
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
