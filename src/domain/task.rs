//! Task rules the bot applies: which week's list a task is in, and when a
//! 延期 is allowed. Pure: the caller passes the clock's reading.

use chrono::NaiveDateTime;

use super::week::IsoWeek;

/// Where a task is: open, closed (完成) or cancelled (取消). The store
/// keeps it as its name ([`TaskState::as_str`]) and decodes it on reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Open,
    Closed,
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Closed => "closed",
            TaskState::Cancelled => "cancelled",
        }
    }

    /// The state named `name` (`None`: no such state).
    pub fn parse(name: &str) -> Option<TaskState> {
        [TaskState::Open, TaskState::Closed, TaskState::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A stored task state that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task state {0:?}")]
pub struct UnknownTaskState(pub String);

impl TryFrom<String> for TaskState {
    type Error = UnknownTaskState;
    fn try_from(name: String) -> Result<TaskState, UnknownTaskState> {
        TaskState::parse(&name).ok_or(UnknownTaskState(name))
    }
}

/// Why a 延期 is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostponeRefusal {
    /// The new deadline is not later than the current one.
    NotLater,
    /// The new deadline has already passed.
    InThePast,
}

/// A 延期 only moves forward: the new deadline must be later than the
/// current one and not in the past.
pub fn check_postpone(
    current: NaiveDateTime,
    new: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), PostponeRefusal> {
    if new < now {
        Err(PostponeRefusal::InThePast)
    } else if new <= current {
        Err(PostponeRefusal::NotLater)
    } else {
        Ok(())
    }
}

/// The week whose list a task is in after its deadline moved to `new` in
/// `current` week: postponed past Sunday it moves into the list of the
/// deadline's week, never back into an earlier one. A task already carried
/// over from an earlier week stays that week's (结转, not on time): a 延期
/// does not wipe out that it was left open.
pub fn week_after_postpone(list_week: IsoWeek, current: IsoWeek, new: NaiveDateTime) -> IsoWeek {
    if carried_over(list_week, current) {
        list_week
    } else {
        list_week.max(IsoWeek::of(new.date()))
    }
}

/// Whether a task of `list_week` shown in `current` week is carried over
/// (结转) from an earlier week.
pub fn carried_over(list_week: IsoWeek, current: IsoWeek) -> bool {
    list_week < current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_states_round_trip_and_unknown_ones_are_refused() {
        for s in [TaskState::Open, TaskState::Closed, TaskState::Cancelled] {
            assert_eq!(TaskState::try_from(s.as_str().to_string()), Ok(s));
        }
        assert_eq!(
            TaskState::try_from("done".to_string()),
            Err(UnknownTaskState("done".into()))
        );
    }
    use chrono::NaiveDate;

    fn at(m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, m, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .expect("valid test date")
    }

    #[test]
    fn postponing_only_moves_forward() {
        let wed = at(12, 2, 23);
        let now = at(12, 1, 10);
        assert_eq!(
            check_postpone(wed, at(11, 30, 23), now),
            Err(PostponeRefusal::InThePast),
            "Monday is already past on Tuesday"
        );
        assert_eq!(
            check_postpone(wed, at(12, 1, 23), now),
            Err(PostponeRefusal::NotLater),
            "Tuesday is earlier than Wednesday"
        );
        assert_eq!(
            check_postpone(wed, wed, now),
            Err(PostponeRefusal::NotLater)
        );
        assert_eq!(check_postpone(wed, at(12, 4, 23), now), Ok(()));
        // An overdue task may be postponed to any time from now on.
        assert_eq!(check_postpone(at(11, 30, 23), at(12, 1, 18), now), Ok(()));
        assert_eq!(
            check_postpone(at(11, 30, 23), at(12, 1, 9), now),
            Err(PostponeRefusal::InThePast)
        );
    }

    #[test]
    fn postponing_past_sunday_moves_the_task_into_next_weeks_list() {
        let w49 = IsoWeek::of(NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"));
        assert_eq!(week_after_postpone(w49, w49, at(12, 6, 23)), w49);
        assert_eq!(week_after_postpone(w49, w49, at(12, 9, 23)), w49.next());
        // A task postponed into a later week never moves back.
        assert_eq!(
            week_after_postpone(w49.next(), w49, at(12, 6, 23)),
            w49.next()
        );
        // A task carried over stays in its own week.
        assert_eq!(week_after_postpone(w49, w49.next(), at(12, 10, 23)), w49);
        assert!(carried_over(w49, w49.next()));
        assert!(!carried_over(w49, w49));
    }
}
