//! Urgency levels of tasks and requests (红 / 橙 / 黄 / 绿) and their time limits.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime};

/// How hard or urgent a task is. Red is the most urgent; the derived `Ord`
/// sorts Red first, which is the order lists are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Red,
    Orange,
    Yellow,
    Green,
}

impl Level {
    /// Every level, most urgent first.
    pub const ALL: [Level; 4] = [Level::Red, Level::Orange, Level::Yellow, Level::Green];

    /// Parses a level as typed in a group: `红`, `红色`, `【红】`, `[红色]`,
    /// `(红)`, or an emoji (🔴 🟠 🟡 🟢, also the squares 🟥 🟧 🟨 🟩).
    /// The whole input must be the level; surrounding white space is ignored.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        if let Some(level) = Self::from_emoji(s) {
            return Some(level);
        }
        let inner = [
            ("【", "】"),
            ("[", "]"),
            ("(", ")"),
            ("（", "）"),
            ("〔", "〕"),
        ]
        .iter()
        .find_map(|(open, close)| s.strip_prefix(open)?.strip_suffix(close))
        .unwrap_or(s);
        Self::from_word(inner.trim())
    }

    /// The bare Chinese word: 红 / 红色 and so on.
    fn from_word(s: &str) -> Option<Level> {
        match s {
            "红" | "红色" => Some(Level::Red),
            "橙" | "橙色" => Some(Level::Orange),
            "黄" | "黄色" => Some(Level::Yellow),
            "绿" | "绿色" => Some(Level::Green),
            _ => None,
        }
    }

    /// A single level emoji.
    pub(crate) fn from_emoji(s: &str) -> Option<Level> {
        match s {
            "🔴" | "🟥" => Some(Level::Red),
            "🟠" | "🟧" => Some(Level::Orange),
            "🟡" | "🟨" => Some(Level::Yellow),
            "🟢" | "🟩" => Some(Level::Green),
            _ => None,
        }
    }

    /// The one-character Chinese label used in replies.
    pub fn label(self) -> &'static str {
        match self {
            Level::Red => "红",
            Level::Orange => "橙",
            Level::Yellow => "黄",
            Level::Green => "绿",
        }
    }

    /// The stable name used in storage and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Red => "red",
            Level::Orange => "orange",
            Level::Yellow => "yellow",
            Level::Green => "green",
        }
    }

    /// The inverse of [`Level::as_str`].
    pub fn from_str_db(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Overdue red and orange tasks escalate to the township admin.
    pub fn escalates(self) -> bool {
        matches!(self, Level::Red | Level::Orange)
    }
}

/// A stored level that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level {0:?}")]
pub struct UnknownLevel(pub String);

impl TryFrom<String> for Level {
    type Error = UnknownLevel;
    fn try_from(name: String) -> Result<Level, UnknownLevel> {
        Level::from_str_db(&name).ok_or(UnknownLevel(name))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Time limit of each level in days (configurable per township).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelLimits {
    pub red_days: u32,
    pub orange_days: u32,
    pub yellow_days: u32,
    pub green_days: u32,
}

impl Default for LevelLimits {
    /// The product's default deadlines: 红 1 day, 橙 3 days, 黄 5 days, 绿 7 days.
    fn default() -> Self {
        LevelLimits {
            red_days: 1,
            orange_days: 3,
            yellow_days: 5,
            green_days: 7,
        }
    }
}

impl LevelLimits {
    /// The time limit of `level` in days.
    pub fn days(&self, level: Level) -> u32 {
        match level {
            Level::Red => self.red_days,
            Level::Orange => self.orange_days,
            Level::Yellow => self.yellow_days,
            Level::Green => self.green_days,
        }
    }
}

/// The last second of a day.
fn end_of_day(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
}

/// Sunday 23:59:59 of the Monday–Sunday week that contains `date`.
pub fn week_end(date: NaiveDate) -> NaiveDateTime {
    let to_sunday = 6 - u64::from(date.weekday().num_days_from_monday());
    // Only the last days chrono can represent have no Sunday after them.
    end_of_day(date.checked_add_days(Days::new(to_sunday)).unwrap_or(date))
}

/// The deadline a task gets when none was typed: the end of the day `days`
/// days after `now`'s date, but never past the end of `now`'s plan week
/// (Sunday 24:00), because every task is cleared by Sunday night.
pub fn default_deadline(level: Level, now: NaiveDateTime, limits: &LevelLimits) -> NaiveDateTime {
    let today = now.date();
    let week_end = week_end(today);
    match today.checked_add_days(Days::new(u64::from(limits.days(level)))) {
        Some(date) => end_of_day(date).min(week_end),
        None => week_end,
    }
}

/// [`default_deadline`], moved off a statutory holiday to the end of the
/// next workday (which may be in the next week: nobody works the break, so
/// the week's cap gives way to it). Returns the deadline.
pub fn default_deadline_off_holidays(
    level: Level,
    now: NaiveDateTime,
    limits: &LevelLimits,
    calendar: &super::calendar::HolidayCalendar,
) -> NaiveDateTime {
    let d = default_deadline(level, now, limits);
    if calendar.is_holiday(d.date()) {
        end_of_day(calendar.next_workday(d.date()))
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_levels_decode_and_unknown_ones_are_refused() {
        for l in [Level::Red, Level::Orange, Level::Yellow, Level::Green] {
            assert_eq!(Level::try_from(l.as_str().to_string()), Ok(l));
        }
        assert_eq!(
            Level::try_from("purple".to_string()),
            Err(UnknownLevel("purple".into()))
        );
    }

    fn dt(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|date| date.and_hms_opt(h, mi, s))
            .expect("valid test date")
    }

    #[test]
    fn a_default_deadline_leaves_the_holiday() {
        let cal = super::super::calendar::HolidayCalendar::bundled();
        let l = LevelLimits::default();
        // Thursday 2026-02-12, 黄 5 days → Tuesday 2/17 (春节) → Tuesday 2/24.
        let now = dt(2026, 2, 12, 10, 0, 0);
        assert_eq!(
            default_deadline(Level::Yellow, now, &l),
            dt(2026, 2, 15, 23, 59, 59)
        );
        assert_eq!(
            default_deadline_off_holidays(Level::Yellow, now, &l, &cal),
            dt(2026, 2, 24, 23, 59, 59)
        );
        // 红 1 day → Friday 2/13, a workday: kept.
        assert_eq!(
            default_deadline_off_holidays(Level::Red, now, &l, &cal),
            dt(2026, 2, 13, 23, 59, 59)
        );
        // A plain Sunday is no holiday: the week's cap holds.
        let dec = dt(2026, 12, 2, 10, 0, 0);
        assert_eq!(
            default_deadline_off_holidays(Level::Green, dec, &l, &cal),
            dt(2026, 12, 6, 23, 59, 59)
        );
    }

    #[test]
    fn parse_accepts_every_spelling() {
        let cases = [
            ("红", Level::Red),
            ("红色", Level::Red),
            ("【红】", Level::Red),
            ("【红色】", Level::Red),
            ("[红]", Level::Red),
            ("(红)", Level::Red),
            ("（红）", Level::Red),
            ("🔴", Level::Red),
            ("🟥", Level::Red),
            ("橙", Level::Orange),
            ("橙色", Level::Orange),
            ("【橙】", Level::Orange),
            ("🟠", Level::Orange),
            ("黄", Level::Yellow),
            ("黄色", Level::Yellow),
            ("[黄色]", Level::Yellow),
            ("🟡", Level::Yellow),
            ("绿", Level::Green),
            ("绿色", Level::Green),
            ("【绿】", Level::Green),
            ("🟢", Level::Green),
            (" 绿 ", Level::Green),
        ];
        for (input, expected) in cases {
            assert_eq!(Level::parse(input), Some(expected), "input {input:?}");
        }
    }

    #[test]
    fn parse_rejects_other_words() {
        for input in [
            "",
            "红红",
            "红色的",
            "蓝",
            "red",
            "【红",
            "红】",
            "【】",
            "🔵",
            "参观红色教育基地",
        ] {
            assert_eq!(Level::parse(input), None, "input {input:?}");
        }
    }

    #[test]
    fn storage_names_round_trip() {
        for level in Level::ALL {
            assert_eq!(Level::from_str_db(level.as_str()), Some(level));
            assert_eq!(Level::parse(level.label()), Some(level));
            assert_eq!(level.to_string(), level.label());
        }
        assert_eq!(Level::from_str_db("Red"), None);
    }

    #[test]
    fn only_red_and_orange_escalate() {
        assert!(Level::Red.escalates());
        assert!(Level::Orange.escalates());
        assert!(!Level::Yellow.escalates());
        assert!(!Level::Green.escalates());
    }

    #[test]
    fn limits_default_to_1_3_5_7() {
        let limits = LevelLimits::default();
        let days: Vec<u32> = Level::ALL.iter().map(|l| limits.days(*l)).collect();
        assert_eq!(days, vec![1, 3, 5, 7]);
    }

    #[test]
    fn week_end_is_sunday_night() {
        // 2026-11-30 is a Monday, 2026-12-06 the Sunday of that week.
        for day in 30..=36 {
            let date = NaiveDate::from_ymd_opt(2026, 11, 1)
                .and_then(|d| d.checked_add_days(Days::new(day - 1)))
                .expect("valid date");
            assert_eq!(week_end(date), dt(2026, 12, 6, 23, 59, 59), "date {date}");
        }
        assert_eq!(week_end(NaiveDate::MAX).date(), NaiveDate::MAX);
    }

    #[test]
    fn default_deadline_follows_the_level_limit() {
        let limits = LevelLimits::default();
        let monday = dt(2026, 11, 30, 10, 0, 0);
        let cases = [
            (Level::Red, dt(2026, 12, 1, 23, 59, 59)),
            (Level::Orange, dt(2026, 12, 3, 23, 59, 59)),
            (Level::Yellow, dt(2026, 12, 5, 23, 59, 59)),
            // 7 days from Monday would be next Monday: capped at Sunday night.
            (Level::Green, dt(2026, 12, 6, 23, 59, 59)),
        ];
        for (level, expected) in cases {
            assert_eq!(
                default_deadline(level, monday, &limits),
                expected,
                "{level:?}"
            );
        }
    }

    #[test]
    fn default_deadline_never_passes_sunday() {
        let limits = LevelLimits::default();
        let friday = dt(2026, 12, 4, 20, 0, 0);
        assert_eq!(
            default_deadline(Level::Orange, friday, &limits),
            dt(2026, 12, 6, 23, 59, 59)
        );
        let sunday = dt(2026, 12, 6, 9, 0, 0);
        for level in Level::ALL {
            assert_eq!(
                default_deadline(level, sunday, &limits),
                dt(2026, 12, 6, 23, 59, 59),
                "{level:?}"
            );
        }
        let zero = LevelLimits {
            red_days: 0,
            ..LevelLimits::default()
        };
        assert_eq!(
            default_deadline(Level::Red, friday, &zero),
            dt(2026, 12, 4, 23, 59, 59)
        );
        let huge = LevelLimits {
            green_days: u32::MAX,
            ..LevelLimits::default()
        };
        assert_eq!(
            default_deadline(Level::Green, friday, &huge),
            dt(2026, 12, 6, 23, 59, 59)
        );
    }
}
