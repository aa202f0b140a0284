//! The scheduled jobs: the one list of them, with their names (config keys,
//! metric labels, `/api/v1/jobs/{job}/run`, `job_firings.job`), default
//! schedules, holiday shift rules and whom their group message is for.
//!
//! A new job is a variant here; the compiler then asks for its name, cron,
//! shift rule and audience below, its composer (one arm of
//! `jobs::compose`, which matches every job) and its title
//! (`reply::push::title`). Its cron key goes in `config/default.toml`
//! (a test checks it ships this default).

use std::fmt;
use std::str::FromStr;

use super::calendar::ShiftRule;

/// A scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Job {
    PlanReminder,
    PlanMissing,
    ServiceDay,
    ResultsReminder,
    WeeklyAiring,
    Clearance,
    OverdueScan,
    MonthlyRanking,
    ProjectReminder,
}

impl Job {
    /// The jobs, in the order of the week.
    pub const ALL: [Job; 9] = [
        Job::PlanReminder,
        Job::PlanMissing,
        Job::ServiceDay,
        Job::ResultsReminder,
        Job::WeeklyAiring,
        Job::Clearance,
        Job::OverdueScan,
        Job::MonthlyRanking,
        Job::ProjectReminder,
    ];

    /// The job's name: its config key, its path segment in the API, and what
    /// the database stores.
    pub const fn as_str(self) -> &'static str {
        match self {
            Job::PlanReminder => "plan_reminder",
            Job::PlanMissing => "plan_missing",
            Job::ServiceDay => "service_day",
            Job::ResultsReminder => "results_reminder",
            Job::WeeklyAiring => "weekly_airing",
            Job::Clearance => "clearance",
            Job::OverdueScan => "overdue_scan",
            Job::MonthlyRanking => "monthly_ranking",
            Job::ProjectReminder => "project_reminder",
        }
    }

    /// Every job's name, in the order of [`Job::ALL`].
    pub const NAMES: [&'static str; 9] = {
        let mut names = [""; 9];
        let mut i = 0;
        while i < Job::ALL.len() {
            names[i] = Job::ALL[i].as_str();
            i += 1;
        }
        names
    };

    /// The job named `name` (`None`: no such job).
    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.as_str() == name)
    }

    /// The product's schedule (cron with seconds first; what
    /// `config/default.toml` ships, checked by a test there).
    pub fn default_cron(self) -> &'static str {
        match self {
            Job::PlanReminder => "0 30 8 * * Mon",
            Job::PlanMissing => "0 30 21 * * Mon",
            Job::ServiceDay => "0 0 8 * * Tue",
            Job::ResultsReminder => "0 0 15 * * Fri",
            Job::WeeklyAiring => "0 0 20 * * Fri",
            Job::Clearance => "0 0 20 * * Sun",
            Job::OverdueScan => "0 */15 * * * *",
            Job::MonthlyRanking => "0 0 9 1 * *",
            Job::ProjectReminder => "0 0 9 * * *",
        }
    }

    /// How the job moves when its day is a holiday (the product rule: later
    /// for Monday and Tuesday jobs, earlier for Friday jobs; the rest keep
    /// their day).
    pub fn shift_rule(self) -> ShiftRule {
        match self {
            Job::PlanReminder | Job::PlanMissing | Job::ServiceDay => ShiftRule::Later,
            Job::ResultsReminder | Job::WeeklyAiring => ShiftRule::Earlier,
            // 周日必清零 of a week wholly off (春节) has nothing to clear.
            Job::Clearance => ShiftRule::SkipWeekOff,
            Job::OverdueScan | Job::MonthlyRanking | Job::ProjectReminder => ShiftRule::None,
        }
    }

    /// Whether the job's group message is for the people it @-mentions
    /// rather than the whole group: the overdue alert exists to reach the
    /// owners, the Monday reminder the leader; the rest speak to the group.
    pub fn reaches_people(self) -> bool {
        match self {
            Job::OverdueScan | Job::PlanReminder => true,
            Job::PlanMissing
            | Job::ServiceDay
            | Job::ResultsReminder
            | Job::WeeklyAiring
            | Job::Clearance
            | Job::MonthlyRanking
            | Job::ProjectReminder => false,
        }
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A job is written as its name.
impl serde::Serialize for Job {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Compares with a job's name (as firings are read back and asserted on).
impl PartialEq<&str> for Job {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A name that is no job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job {0:?}; jobs are {list}", list = Job::ALL.map(Job::as_str).join(", "))]
pub struct UnknownJob(pub String);

impl FromStr for Job {
    type Err = UnknownJob;
    fn from_str(name: &str) -> Result<Job, UnknownJob> {
        Job::parse(name).ok_or_else(|| UnknownJob(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for job in Job::ALL {
            assert_eq!(job.as_str().parse::<Job>(), Ok(job));
        }
        assert_eq!(Job::NAMES, Job::ALL.map(Job::as_str));
        let err = "plan".parse::<Job>().unwrap_err().to_string();
        assert!(
            err.contains("\"plan\"") && err.contains("project_reminder"),
            "{err}"
        );
    }
}
