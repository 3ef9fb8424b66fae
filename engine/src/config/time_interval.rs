//! Named time intervals (`time_intervals`, and the deprecated `mute_time_intervals`).
//! STUB: to be completed.

use serde::{Deserialize, Serialize};

/// A named list of time interval specs, as in the top-level `time_intervals` list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    /// The name routes refer to.
    pub name: String,
    /// The periods; the interval is active when any of them contains the time.
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

/// One period spec: times of day, weekdays, days of month, months, years, location.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {}
