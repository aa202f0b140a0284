//! The task rules: who may close (完成), postpone (延期), cancel (取消) or
//! assign (指派) a task and when; which week's list it is in; what counts as
//! done on time and what is carried over (结转). Pure: the caller passes the
//! task as stored ([`TaskFacts`]), who acts and the clock's reading ([`Now`]);
//! `bot::tasks` applies the outcome and says it.

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::role::{Actor, TeamRole, may_touch_task};
use super::week::{IsoWeek, utc_ms_to_local};

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

/// The moment a rule is applied at, on the team's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// UTC epoch milliseconds, as instants are stored.
    pub ms: i64,
    /// The team's time zone.
    pub tz: Tz,
}

impl Now {
    /// Local time in the team's zone.
    pub fn local(self) -> NaiveDateTime {
        utc_ms_to_local(self.tz, self.ms)
    }

    /// The week it is, in the team's zone.
    pub fn week(self) -> IsoWeek {
        IsoWeek::of(self.local().date())
    }
}

/// A task as stored, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskFacts<'a> {
    pub state: TaskState,
    /// The deadline, UTC epoch milliseconds.
    pub deadline_ms: i64,
    /// When it was closed or cancelled.
    pub closed_ms: Option<i64>,
    /// The week whose list it is in.
    pub week: IsoWeek,
    /// Never on time: it was postponed after it had been carried over or
    /// had run past its deadline (see [`postpone`]).
    pub late: bool,
    /// The people who own it.
    pub owners: &'a [i64],
}

/// Where a task stands, as lists and pushes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Open,
    /// Open past its deadline.
    Overdue,
    Closed {
        /// See [`on_time`].
        on_time: bool,
    },
    Cancelled,
}

/// Where `task` stands at `now_ms`.
pub fn progress(task: &TaskFacts<'_>, now_ms: i64) -> Progress {
    match task.state {
        TaskState::Closed => Progress::Closed {
            on_time: on_time(task),
        },
        TaskState::Cancelled => Progress::Cancelled,
        TaskState::Open if task.deadline_ms < now_ms => Progress::Overdue,
        TaskState::Open => Progress::Open,
    }
}

/// Whether a task was done on time (按时销号): closed by its deadline, and
/// never postponed after it was carried over or overdue — a 延期 does not
/// wipe out that it was left undone. (The store's tallies count the same:
/// `closed_at <= deadline_at AND carried_over = 0`.)
pub fn on_time(task: &TaskFacts<'_>) -> bool {
    task.state == TaskState::Closed
        && !task.late
        && task.closed_ms.is_some_and(|c| c <= task.deadline_ms)
}

/// Whether a task of `list_week` shown in `current` week is carried over
/// (结转) from an earlier week.
pub fn carried_over(list_week: IsoWeek, current: IsoWeek) -> bool {
    list_week < current
}

/// Why a change to a task is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRefusal {
    /// It is closed or cancelled already.
    NotOpen { cancelled: bool },
    /// Only its owners or the leader may (完成, 延期).
    NotOwner,
    /// Only the leader may (取消, 指派).
    NotLeader,
}

/// Why a 延期 is refused: as any change, or because it does not move
/// the deadline forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostponeError {
    Task(TaskRefusal),
    NotForward(PostponeRefusal),
}

impl From<TaskRefusal> for PostponeError {
    fn from(why: TaskRefusal) -> Self {
        PostponeError::Task(why)
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

fn open(task: &TaskFacts<'_>) -> Result<(), TaskRefusal> {
    match task.state {
        TaskState::Open => Ok(()),
        TaskState::Closed => Err(TaskRefusal::NotOpen { cancelled: false }),
        TaskState::Cancelled => Err(TaskRefusal::NotOpen { cancelled: true }),
    }
}

fn owner_or_leader(task: &TaskFacts<'_>, actor: Actor, actor_id: i64) -> Result<(), TaskRefusal> {
    if may_touch_task(actor, actor_id, task.owners) {
        Ok(())
    } else {
        Err(TaskRefusal::NotOwner)
    }
}

fn leader(actor: Actor) -> Result<(), TaskRefusal> {
    if actor.admin || actor.role == Some(TeamRole::Leader) {
        Ok(())
    } else {
        Err(TaskRefusal::NotLeader)
    }
}

/// 完成: an open task, by one of its owners or the leader. A carried task
/// may be closed like any other; it just does not count as on time.
pub fn close(task: &TaskFacts<'_>, actor: Actor, actor_id: i64) -> Result<(), TaskRefusal> {
    open(task)?;
    owner_or_leader(task, actor, actor_id)
}

/// 取消: an open task, by the leader only — its owners may not drop it.
pub fn cancel(task: &TaskFacts<'_>, actor: Actor) -> Result<(), TaskRefusal> {
    open(task)?;
    leader(actor)
}

/// 指派: an open task, handed on by the leader.
pub fn assign(task: &TaskFacts<'_>, actor: Actor) -> Result<(), TaskRefusal> {
    open(task)?;
    leader(actor)
}

/// What a 延期 changes besides the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Postponement {
    /// The week whose list the task is in afterwards ([`week_after_postpone`]).
    pub week: IsoWeek,
    /// Never on time from now on: it was carried over, or overdue, or
    /// already so.
    pub late: bool,
    /// The later week it moves into, when it leaves this week's list.
    pub moved_to: Option<IsoWeek>,
}

/// 延期 of an open task to the local time `to`, by one of its owners or the
/// leader: only forward ([`check_postpone`]). A task postponed once it was
/// carried over or overdue is never on time afterwards, even if the new
/// deadline falls in the same week.
pub fn postpone(
    task: &TaskFacts<'_>,
    actor: Actor,
    actor_id: i64,
    to: NaiveDateTime,
    now: Now,
) -> Result<Postponement, PostponeError> {
    open(task)?;
    owner_or_leader(task, actor, actor_id)?;
    let from = utc_ms_to_local(now.tz, task.deadline_ms);
    check_postpone(from, to, now.local()).map_err(PostponeError::NotForward)?;
    let this_week = now.week();
    let carried = carried_over(task.week, this_week);
    let overdue = task.deadline_ms < now.ms;
    let week = week_after_postpone(task.week, this_week, to);
    Ok(Postponement {
        week,
        late: task.late || carried || overdue,
        moved_to: (week > task.week && week > this_week).then_some(week),
    })
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

    use crate::domain::role::actors::{ADMIN as BOT_ADMIN, LEADER, MEMBER, VILLAGER};
    use crate::domain::week::local_to_utc;

    const SH: Tz = chrono_tz::Asia::Shanghai;
    /// Person ids: 李四 owns the task, 王五 is a member who does not.
    const LISI: i64 = 7;
    const WANGWU: i64 = 8;
    const OWNERS: &[i64] = &[LISI];

    /// 2026 local time in Shanghai as stored.
    fn ms(m: u32, d: u32, h: u32) -> i64 {
        local_to_utc(SH, at(m, d, h)).timestamp_millis()
    }

    fn now(m: u32, d: u32, h: u32) -> Now {
        Now {
            ms: ms(m, d, h),
            tz: SH,
        }
    }

    fn w49() -> IsoWeek {
        IsoWeek::of(NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"))
    }

    /// An open task of week 49 (Mon 11-30 … Sun 12-06) due Wednesday 18:00.
    fn task() -> TaskFacts<'static> {
        TaskFacts {
            state: TaskState::Open,
            deadline_ms: ms(12, 2, 18),
            closed_ms: None,
            week: w49(),
            late: false,
            owners: OWNERS,
        }
    }

    fn closed_at(t: TaskFacts<'static>, m: u32, d: u32, h: u32) -> TaskFacts<'static> {
        TaskFacts {
            state: TaskState::Closed,
            closed_ms: Some(ms(m, d, h)),
            ..t
        }
    }

    #[test]
    fn closing_takes_an_open_task_and_its_owner_or_the_leader() {
        let t = task();
        assert_eq!(close(&t, MEMBER, LISI), Ok(()), "the owner");
        assert_eq!(close(&t, LEADER, 1), Ok(()), "the leader");
        assert_eq!(close(&t, BOT_ADMIN, 2), Ok(()), "a bot admin");
        assert_eq!(
            close(&t, MEMBER, WANGWU),
            Err(TaskRefusal::NotOwner),
            "a member who does not own it"
        );
        let done = closed_at(t, 12, 2, 9);
        assert_eq!(
            close(&done, LEADER, 1),
            Err(TaskRefusal::NotOpen { cancelled: false }),
            "closed twice"
        );
        let gone = TaskFacts {
            state: TaskState::Cancelled,
            ..t
        };
        assert_eq!(
            close(&gone, MEMBER, LISI),
            Err(TaskRefusal::NotOpen { cancelled: true })
        );
    }

    #[test]
    fn a_carried_task_may_be_closed_but_not_on_time() {
        // Week 49's task, still open in week 50, postponed there, closed
        // before its new deadline.
        let t = task();
        let p = postpone(&t, MEMBER, LISI, at(12, 10, 18), now(12, 8, 9)).expect("forward");
        assert_eq!(p.week, w49(), "a carried task stays in its week");
        assert!(p.late);
        assert_eq!(p.moved_to, None);
        let carried = TaskFacts {
            deadline_ms: ms(12, 10, 18),
            late: p.late,
            ..t
        };
        assert_eq!(close(&carried, MEMBER, LISI), Ok(()));
        let done = closed_at(carried, 12, 9, 10);
        assert!(!on_time(&done));
        assert_eq!(
            progress(&done, ms(12, 9, 11)),
            Progress::Closed { on_time: false }
        );
    }

    #[test]
    fn on_time_is_closed_by_the_deadline_and_never_late() {
        let t = task();
        assert!(on_time(&closed_at(t, 12, 2, 18)), "at the deadline itself");
        assert!(on_time(&closed_at(t, 12, 1, 9)));
        assert!(!on_time(&closed_at(t, 12, 2, 19)), "an hour late");
        assert!(!on_time(&t), "open is not done");
        let late = TaskFacts { late: true, ..t };
        assert!(!on_time(&closed_at(late, 12, 1, 9)), "marked late");
        let gone = TaskFacts {
            state: TaskState::Cancelled,
            closed_ms: Some(ms(12, 1, 9)),
            ..t
        };
        assert!(!on_time(&gone), "cancelled is not done");
    }

    #[test]
    fn progress_shows_overdue_open_tasks() {
        let t = task();
        assert_eq!(progress(&t, ms(12, 2, 17)), Progress::Open);
        assert_eq!(progress(&t, ms(12, 2, 18)), Progress::Open, "due this hour");
        assert_eq!(progress(&t, ms(12, 2, 19)), Progress::Overdue);
        assert_eq!(
            progress(&closed_at(t, 12, 2, 19), ms(12, 3, 9)),
            Progress::Closed { on_time: false }
        );
        let gone = TaskFacts {
            state: TaskState::Cancelled,
            ..t
        };
        assert_eq!(progress(&gone, ms(12, 9, 9)), Progress::Cancelled);
    }

    #[test]
    fn postponing_in_time_stays_on_time() {
        let t = task();
        let p = postpone(&t, MEMBER, LISI, at(12, 4, 18), now(12, 2, 9)).expect("forward");
        assert_eq!(
            p,
            Postponement {
                week: w49(),
                late: false,
                moved_to: None
            }
        );
        let moved = TaskFacts {
            deadline_ms: ms(12, 4, 18),
            ..t
        };
        assert!(on_time(&closed_at(moved, 12, 3, 10)));
        // Past Sunday: into next week's list, still on time.
        let p = postpone(&t, LEADER, 1, at(12, 9, 18), now(12, 2, 9)).expect("forward");
        assert_eq!(
            (p.week, p.late, p.moved_to),
            (w49().next(), false, Some(w49().next()))
        );
    }

    /// The known bug: a task overdue on Wednesday evening, postponed to
    /// Friday and closed on Thursday was counted on time.
    #[test]
    fn a_task_postponed_when_overdue_in_the_same_week_is_not_on_time() {
        let t = task();
        let p = postpone(&t, MEMBER, LISI, at(12, 4, 18), now(12, 2, 20)).expect("forward");
        assert_eq!(p.week, w49(), "same week, same list");
        assert!(p.late, "it was overdue when postponed");
        let moved = TaskFacts {
            deadline_ms: ms(12, 4, 18),
            late: p.late,
            ..t
        };
        let done = closed_at(moved, 12, 3, 10);
        assert!(!on_time(&done));
        assert_eq!(
            progress(&done, ms(12, 3, 11)),
            Progress::Closed { on_time: false }
        );
        // Postponed again in time afterwards: still late.
        let again = postpone(&moved, MEMBER, LISI, at(12, 5, 18), now(12, 3, 9)).expect("forward");
        assert!(again.late);
    }

    #[test]
    fn postponing_takes_an_open_task_its_owner_or_the_leader_and_only_forward() {
        let t = task();
        let n = now(12, 2, 9);
        assert_eq!(
            postpone(&t, MEMBER, WANGWU, at(12, 4, 18), n),
            Err(PostponeError::Task(TaskRefusal::NotOwner))
        );
        assert_eq!(
            postpone(&t, MEMBER, LISI, at(12, 2, 12), n),
            Err(PostponeError::NotForward(PostponeRefusal::NotLater)),
            "earlier than Wednesday 18:00"
        );
        assert_eq!(
            postpone(&t, LEADER, 1, at(12, 2, 8), n),
            Err(PostponeError::NotForward(PostponeRefusal::InThePast))
        );
        let done = closed_at(t, 12, 2, 8);
        assert_eq!(
            postpone(&done, LEADER, 1, at(12, 4, 18), n),
            Err(PostponeError::Task(TaskRefusal::NotOpen {
                cancelled: false
            }))
        );
        // Overdue: any time from now on, even before the old week ends.
        assert!(postpone(&t, MEMBER, LISI, at(12, 2, 21), now(12, 2, 20)).is_ok());
    }

    #[test]
    fn only_the_leader_cancels_or_assigns_an_open_task() {
        let t = task();
        for rule in [cancel, assign] {
            assert_eq!(rule(&t, LEADER), Ok(()));
            assert_eq!(rule(&t, BOT_ADMIN), Ok(()));
            assert_eq!(
                rule(&t, MEMBER),
                Err(TaskRefusal::NotLeader),
                "not even its owner"
            );
            assert_eq!(rule(&t, VILLAGER), Err(TaskRefusal::NotLeader));
            let gone = TaskFacts {
                state: TaskState::Cancelled,
                ..t
            };
            assert_eq!(
                rule(&gone, LEADER),
                Err(TaskRefusal::NotOpen { cancelled: true })
            );
        }
    }
}
