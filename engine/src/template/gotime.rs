//! Go's `time.Time` and `time.Duration` as templates see them: reference
//! layouts (`"2006-01-02 15:04:05 MST"`) for formatting and parsing, Go's
//! default time printing and duration strings.

use std::fmt::Write as _;
use std::sync::Arc;

use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};

/// A point in time with the location Go would attach to it.
#[derive(Debug, Clone)]
pub struct GoTime {
    zoned: Zoned,
    /// Zone name override: `Some("")` for Go's unnamed fixed zones (printed
    /// as `+0200`); `None` to use the time zone's abbreviation.
    name: Option<Arc<str>>,
}

impl PartialEq for GoTime {
    fn eq(&self, other: &Self) -> bool {
        self.zoned.timestamp() == other.zoned.timestamp()
            && self.zoned.offset() == other.zoned.offset()
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Name of a month (1-based), as `time.Month` prints it.
pub(crate) fn month_name(m: u8) -> String {
    match MONTHS.get(usize::from(m).wrapping_sub(1)) {
        Some(n) => (*n).to_string(),
        None => format!("%!Month({m})"),
    }
}

/// Name of a weekday (0 is Sunday), as `time.Weekday` prints it.
pub(crate) fn weekday_name(d: u8) -> String {
    match DAYS.get(usize::from(d)) {
        Some(n) => (*n).to_string(),
        None => format!("%!Weekday({d})"),
    }
}

impl GoTime {
    /// A time in UTC.
    pub fn utc(ts: Timestamp) -> GoTime {
        GoTime {
            zoned: ts.to_zoned(TimeZone::UTC),
            name: None,
        }
    }

    /// A time in the system's local time zone (Go's `time.Local`).
    pub fn local(ts: Timestamp) -> GoTime {
        GoTime {
            zoned: ts.to_zoned(TimeZone::system()),
            name: None,
        }
    }

    /// A time in the given zone.
    pub fn zoned(zoned: Zoned) -> GoTime {
        GoTime { zoned, name: None }
    }

    /// Go's zero time, `0001-01-01 00:00:00 +0000 UTC`.
    pub fn zero() -> GoTime {
        let ts = jiff::civil::date(1, 1, 1)
            .at(0, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN);
        GoTime::utc(ts)
    }

    /// The current time in the local zone (Go's `time.Now()`).
    pub fn now() -> GoTime {
        GoTime::local(Timestamp::now())
    }

    /// The instant.
    pub fn timestamp(&self) -> Timestamp {
        self.zoned.timestamp()
    }

    /// Whether this is Go's zero time.
    pub fn is_zero(&self) -> bool {
        self.timestamp() == GoTime::zero().timestamp()
    }

    /// The same instant in UTC.
    pub fn to_utc(&self) -> GoTime {
        GoTime::utc(self.timestamp())
    }

    /// The same instant in the local zone.
    pub fn to_local(&self) -> GoTime {
        GoTime::local(self.timestamp())
    }

    /// The same instant in `tz`.
    pub fn in_zone(&self, tz: TimeZone) -> GoTime {
        GoTime {
            zoned: self.timestamp().to_zoned(tz),
            name: None,
        }
    }

    /// The instant moved by `nanos`.
    pub fn add_nanos(&self, nanos: i64) -> GoTime {
        let ts = self
            .timestamp()
            .checked_add(jiff::SignedDuration::from_nanos(nanos))
            .unwrap_or(self.timestamp());
        GoTime {
            zoned: ts.to_zoned(self.zoned.time_zone().clone()),
            name: self.name.clone(),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.timestamp().as_second()
    }

    /// Nanoseconds since the Unix epoch (saturating).
    pub fn unix_nano(&self) -> i64 {
        i64::try_from(self.timestamp().as_nanosecond()).unwrap_or(i64::MAX)
    }

    pub(crate) fn civil(&self) -> &Zoned {
        &self.zoned
    }

    fn offset_seconds(&self) -> i32 {
        self.zoned.offset().seconds()
    }

    fn zone_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.to_string();
        }
        let tz = self.zoned.time_zone();
        if tz.iana_name() == Some("UTC") || tz == &TimeZone::UTC {
            return "UTC".to_string();
        }
        let info = tz.to_offset_info(self.timestamp());
        info.abbreviation().to_string()
    }

    /// Formats with a Go reference layout.
    pub fn format(&self, layout: &str) -> String {
        let mut out = String::with_capacity(layout.len() + 10);
        let z = &self.zoned;
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_chunk(rest);
            out.push_str(prefix);
            let Some(chunk) = chunk else { break };
            rest = suffix;
            let year = i64::from(z.year());
            let hour = i64::from(z.hour());
            match chunk {
                Chunk::Year => {
                    let _ = write!(out, "{:02}", year.rem_euclid(100));
                }
                Chunk::LongYear => pad_int(&mut out, year, 4),
                Chunk::Month => out.push_str(&MONTHS[month_idx(z)][..3]),
                Chunk::LongMonth => out.push_str(MONTHS[month_idx(z)]),
                Chunk::NumMonth => {
                    let _ = write!(out, "{}", z.month());
                }
                Chunk::ZeroMonth => {
                    let _ = write!(out, "{:02}", z.month());
                }
                Chunk::WeekDay => out.push_str(&DAYS[weekday_idx(z)][..3]),
                Chunk::LongWeekDay => out.push_str(DAYS[weekday_idx(z)]),
                Chunk::Day => {
                    let _ = write!(out, "{}", z.day());
                }
                Chunk::UnderDay => {
                    let _ = write!(out, "{:>2}", z.day());
                }
                Chunk::ZeroDay => {
                    let _ = write!(out, "{:02}", z.day());
                }
                Chunk::UnderYearDay => {
                    let _ = write!(out, "{:>3}", z.day_of_year());
                }
                Chunk::ZeroYearDay => {
                    let _ = write!(out, "{:03}", z.day_of_year());
                }
                Chunk::Hour => {
                    let _ = write!(out, "{hour:02}");
                }
                Chunk::Hour12 | Chunk::ZeroHour12 => {
                    let mut h = hour % 12;
                    if h == 0 {
                        h = 12;
                    }
                    if chunk == Chunk::Hour12 {
                        let _ = write!(out, "{h}");
                    } else {
                        let _ = write!(out, "{h:02}");
                    }
                }
                Chunk::Minute => {
                    let _ = write!(out, "{}", z.minute());
                }
                Chunk::ZeroMinute => {
                    let _ = write!(out, "{:02}", z.minute());
                }
                Chunk::Second => {
                    let _ = write!(out, "{}", z.second());
                }
                Chunk::ZeroSecond => {
                    let _ = write!(out, "{:02}", z.second());
                }
                Chunk::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
                Chunk::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
                Chunk::Tz => {
                    let name = self.zone_name();
                    if name.is_empty() {
                        let zone = self.offset_seconds() / 60;
                        let (sign, abs) = if zone < 0 { ('-', -zone) } else { ('+', zone) };
                        let _ = write!(out, "{sign}{:02}{:02}", abs / 60, abs % 60);
                    } else {
                        out.push_str(&name);
                    }
                }
                Chunk::Num(kind) => self.write_offset(&mut out, kind),
                Chunk::Frac { sep, digits, trim } => {
                    let nanos = z.subsec_nanosecond();
                    write_frac(&mut out, nanos, sep, digits, trim);
                }
            }
        }
        out
    }

    fn write_offset(&self, out: &mut String, kind: TzKind) {
        let off = self.offset_seconds();
        if kind.iso && off == 0 {
            out.push('Z');
            return;
        }
        let zone = off / 60;
        let (sign, absz) = if zone < 0 { ('-', -zone) } else { ('+', zone) };
        out.push(sign);
        let _ = write!(out, "{:02}", absz / 60);
        if kind.parts >= 2 {
            if kind.colon {
                out.push(':');
            }
            let _ = write!(out, "{:02}", absz % 60);
        }
        if kind.parts == 3 {
            if kind.colon {
                out.push(':');
            }
            let _ = write!(out, "{:02}", off.abs() % 60);
        }
    }
}

fn month_idx(z: &Zoned) -> usize {
    usize::try_from(z.month() - 1).unwrap_or(0).min(11)
}

fn weekday_idx(z: &Zoned) -> usize {
    usize::from(z.weekday().to_sunday_zero_offset() as u8).min(6)
}

fn pad_int(out: &mut String, v: i64, width: usize) {
    if v < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", v.unsigned_abs());
}

fn write_frac(out: &mut String, nanos: i32, sep: char, digits: usize, trim: bool) {
    let s = format!("{:09}", nanos);
    let mut d = &s[..digits.min(9)];
    if trim {
        d = d.trim_end_matches('0');
        if d.is_empty() {
            return;
        }
    }
    out.push(sep);
    out.push_str(d);
}

impl std::fmt::Display for GoTime {
    /// Go's `Time.String`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TzKind {
    iso: bool,
    colon: bool,
    parts: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Year,
    LongYear,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    Tz,
    Num(TzKind),
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Splits a layout into literal prefix, the next reference chunk and the rest.
fn next_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    let tz = |iso, colon, parts| Chunk::Num(TzKind { iso, colon, parts });
    for i in 0..b.len() {
        // Every reference chunk starts with an ASCII byte: skip the inside of a character.
        if !layout.is_char_boundary(i) {
            continue;
        }
        let rest = &layout[i..];
        let hit: Option<(Chunk, usize)> = match b[i] {
            b'J' if rest.starts_with("Jan") => {
                if rest.starts_with("January") {
                    Some((Chunk::LongMonth, 7))
                } else if !starts_lower(&rest[3..]) {
                    Some((Chunk::Month, 3))
                } else {
                    None
                }
            }
            b'M' if rest.starts_with("Mon") => {
                if rest.starts_with("Monday") {
                    Some((Chunk::LongWeekDay, 6))
                } else if !starts_lower(&rest[3..]) {
                    Some((Chunk::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if rest.starts_with("MST") => Some((Chunk::Tz, 3)),
            b'0' if b.len() >= i + 2 && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                [
                    Chunk::ZeroMonth,
                    Chunk::ZeroDay,
                    Chunk::ZeroHour12,
                    Chunk::ZeroMinute,
                    Chunk::ZeroSecond,
                    Chunk::Year,
                ][usize::from(b[i + 1] - b'1')],
                2,
            )),
            b'0' if rest.starts_with("002") => Some((Chunk::ZeroYearDay, 3)),
            b'1' => {
                if rest.starts_with("15") {
                    Some((Chunk::Hour, 2))
                } else {
                    Some((Chunk::NumMonth, 1))
                }
            }
            b'2' => {
                if rest.starts_with("2006") {
                    Some((Chunk::LongYear, 4))
                } else {
                    Some((Chunk::Day, 1))
                }
            }
            b'_' if rest.starts_with("_2") => {
                if rest.starts_with("_2006") {
                    return (&layout[..i + 1], Some(Chunk::LongYear), &layout[i + 5..]);
                }
                Some((Chunk::UnderDay, 2))
            }
            b'_' if rest.starts_with("__2") => Some((Chunk::UnderYearDay, 3)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if rest.starts_with("PM") => Some((Chunk::PM, 2)),
            b'p' if rest.starts_with("pm") => Some((Chunk::Pm, 2)),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let r = &rest[1..];
                if r.starts_with("070000") {
                    Some((tz(iso, false, 3), 7))
                } else if r.starts_with("07:00:00") {
                    Some((tz(iso, true, 3), 9))
                } else if r.starts_with("0700") {
                    Some((tz(iso, false, 2), 5))
                } else if r.starts_with("07:00") {
                    Some((tz(iso, true, 2), 6))
                } else if r.starts_with("07") {
                    Some((tz(iso, false, 1), 3))
                } else {
                    None
                }
            }
            c @ (b'.' | b',') if b.len() > i + 1 && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    let chunk = Chunk::Frac {
                        sep: c as char,
                        digits: j - (i + 1),
                        trim: ch == b'9',
                    };
                    return (&layout[..i], Some(chunk), &layout[j..]);
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = hit {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

/// Parses `value` with a Go layout; times without a zone are in UTC.
/// Supports the numeric, name, fraction and offset elements of layouts.
pub fn parse(layout: &str, value: &str) -> Result<GoTime, String> {
    let err = || {
        format!(
            "parsing time {} as {}: cannot parse",
            super::format::go_quote(value),
            super::format::go_quote(layout)
        )
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut rest_layout = layout;
    let mut v = value;
    fn num(v: &mut &str, min_digits: usize, max_digits: usize) -> Option<i64> {
        let n = v
            .bytes()
            .take(max_digits)
            .take_while(u8::is_ascii_digit)
            .count();
        if n < min_digits {
            return None;
        }
        let r = v[..n].parse().ok();
        *v = &v[n..];
        r
    }
    loop {
        let (prefix, chunk, suffix) = next_chunk(rest_layout);
        v = v.strip_prefix(prefix).ok_or_else(err)?;
        let Some(chunk) = chunk else { break };
        rest_layout = suffix;
        let ok: Option<()> = (|| {
            match chunk {
                Chunk::Year => {
                    let y = num(&mut v, 2, 2)?;
                    year = if y >= 69 { 1900 + y } else { 2000 + y };
                }
                Chunk::LongYear => year = num(&mut v, 4, 4)?,
                Chunk::Month | Chunk::LongMonth => {
                    let i = MONTHS.iter().position(|m| {
                        let m = if chunk == Chunk::Month { &m[..3] } else { m };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    })?;
                    let l = if chunk == Chunk::Month {
                        3
                    } else {
                        MONTHS[i].len()
                    };
                    v = &v[l..];
                    month = i64::try_from(i).ok()? + 1;
                }
                Chunk::WeekDay | Chunk::LongWeekDay => {
                    let i = DAYS.iter().position(|m| {
                        let m = if chunk == Chunk::WeekDay { &m[..3] } else { m };
                        v.len() >= m.len() && v[..m.len()].eq_ignore_ascii_case(m)
                    })?;
                    let l = if chunk == Chunk::WeekDay {
                        3
                    } else {
                        DAYS[i].len()
                    };
                    v = &v[l..];
                }
                Chunk::NumMonth | Chunk::ZeroMonth => {
                    month = num(&mut v, if chunk == Chunk::ZeroMonth { 2 } else { 1 }, 2)?
                }
                Chunk::Day | Chunk::ZeroDay => {
                    day = num(&mut v, if chunk == Chunk::ZeroDay { 2 } else { 1 }, 2)?
                }
                Chunk::UnderDay => {
                    if v.starts_with(' ') {
                        v = &v[1..];
                    }
                    day = num(&mut v, 1, 2)?;
                }
                Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                    v = v.trim_start_matches(' ');
                    let _ = num(&mut v, 1, 3)?;
                }
                Chunk::Hour => hour = num(&mut v, 2, 2)?,
                Chunk::Hour12 | Chunk::ZeroHour12 => {
                    hour = num(&mut v, if chunk == Chunk::ZeroHour12 { 2 } else { 1 }, 2)?
                }
                Chunk::Minute | Chunk::ZeroMinute => {
                    min = num(&mut v, if chunk == Chunk::ZeroMinute { 2 } else { 1 }, 2)?
                }
                Chunk::Second | Chunk::ZeroSecond => {
                    sec = num(&mut v, if chunk == Chunk::ZeroSecond { 2 } else { 1 }, 2)?;
                    // Go accepts a fraction after seconds even if the layout has none.
                    if (v.starts_with('.') || v.starts_with(','))
                        && !rest_layout.starts_with('.')
                        && !rest_layout.starts_with(',')
                        && v[1..].starts_with(|c: char| c.is_ascii_digit())
                    {
                        v = &v[1..];
                        let n = v.bytes().take_while(u8::is_ascii_digit).count();
                        nanos = frac_nanos(&v[..n]);
                        v = &v[n..];
                    }
                }
                Chunk::PM | Chunk::Pm => {
                    let p = v.get(..2)?.to_ascii_uppercase();
                    pm = Some(match p.as_str() {
                        "PM" => true,
                        "AM" => false,
                        _ => return None,
                    });
                    v = &v[2..];
                }
                Chunk::Tz => {
                    if let Some(r) = v.strip_prefix("UTC") {
                        v = r;
                        offset = Some(0);
                    } else {
                        let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                        if n < 3 {
                            return None;
                        }
                        zone_name = Some(v[..n].to_string());
                        v = &v[n..];
                    }
                }
                Chunk::Num(kind) => {
                    if kind.iso && v.starts_with('Z') {
                        v = &v[1..];
                        offset = Some(0);
                    } else {
                        let sign = match v.as_bytes().first()? {
                            b'+' => 1,
                            b'-' => -1,
                            _ => return None,
                        };
                        v = &v[1..];
                        let h = num(&mut v, 2, 2)?;
                        let mut m = 0;
                        let mut s = 0;
                        if kind.parts >= 2 {
                            if kind.colon {
                                v = v.strip_prefix(':')?;
                            }
                            m = num(&mut v, 2, 2)?;
                        }
                        if kind.parts == 3 {
                            if kind.colon {
                                v = v.strip_prefix(':')?;
                            }
                            s = num(&mut v, 2, 2)?;
                        }
                        offset = Some(sign * i32::try_from(h * 3600 + m * 60 + s).ok()?);
                    }
                }
                Chunk::Frac { digits, trim, .. } => {
                    if !(v.starts_with('.') || v.starts_with(',')) {
                        if trim {
                            return Some(());
                        }
                        return None;
                    }
                    v = &v[1..];
                    let n = v.bytes().take_while(u8::is_ascii_digit).count();
                    if !trim && n != digits {
                        return None;
                    }
                    nanos = frac_nanos(&v[..n]);
                    v = &v[n..];
                }
            }
            Some(())
        })();
        ok.ok_or_else(err)?;
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            super::format::go_quote(value),
            super::format::go_quote(v)
        ));
    }
    if let Some(pm) = pm {
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    let to_i8 = |x: i64| i8::try_from(x).map_err(|_| err());
    let dt = jiff::civil::DateTime::new(
        i16::try_from(year).map_err(|_| err())?,
        to_i8(month)?,
        to_i8(day)?,
        to_i8(hour)?,
        to_i8(min)?,
        to_i8(sec)?,
        i32::try_from(nanos).map_err(|_| err())?,
    )
    .map_err(|e| format!("parsing time {}: {e}", super::format::go_quote(value)))?;
    match offset {
        Some(0) if zone_name.is_none() => {
            let z = dt.to_zoned(TimeZone::UTC).map_err(|_| err())?;
            Ok(GoTime::zoned(z))
        }
        Some(off) => {
            let o = Offset::from_seconds(off).map_err(|_| err())?;
            let z = dt.to_zoned(TimeZone::fixed(o)).map_err(|_| err())?;
            Ok(GoTime {
                zoned: z,
                name: Some(Arc::from("")),
            })
        }
        None => {
            let z = dt.to_zoned(TimeZone::UTC).map_err(|_| err())?;
            let mut t = GoTime::zoned(z);
            if let Some(n) = zone_name
                && n != "UTC"
            {
                t.name = Some(Arc::from(n.as_str()));
            }
            Ok(t)
        }
    }
}

fn frac_nanos(digits: &str) -> i64 {
    let mut s: String = digits.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

/// Parses an RFC 3339 time the way Go's JSON decoding does: `Z` is UTC, an
/// offset equal to the local zone's is local time, other offsets are
/// unnamed fixed zones.
pub fn parse_rfc3339(s: &str) -> Result<GoTime, String> {
    let ts: Timestamp = s
        .parse()
        .map_err(|e| format!("parsing time {}: {e}", super::format::go_quote(s)))?;
    if s.ends_with('Z') || s.ends_with('z') {
        return Ok(GoTime::utc(ts));
    }
    let tail = &s[s.len().saturating_sub(6)..];
    let sign = if tail.starts_with('-') { -1 } else { 1 };
    let h: i32 = tail.get(1..3).and_then(|x| x.parse().ok()).unwrap_or(0);
    let m: i32 = tail.get(4..6).and_then(|x| x.parse().ok()).unwrap_or(0);
    let off = sign * (h * 3600 + m * 60);
    let local = TimeZone::system();
    if local.to_offset(ts).seconds() == off {
        return Ok(GoTime::local(ts));
    }
    let o = Offset::from_seconds(off).map_err(|e| e.to_string())?;
    Ok(GoTime {
        zoned: ts.to_zoned(TimeZone::fixed(o)),
        name: Some(Arc::from("")),
    })
}

/// Go's `Duration.String`: `1h30m1.5s`, `2.000005ms`, `0s`.
pub fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        if u < 1_000 {
            let _ = write!(out, "{u}ns");
        } else if u < 1_000_000 {
            out.push_str(&frac_str(u, 3));
            out.push_str("µs");
        } else {
            out.push_str(&frac_str(u, 6));
            out.push_str("ms");
        }
        return out;
    }
    let secs = u / 1_000_000_000;
    let frac = u % 1_000_000_000;
    let h = secs / 3600;
    let m = (secs / 60) % 60;
    let s = secs % 60;
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{s}");
    if frac > 0 {
        let f = format!("{frac:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('s');
    out
}

/// `v / 10^prec` with trailing fractional zeros removed.
fn frac_str(v: u64, prec: u32) -> String {
    let p = 10u64.pow(prec);
    let int = v / p;
    let frac = v % p;
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = prec as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> GoTime {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn layouts_with_multibyte_characters_do_not_panic() {
        // Found by the template fuzz target: a byte inside 'ӳ' was taken for a chunk start.
        assert_eq!(t("2026-03-01T12:00:00Z").format("ӳ2006ӳJan"), "ӳ2026ӳMar");
    }

    #[test]
    fn formats_reference_layouts() {
        let x = t("2024-03-05T14:04:05.120Z");
        assert_eq!(x.to_string(), "2024-03-05 14:04:05.12 +0000 UTC");
        assert_eq!(
            x.format("2006-01-02 15:04:05 MST"),
            "2024-03-05 14:04:05 UTC"
        );
        assert_eq!(
            x.format("Jan _2 3:4:5 PM .000 Z07:00"),
            "Mar  5 2:4:5 PM .120 Z"
        );
        assert_eq!(
            x.format("Monday, January 2 06 -0700 pm"),
            "Tuesday, March 5 24 +0000 pm"
        );
        assert_eq!(x.format("02/01 002 .999999"), "05/03 065 .12");
        assert_eq!(x.format("15h04"), "14h04");
        let y = t("2024-03-05T10:00:00+02:00");
        assert_eq!(y.to_string(), "2024-03-05 10:00:00 +0200 +0200");
        assert_eq!(y.format(time_rfc3339()), "2024-03-05T10:00:00+02:00");
        assert_eq!(GoTime::zero().to_string(), "0001-01-01 00:00:00 +0000 UTC");
    }

    fn time_rfc3339() -> &'static str {
        "2006-01-02T15:04:05Z07:00"
    }

    #[test]
    fn parses_layouts() {
        let x = parse("2006-01-02 15:04", "2024-03-05 14:07").unwrap();
        assert_eq!(x.to_string(), "2024-03-05 14:07:00 +0000 UTC");
        let y = parse(time_rfc3339(), "2024-03-05T10:00:00.5+02:00").unwrap();
        assert_eq!(y.to_string(), "2024-03-05 10:00:00.5 +0200 +0200");
        assert!(parse("2006-01-02", "2024-3-05").is_err());
        assert!(parse("2006-01-02", "2024-03-05x").is_err());
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1500), "1.5µs");
        assert_eq!(duration_string(2_000_005), "2.000005ms");
        assert_eq!(duration_string(5_401_500_000_000), "1h30m1.5s");
        assert_eq!(duration_string(-120_000_000_000), "-2m0s");
        assert_eq!(duration_string(500), "500ns");
    }
}
