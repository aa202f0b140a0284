//! China's statutory holidays and make-up workdays (调休), and the rule that
//! moves a weekday job off a holiday.
//!
//! The data comes from the State Council General Office's yearly notice
//! (国务院办公厅关于…年部分节假日安排的通知). It ships in
//! `config/holidays.toml` for every year whose notice is out and is never
//! guessed: a year without data is treated as plain weekends (Monday to
//! Friday work, Saturday and Sunday off), and [`HolidayCalendar::has_year`]
//! lets callers say so. Admins correct or extend the data with
//! [`HolidayCalendar::set_year`], which applies the same checks as loading.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The bundled holiday file, compiled in so that a fresh deployment knows
/// the published years without any configuration.
const BUNDLED_TOML: &str = include_str!("../../config/holidays.toml");

/// Holiday and make-up workday data for the years whose notice is known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HolidayCalendar {
    years: BTreeMap<i32, YearData>,
}

/// One year's arrangement, as published in that year's State Council notice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearData {
    /// The notice's title and document number, so that an operator can check
    /// the data against its source.
    pub notice: String,
    /// The days off, each a named, inclusive range of dates.
    pub holidays: Vec<HolidayRange>,
    /// The make-up workdays (调休上班): weekend days that are working days.
    #[serde(default, deserialize_with = "deserialize_dates")]
    pub workdays: Vec<NaiveDate>,
}

/// A named run of consecutive days off, both ends included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayRange {
    /// The holiday's name as the notice gives it, e.g. 春节.
    pub name: String,
    /// The first day off.
    #[serde(deserialize_with = "deserialize_date")]
    pub from: NaiveDate,
    /// The last day off.
    #[serde(deserialize_with = "deserialize_date")]
    pub to: NaiveDate,
}

impl HolidayRange {
    /// Tells whether `d` falls inside this range.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// How a weekday job moves when its day is not a workday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftRule {
    /// Move to the next workday of the same ISO week (Monday and Tuesday jobs).
    Later,
    /// Move to the previous workday of the same ISO week (Friday jobs).
    Earlier,
    /// Never move (jobs that are not weekday jobs, such as the
    /// every-15-minutes overdue scan).
    None,
    /// Keep the day, but skip the job in a week with no workday at all (the
    /// Sunday clearance: a week wholly off had nothing to clear).
    SkipWeekOff,
}

/// Where a job lands after applying a [`ShiftRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shifted {
    /// The job runs on its own day.
    Same(NaiveDate),
    /// The job runs on this other day of the same ISO week.
    Moved(NaiveDate),
    /// The job does not run this week: no workday in the searched direction.
    Skipped,
}

impl Shifted {
    /// Returns the day the job runs on, or `None` when it is skipped.
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Shifted::Same(d) | Shifted::Moved(d) => Some(d),
            Shifted::Skipped => None,
        }
    }
}

/// Why holiday data was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CalendarError {
    /// The text is not valid TOML or does not have the expected shape.
    #[error("holiday file is not valid: {0}")]
    Toml(String),
    /// A `[years.X]` table whose key is not a year number.
    #[error("`years.{0}` is not a year: write the table as [years.2026]")]
    BadYearKey(String),
    /// A year without the notice it was taken from.
    #[error("year {year}: `notice` is empty; give the notice title and number it was taken from")]
    EmptyNotice {
        /// The year concerned.
        year: i32,
    },
    /// A holiday range without a name.
    #[error("year {year}: the holiday starting {from} has an empty name")]
    EmptyHolidayName {
        /// The year concerned.
        year: i32,
        /// The first day of the unnamed range.
        from: NaiveDate,
    },
    /// A holiday range that ends before it starts.
    #[error(
        "year {year}: holiday {name} runs from {from} to {to}, but `from` must not be after `to`"
    )]
    ReversedRange {
        /// The year concerned.
        year: i32,
        /// The holiday's name.
        name: String,
        /// The range's start as written.
        from: NaiveDate,
        /// The range's end as written.
        to: NaiveDate,
    },
    /// A date listed under a year it does not belong to.
    #[error(
        "year {year}: date {date} is not in {year}; put it under [years.{}] (split a range that crosses New Year)",
        date.year()
    )]
    OutsideYear {
        /// The year whose table lists the date.
        year: i32,
        /// The misplaced date.
        date: NaiveDate,
    },
    /// A date listed both as a day off and as a make-up workday.
    #[error("year {year}: {date} is listed both as holiday {name} and as a make-up workday")]
    HolidayAndWorkday {
        /// The year concerned.
        year: i32,
        /// The contradictory date.
        date: NaiveDate,
        /// The holiday range that contains it.
        name: String,
    },
}

/// The on-disk shape of the holiday file: `[years.2026]` tables. TOML table
/// keys are strings, so the year numbers are parsed after deserializing.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    years: BTreeMap<String, YearData>,
}

impl HolidayCalendar {
    /// Returns the calendar shipped in `config/holidays.toml`.
    ///
    /// # Panics
    ///
    /// Panics if the bundled file is invalid. That file is compiled in and a
    /// unit test parses it, so a panic here means a broken build rather than
    /// bad input.
    pub fn bundled() -> HolidayCalendar {
        match HolidayCalendar::from_toml(BUNDLED_TOML) {
            Ok(calendar) => calendar,
            Err(e) => panic!("bundled config/holidays.toml is invalid: {e}"),
        }
    }

    /// Parses and validates holiday data in the `config/holidays.toml` format.
    pub fn from_toml(s: &str) -> Result<HolidayCalendar, CalendarError> {
        let file: CalendarFile = toml::from_str(s).map_err(|e| toml_error(s, &e))?;
        let mut calendar = HolidayCalendar::default();
        for (key, data) in file.years {
            let year = parse_year_key(&key)?;
            calendar.set_year(year, data)?;
        }
        Ok(calendar)
    }

    /// Renders the calendar in the `config/holidays.toml` format, for saving
    /// an admin's corrections.
    pub fn to_toml(&self) -> Result<String, CalendarError> {
        let file = CalendarFile {
            years: self
                .years
                .iter()
                .map(|(year, data)| (year.to_string(), data.clone()))
                .collect(),
        };
        toml::to_string(&file).map_err(|e| CalendarError::Toml(e.to_string()))
    }

    /// Adds or replaces one year's data after checking it as
    /// [`HolidayCalendar::from_toml`] does; on error the calendar is unchanged.
    pub fn set_year(&mut self, year: i32, data: YearData) -> Result<(), CalendarError> {
        validate_year(year, &data)?;
        self.years.insert(year, data);
        Ok(())
    }

    /// Lists the years that have data, oldest first.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Tells whether the calendar has data for `year`; without it the year is
    /// treated as plain weekends.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Returns one year's data, if any.
    pub fn year(&self, year: i32) -> Option<&YearData> {
        self.years.get(&year)
    }

    /// Tells whether `d` is a statutory day off (inside a holiday range).
    pub fn is_holiday(&self, d: NaiveDate) -> bool {
        self.holiday_range(d).is_some()
    }

    /// Tells whether `d` is a working day: a make-up workday is one, a
    /// holiday is not, and any other day is one from Monday to Friday.
    pub fn is_workday(&self, d: NaiveDate) -> bool {
        if let Some(data) = self.years.get(&d.year()) {
            if data.workdays.contains(&d) {
                return true;
            }
            if data.holidays.iter().any(|h| h.contains(d)) {
                return false;
            }
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Returns the name of the holiday that `d` belongs to, if any.
    pub fn holiday_name(&self, d: NaiveDate) -> Option<&str> {
        self.holiday_range(d).map(|h| h.name.as_str())
    }

    /// Tells whether `d` is a make-up workday (a weekend day worked in
    /// exchange for a holiday).
    pub fn is_makeup_workday(&self, d: NaiveDate) -> bool {
        self.years
            .get(&d.year())
            .is_some_and(|data| data.workdays.contains(&d))
    }

    /// Decides which day a job planned for `d` runs on.
    ///
    /// A workday keeps the job. On any other day the job moves to the
    /// nearest workday of the same ISO week (Monday to Sunday), searching
    /// later days for [`ShiftRule::Later`] and earlier days for
    /// [`ShiftRule::Earlier`]; make-up weekend days count as workdays. It is
    /// skipped when that direction has no workday left in the week, because
    /// moving it into another week would mix up two weeks' plans.
    /// [`ShiftRule::None`] always keeps the job.
    pub fn shift(&self, d: NaiveDate, rule: ShiftRule) -> Shifted {
        let step: fn(&NaiveDate) -> Option<NaiveDate> = match rule {
            ShiftRule::None => return Shifted::Same(d),
            ShiftRule::SkipWeekOff if self.week_has_workday(d) => return Shifted::Same(d),
            ShiftRule::SkipWeekOff => return Shifted::Skipped,
            ShiftRule::Later => NaiveDate::succ_opt,
            ShiftRule::Earlier => NaiveDate::pred_opt,
        };
        if self.is_workday(d) {
            return Shifted::Same(d);
        }
        let week = d.iso_week();
        let mut current = d;
        while let Some(candidate) = step(&current) {
            if candidate.iso_week() != week {
                break;
            }
            if self.is_workday(candidate) {
                return Shifted::Moved(candidate);
            }
            current = candidate;
        }
        Shifted::Skipped
    }

    /// Tells whether the ISO week (Monday to Sunday) of `d` has a workday.
    pub fn week_has_workday(&self, d: NaiveDate) -> bool {
        let monday = d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday()));
        monday.iter_days().take(7).any(|day| self.is_workday(day))
    }

    /// The first workday after `d`.
    pub fn next_workday(&self, d: NaiveDate) -> NaiveDate {
        // A holiday run is at most a few weeks; the bound only guards
        // against a calendar an admin filled with days off.
        let mut day = d;
        for _ in 0..366 {
            match day.succ_opt() {
                Some(next) => day = next,
                None => return day,
            }
            if self.is_workday(day) {
                return day;
            }
        }
        day
    }

    /// The statutory holiday that keeps `d` off, if any: `d` is no workday
    /// and the run of days off it belongs to holds a statutory holiday (so
    /// an ordinary weekend right after 国庆节 is still the break, and the
    /// nagging waits for the next workday). Returns the holiday's name.
    pub fn holiday_break(&self, d: NaiveDate) -> Option<&str> {
        if self.is_workday(d) {
            return None;
        }
        if let Some(name) = self.holiday_name(d) {
            return Some(name);
        }
        let mut found = None;
        for step in [NaiveDate::pred_opt, NaiveDate::succ_opt] {
            let mut day = d;
            for _ in 0..31 {
                let Some(next) = step(&day) else { break };
                day = next;
                if self.is_workday(day) {
                    break;
                }
                if let Some(name) = self.holiday_name(day) {
                    found = Some(name);
                    break;
                }
            }
            if found.is_some() {
                break;
            }
        }
        found
    }

    fn holiday_range(&self, d: NaiveDate) -> Option<&HolidayRange> {
        self.years
            .get(&d.year())
            .and_then(|data| data.holidays.iter().find(|h| h.contains(d)))
    }
}

/// Turns a TOML error into one line that names where it is, since the
/// multi-line rendering of the toml crate reads badly in a chat reply or log.
fn toml_error(text: &str, e: &toml::de::Error) -> CalendarError {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            CalendarError::Toml(format!("line {line}: {message}"))
        }
        None => CalendarError::Toml(message),
    }
}

fn parse_year_key(key: &str) -> Result<i32, CalendarError> {
    // Only plain digits: "+2026" or " 2026" would parse as numbers but are
    // almost certainly typos in a hand-edited file.
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_digit()) {
        return Err(CalendarError::BadYearKey(key.to_owned()));
    }
    key.parse()
        .map_err(|_| CalendarError::BadYearKey(key.to_owned()))
}

fn validate_year(year: i32, data: &YearData) -> Result<(), CalendarError> {
    if data.notice.trim().is_empty() {
        return Err(CalendarError::EmptyNotice { year });
    }
    let inside = |date: NaiveDate| {
        if date.year() == year {
            Ok(())
        } else {
            Err(CalendarError::OutsideYear { year, date })
        }
    };
    for h in &data.holidays {
        if h.name.trim().is_empty() {
            return Err(CalendarError::EmptyHolidayName { year, from: h.from });
        }
        inside(h.from)?;
        inside(h.to)?;
        if h.from > h.to {
            return Err(CalendarError::ReversedRange {
                year,
                name: h.name.clone(),
                from: h.from,
                to: h.to,
            });
        }
    }
    let workdays: BTreeSet<NaiveDate> = data.workdays.iter().copied().collect();
    for &date in &workdays {
        inside(date)?;
        if let Some(h) = data.holidays.iter().find(|h| h.contains(date)) {
            return Err(CalendarError::HolidayAndWorkday {
                year,
                date,
                name: h.name.clone(),
            });
        }
    }
    Ok(())
}

/// A date that deserializes from a `"2026-10-01"` string (TOML, JSON) or
/// from a bare TOML date (`2026-10-01`), since operators editing the file by
/// hand will write either.
struct FlexibleDate(NaiveDate);

impl<'de> Deserialize<'de> for FlexibleDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FlexibleDateVisitor)
    }
}

struct FlexibleDateVisitor;

impl<'de> Visitor<'de> for FlexibleDateVisitor {
    type Value = FlexibleDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date written as YYYY-MM-DD, e.g. \"2026-10-01\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexibleDate, E> {
        NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map(FlexibleDate)
            .map_err(|_| {
                E::custom(format!(
                    "`{v}` is not a date; write it as YYYY-MM-DD, e.g. \"2026-10-01\""
                ))
            })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FlexibleDate, A::Error> {
        // The toml crate hands bare dates over as a one-entry map that only
        // its own `Datetime` type understands, so delegate to it.
        let dt = toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
        match (dt.date, dt.time, dt.offset) {
            (Some(date), None, None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .map(FlexibleDate)
            .ok_or_else(|| de::Error::custom(format!("`{dt}` is not a calendar date"))),
            _ => Err(de::Error::custom(format!(
                "`{dt}` has a time of day; write only the date, e.g. 2026-10-01"
            ))),
        }
    }
}

fn deserialize_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    FlexibleDate::deserialize(deserializer).map(|d| d.0)
}

fn deserialize_dates<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<NaiveDate>, D::Error> {
    Vec::<FlexibleDate>::deserialize(deserializer).map(|v| v.into_iter().map(|d| d.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test dates are valid")
    }

    fn cal() -> HolidayCalendar {
        HolidayCalendar::bundled()
    }

    fn year_data(holidays: Vec<HolidayRange>, workdays: Vec<NaiveDate>) -> YearData {
        YearData {
            notice: "测试通知".to_owned(),
            holidays,
            workdays,
        }
    }

    fn range(name: &str, from: NaiveDate, to: NaiveDate) -> HolidayRange {
        HolidayRange {
            name: name.to_owned(),
            from,
            to,
        }
    }

    #[test]
    fn the_clearance_skips_only_a_week_wholly_off() {
        let c = cal();
        // 2026-02-16..22 is all 春节; the Sunday after National Day week is not.
        assert_eq!(
            c.shift(date(2026, 2, 22), ShiftRule::SkipWeekOff),
            Shifted::Skipped
        );
        assert_eq!(
            c.shift(date(2026, 10, 4), ShiftRule::SkipWeekOff),
            Shifted::Same(date(2026, 10, 4)),
            "9/28–10/4: 9/28–9/30 are workdays",
        );
        assert_eq!(
            c.shift(date(2026, 12, 6), ShiftRule::SkipWeekOff),
            Shifted::Same(date(2026, 12, 6))
        );
    }

    #[test]
    fn a_holiday_break_runs_to_the_next_workday() {
        let c = cal();
        assert_eq!(c.holiday_break(date(2026, 2, 17)), Some("春节"));
        assert_eq!(c.holiday_break(date(2026, 12, 6)), None, "a plain Sunday");
        assert_eq!(c.holiday_break(date(2026, 12, 2)), None, "a workday");
        // 2026-06-19..21 端午 (Fri–Sun): the Saturday is the holiday itself.
        assert_eq!(c.holiday_break(date(2026, 6, 20)), Some("端午节"));
        // 2025 元旦 is Wednesday only; the weekend after is ordinary.
        assert_eq!(c.holiday_break(date(2025, 1, 4)), None);
        assert_eq!(c.next_workday(date(2026, 2, 17)), date(2026, 2, 24));
        assert_eq!(c.next_workday(date(2026, 12, 4)), date(2026, 12, 7));
        assert!(!c.week_has_workday(date(2026, 2, 18)));
        assert!(
            c.week_has_workday(date(2026, 2, 14)),
            "the make-up Saturday"
        );
    }

    #[test]
    fn bundled_parses_and_ships_2025_and_2026() {
        let c = cal();
        assert_eq!(c.years(), vec![2025, 2026]);
        assert!(c.has_year(2025));
        assert!(c.has_year(2026));
        let y2025 = c.year(2025).expect("2025 is bundled");
        assert!(y2025.notice.contains("国办发明电〔2024〕12号"));
        let y2026 = c.year(2026).expect("2026 is bundled");
        assert!(y2026.notice.contains("国办发明电〔2025〕7号"));
        assert_eq!(y2025.holidays.len(), 6);
        assert_eq!(y2026.holidays.len(), 7);
    }

    #[test]
    fn bundled_makeup_days_are_all_weekend_days() {
        // The notices only ever turn Saturdays and Sundays into workdays; a
        // weekday here would be a transcription error.
        let c = cal();
        for year in c.years() {
            for d in &c.year(year).expect("listed year").workdays {
                assert!(
                    matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
                    "{d} is not a weekend day"
                );
            }
        }
    }

    #[test]
    fn bundled_day_off_totals_match_the_notices() {
        // Each notice states the length of every holiday (共N天).
        let c = cal();
        let days = |year: i32| -> Vec<(String, i64)> {
            c.year(year)
                .expect("listed year")
                .holidays
                .iter()
                .map(|h| (h.name.clone(), (h.to - h.from).num_days() + 1))
                .collect()
        };
        let expect = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
            v.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect()
        };
        assert_eq!(
            days(2025),
            expect(&[
                ("元旦", 1),
                ("春节", 8),
                ("清明节", 3),
                ("劳动节", 5),
                ("端午节", 3),
                ("国庆节、中秋节", 8),
            ])
        );
        assert_eq!(
            days(2026),
            expect(&[
                ("元旦", 3),
                ("春节", 9),
                ("清明节", 3),
                ("劳动节", 5),
                ("端午节", 3),
                ("中秋节", 3),
                ("国庆节", 7),
            ])
        );
    }

    #[test]
    fn spring_festival_2026_days() {
        let c = cal();
        for day in 15..=23 {
            let d = date(2026, 2, day);
            assert!(c.is_holiday(d), "{d} should be off");
            assert!(!c.is_workday(d), "{d} should not be a workday");
            assert_eq!(c.holiday_name(d), Some("春节"));
        }
        // The make-up Saturdays on either side.
        for d in [date(2026, 2, 14), date(2026, 2, 28)] {
            assert_eq!(d.weekday(), Weekday::Sat);
            assert!(c.is_workday(d), "{d} is a make-up workday");
            assert!(c.is_makeup_workday(d));
            assert!(!c.is_holiday(d));
            assert_eq!(c.holiday_name(d), None);
        }
        assert!(c.is_workday(date(2026, 2, 24)));
        assert!(!c.is_holiday(date(2026, 2, 24)));
        // An ordinary Saturday nearby stays a day off.
        assert!(!c.is_workday(date(2026, 2, 7)));
    }

    #[test]
    fn spring_festival_2026_shifts() {
        let c = cal();
        // 2/16–2/22 is ISO week 8 and wholly off: a Monday job finds no later
        // workday in the week.
        assert_eq!(date(2026, 2, 16).iso_week().week(), 8);
        assert_eq!(date(2026, 2, 22).iso_week().week(), 8);
        assert_eq!(
            c.shift(date(2026, 2, 16), ShiftRule::Later),
            Shifted::Skipped
        );
        assert_eq!(
            c.shift(date(2026, 2, 17), ShiftRule::Later),
            Shifted::Skipped
        );
        // The Friday job finds Monday to Thursday off as well.
        assert_eq!(
            c.shift(date(2026, 2, 20), ShiftRule::Earlier),
            Shifted::Skipped
        );
        // Week 9 starts with the last day off, Monday 2/23: the Monday job
        // moves to Tuesday 2/24.
        assert_eq!(date(2026, 2, 23).iso_week().week(), 9);
        assert_eq!(
            c.shift(date(2026, 2, 23), ShiftRule::Later),
            Shifted::Moved(date(2026, 2, 24))
        );
        assert_eq!(
            c.shift(date(2026, 2, 24), ShiftRule::Later),
            Shifted::Same(date(2026, 2, 24))
        );
        // The week before: Friday 2/13 is an ordinary workday, and the
        // make-up Saturday 2/14 keeps any job planned on it.
        assert_eq!(
            c.shift(date(2026, 2, 13), ShiftRule::Earlier),
            Shifted::Same(date(2026, 2, 13))
        );
        assert_eq!(
            c.shift(date(2026, 2, 14), ShiftRule::Later),
            Shifted::Same(date(2026, 2, 14))
        );
        // ShiftRule::None never moves, even in the middle of the holiday.
        assert_eq!(
            c.shift(date(2026, 2, 18), ShiftRule::None),
            Shifted::Same(date(2026, 2, 18))
        );
    }

    #[test]
    fn national_day_2026() {
        let c = cal();
        for day in 1..=7 {
            let d = date(2026, 10, day);
            assert!(c.is_holiday(d));
            assert!(!c.is_workday(d));
            assert_eq!(c.holiday_name(d), Some("国庆节"));
        }
        assert!(c.is_workday(date(2026, 10, 8)));
        // Make-up days: Sunday 9/20 and Saturday 10/10.
        assert_eq!(date(2026, 9, 20).weekday(), Weekday::Sun);
        assert!(c.is_workday(date(2026, 9, 20)));
        assert_eq!(date(2026, 10, 10).weekday(), Weekday::Sat);
        assert!(c.is_workday(date(2026, 10, 10)));
        // Friday 10/2: Thursday 10/1 is off too, Wednesday 9/30 is a workday.
        assert_eq!(
            c.shift(date(2026, 10, 2), ShiftRule::Earlier),
            Shifted::Moved(date(2026, 9, 30))
        );
        // Monday 10/5 and Tuesday 10/6 move to Thursday 10/8.
        assert_eq!(
            c.shift(date(2026, 10, 5), ShiftRule::Later),
            Shifted::Moved(date(2026, 10, 8))
        );
        assert_eq!(
            c.shift(date(2026, 10, 6), ShiftRule::Later),
            Shifted::Moved(date(2026, 10, 8))
        );
        // Friday 10/9 is an ordinary workday.
        assert_eq!(
            c.shift(date(2026, 10, 9), ShiftRule::Earlier),
            Shifted::Same(date(2026, 10, 9))
        );
        // Mid-Autumn Friday 9/25 moves to Thursday 9/24.
        assert_eq!(
            c.shift(date(2026, 9, 25), ShiftRule::Earlier),
            Shifted::Moved(date(2026, 9, 24))
        );
    }

    #[test]
    fn may_day_2025() {
        let c = cal();
        for day in 1..=5 {
            let d = date(2025, 5, day);
            assert!(c.is_holiday(d));
            assert_eq!(c.holiday_name(d), Some("劳动节"));
        }
        assert_eq!(date(2025, 4, 27).weekday(), Weekday::Sun);
        assert!(c.is_workday(date(2025, 4, 27)));
        // Friday 5/2: Thursday 5/1 is off, Wednesday 4/30 works.
        assert_eq!(
            c.shift(date(2025, 5, 2), ShiftRule::Earlier),
            Shifted::Moved(date(2025, 4, 30))
        );
        // Monday 5/5 moves to Tuesday 5/6.
        assert_eq!(
            c.shift(date(2025, 5, 5), ShiftRule::Later),
            Shifted::Moved(date(2025, 5, 6))
        );
    }

    #[test]
    fn spring_festival_2025_shifts() {
        let c = cal();
        // Holiday Tue 1/28 to Tue 2/4. A Tuesday job on 1/28 finds the rest
        // of the week off; the Friday job moves back to Monday 1/27.
        assert_eq!(
            c.shift(date(2025, 1, 28), ShiftRule::Later),
            Shifted::Skipped
        );
        assert_eq!(
            c.shift(date(2025, 1, 31), ShiftRule::Earlier),
            Shifted::Moved(date(2025, 1, 27))
        );
        // The next week: Monday 2/3 moves to Wednesday 2/5.
        assert_eq!(
            c.shift(date(2025, 2, 3), ShiftRule::Later),
            Shifted::Moved(date(2025, 2, 5))
        );
        assert!(c.is_workday(date(2025, 1, 26)));
        assert!(c.is_workday(date(2025, 2, 8)));
    }

    #[test]
    fn monday_job_may_move_to_a_makeup_saturday() {
        let mut c = HolidayCalendar::default();
        // 2030-06-03 is a Monday; a made-up arrangement with Monday to
        // Friday off and Saturday worked.
        let mon = date(2030, 6, 3);
        assert_eq!(mon.weekday(), Weekday::Mon);
        c.set_year(
            2030,
            year_data(
                vec![range("测试", mon, date(2030, 6, 7))],
                vec![date(2030, 6, 8)],
            ),
        )
        .expect("valid data");
        assert_eq!(
            c.shift(mon, ShiftRule::Later),
            Shifted::Moved(date(2030, 6, 8))
        );
        // Nothing earlier in the week for a Friday job.
        assert_eq!(
            c.shift(date(2030, 6, 7), ShiftRule::Earlier),
            Shifted::Skipped
        );
    }

    #[test]
    fn a_makeup_sunday_counts_only_for_later_searches() {
        let mut c = HolidayCalendar::default();
        // Week of Monday 2030-06-10; the whole week is off except Sunday
        // 6/16, which is later than Friday, so an Earlier search ignores it.
        c.set_year(
            2030,
            year_data(
                vec![range("测试", date(2030, 6, 10), date(2030, 6, 14))],
                vec![date(2030, 6, 16)],
            ),
        )
        .expect("valid data");
        assert_eq!(
            c.shift(date(2030, 6, 14), ShiftRule::Earlier),
            Shifted::Skipped
        );
        assert_eq!(
            c.shift(date(2030, 6, 10), ShiftRule::Later),
            Shifted::Moved(date(2030, 6, 16))
        );
    }

    #[test]
    fn year_without_data_is_plain_weekends() {
        let c = cal();
        assert!(!c.has_year(2031));
        assert!(c.year(2031).is_none());
        // 2031-01-01 is a Wednesday: without a notice it is a plain workday.
        let new_year = date(2031, 1, 1);
        assert_eq!(new_year.weekday(), Weekday::Wed);
        assert!(c.is_workday(new_year));
        assert!(!c.is_holiday(new_year));
        assert_eq!(c.holiday_name(new_year), None);
        assert!(!c.is_workday(date(2031, 1, 4)));
        assert!(!c.is_workday(date(2031, 1, 5)));
        // Monday 2031-01-06 keeps its job; the weekend moves nowhere.
        assert_eq!(
            c.shift(date(2031, 1, 6), ShiftRule::Later),
            Shifted::Same(date(2031, 1, 6))
        );
        assert_eq!(
            c.shift(date(2031, 1, 4), ShiftRule::Later),
            Shifted::Skipped
        );
        assert_eq!(
            c.shift(date(2031, 1, 4), ShiftRule::Earlier),
            Shifted::Moved(date(2031, 1, 3))
        );
    }

    #[test]
    fn shift_stays_inside_an_iso_week_that_crosses_new_year() {
        let mut c = HolidayCalendar::default();
        // 2029-12-31 (Mon) to 2030-01-06 (Sun) is ISO week 2030-W01.
        c.set_year(
            2030,
            year_data(
                vec![range("元旦", date(2030, 1, 1), date(2030, 1, 1))],
                vec![],
            ),
        )
        .expect("valid data");
        assert_eq!(
            c.shift(date(2030, 1, 1), ShiftRule::Earlier),
            Shifted::Moved(date(2029, 12, 31))
        );
        assert_eq!(
            c.shift(date(2030, 1, 1), ShiftRule::Later),
            Shifted::Moved(date(2030, 1, 2))
        );
    }

    #[test]
    fn set_year_overrides_a_year() {
        let mut c = cal();
        let before = c.year(2026).cloned().expect("2026 is bundled");
        // An admin correction: National Day ends a day later, no make-up day.
        let mut fixed = before.clone();
        fixed.notice = "国务院办公厅关于2026年部分节假日安排的通知（更正）".to_owned();
        for h in &mut fixed.holidays {
            if h.name == "国庆节" {
                h.to = date(2026, 10, 8);
            }
        }
        fixed.workdays.retain(|d| *d != date(2026, 10, 10));
        c.set_year(2026, fixed.clone()).expect("valid correction");
        assert_eq!(c.year(2026), Some(&fixed));
        assert!(c.is_holiday(date(2026, 10, 8)));
        assert!(!c.is_workday(date(2026, 10, 10)));
        assert_eq!(c.years(), vec![2025, 2026]);

        // A refused correction leaves the year as it was.
        let mut bad = fixed.clone();
        bad.workdays.push(date(2026, 10, 3));
        assert!(c.set_year(2026, bad).is_err());
        assert_eq!(c.year(2026), Some(&fixed));

        // Extending with a new year.
        c.set_year(
            2027,
            year_data(
                vec![range("元旦", date(2027, 1, 1), date(2027, 1, 1))],
                vec![],
            ),
        )
        .expect("valid year");
        assert_eq!(c.years(), vec![2025, 2026, 2027]);
        assert!(c.is_holiday(date(2027, 1, 1)));
    }

    #[test]
    fn validation_errors() {
        let mut c = HolidayCalendar::default();
        let err = c
            .set_year(
                2026,
                year_data(
                    vec![range("春节", date(2026, 2, 23), date(2026, 2, 15))],
                    vec![],
                ),
            )
            .expect_err("reversed range");
        assert!(matches!(
            err,
            CalendarError::ReversedRange { year: 2026, .. }
        ));
        assert!(err.to_string().contains("春节"));

        let err = c
            .set_year(
                2026,
                year_data(
                    vec![range("元旦", date(2025, 12, 31), date(2026, 1, 1))],
                    vec![],
                ),
            )
            .expect_err("range starts in 2025");
        assert_eq!(
            err,
            CalendarError::OutsideYear {
                year: 2026,
                date: date(2025, 12, 31)
            }
        );
        assert!(err.to_string().contains("[years.2025]"));

        let err = c
            .set_year(2026, year_data(vec![], vec![date(2027, 1, 2)]))
            .expect_err("workday in 2027");
        assert!(matches!(err, CalendarError::OutsideYear { .. }));

        let err = c
            .set_year(
                2026,
                year_data(
                    vec![range("春节", date(2026, 2, 15), date(2026, 2, 23))],
                    vec![date(2026, 2, 15)],
                ),
            )
            .expect_err("both holiday and workday");
        assert_eq!(
            err,
            CalendarError::HolidayAndWorkday {
                year: 2026,
                date: date(2026, 2, 15),
                name: "春节".to_owned()
            }
        );

        let mut no_notice = year_data(vec![], vec![]);
        no_notice.notice = "  ".to_owned();
        assert_eq!(
            c.set_year(2026, no_notice),
            Err(CalendarError::EmptyNotice { year: 2026 })
        );

        let err = c
            .set_year(
                2026,
                year_data(vec![range(" ", date(2026, 1, 1), date(2026, 1, 1))], vec![]),
            )
            .expect_err("unnamed holiday");
        assert!(matches!(err, CalendarError::EmptyHolidayName { .. }));

        // Nothing was stored by the failed calls.
        assert!(c.years().is_empty());
    }

    #[test]
    fn from_toml_validates() {
        let reversed = r#"
            [years.2026]
            notice = "n"
            holidays = [{ name = "春节", from = "2026-02-23", to = "2026-02-15" }]
        "#;
        assert!(matches!(
            HolidayCalendar::from_toml(reversed),
            Err(CalendarError::ReversedRange { .. })
        ));

        let wrong_year = r#"
            [years.2026]
            notice = "n"
            holidays = [{ name = "元旦", from = "2027-01-01", to = "2027-01-01" }]
        "#;
        assert!(matches!(
            HolidayCalendar::from_toml(wrong_year),
            Err(CalendarError::OutsideYear { year: 2026, .. })
        ));

        let both = r#"
            [years.2026]
            notice = "n"
            holidays = [{ name = "国庆节", from = "2026-10-01", to = "2026-10-07" }]
            workdays = ["2026-10-07"]
        "#;
        assert!(matches!(
            HolidayCalendar::from_toml(both),
            Err(CalendarError::HolidayAndWorkday { .. })
        ));

        let empty_notice = r#"
            [years.2026]
            notice = ""
            holidays = []
        "#;
        assert_eq!(
            HolidayCalendar::from_toml(empty_notice),
            Err(CalendarError::EmptyNotice { year: 2026 })
        );

        let bad_key = r#"
            [years.next]
            notice = "n"
            holidays = []
        "#;
        assert_eq!(
            HolidayCalendar::from_toml(bad_key),
            Err(CalendarError::BadYearKey("next".to_owned()))
        );

        // A misspelt field is refused rather than silently ignored.
        let typo = r#"
            [years.2026]
            notice = "n"
            holidays = []
            workday = ["2026-01-04"]
        "#;
        let err = HolidayCalendar::from_toml(typo).expect_err("unknown field");
        assert!(matches!(err, CalendarError::Toml(_)));
        assert!(err.to_string().contains("workday"), "{err}");

        let bad_date = r#"
            [years.2026]
            notice = "n"
            holidays = [{ name = "元旦", from = "2026-13-01", to = "2026-01-03" }]
        "#;
        let err = HolidayCalendar::from_toml(bad_date).expect_err("bad date");
        assert!(err.to_string().contains("2026-13-01"), "{err}");

        assert!(matches!(
            HolidayCalendar::from_toml("years = ["),
            Err(CalendarError::Toml(_))
        ));
        assert_eq!(
            HolidayCalendar::from_toml(""),
            Ok(HolidayCalendar::default())
        );
    }

    #[test]
    fn from_toml_accepts_bare_toml_dates() {
        let text = r#"
            [years.2026]
            notice = "n"
            holidays = [{ name = "元旦", from = 2026-01-01, to = 2026-01-03 }]
            workdays = [2026-01-04, "2026-02-14"]
        "#;
        let c = HolidayCalendar::from_toml(text).expect("bare dates are fine");
        assert!(c.is_holiday(date(2026, 1, 2)));
        assert!(c.is_workday(date(2026, 1, 4)));
        assert!(c.is_workday(date(2026, 2, 14)));

        let with_time = r#"
            [years.2026]
            notice = "n"
            holidays = [{ name = "元旦", from = 2026-01-01T08:00:00, to = 2026-01-03 }]
        "#;
        let err = HolidayCalendar::from_toml(with_time).expect_err("time of day");
        assert!(err.to_string().contains("time of day"), "{err}");
    }

    #[test]
    fn to_toml_round_trips() {
        let c = cal();
        let text = c.to_toml().expect("serializable");
        assert_eq!(HolidayCalendar::from_toml(&text), Ok(c));
    }
}
