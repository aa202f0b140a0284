//! Deadline words → a local date-time.
//!
//! A deadline is read from white-space separated tokens. One token carries a
//! date, a time or both (`明天`, `18:00`, `周五下午6点`), optionally with a
//! qualifier before (`截止12月5日`) or after (`周三前`, `周五之前完成`). A
//! qualifier may also stand alone as its own token (`截止 周五`), and a date
//! token may be followed by a separate time token (`明天 18:00`).
//!
//! Every token is classified as *not a deadline* (so it is text), *a
//! deadline*, or *invalid* (it has the shape of a date or time but the
//! values are impossible, like `2月30日` or `25:00`): an invalid token is an
//! error rather than text, so that a typo never silently becomes task text.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// Qualifiers that may come before the date: 截止12月5日, 到周五, 延到下周三.
/// Longer words first where one is a prefix of another.
const PREFIXES: &[&str] = &[
    "截止到",
    "截止于",
    "截止至",
    "截止",
    "截至",
    "到期",
    "延期到",
    "延期至",
    "延到",
    "延至",
    "推迟到",
    "推迟至",
    "推到",
    "改到",
    "到",
    "至",
];

/// Qualifiers that may come after the date: 周三前, 12月5日之前, 周五截止.
const SUFFIXES: &[&str] = &["之前", "以前", "前", "为止", "截止"];

/// Words that may close a deadline token: 周五前完成.
const FINISH_WORDS: &[&str] = &["完成", "办结", "办好", "到位"];

/// Parts of the day: 下午6点, 晚上8点半.
const PERIODS: &[(&str, Period)] = &[
    ("上午", Period::Morning),
    ("早上", Period::Morning),
    ("早晨", Period::Morning),
    ("清晨", Period::Morning),
    ("凌晨", Period::Morning),
    ("中午", Period::Noon),
    ("下午", Period::Afternoon),
    ("傍晚", Period::Evening),
    ("晚上", Period::Evening),
    ("夜里", Period::Evening),
];

/// Parts of the day that are a deadline on their own (明天下午), with the
/// hour they end at; 24 is the end of the day.
const STANDALONE_PERIODS: &[(&str, u32)] = &[
    ("上午", 12),
    ("中午", 12),
    ("下午", 18),
    ("傍晚", 18),
    ("晚上", 24),
];

/// How many days ahead N天内 may reach (ten years).
const MAX_DAYS_AHEAD: u32 = 3660;

/// Why a deadline was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeadlineError {
    /// Shaped like a date or time, but impossible.
    Invalid { got: String },
    /// Already over. `this_week_day` is set for 周X of the current week.
    Past {
        got: String,
        this_week_day: Option<Weekday>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    Morning,
    Noon,
    Afternoon,
    Evening,
}

/// A time of day as written, before 下午 and friends are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeOfDay {
    hour: u32,
    minute: u32,
    period: Option<Period>,
    /// Written as HH:MM, so the hour is taken literally.
    clock: bool,
}

impl TimeOfDay {
    /// The 24-hour time, or `None` for an impossible one. A bare `N点`
    /// with N in 1..=6 is taken as the afternoon: nobody sets a deadline at
    /// 3 a.m., and "3点" in speech means 15:00.
    fn to_naive(self, evening: bool) -> Option<NaiveTime> {
        let h = self.hour;
        let period = self
            .period
            .or((evening && !self.clock).then_some(Period::Evening));
        let hour = match period {
            Some(Period::Morning) => h,
            Some(Period::Noon) if (1..=5).contains(&h) => h + 12,
            Some(Period::Noon) => h,
            Some(Period::Afternoon) if (1..=11).contains(&h) => h + 12,
            Some(Period::Afternoon) => h,
            Some(Period::Evening) if (1..=11).contains(&h) => h + 12,
            Some(Period::Evening) if h == 12 => 24,
            Some(Period::Evening) => h,
            None if !self.clock && (1..=6).contains(&h) => h + 12,
            None => h,
        };
        match (hour, self.minute) {
            // 24:00 / 晚上12点 is the end of that day.
            (24, 0) => NaiveTime::from_hms_opt(23, 59, 59),
            (hour, minute) => NaiveTime::from_hms_opt(hour, minute, 0),
        }
    }
}

/// What one token says about the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Part {
    date: Option<NaiveDate>,
    time: Option<TimeOfDay>,
    /// Set for 周X / 本周X (not 下周X), for the "write 下周X" hint.
    this_week_day: Option<Weekday>,
    /// 今晚: a following bare hour is in the evening.
    evening: bool,
}

impl Part {
    fn date_only(&self) -> bool {
        self.date.is_some() && self.time.is_none()
    }

    fn time_only(&self) -> bool {
        self.date.is_none() && self.time.is_some()
    }

    /// A date token followed by a separate time token.
    fn with_time_of(self, time: Part) -> Part {
        Part {
            time: time.time,
            ..self
        }
    }
}

/// The classification of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Not a deadline: the token is text.
    Text,
    /// Shaped like a date or time but impossible.
    Invalid,
    Deadline(Part),
}

/// A tiny cursor over a token; every `eat` either consumes or leaves it alone.
#[derive(Clone, Copy)]
struct Cursor<'a> {
    s: &'a str,
}

impl<'a> Cursor<'a> {
    fn eat(&mut self, lit: &str) -> bool {
        match self.s.strip_prefix(lit) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }

    fn eat_any(&mut self, lits: &[&'static str]) -> Option<&'static str> {
        lits.iter().copied().find(|lit| self.eat(lit))
    }

    /// A number written with ASCII digits or Chinese numerals. Returns the
    /// value (saturating, so huge numbers are merely out of range) and the
    /// count of ASCII digits (0 for Chinese numerals).
    fn number(&mut self) -> Option<(u32, usize)> {
        let digits = self.s.len()
            - self
                .s
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        if digits > 0 {
            let (num, rest) = self.s.split_at(digits);
            let value = num.bytes().fold(0u32, |acc, b| {
                acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
            });
            self.s = rest;
            return Some((value, digits));
        }
        let run = self.s.len()
            - self
                .s
                .trim_start_matches(|c| cn_digit(c).is_some() || c == '十')
                .len();
        let value = cn_number(&self.s[..run])?;
        self.s = &self.s[run..];
        Some((value, 0))
    }

    fn done(&self) -> bool {
        self.s.is_empty()
    }
}

fn cn_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Chinese numerals up to 99 (五, 十二, 二十, 三十一) and digit strings of up
/// to four (二〇二六).
pub(crate) fn cn_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    match s.split_once('十') {
        Some((tens, ones)) => {
            let tens = match tens {
                "" => 1,
                t => single_cn_digit(t)?,
            };
            let ones = match ones {
                "" => 0,
                o => single_cn_digit(o)?,
            };
            Some(tens * 10 + ones)
        }
        None if s.chars().count() <= 4 => s
            .chars()
            .try_fold(0u32, |acc, c| Some(acc * 10 + cn_digit(c)?)),
        None => None,
    }
}

fn single_cn_digit(s: &str) -> Option<u32> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => cn_digit(c),
        _ => None,
    }
}

fn weekday_number(c: char) -> Option<u32> {
    Some(match c {
        '一' | '1' => 1,
        '二' | '2' => 2,
        '三' | '3' => 3,
        '四' | '4' => 4,
        '五' | '5' => 5,
        '六' | '6' => 6,
        '日' | '天' | '末' | '7' => 7,
        _ => return None,
    })
}

/// The result of reading the date part of a token.
enum DateRead {
    /// No date here; the cursor is unchanged.
    None,
    /// A date shape with impossible values.
    Invalid,
    /// A date.
    Date {
        date: NaiveDate,
        this_week_day: Option<Weekday>,
        evening: bool,
    },
    /// A bare day of the month (5号), only a date when qualified (5号前).
    BareDay(u32),
}

impl DateRead {
    fn plain(date: Option<NaiveDate>) -> DateRead {
        match date {
            Some(date) => DateRead::Date {
                date,
                this_week_day: None,
                evening: false,
            },
            None => DateRead::Invalid,
        }
    }
}

fn add_days(date: NaiveDate, days: u32) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(u64::from(days)))
}

fn monday_of(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
}

/// M月D日 without a year: this year, or next year when that date is more
/// than about six months ago (in late December, 1月5日 means next January).
fn infer_year(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    if !(1..=31).contains(&day) {
        return None;
    }
    // Day 28 exists in every month, so the comparison works for 2月29日 too.
    let approx = NaiveDate::from_ymd_opt(today.year(), month, day.min(28))?;
    let year = if (today - approx).num_days() > 183 {
        today.year() + 1
    } else {
        today.year()
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

fn read_date(c: &mut Cursor<'_>, today: NaiveDate) -> DateRead {
    // 今天 明天 后天 …
    let relative: &[(&str, u32, bool)] = &[
        ("大后天", 3, false),
        ("后天", 2, false),
        ("明天", 1, false),
        ("明日", 1, false),
        ("今天", 0, false),
        ("今日", 0, false),
        ("今晚", 0, true),
    ];
    for &(word, days, evening) in relative {
        if c.eat(word) {
            return match add_days(today, days) {
                Some(date) => DateRead::Date {
                    date,
                    this_week_day: None,
                    evening,
                },
                None => DateRead::Invalid,
            };
        }
    }

    if let Some(read) = read_week_day(c, today) {
        return read;
    }

    let save = *c;
    let Some((first, first_digits)) = c.number() else {
        return DateRead::None;
    };

    // N天内 / N日内
    if c.eat_any(&["天内", "日内"]).is_some() {
        return match first {
            n if n <= MAX_DAYS_AHEAD => DateRead::plain(add_days(today, n)),
            _ => DateRead::Invalid,
        };
    }

    // YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日
    if first_digits == 4 {
        let after_year = *c;
        if c.eat_any(&["年", "-", "/", "."]).is_some()
            && let Some((month, _)) = c.number()
            && c.eat_any(&["月", "-", "/", "."]).is_some()
            && let Some((day, _)) = c.number()
        {
            c.eat_any(&["日", "号"]);
            // Four ASCII digits always fit an i32.
            let year = i32::try_from(first).unwrap_or(i32::MAX);
            return DateRead::plain(NaiveDate::from_ymd_opt(year, month, day));
        }
        *c = after_year;
    }

    // M月D日, M月D号, M月D, M-D, M/D
    let after_month = *c;
    if c.eat_any(&["月", "-", "/"]).is_some()
        && let Some((day, _)) = c.number()
    {
        c.eat_any(&["日", "号"]);
        return DateRead::plain(infer_year(today, first, day));
    }
    *c = after_month;

    // 5号 / 5日: a day of this month, or of the next one if it has passed.
    if c.eat_any(&["号", "日"]).is_some() {
        return DateRead::BareDay(first);
    }

    *c = save;
    DateRead::None
}

/// 周三, 星期五, 礼拜天, 下周一, 本周五, 周末, 本周内, 下周.
fn read_week_day(c: &mut Cursor<'_>, today: NaiveDate) -> Option<DateRead> {
    let save = *c;
    let qualifier = c.eat_any(&["下个", "下", "本", "这个", "这"]).unwrap_or("");
    if c.eat_any(&["星期", "礼拜", "周", "週"]).is_none() {
        *c = save;
        return None;
    }
    let next_week = qualifier.starts_with('下');
    let mut chars = c.s.chars();
    let day = match chars.next().and_then(weekday_number) {
        Some(day) => {
            c.s = chars.as_str();
            day
        }
        // 本周 / 这周 / 下周 (optionally with 内): by the end of that week.
        None if !qualifier.is_empty() => {
            c.eat("内");
            7
        }
        None => {
            *c = save;
            return None;
        }
    };
    let offset = day - 1 + if next_week { 7 } else { 0 };
    let Some(date) = monday_of(today).and_then(|monday| add_days(monday, offset)) else {
        return Some(DateRead::Invalid);
    };
    Some(DateRead::Date {
        date,
        this_week_day: (!next_week).then(|| date.weekday()),
        evening: false,
    })
}

/// `None`: no time here (cursor unchanged). `Some(None)`: impossible time.
fn read_time(c: &mut Cursor<'_>) -> Option<Option<TimeOfDay>> {
    let save = *c;
    let (word, period) = match PERIODS.iter().find(|(word, _)| c.eat(word)) {
        Some(&(word, period)) => (Some(word), Some(period)),
        None => (None, None),
    };
    let Some((hour, _)) = c.number() else {
        // 明天下午: a part of the day alone stands for its end.
        if let Some(&(_, hour)) = STANDALONE_PERIODS.iter().find(|(w, _)| Some(*w) == word) {
            return Some(Some(TimeOfDay {
                hour,
                minute: 0,
                period: None,
                clock: true,
            }));
        }
        *c = save;
        return None;
    };
    let (minute, clock) = if c.eat(":") {
        match c.number() {
            Some((minute, 1..=2)) => (minute, true),
            _ => return Some(None),
        }
    } else if c.eat_any(&["点", "时"]).is_some() {
        let minute = if c.eat("半") {
            30
        } else if let Some((minute, _)) = c.number() {
            c.eat("分");
            minute
        } else {
            0
        };
        c.eat("整");
        (minute, false)
    } else {
        *c = save;
        return None;
    };
    let time = TimeOfDay {
        hour,
        minute,
        period,
        clock,
    };
    // 25点 and 12:60 are impossible; 今晚 + 12点半 is caught in `finish`.
    Some(time.to_naive(false).map(|_| time))
}

/// Reads one token. See the module documentation.
pub(crate) fn read_token(token: &str, today: NaiveDate) -> Piece {
    let mut c = Cursor { s: token };
    let prefixed = c.eat_any(PREFIXES).is_some();

    let mut part = Part::default();
    let mut invalid = false;
    let mut bare_day = None;
    match read_date(&mut c, today) {
        DateRead::None => {}
        DateRead::Invalid => invalid = true,
        DateRead::Date {
            date,
            this_week_day,
            evening,
        } => {
            part.date = Some(date);
            part.this_week_day = this_week_day;
            part.evening = evening;
        }
        DateRead::BareDay(day) => bare_day = Some(day),
    }
    let time_read = read_time(&mut c);
    match time_read {
        Some(Some(time)) => part.time = Some(time),
        Some(None) => invalid = true,
        None => {}
    }
    let suffixed = c.eat_any(SUFFIXES).is_some();
    c.eat_any(FINISH_WORDS);

    let has_date = part.date.is_some() || bare_day.is_some() || invalid;
    if !c.done() || !(has_date || time_read.is_some()) {
        return Piece::Text;
    }
    if let Some(day) = bare_day {
        // A bare 5号 is too often part of the text (5号楼); only 5号前 or
        // 截止5号 is a deadline.
        if !(prefixed || suffixed) {
            return Piece::Text;
        }
        let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1);
        let month_start = if day >= today.day() {
            this_month
        } else {
            this_month.and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        };
        match month_start.and_then(|d| d.with_day(day)) {
            Some(date) => part.date = Some(date),
            None => invalid = true,
        }
    }
    if invalid {
        Piece::Invalid
    } else {
        Piece::Deadline(part)
    }
}

fn is_prefix_word(token: &str) -> bool {
    PREFIXES.contains(&token)
}

fn is_suffix_word(token: &str) -> bool {
    SUFFIXES.contains(&token) || FINISH_WORDS.contains(&token)
}

/// Turns a read deadline into a date-time: a date without a time is the end
/// of that day, a time without a date is today. Refuses a moment before
/// `now` (or any earlier day than `today`).
pub(crate) fn finish(
    part: Part,
    today: NaiveDate,
    now: NaiveDateTime,
    got: String,
) -> Result<NaiveDateTime, DeadlineError> {
    let date = part.date.unwrap_or(today);
    let time = match part.time {
        Some(time) => match time.to_naive(part.evening) {
            Some(t) => t,
            None => return Err(DeadlineError::Invalid { got }),
        },
        None => NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
    };
    let deadline = date.and_time(time);
    if date < today || deadline < now {
        return Err(DeadlineError::Past {
            got,
            this_week_day: part.this_week_day,
        });
    }
    Ok(deadline)
}

/// A deadline found among tokens: its result and how many tokens it used.
pub(crate) type Found = (Result<NaiveDateTime, DeadlineError>, usize);

/// Reads a deadline from the END of `tokens` (task lines: `… 截止 周五 18:00`).
/// `None` when the last token(s) are not a deadline.
pub(crate) fn scan_trailing(
    tokens: &[&str],
    today: NaiveDate,
    now: NaiveDateTime,
) -> Option<Found> {
    let end = tokens.len();
    let mut start = end;
    if start > 0 && is_suffix_word(tokens[start - 1]) {
        start -= 1;
    }
    let last = *tokens.get(start.checked_sub(1)?)?;
    let mut part = match read_token(last, today) {
        Piece::Text => return None,
        Piece::Invalid => return Some(invalid(&tokens[start - 1..end])),
        Piece::Deadline(part) => part,
    };
    start -= 1;
    if part.time_only() && start > 0 {
        match read_token(tokens[start - 1], today) {
            Piece::Deadline(date) if date.date_only() => {
                part = date.with_time_of(part);
                start -= 1;
            }
            Piece::Invalid => return Some(invalid(&tokens[start - 1..end])),
            _ => {}
        }
    }
    if start > 0 && is_prefix_word(tokens[start - 1]) {
        start -= 1;
    }
    let got = tokens[start..end].join(" ");
    Some((finish(part, today, now, got), end - start))
}

/// Reads a deadline from the START of `tokens` (延期 #2 `下周三 18:00` 原因).
/// `None` when the first token(s) are not a deadline.
pub(crate) fn scan_leading(tokens: &[&str], today: NaiveDate, now: NaiveDateTime) -> Option<Found> {
    let mut i = 0;
    if tokens.len() > 1 && is_prefix_word(tokens[0]) {
        i = 1;
    }
    let mut part = match read_token(tokens.get(i)?, today) {
        Piece::Text => return None,
        Piece::Invalid => return Some(invalid(&tokens[..=i])),
        Piece::Deadline(part) => part,
    };
    i += 1;
    if part.date_only()
        && let Some(next) = tokens.get(i)
    {
        match read_token(next, today) {
            Piece::Deadline(time) if time.time_only() => {
                part = part.with_time_of(time);
                i += 1;
            }
            Piece::Invalid => return Some(invalid(&tokens[..=i])),
            _ => {}
        }
    }
    if tokens.get(i).is_some_and(|t| is_suffix_word(t)) {
        i += 1;
    }
    let got = tokens[..i].join(" ");
    Some((finish(part, today, now, got), i))
}

fn invalid(tokens: &[&str]) -> Found {
    (
        Err(DeadlineError::Invalid {
            got: tokens.join(" "),
        }),
        tokens.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_numbers() {
        let cases = [
            ("五", Some(5)),
            ("十", Some(10)),
            ("十二", Some(12)),
            ("二十", Some(20)),
            ("三十一", Some(31)),
            ("两", Some(2)),
            ("二〇二六", Some(2026)),
            ("十十", None),
            ("一二三四五", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(cn_number(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn token_classes() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let text = [
            "前",
            "早上",
            "周",
            "5号",
            "5号楼",
            "12月5日会议",
            "3天",
            "红色",
            "周八",
            "1.5",
        ];
        for t in text {
            assert_eq!(read_token(t, today), Piece::Text, "token {t:?}");
        }
        let invalid = [
            "2月30日",
            "13月5日",
            "25:00",
            "下午25点",
            "12:60",
            "32号前",
            "2026-02-29",
            "99999天内",
        ];
        for t in invalid {
            assert_eq!(read_token(t, today), Piece::Invalid, "token {t:?}");
        }
    }
}
