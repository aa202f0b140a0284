//! The monthly ranking and the pioneer candidates: pure arithmetic over counts.
//!
//! Five components, each in [0, 1], count outcomes only (never online time or
//! message counts); the README explains each choice:
//!
//! * **on time** — tasks due in the month closed by their deadline / tasks
//!   due in the month (cancelled ones aside). No task due counts 0: the 1250
//!   method expects a list every week.
//! * **requests** — villagers' requests of the month closed by the month's
//!   end / requests of the month. No request: not applicable.
//! * **coverage** — households of the registry reached this year / registered,
//!   against the pace of the year: by the end of month m a team should have
//!   reached m/12 of them; capped at 1. No registry: not applicable.
//! * **rating** — the month's ratings in weeks with at least
//!   [`MIN_RATERS`] raters, averaged and scaled (avg − 1) / 4. Without such a
//!   week: not applicable.
//! * **projects** — per hard project of the year: done = 1, reported on this
//!   month = ½, otherwise 0; averaged. No project counts 0 ("1+1": each team
//!   leads at least one a year).
//!
//! A component that is not applicable gives its weight to the others (the
//! score is the weighted mean of the applicable ones), so a small village that
//! got no requests is neither rewarded nor punished for it. The score is
//! 0–100 with one decimal. Ties are broken by the higher on-time rate, then
//! the more households reached, then the lower team id.

use std::cmp::Ordering;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

use super::week::IsoWeek;

/// Fewest raters a week needs before its ratings count (a product rule: fewer say too little).
pub const MIN_RATERS: i64 = 3;

/// One team's line in a ranking, as the group and the admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankLine {
    pub place: usize,
    pub team: String,
    /// `86.5`
    pub score: String,
}

/// A calendar month (in a township's time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Month { year, month })
    }

    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The 1st, 00:00 local.
    pub fn start(self) -> NaiveDateTime {
        self.first_day().and_time(NaiveTime::MIN)
    }

    /// The next month's 1st, 00:00 local.
    pub fn end(self) -> NaiveDateTime {
        self.next().start()
    }

    /// 1 January 00:00 local of the month's year.
    pub fn year_start(self) -> NaiveDateTime {
        Month {
            year: self.year,
            month: 1,
        }
        .start()
    }

    /// The ISO weeks that overlap the month (first, last): the range in
    /// which rows of the month are filed, for index range scans.
    pub fn overlapping_weeks(self) -> (IsoWeek, IsoWeek) {
        let last = self.next().first_day().pred_opt().unwrap_or_default();
        (IsoWeek::of(self.first_day()), IsoWeek::of(last))
    }

    /// The weeks whose ratings belong to the month: those whose Thursday
    /// falls in it (the ISO rule that gives a week its year), so every week
    /// belongs to exactly one month. (first, last).
    pub fn rating_weeks(self) -> (IsoWeek, IsoWeek) {
        let first = self.first_day();
        let last = self.next().first_day().pred_opt().unwrap_or_default();
        let thursday = |d: NaiveDate| IsoWeek::of(d).monday() + chrono::Duration::days(3);
        let mut a = IsoWeek::of(first);
        if thursday(first) < first {
            a = a.next();
        }
        let mut b = IsoWeek::of(last);
        if thursday(last) > last {
            b = b.prev();
        }
        (a, b)
    }

    /// The ISO week of 1 January: the first week that can hold rows of the year.
    pub fn year_first_week(self) -> IsoWeek {
        IsoWeek::of(self.year_start().date())
    }

    /// The day of the month its last day is (30 for November).
    pub fn last_day(self) -> u32 {
        self.next().first_day().pred_opt().map_or(1, |d| d.day())
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The relative weights of the components. The score divides by the sum of
/// the applicable ones, so only their proportions matter.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub on_time: f64,
    pub requests: f64,
    pub coverage: f64,
    pub rating: f64,
    pub projects: f64,
}

impl Default for Weights {
    /// The defaults of the README: on time 30, requests 20, coverage 20,
    /// rating 15, projects 15.
    fn default() -> Self {
        Weights {
            on_time: 30.0,
            requests: 20.0,
            coverage: 20.0,
            rating: 15.0,
            projects: 15.0,
        }
    }
}

impl Weights {
    /// `Err((field, why))` unless every weight is finite, non-negative and
    /// at most 1000, and their sum is above zero.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        for (name, w) in self.named() {
            if !w.is_finite() || w < 0.0 {
                return Err((name, "must be a number ≥ 0"));
            }
            if w > 1000.0 {
                return Err((name, "must be at most 1000"));
            }
        }
        if self.named().iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            return Err(("weights", "at least one weight must be above 0"));
        }
        Ok(())
    }

    pub fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("on_time", self.on_time),
            ("requests", self.requests),
            ("coverage", self.coverage),
            ("rating", self.rating),
            ("projects", self.projects),
        ]
    }
}

crate::row_struct! {
    /// One team's month in counts (a row of `team_month_stats`, or the same
    /// computed live).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
    pub struct TeamMonth {
        pub team_id: i64,
        /// Tasks due in the month (not cancelled), and of them closed by the deadline.
        pub due: i64,
        pub on_time: i64,
        /// Requests raised in the month (not cancelled), and of them closed by its end.
        pub requests: i64,
        pub requests_closed: i64,
        /// Registered households of the village, and of them visited this year.
        pub households: i64,
        pub reached: i64,
        /// Ratings in the month's weeks with ≥ MIN_RATERS raters: sum, count, weeks.
        pub rating_sum: i64,
        pub rating_n: i64,
        pub rated_weeks: i64,
        /// Hard projects of the year: all, done by the month's end, done in the
        /// month, and not done but reported on in the month.
        pub projects: i64,
        pub projects_done: i64,
        pub projects_done_in_month: i64,
        pub projects_updated: i64,
    }
}

/// The five components; `None`: not applicable.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Components {
    pub on_time: Option<f64>,
    pub requests: Option<f64>,
    pub coverage: Option<f64>,
    pub rating: Option<f64>,
    pub projects: Option<f64>,
}

impl TeamMonth {
    /// Whether the team did anything the ranking counts in the month: a task
    /// due, a request, a rated week, a hard project done or reported on.
    /// (Services and visits of the month are not in these counts; the
    /// caller asks [`PersonMonth`] about a team without any of these.)
    pub fn has_activity(&self) -> bool {
        self.due > 0
            || self.requests > 0
            || self.rating_n > 0
            || self.projects_done_in_month > 0
            || self.projects_updated > 0
    }

    /// The components of `month` (its number sets the coverage pace).
    pub fn components(&self, month: Month) -> Components {
        let ratio = |a: i64, b: i64| (b > 0).then(|| (a as f64 / b as f64).clamp(0.0, 1.0));
        let on_time = Some(ratio(self.on_time, self.due).unwrap_or(0.0));
        let requests = ratio(self.requests_closed, self.requests);
        let coverage = ratio(self.reached, self.households).map(|c| {
            let pace = f64::from(month.month) / 12.0;
            (c / pace).min(1.0)
        });
        let rating = (self.rating_n > 0).then(|| {
            let avg = self.rating_sum as f64 / self.rating_n as f64;
            ((avg - 1.0) / 4.0).clamp(0.0, 1.0)
        });
        let projects = Some(if self.projects > 0 {
            (self.projects_done as f64 + 0.5 * self.projects_updated as f64) / self.projects as f64
        } else {
            0.0
        });
        Components {
            on_time,
            requests,
            coverage,
            rating,
            projects,
        }
    }
}

impl Components {
    /// The score in tenths of a point (0–1000): the weighted mean of the
    /// applicable components × 100, rounded half up to one decimal.
    pub fn score_tenths(&self, w: &Weights) -> i64 {
        let parts = [
            (self.on_time, w.on_time),
            (self.requests, w.requests),
            (self.coverage, w.coverage),
            (self.rating, w.rating),
            (self.projects, w.projects),
        ];
        let (mut num, mut den) = (0.0, 0.0);
        for (c, w) in parts {
            if let Some(c) = c {
                num += c * w;
                den += w;
            }
        }
        if den <= 0.0 {
            return 0;
        }
        // A tiny bias keeps exact halves (86.25) from rounding down through
        // binary noise.
        ((num / den) * 1000.0 + 1e-9).round() as i64
    }
}

/// A team's place in the ranking.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked {
    pub place: usize,
    pub stats: TeamMonth,
    pub components: Components,
    pub score_tenths: i64,
}

impl Ranked {
    /// The score as shown: `86.5`.
    pub fn score(&self) -> String {
        format!("{}.{}", self.score_tenths / 10, self.score_tenths % 10)
    }
}

/// Higher on-time rate first, compared exactly (a/b vs c/d); no task due ranks
/// below any rate.
fn on_time_cmp(a: &TeamMonth, b: &TeamMonth) -> Ordering {
    match (a.due > 0, b.due > 0) {
        (true, true) => (i128::from(b.on_time) * i128::from(a.due))
            .cmp(&(i128::from(a.on_time) * i128::from(b.due))),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => Ordering::Equal,
    }
}

/// Ranks the teams of one township for `month`: by score, then on-time rate,
/// then households reached, then team id. Places are 1, 2, 3 … (no shared
/// places: the tie-breaks make the order total).
pub fn rank(teams: &[TeamMonth], month: Month, w: &Weights) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = teams
        .iter()
        .map(|t| {
            let components = t.components(month);
            Ranked {
                place: 0,
                stats: *t,
                score_tenths: components.score_tenths(w),
                components,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score_tenths
            .cmp(&a.score_tenths)
            .then_with(|| on_time_cmp(&a.stats, &b.stats))
            .then_with(|| b.stats.reached.cmp(&a.stats.reached))
            .then_with(|| a.stats.team_id.cmp(&b.stats.team_id))
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.place = i + 1;
    }
    out
}

/// Splits the township's teams into those with activity in the month, which
/// are ranked, and those without, which get no place and no score (数据不足:
/// a month of nothing earns no medal). `busy`: teams known to be active
/// from services or visits of the month. Returns (ranked, idle team ids).
pub fn rank_active(
    teams: &[TeamMonth],
    busy: &[i64],
    month: Month,
    w: &Weights,
) -> (Vec<Ranked>, Vec<i64>) {
    let (active, idle): (Vec<TeamMonth>, Vec<TeamMonth>) = teams
        .iter()
        .partition(|t| t.has_activity() || busy.contains(&t.team_id));
    (
        rank(&active, month, w),
        idle.iter().map(|t| t.team_id).collect(),
    )
}

crate::row_struct! {
    /// A member's month (a row of `person_month_stats`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
    pub struct PersonMonth {
        pub person_id: i64,
        pub team_id: i64,
        pub services: i64,
        pub visits: i64,
        /// Tasks they owned, closed in the month by the deadline.
        pub on_time: i64,
    }
}

impl PersonMonth {
    /// 勤勉 points: each service, visit and on-time closure counts one.
    pub fn points(&self) -> i64 {
        self.services + self.visits + self.on_time
    }
}

/// 勤勉先锋 candidates: members with at least one point, most points first,
/// then more on-time closures, more visits, lower person id.
pub fn diligence_candidates(people: &[PersonMonth]) -> Vec<PersonMonth> {
    let mut v: Vec<PersonMonth> = people.iter().copied().filter(|p| p.points() > 0).collect();
    v.sort_by(|a, b| {
        b.points()
            .cmp(&a.points())
            .then_with(|| b.on_time.cmp(&a.on_time))
            .then_with(|| b.visits.cmp(&a.visits))
            .then_with(|| a.person_id.cmp(&b.person_id))
            .then_with(|| a.team_id.cmp(&b.team_id))
    });
    v
}

/// 项目先锋 candidates: teams with a project done or reported on in the
/// month, by projects done in the month, then the project component, then
/// projects reported on, then team id.
pub fn project_candidates(teams: &[TeamMonth]) -> Vec<TeamMonth> {
    let mut v: Vec<TeamMonth> = teams
        .iter()
        .copied()
        .filter(|t| t.projects_done_in_month > 0 || t.projects_updated > 0)
        .collect();
    let value = |t: &TeamMonth| 2 * t.projects_done + t.projects_updated;
    v.sort_by(|a, b| {
        b.projects_done_in_month
            .cmp(&a.projects_done_in_month)
            // done + ½ updated over projects, compared exactly
            .then_with(|| (value(b) * a.projects.max(1)).cmp(&(value(a) * b.projects.max(1))))
            .then_with(|| b.projects_updated.cmp(&a.projects_updated))
            .then_with(|| a.team_id.cmp(&b.team_id))
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV: Month = Month {
        year: 2026,
        month: 11,
    };

    fn team(id: i64) -> TeamMonth {
        TeamMonth {
            team_id: id,
            ..Default::default()
        }
    }

    #[test]
    fn no_medal_for_nothing() {
        let w = Weights::default();
        let mut busy = team(1);
        busy.due = 2;
        busy.on_time = 1;
        // Registered households reached last month, nothing this month.
        let mut idle = team(2);
        idle.households = 10;
        idle.reached = 10;
        let visits_only = team(3);
        let (ranked, none) = rank_active(&[idle, busy, visits_only], &[3], NOV, &w);
        let ids: Vec<i64> = ranked.iter().map(|r| r.stats.team_id).collect();
        assert_eq!(ids, vec![1, 3], "team 3 visited households this month");
        assert_eq!(none, vec![2]);
        let (ranked, none) = rank_active(&[team(4), team(5)], &[], NOV, &w);
        assert!(ranked.is_empty());
        assert_eq!(none, vec![4, 5]);
    }

    #[test]
    fn months_parse_and_bound() {
        assert_eq!(Month::parse("2026-11"), Some(NOV));
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "", "2026-00"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(NOV.to_string(), "2026-11");
        assert_eq!(NOV.next().to_string(), "2026-12");
        assert_eq!(
            Month::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(
            Month::parse("2026-01").unwrap().prev().to_string(),
            "2025-12"
        );
        assert_eq!(NOV.end().to_string(), "2026-12-01 00:00:00");
        // November 2026: Sunday the 1st is in W44, Monday the 30th in W49.
        let (a, b) = NOV.overlapping_weeks();
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2026-W44".into(), "2026-W49".into())
        );
        // Thursdays 5, 12, 19, 26 November: W45–W48 (W44's Thursday is 29 Oct,
        // W49's is 3 Dec).
        let (a, b) = NOV.rating_weeks();
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2026-W45".into(), "2026-W48".into())
        );
        // October 2026: Thursday the 1st → W40; Saturday the 31st's W44 has
        // its Thursday (29th) in October too.
        let (a, b) = Month::parse("2026-10").unwrap().rating_weeks();
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2026-W40".into(), "2026-W44".into())
        );
        assert_eq!(
            Month::parse("2027-01")
                .unwrap()
                .year_first_week()
                .to_string(),
            "2026-W53"
        );
    }

    #[test]
    fn months_end() {
        assert_eq!(NOV.last_day(), 30);
        assert_eq!(Month::parse("2028-02").unwrap().last_day(), 29);
        assert_eq!(Month::parse("2026-12").unwrap().last_day(), 31);
    }

    #[test]
    fn weights_are_validated_by_field() {
        assert_eq!(Weights::default().validate(), Ok(()));
        let w = |f: fn(&mut Weights)| {
            let mut w = Weights::default();
            f(&mut w);
            w.validate()
        };
        assert_eq!(w(|w| w.rating = -1.0).unwrap_err().0, "rating");
        assert_eq!(w(|w| w.coverage = f64::NAN).unwrap_err().0, "coverage");
        assert_eq!(w(|w| w.projects = 1e6).unwrap_err().0, "projects");
        let zero = Weights {
            on_time: 0.0,
            requests: 0.0,
            coverage: 0.0,
            rating: 0.0,
            projects: 0.0,
        };
        assert_eq!(zero.validate().unwrap_err().0, "weights");
    }

    /// Hand-computed: team A of the README example.
    ///   on time 9 of 10 = 0.9; requests 3 of 4 = 0.75;
    ///   coverage 330 of 600 = 0.55 against the November pace 11/12 → 0.6;
    ///   rating 52 over 13 ratings = 4.0 → (4 − 1)/4 = 0.75;
    ///   projects: one done, one reported on → (1 + 0.5)/2 = 0.75.
    ///   (30·0.9 + 20·0.75 + 20·0.6 + 15·0.75 + 15·0.75) / 100 = 0.765 → 76.5
    #[test]
    fn the_readme_example_scores_76_5() {
        let a = TeamMonth {
            due: 10,
            on_time: 9,
            requests: 4,
            requests_closed: 3,
            households: 600,
            reached: 330,
            rating_sum: 52,
            rating_n: 13,
            rated_weeks: 3,
            projects: 2,
            projects_done: 1,
            projects_updated: 1,
            ..team(1)
        };
        let c = a.components(NOV);
        assert_eq!(c.on_time, Some(0.9));
        assert_eq!(c.requests, Some(0.75));
        assert!((c.coverage.unwrap() - 0.6).abs() < 1e-12);
        assert_eq!(c.rating, Some(0.75));
        assert_eq!(c.projects, Some(0.75));
        assert_eq!(c.score_tenths(&Weights::default()), 765);
    }

    /// Hand-computed: no requests and no rated week → their 35 points of
    /// weight go to the rest.
    ///   on time 4 of 5 = 0.8; coverage 100 of 100 → 1; no project → 0.
    ///   (30·0.8 + 20·1 + 15·0) / 65 = 44/65 = 0.676923… → 67.7
    #[test]
    fn missing_samples_hand_their_weight_to_the_rest() {
        let b = TeamMonth {
            due: 5,
            on_time: 4,
            households: 100,
            reached: 100,
            // two raters only: the week does not count, so the store sends none
            ..team(2)
        };
        let c = b.components(NOV);
        assert_eq!((c.requests, c.rating), (None, None));
        assert_eq!(c.projects, Some(0.0));
        assert_eq!(c.score_tenths(&Weights::default()), 677);
    }

    #[test]
    fn nothing_due_counts_zero_and_nothing_at_all_scores_zero() {
        let c = team(3).components(NOV);
        assert_eq!(c.on_time, Some(0.0));
        assert_eq!(c.score_tenths(&Weights::default()), 0);
        let only_rating = Weights {
            on_time: 0.0,
            requests: 0.0,
            coverage: 0.0,
            rating: 1.0,
            projects: 0.0,
        };
        assert_eq!(c.score_tenths(&only_rating), 0, "no applicable weight left");
    }

    #[test]
    fn coverage_runs_against_the_pace_of_the_year() {
        let t = TeamMonth {
            households: 200,
            reached: 50,
            ..team(4)
        };
        // March: 3/12 expected, 1/4 reached → on pace.
        assert_eq!(
            t.components(Month::parse("2026-03").unwrap()).coverage,
            Some(1.0)
        );
        // December: 1/4 of the year's duty.
        assert_eq!(
            t.components(Month::parse("2026-12").unwrap()).coverage,
            Some(0.25)
        );
    }

    #[test]
    fn weights_change_the_order() {
        let fast = TeamMonth {
            due: 10,
            on_time: 10,
            ..team(1)
        };
        let rated = TeamMonth {
            due: 10,
            on_time: 5,
            rating_sum: 15,
            rating_n: 3,
            rated_weeks: 1,
            ..team(2)
        };
        // Defaults: fast (30·1 + 15·0)/45 = 66.7; rated (30·0.5 + 15·1 + 15·0)/60 = 50.0.
        let r = rank(&[fast, rated], NOV, &Weights::default());
        let got: Vec<(i64, String)> = r.iter().map(|x| (x.stats.team_id, x.score())).collect();
        assert_eq!(got, vec![(1, "66.7".to_string()), (2, "50.0".to_string())]);
        // Rating weighs 100: rated (15 + 100)/145 = 79.3 goes first.
        let w = Weights {
            rating: 100.0,
            ..Weights::default()
        };
        let r = rank(&[fast, rated], NOV, &w);
        let got: Vec<(i64, String)> = r.iter().map(|x| (x.stats.team_id, x.score())).collect();
        assert_eq!(got, vec![(2, "79.3".to_string()), (1, "66.7".to_string())]);
    }

    #[test]
    fn ties_break_by_on_time_then_reach_then_id() {
        let w = Weights {
            requests: 0.0,
            rating: 0.0,
            projects: 0.0,
            ..Weights::default()
        };
        // Identical components; only the tie-breaks differ.
        let base = TeamMonth {
            due: 4,
            on_time: 2,
            households: 100,
            reached: 50,
            ..team(0)
        };
        let t9 = TeamMonth { team_id: 9, ..base };
        let t3 = TeamMonth { team_id: 3, ..base };
        let more_reach = TeamMonth {
            team_id: 20,
            households: 200,
            reached: 100,
            ..base
        };
        let better_on_time = TeamMonth {
            team_id: 30,
            due: 2,
            on_time: 1,
            households: 100,
            reached: 50,
            ..base
        };
        let r = rank(&[t9, better_on_time, t3, more_reach], NOV, &w);
        let ids: Vec<i64> = r.iter().map(|x| x.stats.team_id).collect();
        // All score the same; on-time rates are equal (½) too, so reach decides, then id.
        assert!(
            r.iter().all(|x| x.score_tenths == r[0].score_tenths),
            "{r:?}"
        );
        assert_eq!(ids, vec![20, 3, 9, 30]);
        // Now an equal score with a higher on-time rate first: 3 of 4 vs 2 of 4
        // with coverage making up the difference.
        let hi = TeamMonth {
            team_id: 50,
            due: 4,
            on_time: 3,
            households: 0,
            reached: 0,
            ..base
        };
        let w_on_time = Weights {
            on_time: 1.0,
            requests: 0.0,
            coverage: 0.0,
            rating: 0.0,
            projects: 1.0,
        };
        let lo = TeamMonth {
            team_id: 40,
            due: 4,
            on_time: 2,
            projects: 4,
            projects_done: 1,
            ..base
        };
        // hi: (0.75 + 0)/2 = 37.5; lo: (0.5 + 0.25)/2 = 37.5
        let r = rank(&[lo, hi], NOV, &w_on_time);
        assert_eq!(r[0].score_tenths, r[1].score_tenths);
        assert_eq!(
            r[0].stats.team_id, 50,
            "the higher on-time rate wins the tie"
        );
        assert_eq!((r[0].place, r[1].place), (1, 2));
    }

    #[test]
    fn diligence_counts_services_visits_and_on_time_closures() {
        let p = |id, s, v, o| PersonMonth {
            person_id: id,
            team_id: 1,
            services: s,
            visits: v,
            on_time: o,
        };
        let c = diligence_candidates(&[p(1, 3, 0, 0), p(2, 1, 1, 1), p(3, 0, 0, 0), p(4, 5, 2, 0)]);
        let ids: Vec<i64> = c.iter().map(|x| x.person_id).collect();
        // 4: 7 points; 2: 3 points with one on-time closure beats 1: 3 points without.
        assert_eq!(ids, vec![4, 2, 1]);
    }

    #[test]
    fn project_candidates_put_completions_first() {
        let done = TeamMonth {
            projects: 2,
            projects_done: 1,
            projects_done_in_month: 1,
            ..team(7)
        };
        let updated = TeamMonth {
            projects: 1,
            projects_updated: 1,
            ..team(5)
        };
        let idle = TeamMonth {
            projects: 1,
            projects_done: 1,
            ..team(6)
        };
        let c = project_candidates(&[updated, idle, done]);
        let ids: Vec<i64> = c.iter().map(|x| x.team_id).collect();
        assert_eq!(
            ids,
            vec![7, 5],
            "a project done in an earlier month earns no candidacy now"
        );
    }
}
