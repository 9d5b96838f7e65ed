//! Durations and local times of day, and the one place that turns a local
//! time in a contact's zone into an instant (DST-correct).
//!
//! A [`Delay`] is written `"90m"`, `"1h"`, `"1h30m"`, `"3d"`, `"2w"` or a
//! number of seconds; a day is 24 hours (delays are elapsed time, not
//! calendar days). A [`LocalTime`] is `"HH:MM"` on the contact's wall clock.

use std::fmt;

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone as _, Timelike};
use chrono_tz::Tz;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::model::Timestamp;

/// Elapsed time, in whole seconds, never negative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delay(u64);

impl Delay {
    /// A delay of `seconds`.
    pub const fn seconds(seconds: u64) -> Delay {
        Delay(seconds)
    }

    /// A delay of `days` days of 24 hours.
    pub const fn days(days: u64) -> Delay {
        Delay(days * 86_400)
    }

    /// The delay in seconds.
    pub fn as_seconds(self) -> u64 {
        self.0
    }

    /// `t` plus this delay (saturating at the end of representable time).
    pub fn after(self, t: Timestamp) -> Timestamp {
        let secs = i64::try_from(self.0).unwrap_or(i64::MAX);
        t.get()
            .checked_add_signed(Duration::try_seconds(secs).unwrap_or(Duration::MAX))
            .map(Timestamp::from)
            .unwrap_or(t)
    }

    /// `t` minus this delay.
    pub fn before(self, t: Timestamp) -> Timestamp {
        let secs = i64::try_from(self.0).unwrap_or(i64::MAX);
        t.get()
            .checked_sub_signed(Duration::try_seconds(secs).unwrap_or(Duration::MAX))
            .map(Timestamp::from)
            .unwrap_or(t)
    }

    /// Reads `"1h30m"`, `"3d"`, `"2w"`, `"45s"`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Delay, String> {
        let s = text.trim();
        if s.starts_with('-') {
            return Err(format!("a delay cannot be negative, got `{s}`"));
        }
        if s.is_empty() {
            return Err("expected a delay such as `1h`, `3d` or `1h30m`, got an empty text".into());
        }
        let mut total: u64 = 0;
        let mut number = String::new();
        for c in s.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 604_800,
                ' ' if number.is_empty() => continue,
                _ => {
                    return Err(format!(
                        "expected a delay such as `1h`, `3d` or `1h30m` (units s, m, h, d, w), got `{s}`"
                    ));
                }
            };
            let n: u64 = number
                .parse()
                .map_err(|_| format!("expected a number before `{c}` in `{s}`"))?;
            number.clear();
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("the delay `{s}` is too long"))?;
        }
        if !number.is_empty() {
            return Err(format!(
                "expected a unit (s, m, h, d or w) after `{number}` in `{s}`"
            ));
        }
        Ok(Delay(total))
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("w", 604_800),
            ("d", 86_400),
            ("h", 3_600),
            ("m", 60),
            ("s", 1),
        ] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Delay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Delay;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a delay such as \"1h\", \"3d\", \"1h30m\" or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Delay, E> {
                Delay::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Delay, E> {
                Ok(Delay(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Delay, E> {
                u64::try_from(v)
                    .map(Delay)
                    .map_err(|_| E::custom(format!("a delay cannot be negative, got {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Delay, E> {
                if v < 0.0 {
                    Err(E::custom(format!("a delay cannot be negative, got {v}")))
                } else if v.fract() != 0.0 || !v.is_finite() {
                    Err(E::custom(format!("expected whole seconds, got {v}")))
                } else {
                    Ok(Delay(v as u64))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A time of day on the contact's wall clock, `"HH:MM"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime(NaiveTime);

impl LocalTime {
    /// `hour:minute`; none when out of range.
    pub fn new(hour: u32, minute: u32) -> Option<LocalTime> {
        NaiveTime::from_hms_opt(hour, minute, 0).map(LocalTime)
    }

    /// The time of day.
    pub fn get(self) -> NaiveTime {
        self.0
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(LocalTime)
            .map_err(|_| {
                de::Error::custom(format!("expected a time of day \"HH:MM\", got `{text}`"))
            })
    }
}

/// The instant the wall clock in `zone` shows `date` at `time`. In a spring
/// gap (the time does not exist) the instant is the end of the gap; in an
/// autumn overlap (the time exists twice) it is the first.
pub fn instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> Timestamp {
    let local = date.and_time(time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Timestamp::from(t.to_utc()),
        LocalResult::Ambiguous(first, _) => Timestamp::from(first.to_utc()),
        LocalResult::None => {
            // Gaps are at most a few hours; step forward a minute at a time
            // until the clock exists again.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return Timestamp::from(t.to_utc());
                }
            }
            Timestamp::from(local.and_utc())
        }
    }
}

/// The local calendar date of `t` in `zone`.
pub fn local_date(zone: Tz, t: Timestamp) -> NaiveDate {
    t.get().with_timezone(&zone).date_naive()
}

/// The first instant at or after `t` at which the wall clock in `zone` shows `time`.
pub fn next_at(zone: Tz, t: Timestamp, time: LocalTime) -> Timestamp {
    let day = local_date(zone, t);
    for offset in 0..3 {
        let date = day + Duration::days(offset);
        let candidate = instant(zone, date, time.get());
        if candidate >= t {
            return candidate;
        }
    }
    t
}

/// Quiet hours from `start` to `end` on the wall clock (they may span
/// midnight, as 21:00 to 09:00 does): when `t` falls inside, the instant
/// they end; otherwise none.
pub fn quiet_until(zone: Tz, t: Timestamp, start: LocalTime, end: LocalTime) -> Option<Timestamp> {
    if start == end {
        return None;
    }
    let clock = t.get().with_timezone(&zone).time();
    let inside = if start < end {
        clock >= start.get() && clock < end.get()
    } else {
        clock >= start.get() || clock < end.get()
    };
    inside.then(|| next_at(zone, t, end))
}

/// Day `day` of `month` in `year`, or the month's last day when it is shorter.
pub fn month_day(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let mut d = day;
    while d > 0 {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, d) {
            return Some(date);
        }
        d -= 1;
    }
    None
}

/// `date` moved to `year`; 29 February falls on 28 February in other years.
pub fn in_year(date: NaiveDate, year: i32) -> Option<NaiveDate> {
    month_day(year, date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn delays_read_and_print() {
        assert_eq!(Delay::parse("1h30m").unwrap().as_seconds(), 5_400);
        assert_eq!(Delay::parse("3d").unwrap(), Delay::days(3));
        assert_eq!(Delay::parse("2w").unwrap().to_string(), "2w");
        assert_eq!(Delay::seconds(93_784).to_string(), "1d2h3m4s");
        assert!(Delay::parse("-1h").unwrap_err().contains("negative"));
        assert!(Delay::parse("1x").unwrap_err().contains("units"));
        assert!(Delay::parse("12").unwrap_err().contains("unit"));
        assert!(
            serde_json::from_str::<Delay>("-5").is_err(),
            "a negative number is refused"
        );
        assert_eq!(
            serde_json::from_str::<Delay>("3600").unwrap(),
            Delay::seconds(3_600)
        );
    }

    #[test]
    fn a_spring_gap_moves_to_its_end_and_an_overlap_takes_the_first() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2024-03-31 02:30 does not exist in Berlin; clocks jump 02:00 -> 03:00.
        let t = instant(
            berlin,
            NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(t, ts("2024-03-31T01:00:00Z"));
        // 2024-10-27 02:30 happens twice; the first is at +02:00.
        let t = instant(
            berlin,
            NaiveDate::from_ymd_opt(2024, 10, 27).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        assert_eq!(t, ts("2024-10-27T00:30:00Z"));
    }

    #[test]
    fn quiet_hours_span_midnight_in_the_local_zone() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let start = LocalTime::new(21, 0).unwrap();
        let end = LocalTime::new(9, 0).unwrap();
        // 23:00 local (EST, -05:00) is quiet until 09:00 local = 14:00Z.
        assert_eq!(
            quiet_until(ny, ts("2024-01-16T04:00:00Z"), start, end),
            Some(ts("2024-01-16T14:00:00Z"))
        );
        // 12:00 local is not quiet.
        assert_eq!(
            quiet_until(ny, ts("2024-01-16T17:00:00Z"), start, end),
            None
        );
        // Across the spring change, 09:00 is at -04:00.
        assert_eq!(
            quiet_until(ny, ts("2024-03-10T06:00:00Z"), start, end),
            Some(ts("2024-03-10T13:00:00Z"))
        );
    }
}
