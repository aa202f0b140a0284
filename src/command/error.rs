//! What can be wrong with a command. Each variant carries what
//! `reply::parse::parse_error` needs to say exactly what was wrong and show
//! a correct example; `Display` is a short English text for logs only.

use chrono::Weekday;

use super::CommandKind;

/// The longest message (in characters, after normalization) the parser takes.
pub const MAX_CHARS: usize = 4000;

/// Keys for [`ParseError::MissingArgument::what`]. They are identifiers, not
/// user text: `reply::parse` turns them into Chinese.
pub mod what {
    /// `#N` after 完成 / 延期 / 取消.
    pub const TASK_NO: &str = "task number";
    /// The result after 完成 #N.
    pub const RESULT: &str = "result";
    /// The reason after 延期 #N DATE or 取消 #N.
    pub const REASON: &str = "reason";
    /// The new deadline after 延期 #N.
    pub const DEADLINE: &str = "deadline";
    /// The household after 走访.
    pub const HOUSEHOLD: &str = "household";
    /// The free text of 服务 or 诉求.
    pub const TEXT: &str = "text";
    /// Township and village after 绑定.
    pub const VILLAGE: &str = "township and village";
    /// The people after 设团长 / 设团员.
    pub const NAMES: &str = "names";
    /// Whom a task is handed to (指派).
    pub const ASSIGNEES: &str = "assignees";
    /// The score after 评价.
    pub const SCORE: &str = "score";
    /// The project's name after 项目 新建 / 进展 / 完成.
    pub const PROJECT_NAME: &str = "project name";
    /// What moved, after 项目 进展 NAME.
    pub const PROGRESS: &str = "progress";
}

/// Why one line of a plan (排清单 / 加清单) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskLineError {
    /// Nothing is left once numbering, owners, deadline and level are taken.
    #[error("no task text")]
    EmptyText,
    /// Looks like a date or time but is not one (2月30日, 25:00).
    #[error("bad deadline {got:?}")]
    BadDeadline { got: String },
    /// The deadline is already over. `this_week_day` is set when the user
    /// wrote 周X for a day of this week that has passed (they likely meant 下周X).
    #[error("deadline {got:?} is in the past")]
    DeadlineInPast {
        got: String,
        this_week_day: Option<Weekday>,
    },
    /// Two different deadlines at the end of the line.
    #[error("two deadlines")]
    TwoDeadlines,
    /// Two different levels on the line.
    #[error("two levels")]
    TwoLevels,
    /// An `@` with no name after it.
    #[error("@ without a name")]
    EmptyOwner,
}

/// Why a message could not be parsed into a [`super::Command`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing left after the mentions and white space were stripped.
    #[error("empty message")]
    Empty,
    /// The message does not start with a command word.
    #[error("not a command")]
    NotACommand,
    /// The message is longer than [`MAX_CHARS`].
    #[error("message too long: {got_chars} > {max_chars} characters")]
    TooLong { max_chars: usize, got_chars: usize },
    /// A required argument is missing; `what` is one of the [`what`] keys.
    #[error("{kind:?}: missing {what}")]
    MissingArgument {
        kind: CommandKind,
        what: &'static str,
    },
    /// One task line of a plan is wrong; nothing of the plan is stored.
    /// `line_no` is the 1-based line of the (normalized) message, the
    /// command word's line being line 1.
    #[error("{kind:?}: line {line_no}: {why}")]
    BadTaskLine {
        kind: CommandKind,
        line_no: usize,
        line: String,
        why: TaskLineError,
    },
    /// 排清单 / 加清单 without any task line.
    #[error("{kind:?}: no tasks")]
    NoTasks { kind: CommandKind },
    /// `#` not followed by a task number (≥ 1).
    #[error("{kind:?}: bad task number {got:?}")]
    BadTaskNo { kind: CommandKind, got: String },
    /// Several task numbers where the command takes one (延期, 取消, 服务).
    #[error("{kind:?}: only one task number allowed")]
    OneTaskOnly { kind: CommandKind },
    /// Looks like a date or time but is not one.
    #[error("{kind:?}: bad deadline {got:?}")]
    BadDeadline { kind: CommandKind, got: String },
    /// The deadline is over; see [`TaskLineError::DeadlineInPast`].
    #[error("{kind:?}: deadline {got:?} is in the past")]
    DeadlineInPast {
        kind: CommandKind,
        got: String,
        this_week_day: Option<Weekday>,
    },
    /// Two different levels in a 诉求.
    #[error("{kind:?}: two levels")]
    TwoLevels { kind: CommandKind },
    /// A score that is not 1..=5 nor a satisfaction word.
    #[error("bad score {got:?}")]
    BadScore { got: String },
    /// `/role` followed by neither `leader` nor `member`.
    #[error("bad role {got:?}")]
    BadRole { got: String },
    /// 项目 followed by something that is not 新建 / 进展 / 完成.
    #[error("bad project action {got:?}")]
    BadProjectAction { got: String },
    /// A project name with spaces in it, or too long.
    #[error("bad project name {got:?}")]
    BadProjectName { got: String },
    /// 走访率 followed by something other than 未走访.
    #[error("bad coverage argument {got:?}")]
    BadCoverageArg { got: String },
}

impl ParseError {
    /// The command the error belongs to, when the command word was recognised.
    pub fn kind(&self) -> Option<CommandKind> {
        match self {
            ParseError::Empty | ParseError::NotACommand | ParseError::TooLong { .. } => None,
            ParseError::MissingArgument { kind, .. }
            | ParseError::BadTaskLine { kind, .. }
            | ParseError::NoTasks { kind }
            | ParseError::BadTaskNo { kind, .. }
            | ParseError::OneTaskOnly { kind }
            | ParseError::BadDeadline { kind, .. }
            | ParseError::DeadlineInPast { kind, .. }
            | ParseError::TwoLevels { kind } => Some(*kind),
            ParseError::BadScore { .. } => Some(CommandKind::Rate),
            ParseError::BadRole { .. } => Some(CommandKind::SetLeader),
            ParseError::BadProjectAction { .. } | ParseError::BadProjectName { .. } => {
                Some(CommandKind::Project)
            }
            ParseError::BadCoverageArg { .. } => Some(CommandKind::Coverage),
        }
    }
}
