#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use jiff::Timestamp;
use jiff::civil::{DateTime, date};

use super::*;
use crate::config::{Config, ParseOptions, deserialize_yaml};

fn spec(yaml: &str) -> TimeIntervalSpec {
    match deserialize_yaml::<TimeIntervalSpec>(yaml) {
        Ok(s) => s,
        Err(e) => panic!("{yaml}: {e}"),
    }
}

fn spec_err(yaml: &str) -> String {
    match deserialize_yaml::<TimeIntervalSpec>(yaml) {
        Ok(s) => panic!("{yaml}: accepted as {s:?}"),
        Err(e) => e.path_and_message(),
    }
}

/// The instant of a wall-clock time in a zone (earlier one when ambiguous).
fn at(zone: &str, dt: DateTime) -> Timestamp {
    dt.in_tz(zone).unwrap().timestamp()
}

fn utc(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn parses_every_field() {
    let s = spec(
        "times:\n- start_time: '09:00'\n  end_time: '24:00'\n\
         weekdays: [Monday:FRIDAY, sunday]\n\
         days_of_month: ['1:5', -3, '-7:-1', 15]\n\
         months: [january:march, 7, '10:december', May]\n\
         years: ['2020:2025', 2030]\n\
         location: Europe/Berlin\n",
    );
    assert_eq!(
        s.times,
        Some(vec![TimeRange {
            start_minute: 540,
            end_minute: 1440
        }])
    );
    assert_eq!(
        s.weekdays,
        Some(vec![
            WeekdayRange { begin: 1, end: 5 },
            WeekdayRange { begin: 0, end: 0 }
        ])
    );
    assert_eq!(
        s.days_of_month,
        Some(vec![
            DayOfMonthRange { begin: 1, end: 5 },
            DayOfMonthRange { begin: -3, end: -3 },
            DayOfMonthRange { begin: -7, end: -1 },
            DayOfMonthRange { begin: 15, end: 15 },
        ])
    );
    assert_eq!(
        s.months,
        Some(vec![
            MonthRange { begin: 1, end: 3 },
            MonthRange { begin: 7, end: 7 },
            MonthRange { begin: 10, end: 12 },
            MonthRange { begin: 5, end: 5 },
        ])
    );
    assert_eq!(
        s.years,
        Some(vec![
            YearRange {
                begin: 2020,
                end: 2025
            },
            YearRange {
                begin: 2030,
                end: 2030
            }
        ])
    );
    assert_eq!(
        s.location.as_ref().map(Location::name),
        Some("Europe/Berlin")
    );
}

#[test]
fn absent_fields_stay_absent_and_empty_lists_stay_empty() {
    assert_eq!(spec("{}"), TimeIntervalSpec::default());
    let s = spec("times: []\nweekdays: ~\n");
    assert_eq!(s.times, Some(vec![]));
    assert_eq!(s.weekdays, None);
}

#[test]
fn locations_follow_go_load_location() {
    assert_eq!(spec("location: UTC").location.unwrap().name(), "UTC");
    assert_eq!(spec("location: ''").location.unwrap().name(), "UTC");
    assert_eq!(spec("location: Local").location.unwrap().name(), "Local");
    assert_eq!(
        spec("location: America/New_York").location.unwrap().name(),
        "America/New_York"
    );
    assert_eq!(
        spec("location: Etc/UTC").location.unwrap().name(),
        "Etc/UTC"
    );
    assert_eq!(
        spec("location: US/Eastern").location.unwrap().name(),
        "US/Eastern"
    );
    let posix = spec("location: posix/Europe/Berlin").location.unwrap();
    assert_eq!(posix.name(), "posix/Europe/Berlin");
    assert_eq!(posix.time_zone().iana_name(), Some("Europe/Berlin"));
}

#[test]
fn every_parse_error_names_its_path_and_reason() {
    let cases: &[(&str, &str)] = &[
        // times
        (
            "times: [{start_time: '09:00'}]",
            "times[0]: both start and end times must be provided",
        ),
        (
            "times: [{end_time: '09:00'}]",
            "times[0]: both start and end times must be provided",
        ),
        (
            "times: [{start_time: '', end_time: '10:00'}]",
            "times[0]: both start and end times must be provided",
        ),
        (
            "times: [{start_time: ~, end_time: '10:00'}]",
            "times[0]: both start and end times must be provided",
        ),
        (
            "times: [{start_time: '9:00', end_time: '10:00'}]",
            "times[0].start_time: couldn't parse timestamp 9:00, invalid format",
        ),
        (
            "times: [{start_time: '00:00', end_time: '01:00'}, {start_time: '09:00', end_time: '24:01'}]",
            "times[1].end_time: couldn't parse timestamp 24:01, invalid format",
        ),
        (
            "times: [{start_time: '09:00', end_time: '25:00'}]",
            "times[0].end_time: couldn't parse timestamp 25:00, invalid format",
        ),
        (
            "times: [{start_time: '09:60', end_time: '10:00'}]",
            "times[0].start_time: couldn't parse timestamp 09:60, invalid format",
        ),
        (
            "times: [{start_time: ' 09:00', end_time: '10:00'}]",
            "times[0].start_time: couldn't parse timestamp  09:00, invalid format",
        ),
        (
            "times: [{start_time: '09:00', end_time: '9am'}]",
            "times[0].end_time: couldn't parse timestamp 9am, invalid format",
        ),
        (
            "times: [{start_time: '10:00', end_time: '10:00'}]",
            "times[0]: start time cannot be equal or greater than end time",
        ),
        (
            "times: [{start_time: '11:00', end_time: '10:00'}]",
            "times[0]: start time cannot be equal or greater than end time",
        ),
        // weekdays
        (
            "weekdays: [monday, funday]",
            "weekdays[1]: funday is not a valid weekday",
        ),
        ("weekdays: [Mon]", "weekdays[0]: mon is not a valid weekday"),
        ("weekdays: ['1']", "weekdays[0]: 1 is not a valid weekday"),
        (
            "weekdays: [friday:monday]",
            "weekdays[0]: start day cannot be before end day",
        ),
        (
            "weekdays: [saturday:sunday]",
            "weekdays[0]: start day cannot be before end day",
        ),
        (
            "weekdays: ['monday:tuesday:friday']",
            "weekdays[0]: couldn't parse range monday:tuesday:friday, invalid format",
        ),
        (
            "weekdays: ['Monday:']",
            "weekdays[0]:  is not a valid weekday",
        ),
        // days of month
        (
            "days_of_month: [0]",
            "days_of_month[0]: 0 is not a valid day of the month: out of range",
        ),
        (
            "days_of_month: [1, 32]",
            "days_of_month[1]: 32 is not a valid day of the month: out of range",
        ),
        (
            "days_of_month: ['-32:-1']",
            "days_of_month[0]: -32 is not a valid day of the month: out of range",
        ),
        (
            "days_of_month: ['1:0']",
            "days_of_month[0]: 0 is not a valid day of the month: out of range",
        ),
        (
            "days_of_month: ['-5:3']",
            "days_of_month[0]: end day must be negative if start day is negative",
        ),
        (
            "days_of_month: ['10:5']",
            "days_of_month[0]: end day 5 is always before start day 10",
        ),
        (
            "days_of_month: ['-1:-5']",
            "days_of_month[0]: end day -5 is always before start day -1",
        ),
        (
            "days_of_month: ['28:-1']",
            "days_of_month[0]: end day -1 is always before start day 28",
        ),
        (
            "days_of_month: [first]",
            "days_of_month[0]: strconv.Atoi: parsing \"first\": invalid syntax",
        ),
        (
            "days_of_month: ['1:']",
            "days_of_month[0]: strconv.Atoi: parsing \"\": invalid syntax",
        ),
        (
            "days_of_month: [1.5]",
            "days_of_month[0]: strconv.Atoi: parsing \"1.5\": invalid syntax",
        ),
        (
            "days_of_month: ['99999999999999999999']",
            "days_of_month[0]: strconv.Atoi: parsing \"99999999999999999999\": value out of range",
        ),
        (
            "days_of_month: ['1:2:3']",
            "days_of_month[0]: couldn't parse range 1:2:3, invalid format",
        ),
        // months
        (
            "months: [march, smarch]",
            "months[1]: smarch is not a valid month",
        ),
        (
            "months: [december:january]",
            "months[0]: end month january is before start month december",
        ),
        (
            "months: ['12:1']",
            "months[0]: end month january is before start month december",
        ),
        // (upstream's message ends in a space, which the config layer trims)
        (
            "months: ['14:13']",
            "months[0]: end month  is before start month",
        ),
        (
            "months: ['a:b:c']",
            "months[0]: couldn't parse range a:b:c, invalid format",
        ),
        // years
        (
            "years: ['2025:2020']",
            "years[0]: end year 2020 is before start year 2025",
        ),
        (
            "years: [twenty]",
            "years[0]: strconv.Atoi: parsing \"twenty\": invalid syntax",
        ),
        // location
        (
            "location: Mars/Olympus_Mons",
            "location: unknown time zone Mars/Olympus_Mons",
        ),
        (
            "location: europe/berlin",
            "location: unknown time zone europe/berlin",
        ),
        ("location: utc", "location: unknown time zone utc"),
        (
            "location: Etc/Unknown",
            "location: unknown time zone Etc/Unknown",
        ),
        (
            "location: posix/europe/berlin",
            "location: unknown time zone posix/europe/berlin",
        ),
        ("location: 5", "location: unknown time zone 5"),
        (
            "location: ../etc/passwd",
            "location: time: invalid location name",
        ),
        (
            "location: /etc/localtime",
            "location: time: invalid location name",
        ),
    ];
    for (yaml, expected) in cases {
        assert_eq!(spec_err(yaml), *expected, "{yaml}");
    }
}

#[test]
fn shapes_and_unknown_fields_are_rejected() {
    for (yaml, path) in [
        ("weekdays: monday", "weekdays"),
        ("weekday: [monday]", "weekday"),
        (
            "times: [{start_time: '09:00', end_time: '10:00', end: '11:00'}]",
            "times[0].end",
        ),
        ("times: {start_time: '09:00', end_time: '10:00'}", "times"),
        ("location: [UTC]", "location"),
    ] {
        let err = deserialize_yaml::<TimeIntervalSpec>(yaml).unwrap_err();
        assert_eq!(err.path, path, "{yaml}: {err}");
    }
}

#[test]
fn whole_named_interval_paths() {
    let err = deserialize_yaml::<Vec<NamedTimeInterval>>(
        "- name: office\n  time_intervals:\n  - weekdays: [monday:friday]\n  - times:\n    - start_time: '08:00'\n      end_time: '8:30'\n",
    )
    .unwrap_err();
    assert_eq!(
        err.path_and_message(),
        "[0].time_intervals[1].times[0].end_time: couldn't parse timestamp 8:30, invalid format"
    );
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Shown {
    times: Vec<std::collections::BTreeMap<String, String>>,
    weekdays: Vec<String>,
    days_of_month: Vec<String>,
    months: Vec<String>,
    years: Vec<String>,
    location: String,
}

#[test]
fn serializes_like_upstream_and_round_trips() {
    let yaml = "times:\n- start_time: '09:05'\n  end_time: '24:00'\n\
                weekdays: [Monday:FRIDAY, sunday, 'saturday:saturday']\n\
                days_of_month: ['1:5', -3, '-7:-1']\n\
                months: [january:march, '7', May, '10:12']\n\
                years: ['2020:2025', 2030]\n\
                location: America/New_York\n";
    let parsed = spec(yaml);
    let text = serde_saphyr::to_string(&parsed).unwrap();
    // Read back as plain text, the way upstream (yaml.v2 into Go strings) reads it.
    let shown: Shown = serde_saphyr::from_str(&text).unwrap();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        shown.times,
        vec![
            [
                ("start_time".to_string(), "09:05".to_string()),
                ("end_time".into(), "24:00".into())
            ]
            .into()
        ]
    );
    assert_eq!(
        shown.weekdays,
        strings(&["monday:friday", "sunday", "saturday"])
    );
    assert_eq!(shown.days_of_month, strings(&["1:5", "-3", "-7:-1"]));
    assert_eq!(shown.months, strings(&["1:3", "7", "5", "10:12"]));
    assert_eq!(shown.years, strings(&["2020:2025", "2030"]));
    assert_eq!(shown.location, "America/New_York");
    assert_eq!(spec(&text), parsed);

    for yaml in [
        "{}",
        "times: []",
        "location: ''",
        "location: Local",
        "weekdays: [tuesday:thursday]\nyears: ['-5:-1']",
    ] {
        let parsed = spec(yaml);
        let text = serde_saphyr::to_string(&parsed).unwrap();
        assert_eq!(spec(&text), parsed, "{yaml} -> {text}");
    }
    assert_eq!(
        serde_saphyr::to_string(&spec("location: ''"))
            .unwrap()
            .trim(),
        "location: UTC"
    );

    let named = NamedTimeInterval {
        name: "never".into(),
        time_intervals: vec![],
    };
    let text = serde_saphyr::to_string(&named).unwrap();
    assert_eq!(
        deserialize_yaml::<NamedTimeInterval>(&text).unwrap(),
        named,
        "{text}"
    );
}

#[test]
fn empty_spec_contains_everything_and_empty_lists_nothing() {
    let t = utc("2024-05-17T12:34:56Z");
    assert!(TimeIntervalSpec::default().contains(t));
    assert!(!spec("times: []").contains(t));
    assert!(!spec("weekdays: []").contains(t));
    assert!(!NamedTimeInterval::default().contains(t));
}

#[test]
fn times_are_end_exclusive_and_24_00_ends_the_day() {
    let s = spec(
        "times: [{start_time: '09:00', end_time: '17:30'}, {start_time: '23:00', end_time: '24:00'}]",
    );
    assert!(!s.contains(utc("2024-05-17T08:59:59Z")));
    assert!(s.contains(utc("2024-05-17T09:00:00Z")));
    assert!(s.contains(utc("2024-05-17T17:29:59.999Z")));
    assert!(!s.contains(utc("2024-05-17T17:30:00Z")));
    assert!(s.contains(utc("2024-05-17T23:59:59Z")));
    assert!(!s.contains(utc("2024-05-18T00:00:00Z")));
}

#[test]
fn weekdays_months_years_and_all_fields_together() {
    let s = spec("weekdays: [monday:friday]");
    assert!(s.contains(utc("2024-05-17T23:59:00Z"))); // Friday
    assert!(!s.contains(utc("2024-05-18T00:00:00Z"))); // Saturday
    assert!(!s.contains(utc("2024-05-19T12:00:00Z"))); // Sunday
    assert!(s.contains(utc("2024-05-20T00:00:00Z"))); // Monday
    assert!(spec("weekdays: [sunday]").contains(utc("2024-05-19T12:00:00Z")));

    let s = spec("months: [february:april, december]");
    assert!(!s.contains(utc("2024-01-31T23:59:59Z")));
    assert!(s.contains(utc("2024-02-01T00:00:00Z")));
    assert!(s.contains(utc("2024-04-30T23:59:59Z")));
    assert!(!s.contains(utc("2024-05-01T00:00:00Z")));
    assert!(s.contains(utc("2024-12-01T00:00:00Z")));
    assert!(!spec("months: ['13']").contains(utc("2024-12-01T00:00:00Z")));

    let s = spec("years: ['2020:2022', 2025]");
    assert!(!s.contains(utc("2019-12-31T23:59:59Z")));
    assert!(s.contains(utc("2020-01-01T00:00:00Z")));
    assert!(s.contains(utc("2022-12-31T23:59:59Z")));
    assert!(!s.contains(utc("2023-06-01T00:00:00Z")));
    assert!(s.contains(utc("2025-06-01T00:00:00Z")));

    // Business hours in Berlin, weekdays, in 2024 only.
    let s = spec(
        "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: [monday:friday]\nyears: [2024]\nlocation: Europe/Berlin",
    );
    assert!(s.contains(at("Europe/Berlin", date(2024, 5, 17).at(9, 0, 0, 0))));
    assert!(!s.contains(at("Europe/Berlin", date(2024, 5, 17).at(17, 0, 0, 0))));
    assert!(!s.contains(at("Europe/Berlin", date(2024, 5, 18).at(10, 0, 0, 0))));
    assert!(!s.contains(at("Europe/Berlin", date(2025, 5, 16).at(10, 0, 0, 0))));
    // 07:30 UTC is 09:30 in Berlin in summer.
    assert!(s.contains(utc("2024-05-17T07:30:00Z")));
    assert!(
        !spec("times: [{start_time: '09:00', end_time: '17:00'}]")
            .contains(utc("2024-05-17T07:30:00Z"))
    );

    let named = NamedTimeInterval {
        name: "x".into(),
        time_intervals: vec![spec("weekdays: [saturday]"), spec("weekdays: [sunday]")],
    };
    assert!(named.contains(utc("2024-05-18T12:00:00Z")));
    assert!(named.contains(utc("2024-05-19T12:00:00Z")));
    assert!(!named.contains(utc("2024-05-20T12:00:00Z")));
}

#[test]
fn zones_decide_the_day() {
    // 2024-01-01 03:00 UTC is still 2023-12-31 in New York.
    let t = utc("2024-01-01T03:00:00Z");
    assert!(spec("years: [2024]").contains(t));
    assert!(spec("years: [2023]\nlocation: America/New_York").contains(t));
    assert!(
        spec("days_of_month: [-1]\nmonths: [december]\nlocation: America/New_York").contains(t)
    );
    assert!(spec("weekdays: [sunday]\nlocation: America/New_York").contains(t));
    assert!(spec("weekdays: [monday]\nlocation: UTC").contains(t));
    // Far east: already the 1st in Tokyo when it is the 31st in UTC.
    assert!(spec("days_of_month: [1]\nlocation: Asia/Tokyo").contains(utc("2024-03-31T20:00:00Z")));
}

#[test]
fn daylight_saving_changes_in_berlin() {
    let s = spec("times: [{start_time: '02:00', end_time: '03:00'}]\nlocation: Europe/Berlin");
    // 2024-03-31: clocks jump from 02:00 to 03:00 CET->CEST; 02:xx never happens.
    assert!(!s.contains(utc("2024-03-31T00:59:59Z"))); // 01:59:59 CET
    assert!(!s.contains(utc("2024-03-31T01:00:00Z"))); // 03:00 CEST
    // 2024-10-27: 02:00-03:00 happens twice, both are in the range.
    assert!(s.contains(utc("2024-10-27T00:00:00Z"))); // 02:00 CEST
    assert!(s.contains(utc("2024-10-27T00:59:59Z"))); // 02:59:59 CEST
    assert!(s.contains(utc("2024-10-27T01:00:00Z"))); // 02:00 CET
    assert!(s.contains(utc("2024-10-27T01:59:59Z"))); // 02:59:59 CET
    assert!(!s.contains(utc("2024-10-27T02:00:00Z"))); // 03:00 CET

    // 09:00 Berlin is 08:00 UTC before the change and 07:00 UTC after.
    let nine = spec("times: [{start_time: '09:00', end_time: '09:01'}]\nlocation: Europe/Berlin");
    assert!(nine.contains(utc("2024-03-30T08:00:00Z")));
    assert!(nine.contains(utc("2024-03-31T07:00:00Z")));
    assert!(!nine.contains(utc("2024-03-31T08:00:00Z")));

    // The last day of March and October, both months with a change.
    let last = spec("days_of_month: [-1]\nlocation: Europe/Berlin");
    assert!(last.contains(at("Europe/Berlin", date(2024, 3, 31).at(12, 0, 0, 0))));
    assert!(!last.contains(at("Europe/Berlin", date(2024, 3, 30).at(12, 0, 0, 0))));
    assert!(last.contains(at("Europe/Berlin", date(2024, 10, 31).at(23, 59, 0, 0))));
    assert!(!last.contains(at("Europe/Berlin", date(2024, 10, 30).at(23, 59, 0, 0))));
    // Midnight of March 31st in Berlin is still the 30th in UTC.
    assert!(last.contains(utc("2024-03-30T23:00:00Z")));
}

#[test]
fn negative_days_across_spring_forward_in_new_york() {
    // March 2024 has 31 days even though it is one hour short in New York.
    let last = spec("days_of_month: [-1]\nlocation: America/New_York");
    assert!(last.contains(at("America/New_York", date(2024, 3, 31).at(0, 0, 0, 0))));
    assert!(last.contains(at("America/New_York", date(2024, 3, 31).at(23, 59, 59, 0))));
    assert!(!last.contains(at("America/New_York", date(2024, 3, 30).at(12, 0, 0, 0))));
    let last_week = spec("days_of_month: ['-7:-1']\nlocation: America/New_York");
    assert!(last_week.contains(at("America/New_York", date(2024, 3, 25).at(0, 0, 0, 0))));
    assert!(!last_week.contains(at("America/New_York", date(2024, 3, 24).at(23, 59, 0, 0))));
    // Fall back in November (30 days).
    assert!(last.contains(at("America/New_York", date(2024, 11, 30).at(12, 0, 0, 0))));
    assert!(!last.contains(at("America/New_York", date(2024, 11, 29).at(12, 0, 0, 0))));
}

#[test]
fn negative_days_in_february() {
    let last = spec("days_of_month: [-1]");
    assert!(last.contains(utc("2024-02-29T12:00:00Z")));
    assert!(!last.contains(utc("2024-02-28T12:00:00Z")));
    assert!(last.contains(utc("2023-02-28T12:00:00Z")));
    assert!(!last.contains(utc("2023-02-27T12:00:00Z")));

    let second_last = spec("days_of_month: [-2]");
    assert!(second_last.contains(utc("2024-02-28T00:00:00Z")));
    assert!(second_last.contains(utc("2023-02-27T00:00:00Z")));
    assert!(second_last.contains(utc("2100-02-27T00:00:00Z"))); // not a leap year

    // The 29th to the end: empty in a short February, just the 29th in a leap year.
    let late = spec("days_of_month: ['29:31']");
    assert!(late.contains(utc("2024-02-29T00:00:00Z")));
    assert!(!late.contains(utc("2023-02-28T00:00:00Z")));
    let thirty = spec("days_of_month: [30]");
    assert!(!thirty.contains(utc("2024-02-29T00:00:00Z")));

    // -31 resolves before the month's start and is clamped: the whole of February.
    let whole = spec("days_of_month: ['-31:-1']");
    assert!(whole.contains(utc("2023-02-01T00:00:00Z")));
    assert!(whole.contains(utc("2024-02-15T00:00:00Z")));
    // -30:-29 lies before February 1st in a 28-day month: nothing, as upstream.
    let early = spec("days_of_month: ['-30:-29']");
    assert!(!early.contains(utc("2023-02-01T00:00:00Z")));
    // In March (31 days) it is the 2nd and 3rd.
    assert!(!early.contains(utc("2023-03-01T23:59:59Z")));
    assert!(early.contains(utc("2023-03-02T00:00:00Z")));
    assert!(early.contains(utc("2023-03-03T23:59:59Z")));
    assert!(!early.contains(utc("2023-03-04T00:00:00Z")));
    // 1 to the 3rd-last day: a positive start with a negative end.
    let most = spec("days_of_month: ['1:-3']");
    assert!(most.contains(utc("2024-02-27T00:00:00Z")));
    assert!(!most.contains(utc("2024-02-28T00:00:00Z")));
    assert!(most.contains(utc("2023-02-26T00:00:00Z")));
    assert!(!most.contains(utc("2023-02-27T00:00:00Z")));
}

#[test]
fn day_ranges_stay_within_their_month() {
    // 25:31 in April (30 days) covers 25..30 and not May 1st.
    let s = spec("days_of_month: ['25:31']");
    assert!(s.contains(utc("2024-04-30T23:59:59Z")));
    assert!(!s.contains(utc("2024-05-01T00:00:00Z")));
    assert!(!s.contains(utc("2024-04-24T23:59:59Z")));
    assert!(s.contains(utc("2024-05-31T00:00:00Z")));
    // 31 only exists in long months.
    let s = spec("days_of_month: [31]");
    assert!(!s.contains(utc("2024-04-30T12:00:00Z")));
    assert!(s.contains(utc("2024-05-31T12:00:00Z")));
    // A month range across the year end is written as two ranges.
    let s = spec("months: [november:december, january:february]");
    assert!(s.contains(utc("2024-12-31T23:59:59Z")));
    assert!(s.contains(utc("2025-01-01T00:00:00Z")));
    assert!(!s.contains(utc("2025-03-01T00:00:00Z")));
}

const FULL_CONFIG: &str = r#"
route:
  receiver: default
  routes:
    - receiver: default
      matchers: ['team="ops"']
      mute_time_intervals: [weekends, holidays]
      active_time_intervals: [business-hours]
receivers:
  - name: default
time_intervals:
  - name: business-hours
    time_intervals:
      - times:
          - start_time: '09:00'
            end_time: '17:30'
        weekdays: ['Monday:Friday']
        location: Europe/Berlin
      - times:
          - start_time: '23:00'
            end_time: '24:00'
        location: Local
  - name: weekends
    time_intervals:
      - weekdays: [saturday, sunday]
        location: ''
  - name: holidays
    time_intervals:
      - days_of_month: ['-7:-1', 1]
        months: [December, '1:2']
        years: ['2024:2030']
        location: America/New_York
      - times: []
mute_time_intervals:
  - name: legacy
    time_intervals: []
"#;

#[test]
fn whole_config_round_trips() {
    let config = Config::parse(FULL_CONFIG, ParseOptions::default()).unwrap();
    let text = config.to_yaml();
    let again =
        Config::parse(&text, ParseOptions::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again, config, "{text}");
    assert_eq!(
        again.time_intervals[1].time_intervals[0]
            .location
            .as_ref()
            .map(Location::name),
        Some("UTC")
    );
}

/// Debian's `amtool` (Alertmanager 0.25) accepts the serialized config. Skipped when
/// `amtool` is not installed.
#[test]
fn amtool_accepts_serialized_config() {
    let Ok(out) = std::process::Command::new("amtool")
        .arg("--version")
        .output()
    else {
        eprintln!("amtool not installed: skipped");
        return;
    };
    assert!(out.status.success());
    let config = Config::parse(FULL_CONFIG, ParseOptions::default()).unwrap();
    for text in [FULL_CONFIG.to_string(), config.to_yaml()] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alertmanager.yml");
        std::fs::write(&path, &text).unwrap();
        let out = std::process::Command::new("amtool")
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "amtool rejected:\n{text}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn nulls_read_as_upstream_zero_values() {
    let named = deserialize_yaml::<NamedTimeInterval>(
        "name: ~
time_intervals: [~, {}]",
    )
    .unwrap();
    assert_eq!(named.name, "");
    assert_eq!(
        named.time_intervals,
        vec![TimeIntervalSpec::default(), TimeIntervalSpec::default()]
    );
    assert_eq!(
        deserialize_yaml::<NamedTimeInterval>(
            "name: t
time_intervals: ~"
        )
        .unwrap()
        .time_intervals,
        vec![]
    );
    assert_eq!(
        deserialize_yaml::<NamedTimeInterval>(
            "name: t
time_intervals:
-
"
        )
        .unwrap()
        .time_intervals
        .len(),
        1
    );

    let s = spec(
        "times: [~]
weekdays: [~, monday]
days_of_month: [~, 5]
months: [~]
years: [~]
location: ~",
    );
    assert_eq!(s.times, Some(vec![]));
    assert_eq!(
        s.weekdays,
        Some(vec![
            WeekdayRange { begin: 0, end: 0 },
            WeekdayRange { begin: 1, end: 1 }
        ])
    );
    assert_eq!(
        s.days_of_month,
        Some(vec![DayOfMonthRange { begin: 5, end: 5 }])
    );
    assert_eq!(s.months, Some(vec![]));
    assert_eq!(s.years, Some(vec![YearRange { begin: 0, end: 0 }]));
    assert_eq!(s.location, None);
    let text = serde_saphyr::to_string(&s).unwrap();
    assert_eq!(spec(&text), s, "{text}");
    // An empty string is not null.
    assert_eq!(
        spec_err("weekdays: ['']"),
        "weekdays[0]:  is not a valid weekday"
    );
}
