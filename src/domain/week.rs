//! The plan week: Monday 00:00 to Sunday 24:00 in the group's time zone, named
//! by ISO week (`2026-W49`).

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// An ISO week, e.g. `2026-W49`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoWeek {
    year: i32,
    week: u32,
}

impl IsoWeek {
    /// The ISO week containing `date`.
    pub fn of(date: NaiveDate) -> IsoWeek {
        let w = date.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }

    /// Parses `YYYY-Www` (as produced by `Display`).
    pub fn parse(s: &str) -> Option<IsoWeek> {
        let (y, w) = s.split_once("-W")?;
        let year: i32 = y.parse().ok()?;
        let week: u32 = w.parse().ok()?;
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
        Some(IsoWeek { year, week })
    }

    pub fn monday(self) -> NaiveDate {
        // Constructed only from valid dates, so the Monday exists.
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).unwrap_or_default()
    }

    pub fn sunday(self) -> NaiveDate {
        self.monday() + Duration::days(6)
    }

    /// Monday 00:00 (local).
    pub fn start(self) -> NaiveDateTime {
        self.monday().and_time(NaiveTime::MIN)
    }

    /// The following Monday 00:00 (local), i.e. Sunday 24:00.
    pub fn end(self) -> NaiveDateTime {
        (self.monday() + Duration::days(7)).and_time(NaiveTime::MIN)
    }

    pub fn prev(self) -> IsoWeek {
        IsoWeek::of(self.monday() - Duration::days(7))
    }

    pub fn next(self) -> IsoWeek {
        IsoWeek::of(self.monday() + Duration::days(7))
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        IsoWeek::of(date) == self
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn names_and_bounds() {
        let w = IsoWeek::of(d(2026, 12, 2));
        assert_eq!(w.to_string(), "2026-W49");
        assert_eq!(w.monday(), d(2026, 11, 30));
        assert_eq!(w.sunday(), d(2026, 12, 6));
        assert_eq!(w.end(), d(2026, 12, 7).and_hms_opt(0, 0, 0).unwrap());
        assert_eq!(IsoWeek::parse("2026-W49"), Some(w));
        assert_eq!(w.next().to_string(), "2026-W50");
        assert_eq!(w.prev().to_string(), "2026-W48");
    }

    #[test]
    fn year_boundaries_follow_iso() {
        // 2026-12-31 is a Thursday: ISO week 53 of 2026.
        assert_eq!(IsoWeek::of(d(2026, 12, 31)).to_string(), "2026-W53");
        assert_eq!(IsoWeek::of(d(2027, 1, 3)).to_string(), "2026-W53");
        assert_eq!(IsoWeek::of(d(2027, 1, 4)).to_string(), "2027-W01");
        assert_eq!(IsoWeek::of(d(2026, 12, 31)).next().to_string(), "2027-W01");
    }

    #[test]
    fn parse_refuses_garbage() {
        for s in [
            "", "2026", "2026-W", "2026-W54", "2026-W00", "x-W01", "2026-49",
        ] {
            assert_eq!(IsoWeek::parse(s), None, "{s}");
        }
    }
}

/// A local wall-clock time in `tz` as a UTC instant. Times that do not exist
/// (a DST gap) move forward an hour; ambiguous ones take the earlier instant.
pub fn local_to_utc(tz: chrono_tz::Tz, t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    tz.from_local_datetime(&t)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(t + Duration::hours(1))).earliest())
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| chrono::Utc.from_utc_datetime(&t))
}

/// A stored instant (UTC epoch ms) as local wall-clock time in `tz`.
pub fn utc_ms_to_local(tz: chrono_tz::Tz, ms: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz)
        .naive_local()
}

#[cfg(test)]
mod tz_tests {
    use super::*;

    #[test]
    fn shanghai_round_trip() {
        let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        let t = NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let u = local_to_utc(tz, t);
        assert_eq!(u.to_rfc3339(), "2026-12-02T15:59:59+00:00");
        assert_eq!(utc_ms_to_local(tz, u.timestamp_millis()), t);
    }
}
