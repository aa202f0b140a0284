//! Cron schedules for the scheduled jobs, checked so that a township admin
//! cannot silently schedule a job on the wrong day.
//!
//! Expressions use the `cron` crate's syntax: seconds first, six fields
//! (`sec min hour day-of-month month day-of-week`) or seven with a year,
//! e.g. `0 30 8 * * Mon` for Mondays at 08:30. Two traps of that syntax are
//! closed here:
//!
//! - Its numeric day-of-week counts 1 = Sunday (Quartz style), so a POSIX
//!   habit of writing `1` for Monday would fire on Sundays. The day-of-week
//!   field therefore accepts names only (`Mon`, `Mon-Fri`, `Mon,Wed`, `*`,
//!   `?`) and any digit in it is refused with an explanation. Named ranges
//!   follow the week as the teams live it, Monday to Sunday, so `Mon-Sun`,
//!   `Sat-Sun` and `Fri-Mon` work even though the crate itself, counting
//!   from Sunday, would reject them as reversed.
//! - Five-field POSIX expressions would be misread, so they are refused with
//!   a message saying that seconds come first.
//!
//! Note that when both day-of-month and day-of-week are restricted, the
//! `cron` crate fires only on days matching both (`0 0 9 1 * Mon` is "the
//! 1st, if it is a Monday"), unlike POSIX cron, which fires on either.
//!
//! Firing times are computed in the group's time zone and returned as UTC
//! instants, so storage and comparison never depend on the server's zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Field names in the order the `cron` crate reads them, for error messages.
const FIELD_NAMES: [&str; 7] = [
    "seconds",
    "minutes",
    "hours",
    "day-of-month",
    "month",
    "day-of-week",
    "year",
];

/// Index of the day-of-week field.
const DAY_OF_WEEK: usize = 5;

/// A validated cron schedule together with the text it was parsed from.
#[derive(Clone, Debug)]
pub struct Schedule {
    expr: String,
    inner: cron::Schedule,
}

/// Why a cron expression was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ScheduleError {
    /// The expression is empty or only white space.
    #[error(
        "the schedule is empty: write six fields, seconds first, e.g. \"0 30 8 * * Mon\" for Mondays at 08:30"
    )]
    Empty,
    /// A five-field POSIX expression, which lacks the seconds field.
    #[error(
        "\"{expr}\" has 5 fields, but seconds come first here: write six fields `sec min hour day-of-month month day-of-week`, e.g. \"0 30 8 * * Mon\" for Mondays at 08:30{hint}"
    )]
    FiveFields {
        /// The expression as given.
        expr: String,
        /// A corrected expression to suggest, already formatted, or empty.
        hint: String,
    },
    /// An expression with neither 6 nor 7 fields.
    #[error(
        "\"{expr}\" has {count} fields; write six fields `sec min hour day-of-month month day-of-week` (optionally a seventh, the year), e.g. \"0 30 8 * * Mon\""
    )]
    FieldCount {
        /// The expression as given.
        expr: String,
        /// How many fields it has.
        count: usize,
    },
    /// A shorthand such as `@weekly`, whose meaning is easy to mistake.
    #[error(
        "shorthand \"{expr}\" is not accepted (@weekly, for instance, fires at midnight on Sunday); write six fields, e.g. \"0 30 8 * * Mon\""
    )]
    Shorthand {
        /// The expression as given.
        expr: String,
    },
    /// A digit in the day-of-week field.
    #[error(
        "day-of-week field \"{value}\" uses numbers, which this cron dialect counts from 1 = Sunday (so 1 would fire on Sunday, not Monday); write day names instead: Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as Mon-Fri, a list such as Mon,Wed,Fri, or * for every day"
    )]
    NumericDayOfWeek {
        /// The offending day-of-week field.
        value: String,
    },
    /// One field that the `cron` crate cannot parse.
    #[error(
        "{field} field \"{value}\" is invalid ({reason}); a valid schedule looks like \"0 30 8 * * Mon\""
    )]
    InvalidField {
        /// The field's name, e.g. `minutes`.
        field: &'static str,
        /// The field as given.
        value: String,
        /// The parser's explanation.
        reason: String,
    },
    /// An expression refused as a whole although each field parses alone.
    #[error("\"{expr}\" is not a valid cron expression ({reason})")]
    Invalid {
        /// The expression as given.
        expr: String,
        /// The parser's explanation.
        reason: String,
    },
    /// An expression that parses but matches no moment at all.
    #[error(
        "\"{expr}\" never fires: no date matches it (e.g. 30 February, or a day-of-month and a day-of-week that never coincide; here both must match)"
    )]
    NeverFires {
        /// The expression as given.
        expr: String,
    },
}

impl Schedule {
    /// Parses and validates a cron expression; surrounding white space is
    /// ignored and runs of inner white space are kept as single spaces.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let normalized = fields.join(" ");
        match fields.len() {
            0 => return Err(ScheduleError::Empty),
            1 if normalized.starts_with('@') => {
                return Err(ScheduleError::Shorthand { expr: normalized });
            }
            5 => {
                // Suggest the seconds-first form only when it would pass;
                // a numeric weekday would just trade one error for another.
                let hint = if fields[4].chars().any(char::is_numeric) {
                    String::new()
                } else {
                    format!(" (did you mean \"0 {normalized}\"?)")
                };
                return Err(ScheduleError::FiveFields {
                    expr: normalized,
                    hint,
                });
            }
            6 | 7 => {}
            count => {
                return Err(ScheduleError::FieldCount {
                    expr: normalized,
                    count,
                });
            }
        }
        // `is_numeric` also catches full-width digits (１), which a Chinese
        // input method produces easily.
        let day_of_week = fields[DAY_OF_WEEK];
        if day_of_week.chars().any(char::is_numeric) {
            return Err(ScheduleError::NumericDayOfWeek {
                value: day_of_week.to_owned(),
            });
        }
        let mut cron_fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        cron_fields[DAY_OF_WEEK] = unwrap_day_ranges(day_of_week);
        let inner = match cron::Schedule::from_str(&cron_fields.join(" ")) {
            Ok(inner) => inner,
            Err(e) => {
                return Err(invalid_field(&fields, &cron_fields).unwrap_or(
                    ScheduleError::Invalid {
                        expr: normalized,
                        reason: parser_reason(&e),
                    },
                ));
            }
        };
        // The crate iterates up to the year 2100, so this terminates; the
        // epoch rather than "now" keeps parsing independent of the clock.
        if inner.after(&DateTime::<Utc>::UNIX_EPOCH).next().is_none() {
            return Err(ScheduleError::NeverFires { expr: normalized });
        }
        Ok(Schedule {
            expr: normalized,
            inner,
        })
    }

    /// Parses an optional schedule: an empty or blank string means the job is
    /// disabled and gives `Ok(None)`.
    pub fn parse_optional(expr: &str) -> Result<Option<Schedule>, ScheduleError> {
        if expr.trim().is_empty() {
            Ok(None)
        } else {
            Schedule::parse(expr).map(Some)
        }
    }

    /// Returns the expression as stored (trimmed, single-spaced).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Firing slots strictly after `after` and at or before `until`, computed
    /// in `tz` and returned as UTC instants, oldest first, at most `limit`.
    pub fn slots_between(
        &self,
        tz: Tz,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        if limit == 0 || until <= after {
            return Vec::new();
        }
        self.inner
            .after(&tz.from_utc_datetime(&after.naive_utc()))
            .map(|t| t.with_timezone(&Utc))
            // The crate already starts one second later; this guards the
            // exclusive bound against sub-second `after` values regardless.
            .filter(|t| *t > after)
            .take_while(|t| *t <= until)
            .take(limit)
            .collect()
    }

    /// Returns the first firing strictly after `after`, computed in `tz`, or
    /// `None` when the schedule has no later firing.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner
            .after(&tz.from_utc_datetime(&after.naive_utc()))
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t > after)
    }
}

/// Finds the first field that the `cron` crate refuses on its own, by
/// parsing it amid fields that are known to be valid, so that the error can
/// name it instead of quoting a parser position. `fields` are as the user
/// wrote them, `cron_fields` as handed to the crate.
fn invalid_field(fields: &[&str], cron_fields: &[String]) -> Option<ScheduleError> {
    let mut probe = ["0", "0", "0", "*", "*", "*", "*"];
    let probe = &mut probe[..cron_fields.len()];
    for (index, value) in cron_fields.iter().enumerate() {
        let saved = probe[index];
        probe[index] = value;
        if let Err(e) = cron::Schedule::from_str(&probe.join(" ")) {
            return Some(ScheduleError::InvalidField {
                field: FIELD_NAMES[index],
                value: fields.get(index).copied().unwrap_or(value).to_owned(),
                reason: parser_reason(&e),
            });
        }
        probe[index] = saved;
    }
    None
}

/// Keeps the explanation from a `cron` error and drops the echoed
/// expression and caret line above it, which would only confuse in a chat
/// reply (and would show the probe, not what the user typed).
fn parser_reason(e: &cron::error::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let after_caret = match lines.iter().position(|line| line.trim() == "^") {
        Some(caret) => &lines[caret + 1..],
        None => &lines[..],
    };
    let reason = after_caret
        .iter()
        .flat_map(|line| line.split_whitespace())
        .collect::<Vec<_>>()
        .join(" ");
    if reason.is_empty() {
        "it cannot be parsed".to_owned()
    } else {
        reason
    }
}

/// Day names in the `cron` crate's order (Sunday first), each with the
/// spellings the crate accepts.
const DAY_NAMES: [&[&str]; 7] = [
    &["sun", "sunday"],
    &["mon", "monday"],
    &["tue", "tues", "tuesday"],
    &["wed", "wednesday"],
    &["thu", "thurs", "thursday"],
    &["fri", "friday"],
    &["sat", "saturday"],
];

fn day_index(name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|spellings| spellings.contains(&lower.as_str()))
}

/// Rewrites named day ranges that wrap past Saturday (`Mon-Sun`, `Fri-Mon`)
/// into lists, because the crate numbers Sunday first and would refuse them
/// as reversed, while to a team whose week runs Monday to Sunday they are
/// the obvious way to write it. Anything else is left for the crate to judge.
fn unwrap_day_ranges(field: &str) -> String {
    field
        .split(',')
        .map(|item| {
            let Some((from, to)) = item.split_once('-') else {
                return item.to_owned();
            };
            match (day_index(from), day_index(to)) {
                (Some(start), Some(end)) if start > end => (start..=end + 7)
                    .map(|i| DAY_NAMES[i % 7][0])
                    .collect::<Vec<_>>()
                    .join(","),
                _ => item.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Schedule, ScheduleError> {
        Schedule::parse(s)
    }
}

/// Two schedules are equal when their stored expressions are.
impl PartialEq for Schedule {
    fn eq(&self, other: &Schedule) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Schedule {}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.expr)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Schedule, D::Error> {
        let text = String::deserialize(deserializer)?;
        Schedule::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Duration, Timelike, Weekday};

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("test instants are valid")
    }

    fn parse(expr: &str) -> Schedule {
        Schedule::parse(expr).expect("test expression is valid")
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn product_defaults_parse() {
        for job in crate::domain::job::Job::ALL {
            let expr = job.default_cron();
            let s = Schedule::parse(expr).unwrap_or_else(|e| panic!("{job}: {e}"));
            assert_eq!(s.expr(), expr);
        }
    }

    #[test]
    fn default_weekday_jobs_fire_on_their_weekday_in_shanghai() {
        // A Sunday noon in Shanghai; each job's next firing must land on
        // the weekday the product contract gives it, at its local time.
        let start = utc(2026, 3, 1, 4, 0);
        let expect = [
            ("0 30 8 * * Mon", Weekday::Mon, 8, 30),
            ("0 30 21 * * Mon", Weekday::Mon, 21, 30),
            ("0 0 8 * * Tue", Weekday::Tue, 8, 0),
            ("0 0 15 * * Fri", Weekday::Fri, 15, 0),
            ("0 0 20 * * Fri", Weekday::Fri, 20, 0),
            ("0 0 20 * * Sun", Weekday::Sun, 20, 0),
        ];
        for (expr, weekday, hour, minute) in expect {
            let next = parse(expr)
                .next_after(SHANGHAI, start)
                .expect("fires again")
                .with_timezone(&SHANGHAI);
            assert_eq!(next.weekday(), weekday, "{expr}");
            assert_eq!((next.hour(), next.minute()), (hour, minute), "{expr}");
        }
    }

    #[test]
    fn plan_reminder_fires_at_0030_utc_on_monday() {
        let s = parse("0 30 8 * * Mon");
        // Sunday 2026-03-01 00:00 UTC.
        let next = s.next_after(SHANGHAI, utc(2026, 3, 1, 0, 0));
        assert_eq!(next, Some(utc(2026, 3, 2, 0, 30)));
        let next = next.expect("checked above");
        assert_eq!(next.weekday(), Weekday::Mon);
        // Strictly after: asking at the slot itself gives the next week's.
        assert_eq!(
            s.next_after(SHANGHAI, next),
            Some(next + Duration::weeks(1))
        );
        assert_eq!(
            s.next_after(SHANGHAI, next - Duration::seconds(1)),
            Some(next)
        );
    }

    #[test]
    fn monthly_ranking_fires_on_the_first() {
        let s = parse("0 0 9 1 * *");
        // 2026-03-01 09:00 in Shanghai is 01:00 UTC.
        assert_eq!(
            s.slots_between(SHANGHAI, utc(2026, 2, 15, 0, 0), utc(2026, 4, 15, 0, 0), 10),
            vec![utc(2026, 3, 1, 1, 0), utc(2026, 4, 1, 1, 0)]
        );
    }

    #[test]
    fn numeric_day_of_week_is_refused() {
        for expr in [
            "0 30 8 * * 1",
            "0 30 8 * * 1-5",
            "0 30 8 * * Mon,3",
            "0 0 8 * * */2",
            "0 30 8 * * １",
        ] {
            let err = Schedule::parse(expr).expect_err(expr);
            assert!(
                matches!(err, ScheduleError::NumericDayOfWeek { .. }),
                "{expr}: {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains("Mon"), "{msg}");
            assert!(msg.contains("names"), "{msg}");
            assert!(msg.contains("Sunday"), "{msg}");
        }
    }

    #[test]
    fn named_days_of_week_are_accepted() {
        for expr in [
            "0 0 8 * * Mon-Fri",
            "0 0 8 * * Mon,Wed,Fri",
            "0 0 8 * * mon",
            "0 0 8 * * MONDAY",
            "0 0 8 ? * Tue",
            "0 0 8 1 * ?",
            "0 0 8 * * * 2026-2030",
        ] {
            assert!(Schedule::parse(expr).is_ok(), "{expr}");
        }
    }

    #[test]
    fn day_ranges_follow_the_monday_to_sunday_week() {
        // Monday 2026-03-02 00:00 in Shanghai to the next Monday 00:00.
        let start = utc(2026, 3, 1, 16, 0);
        let end = utc(2026, 3, 8, 16, 0);
        let days = |expr: &str| -> Vec<Weekday> {
            parse(expr)
                .slots_between(SHANGHAI, start, end, 100)
                .iter()
                .map(|t| t.with_timezone(&SHANGHAI).weekday())
                .collect()
        };
        use Weekday::*;
        assert_eq!(days("0 0 8 * * Mon-Fri"), vec![Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(
            days("0 0 8 * * Mon-Sun"),
            vec![Mon, Tue, Wed, Thu, Fri, Sat, Sun]
        );
        assert_eq!(days("0 0 8 * * Sat-Sun"), vec![Sat, Sun]);
        assert_eq!(days("0 0 8 * * Fri-Mon"), vec![Mon, Fri, Sat, Sun]);
        assert_eq!(days("0 0 8 * * wed,Sat-sunday"), vec![Wed, Sat, Sun]);
        assert_eq!(days("0 0 8 * * Sun-Sat").len(), 7);
        // The stored expression stays as the admin wrote it.
        assert_eq!(parse("0 0 8 * * Sat-Sun").expr(), "0 0 8 * * Sat-Sun");
        assert_eq!(unwrap_day_ranges("Fri-Mon,Wed"), "fri,sat,sun,mon,Wed");
        assert_eq!(unwrap_day_ranges("Mon-Fri"), "Mon-Fri");
    }

    #[test]
    fn five_fields_are_refused_with_seconds_first_advice() {
        let err = Schedule::parse("30 8 * * Mon").expect_err("five fields");
        assert!(matches!(err, ScheduleError::FiveFields { .. }));
        let msg = err.to_string();
        assert!(msg.contains("seconds come first"), "{msg}");
        assert!(msg.contains("0 30 8 * * Mon"), "{msg}");

        // No suggestion that would only trip the numeric-weekday check.
        let msg = Schedule::parse("30 8 * * 1")
            .expect_err("five fields")
            .to_string();
        assert!(!msg.contains("did you mean"), "{msg}");
    }

    #[test]
    fn garbage_is_refused() {
        let cases = [
            ("", ScheduleError::Empty),
            ("   ", ScheduleError::Empty),
            (
                "every monday",
                ScheduleError::FieldCount {
                    expr: "every monday".to_owned(),
                    count: 2,
                },
            ),
            (
                "@weekly",
                ScheduleError::Shorthand {
                    expr: "@weekly".to_owned(),
                },
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(Schedule::parse(expr).expect_err(expr), want, "{expr:?}");
        }

        let err = Schedule::parse("0 61 8 * * Mon").expect_err("minute 61");
        assert!(
            matches!(&err, ScheduleError::InvalidField { field: "minutes", value, .. } if value == "61"),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("minutes field \"61\""), "{msg}");
        // The probe expression and caret of the parser stay out of sight.
        assert!(!msg.contains('^') && !msg.contains("0 61 0"), "{msg}");

        let err = Schedule::parse("0 30 8 * * Mnday").expect_err("misspelt day");
        assert!(
            matches!(
                &err,
                ScheduleError::InvalidField {
                    field: "day-of-week",
                    ..
                }
            ),
            "{err:?}"
        );

        let err = Schedule::parse("x y z a b c").expect_err("letters");
        assert!(
            matches!(
                &err,
                ScheduleError::InvalidField {
                    field: "seconds",
                    ..
                }
            ),
            "{err:?}"
        );

        let err = Schedule::parse("0 30 8 * * Mon 1 2").expect_err("eight fields");
        assert!(matches!(err, ScheduleError::FieldCount { count: 8, .. }));

        let err = Schedule::parse("0 0 0 30 Feb *").expect_err("30 February");
        assert!(matches!(err, ScheduleError::NeverFires { .. }), "{err:?}");
    }

    #[test]
    fn parse_trims_and_normalizes_space() {
        let s = parse("  0  30 8 * *\tMon \n");
        assert_eq!(s.expr(), "0 30 8 * * Mon");
        assert_eq!(s.to_string(), "0 30 8 * * Mon");
        assert_eq!(s, parse("0 30 8 * * Mon"));
        // The ideographic space from a Chinese keyboard is white space too.
        assert_eq!(parse("0\u{3000}30 8 * * Mon").expr(), "0 30 8 * * Mon");
    }

    #[test]
    fn parse_optional_treats_empty_as_disabled() {
        assert_eq!(Schedule::parse_optional(""), Ok(None));
        assert_eq!(Schedule::parse_optional("  "), Ok(None));
        assert_eq!(
            Schedule::parse_optional("0 0 8 * * Tue"),
            Ok(Some(parse("0 0 8 * * Tue")))
        );
        assert!(matches!(
            Schedule::parse_optional("0 0 8 * * 2"),
            Err(ScheduleError::NumericDayOfWeek { .. })
        ));
    }

    #[test]
    fn slots_between_bounds_and_limit() {
        let s = parse("0 30 8 * * Mon");
        let first = utc(2026, 3, 2, 0, 30);
        let third = utc(2026, 3, 16, 0, 30);
        // `after` is exclusive, `until` inclusive.
        assert_eq!(
            s.slots_between(SHANGHAI, first, third, 10),
            vec![utc(2026, 3, 9, 0, 30), third]
        );
        assert_eq!(
            s.slots_between(SHANGHAI, first - Duration::seconds(1), third, 10),
            vec![first, utc(2026, 3, 9, 0, 30), third]
        );
        assert_eq!(
            s.slots_between(SHANGHAI, first, third - Duration::seconds(1), 10),
            vec![utc(2026, 3, 9, 0, 30)]
        );
        // The limit keeps the oldest slots.
        assert_eq!(
            s.slots_between(SHANGHAI, first - Duration::seconds(1), third, 2),
            vec![first, utc(2026, 3, 9, 0, 30)]
        );
        assert!(
            s.slots_between(SHANGHAI, first - Duration::seconds(1), third, 0)
                .is_empty()
        );
        // An empty or inverted window has no slots.
        assert!(s.slots_between(SHANGHAI, third, third, 10).is_empty());
        assert!(s.slots_between(SHANGHAI, third, first, 10).is_empty());
        // Sub-second `after` just past a slot excludes it.
        let just_after = first + Duration::milliseconds(500);
        assert_eq!(
            s.slots_between(SHANGHAI, just_after, third, 1),
            vec![utc(2026, 3, 9, 0, 30)]
        );
    }

    #[test]
    fn overdue_scan_has_672_slots_a_week() {
        let s = parse("0 */15 * * * *");
        // Monday 2026-03-02 00:00 in Shanghai to the next Monday 00:00.
        let start = utc(2026, 3, 1, 16, 0);
        let end = start + Duration::weeks(1);
        let slots = s.slots_between(SHANGHAI, start, end, 10_000);
        assert_eq!(slots.len(), 672);
        assert_eq!(slots.first(), Some(&(start + Duration::minutes(15))));
        assert_eq!(slots.last(), Some(&end));
        assert!(
            slots
                .windows(2)
                .all(|w| w[1] - w[0] == Duration::minutes(15))
        );
    }

    #[test]
    fn slots_follow_the_zone_across_daylight_saving() {
        // Asia/Shanghai has no DST, but groups may configure another zone;
        // 08:30 in New York is 13:30 UTC in winter and 12:30 UTC in summer.
        let s = parse("0 30 8 * * Mon");
        let ny = chrono_tz::America::New_York;
        assert_eq!(
            s.next_after(ny, utc(2026, 3, 1, 0, 0)),
            Some(utc(2026, 3, 2, 13, 30))
        );
        assert_eq!(
            s.next_after(ny, utc(2026, 3, 10, 0, 0)),
            Some(utc(2026, 3, 16, 12, 30))
        );
    }

    #[test]
    fn next_after_ends_with_the_schedule() {
        let s = parse("0 0 8 1 Jan * 2026");
        assert_eq!(
            s.next_after(SHANGHAI, utc(2025, 6, 1, 0, 0)),
            Some(utc(2026, 1, 1, 0, 0))
        );
        assert_eq!(s.next_after(SHANGHAI, utc(2026, 6, 1, 0, 0)), None);
    }

    #[test]
    fn serde_round_trip_validates() {
        #[derive(Serialize, Deserialize)]
        struct Config {
            plan_reminder: Schedule,
        }
        let text = toml::to_string(&Config {
            plan_reminder: parse("0 30 8 * * Mon"),
        })
        .expect("serializable");
        assert!(text.contains("\"0 30 8 * * Mon\""), "{text}");
        let back: Config = toml::from_str(&text).expect("round trip");
        assert_eq!(back.plan_reminder.expr(), "0 30 8 * * Mon");
        let bad: Result<Config, _> = toml::from_str("plan_reminder = \"0 30 8 * * 1\"");
        let msg = bad.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("day names"), "{msg}");
    }
}
