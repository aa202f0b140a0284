//! The scheduled jobs: the one list of them, with their names (config keys,
//! `/api/v1/jobs/{job}/run`, `job_firings.job`), default schedules, holiday
//! shift rules and whom their group message is for. What each one posts is
//! composed in [`super::compose`], one arm per job.

use std::fmt;
use std::str::FromStr;

use crate::domain::calendar::ShiftRule;
use crate::outbox::Reach;

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
    pub fn as_str(self) -> &'static str {
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

    /// Whom the job's group message is for: the overdue alert exists to reach
    /// the owners, the Monday reminder the leader; the rest speak to the group.
    pub fn reach(self) -> Reach {
        match self {
            Job::OverdueScan | Job::PlanReminder => Reach::People,
            _ => Reach::Group,
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
        let err = "plan".parse::<Job>().unwrap_err().to_string();
        assert!(
            err.contains("\"plan\"") && err.contains("project_reminder"),
            "{err}"
        );
    }
}
