//! Wall-clock time that follows tokio's clock, so tests that pause and advance tokio's
//! time (`#[tokio::test(start_paused = true)]`) also control alert timestamps.

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

/// A wall clock anchored to tokio's monotonic clock at creation.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    wall_at_anchor: Timestamp,
    anchor: Instant,
}

impl Clock {
    /// A clock reading the system time now and following tokio's clock from here.
    pub fn system() -> Self {
        Clock {
            wall_at_anchor: Timestamp::now(),
            anchor: Instant::now(),
        }
    }

    /// A clock that reads `start` now (for tests).
    pub fn starting_at(start: Timestamp) -> Self {
        Clock {
            wall_at_anchor: start,
            anchor: Instant::now(),
        }
    }

    /// The current wall-clock time.
    pub fn now(&self) -> Timestamp {
        let elapsed = Instant::now().saturating_duration_since(self.anchor);
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.wall_at_anchor
            .saturating_add(elapsed)
            .unwrap_or(self.wall_at_anchor)
    }

    /// The tokio instant corresponding to a wall-clock time (clamped to the anchor).
    pub fn instant_at(&self, t: Timestamp) -> Instant {
        let offset = t.duration_since(self.wall_at_anchor);
        match std::time::Duration::try_from(offset) {
            Ok(d) => self.anchor + d,
            Err(_) => self.anchor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_tokio_time() {
        let start = Timestamp::from_second(1_700_000_000).unwrap();
        let clock = Clock::starting_at(start);
        tokio::time::advance(std::time::Duration::from_secs(90)).await;
        assert_eq!(clock.now(), Timestamp::from_second(1_700_000_090).unwrap());
        assert_eq!(clock.instant_at(clock.now()), Instant::now());
    }
}
