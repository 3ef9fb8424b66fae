//! Named time intervals (`time_intervals`, and the deprecated `mute_time_intervals`).
//!
//! A [`TimeIntervalSpec`] restricts time by times of day, weekdays, days of the month,
//! months, years, evaluated in a location (UTC unless set). Every field that is present
//! must match; a field that is absent matches everything. Parsing follows Alertmanager:
//! names are case-insensitive, ranges are written `begin:end`, negative days of the month
//! count from the month's end, and `times` end exclusively (`24:00` is the end of the day).

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A named list of time interval specs, as in the top-level `time_intervals` list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    /// The name routes refer to (null reads as empty, reported as missing by the caller).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The periods; the interval is active when any of them contains the time.
    /// A null entry is a spec with no fields, as upstream reads it.
    #[serde(default, deserialize_with = "specs")]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

impl NamedTimeInterval {
    /// Whether any of the specs contains `t` (none do when the list is empty).
    pub fn contains(&self, t: Timestamp) -> bool {
        self.time_intervals.iter().any(|spec| spec.contains(t))
    }
}

/// One period spec: times of day, weekdays, days of month, months, years, location.
///
/// A field left out (`None`) matches every time; a field given as an empty list matches
/// no time, as upstream does. Null list entries read as upstream's zero values: Sunday in
/// `weekdays`, year 0 in `years`, and nothing (dropped) in `times`, `days_of_month` and
/// `months`, where the zero value can never match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {
    /// Times of the day (start inclusive, end exclusive).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "items"
    )]
    pub times: Option<Vec<TimeRange>>,
    /// Days of the week.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "items"
    )]
    pub weekdays: Option<Vec<WeekdayRange>>,
    /// Days of the month; negative values count from the end of the month.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "items"
    )]
    pub days_of_month: Option<Vec<DayOfMonthRange>>,
    /// Months of the year (1 = January).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "items"
    )]
    pub months: Option<Vec<MonthRange>>,
    /// Years.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "items"
    )]
    pub years: Option<Vec<YearRange>>,
    /// The time zone the other fields are evaluated in; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl TimeIntervalSpec {
    /// Whether `t`, seen in the spec's location, matches every field that is set.
    pub fn contains(&self, t: Timestamp) -> bool {
        let dt = match &self.location {
            Some(location) => location.time_zone().to_datetime(t),
            None => TimeZone::UTC.to_datetime(t),
        };
        let minute = i64::from(dt.hour()) * 60 + i64::from(dt.minute());
        let day = i64::from(dt.day());
        // Calendar length of the month: unaffected by daylight-saving changes.
        let days_in_month = i64::from(dt.date().days_in_month());
        let month = i64::from(dt.month());
        let weekday = i64::from(dt.weekday().to_sunday_zero_offset());
        let year = i64::from(dt.year());

        fn any_of<T>(list: &Option<Vec<T>>, f: impl Fn(&T) -> bool) -> bool {
            list.as_ref().is_none_or(|items| items.iter().any(f))
        }

        any_of(&self.times, |r| {
            minute >= i64::from(r.start_minute) && minute < i64::from(r.end_minute)
        }) && any_of(&self.days_of_month, |r| r.contains_day(day, days_in_month))
            && any_of(&self.months, |r| month >= r.begin && month <= r.end)
            && any_of(&self.weekdays, |r| {
                weekday >= i64::from(r.begin) && weekday <= i64::from(r.end)
            })
            && any_of(&self.years, |r| year >= r.begin && year <= r.end)
    }
}

/// Null as the type's default, as Go reads null into a plain value.
fn null_as_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn specs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<TimeIntervalSpec>, D::Error> {
    let list: Option<Vec<Option<TimeIntervalSpec>>> = Option::deserialize(deserializer)?;
    Ok(list
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

/// What a null list entry stands for: upstream's zero value, or `None` when that value
/// never matches (so dropping it changes nothing).
trait NullItem: Sized {
    fn from_null() -> Option<Self>;
}

fn items<'de, D: Deserializer<'de>, T: Deserialize<'de> + NullItem>(
    deserializer: D,
) -> Result<Option<Vec<T>>, D::Error> {
    let list: Option<Vec<Option<T>>> = Option::deserialize(deserializer)?;
    Ok(list.map(|items| {
        items
            .into_iter()
            .filter_map(|item| item.or_else(T::from_null))
            .collect()
    }))
}

impl NullItem for TimeRange {
    fn from_null() -> Option<Self> {
        None
    }
}

impl NullItem for WeekdayRange {
    fn from_null() -> Option<Self> {
        Some(WeekdayRange { begin: 0, end: 0 })
    }
}

impl NullItem for DayOfMonthRange {
    fn from_null() -> Option<Self> {
        None
    }
}

impl NullItem for MonthRange {
    fn from_null() -> Option<Self> {
        None
    }
}

impl NullItem for YearRange {
    fn from_null() -> Option<Self> {
        Some(YearRange { begin: 0, end: 0 })
    }
}

// ---------------------------------------------------------------------------------------
// Times of the day.

/// A range of minutes in the day, `start_minute` inclusive, `end_minute` exclusive
/// (0 to 1440; written `HH:MM`, `24:00` being the end of the day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// First minute of the day in the range.
    pub start_minute: u16,
    /// First minute of the day after the range.
    pub end_minute: u16,
}

/// `HH:MM` as upstream writes it.
fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Parses `HH:MM` (`00:00` to `23:59`, or `24:00`) into minutes of the day.
fn parse_clock(s: &str) -> Result<u16, String> {
    let invalid = || format!("couldn't parse timestamp {s}, invalid format");
    if s == "24:00" {
        return Ok(24 * 60);
    }
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let hours = u16::from(b[0] - b'0') * 10 + u16::from(b[1] - b'0');
    let minutes = u16::from(b[3] - b'0') * 10 + u16::from(b[4] - b'0');
    if hours > 23 || minutes > 59 {
        return Err(invalid());
    }
    Ok(hours * 60 + minutes)
}

/// One of `start_time`/`end_time`: `None` when empty or null (reported as missing).
#[derive(Default)]
struct ClockField(Option<u16>);

impl<'de> Deserialize<'de> for ClockField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = scalar_text(deserializer)?;
        if text.is_empty() {
            return Ok(ClockField(None));
        }
        parse_clock(&text)
            .map(|m| ClockField(Some(m)))
            .map_err(D::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    #[serde(default)]
    start_time: ClockField,
    #[serde(default)]
    end_time: ClockField,
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawTimeRange::deserialize(deserializer)?;
        let (Some(start), Some(end)) = (raw.start_time.0, raw.end_time.0) else {
            return Err(D::Error::custom(
                "both start and end times must be provided",
            ));
        };
        if start >= end {
            return Err(D::Error::custom(
                "start time cannot be equal or greater than end time",
            ));
        }
        Ok(TimeRange {
            start_minute: start,
            end_minute: end,
        })
    }
}

impl Serialize for TimeRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("start_time", &format_clock(self.start_minute))?;
        map.serialize_entry("end_time", &format_clock(self.end_minute))?;
        map.end()
    }
}

// ---------------------------------------------------------------------------------------
// Ranges written `begin:end` or as a single value.

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Text of a scalar as written (numbers included), null being the empty string, as
/// upstream reads these fields into Go strings.
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// Integer parsing with Go's `strconv.Atoi` rules and messages.
fn atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

/// Splits a lowercased `begin:end` or single value, mapping each member with `member`.
fn parse_range(
    input: &str,
    member: impl Fn(&str) -> Result<i64, String>,
) -> Result<(i64, i64), String> {
    let input = input.to_lowercase();
    if input.contains(':') {
        let parts: Vec<&str> = input.split(':').collect();
        let [begin, end] = parts.as_slice() else {
            return Err(format!("couldn't parse range {input}, invalid format"));
        };
        Ok((member(begin)?, member(end)?))
    } else {
        let value = member(&input)?;
        Ok((value, value))
    }
}

/// `begin:end`, or `begin` alone when both are equal.
fn format_range<T: fmt::Display + PartialEq>(begin: T, end: T) -> String {
    if begin == end {
        begin.to_string()
    } else {
        format!("{begin}:{end}")
    }
}

/// An inclusive range of weekdays, 0 = Sunday to 6 = Saturday (`monday:friday`, `sunday`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeekdayRange {
    /// First day (0 = Sunday).
    pub begin: u8,
    /// Last day, inclusive.
    pub end: u8,
}

impl WeekdayRange {
    /// Parses a weekday name or a range of names, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (begin, end) = parse_range(s, |name| {
            WEEKDAYS
                .iter()
                .position(|d| *d == name)
                .map(|i| i as i64)
                .ok_or_else(|| format!("{name} is not a valid weekday"))
        })?;
        if begin > end {
            return Err("start day cannot be before end day".to_string());
        }
        // Names only map to 0..=6, so both ends fit.
        Ok(WeekdayRange {
            begin: begin as u8,
            end: end as u8,
        })
    }
}

impl fmt::Display for WeekdayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |d: u8| WEEKDAYS.get(usize::from(d)).copied().unwrap_or("?");
        f.write_str(&format_range(name(self.begin), name(self.end)))
    }
}

/// An inclusive range of days of the month, 1 to 31 or -31 (31st-last) to -1 (last day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayOfMonthRange {
    /// First day; negative counts from the end of the month.
    pub begin: i64,
    /// Last day, inclusive; negative counts from the end of the month.
    pub end: i64,
}

impl DayOfMonthRange {
    /// Parses `N`, `N:M` with days in 1..=31 or -31..=-1.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (begin, end) = parse_range(s, atoi)?;
        for day in [begin, end] {
            if day == 0 || !(-31..=31).contains(&day) {
                return Err(format!(
                    "{day} is not a valid day of the month: out of range"
                ));
            }
        }
        if begin < 0 && end > 0 {
            return Err("end day must be negative if start day is negative".to_string());
        }
        // Compare as if the month had 28 days: catches ranges that are empty in every month.
        let as_in_short_month = |d: i64| if d < 0 { 28 + d } else { d };
        if as_in_short_month(begin) > as_in_short_month(end) {
            return Err(format!("end day {end} is always before start day {begin}"));
        }
        Ok(DayOfMonthRange { begin, end })
    }

    /// Whether `day` is in the range in a month of `days_in_month` days, resolving
    /// negative days and clamping to the month the way upstream does.
    fn contains_day(&self, day: i64, days_in_month: i64) -> bool {
        let resolve = |d: i64| if d < 0 { days_in_month + d + 1 } else { d };
        let begin = resolve(self.begin);
        if begin > days_in_month {
            return false;
        }
        let begin = begin.clamp(-days_in_month, days_in_month);
        let end = resolve(self.end).clamp(-days_in_month, days_in_month);
        day >= begin && day <= end
    }
}

impl fmt::Display for DayOfMonthRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_range(self.begin, self.end))
    }
}

/// An inclusive range of months, 1 = January (`january:march`, `4`, `may`).
///
/// Like upstream, numbers outside 1..=12 are accepted (they never match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthRange {
    /// First month.
    pub begin: i64,
    /// Last month, inclusive.
    pub end: i64,
}

impl MonthRange {
    /// Parses month names (case-insensitive) or numbers, alone or as a range.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (begin, end) = parse_range(s, |m| match MONTHS.iter().position(|n| *n == m) {
            Some(i) => Ok(i as i64 + 1),
            None => atoi(m).map_err(|_| format!("{m} is not a valid month")),
        })?;
        if begin > end {
            let name = |m: i64| {
                usize::try_from(m - 1)
                    .ok()
                    .and_then(|i| MONTHS.get(i))
                    .copied()
                    .unwrap_or("")
            };
            return Err(format!(
                "end month {} is before start month {}",
                name(end),
                name(begin)
            ));
        }
        Ok(MonthRange { begin, end })
    }
}

impl fmt::Display for MonthRange {
    /// Numbers, as upstream writes months back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_range(self.begin, self.end))
    }
}

/// An inclusive range of years (`2024`, `2020:2025`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YearRange {
    /// First year.
    pub begin: i64,
    /// Last year, inclusive.
    pub end: i64,
}

impl YearRange {
    /// Parses a year or a range of years.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (begin, end) = parse_range(s, atoi)?;
        if begin > end {
            return Err(format!("end year {end} is before start year {begin}"));
        }
        Ok(YearRange { begin, end })
    }
}

impl fmt::Display for YearRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_range(self.begin, self.end))
    }
}

macro_rules! text_serde {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = scalar_text(deserializer)?;
                <$t>::parse(&text).map_err(D::Error::custom)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    )*};
}

text_serde!(
    WeekdayRange,
    DayOfMonthRange,
    MonthRange,
    YearRange,
    Location
);

// ---------------------------------------------------------------------------------------
// Location.

/// A time zone named as in Go's `time.LoadLocation`: `UTC` (or empty), `Local` (the
/// system's zone), or an IANA name such as `Europe/Berlin` (case-sensitive).
#[derive(Clone, Debug)]
pub struct Location {
    name: String,
    tz: TimeZone,
}

impl Location {
    /// Loads the named zone from the bundled time zone database.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "" | "UTC" => {
                return Ok(Location {
                    name: "UTC".to_string(),
                    tz: TimeZone::UTC,
                });
            }
            "Local" => {
                return Ok(Location {
                    name: "Local".to_string(),
                    tz: TimeZone::system(),
                });
            }
            _ => {}
        }
        if name.contains("..") || name.starts_with(['/', '\\']) {
            return Err("time: invalid location name".to_string());
        }
        // Debian's zoneinfo also holds every zone under `posix/`, which Go loads.
        let lookup = name.strip_prefix("posix/").unwrap_or(name);
        // The database matches names ignoring case; Go's loader (on Linux) does not.
        match TimeZone::get(lookup) {
            Ok(tz) if tz.iana_name() == Some(lookup) => Ok(Location {
                name: name.to_string(),
                tz,
            }),
            _ => Err(format!("unknown time zone {name}")),
        }
    }

    /// The name as configured (`UTC` for an empty name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The loaded time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
}

impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests;
