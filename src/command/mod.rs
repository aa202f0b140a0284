//! Chat text → [`Command`]. Pure: no IO, no clock, no globals; the local
//! date and time and the bot's display names come in [`ParseCtx`].
//!
//! The command word starts the (normalized) message; the longest word wins
//! (看清单 over 清单, 基本满意 over 满意). It may be followed by a space, a
//! line break, a colon or directly by its arguments (`完成#1 已处理`).
//! ASCII aliases match case-insensitively (`/Plan`). The alias table is
//! [`CommandKind::words`]; the user-facing help built from it lives in
//! `reply::help`.

mod args;
mod deadline;
mod error;
mod matcher;
mod normalize;
mod task_line;

#[cfg(test)]
pub(crate) mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};

use crate::domain::role::WhoMay;
use crate::domain::{level::Level, rating::Score};

pub use args::MAX_PROJECT_NAME;
pub use error::{MAX_CHARS, ParseError, TaskLineError, what};
pub use normalize::normalize;

use matcher::Target;

/// What the parser needs to know about the moment and the bot.
#[derive(Debug, Clone, Copy)]
pub struct ParseCtx<'a> {
    /// Local date in the group's time zone.
    pub today: NaiveDate,
    /// Local now (today + time): for N天内, 今天, and times without a date.
    pub now: NaiveDateTime,
    /// The bot's display names, for stripping leading @-mentions.
    pub bot_names: &'a [String],
}

/// The commands, one per entry of the command table (README "Commands in the group")
/// (设团长 and 设团员 apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    Bind,
    SetLeader,
    SetMember,
    Plan,
    AddTasks,
    List,
    Serve,
    Visit,
    Close,
    Postpone,
    Cancel,
    Assign,
    Rate,
    Request,
    MyRequests,
    Project,
    Coverage,
    Rank,
    Help,
}

impl CommandKind {
    /// Every command, in the order help lists them.
    pub const ALL: [CommandKind; 19] = [
        CommandKind::Plan,
        CommandKind::AddTasks,
        CommandKind::List,
        CommandKind::Serve,
        CommandKind::Visit,
        CommandKind::Close,
        CommandKind::Postpone,
        CommandKind::Cancel,
        CommandKind::Assign,
        CommandKind::Rate,
        CommandKind::Request,
        CommandKind::MyRequests,
        CommandKind::Project,
        CommandKind::Coverage,
        CommandKind::Rank,
        CommandKind::Bind,
        CommandKind::SetLeader,
        CommandKind::SetMember,
        CommandKind::Help,
    ];

    /// The words that start this command: the main Chinese word first, then
    /// Chinese aliases, then the ASCII alias(es). (A few more spellings are
    /// accepted without being advertised: 设置团长, `/role 团长`, and the bare
    /// rating words 满意 / 基本满意 / 不满意 …)
    pub fn words(self) -> &'static [&'static str] {
        match self {
            CommandKind::Bind => &["绑定", "/bind"],
            CommandKind::SetLeader => &["设团长", "/role leader"],
            CommandKind::SetMember => &["设团员", "/role member"],
            CommandKind::Plan => &["排清单", "本周清单", "周清单", "/plan"],
            CommandKind::AddTasks => &["加清单", "追加", "/add"],
            CommandKind::List => &["清单", "进度", "看清单", "/list"],
            CommandKind::Serve => &["服务", "聚服务", "/serve"],
            CommandKind::Visit => &["走访", "/visit"],
            CommandKind::Close => &["完成", "销号", "成效", "/done"],
            CommandKind::Postpone => &["延期", "/postpone"],
            CommandKind::Cancel => &["取消", "/cancel"],
            CommandKind::Assign => &["指派", "分派", "/assign"],
            CommandKind::Rate => &["评价", "打分", "/rate"],
            CommandKind::Request => &["诉求", "反映", "/ask"],
            CommandKind::MyRequests => &["我的诉求", "诉求进度", "/myasks"],
            CommandKind::Project => &["项目", "/project"],
            CommandKind::Coverage => &["走访率", "覆盖", "/coverage"],
            CommandKind::Rank => &["排名", "/rank"],
            CommandKind::Help => &["帮助", "/help", "?"],
        }
    }

    /// Every command's [`label`](CommandKind::label), in the order of [`CommandKind::ALL`].
    pub const LABELS: [&'static str; 19] = {
        let mut labels = [""; 19];
        let mut i = 0;
        while i < CommandKind::ALL.len() {
            labels[i] = CommandKind::ALL[i].label();
            i += 1;
        }
        labels
    };

    /// The command's stable ASCII name: its metric label.
    pub const fn label(self) -> &'static str {
        match self {
            CommandKind::Bind => "bind",
            CommandKind::SetLeader => "set_leader",
            CommandKind::SetMember => "set_member",
            CommandKind::Plan => "plan",
            CommandKind::AddTasks => "add",
            CommandKind::List => "list",
            CommandKind::Serve => "serve",
            CommandKind::Visit => "visit",
            CommandKind::Close => "close",
            CommandKind::Postpone => "postpone",
            CommandKind::Cancel => "cancel",
            CommandKind::Assign => "assign",
            CommandKind::Rate => "rate",
            CommandKind::Request => "request",
            CommandKind::MyRequests => "my_requests",
            CommandKind::Project => "project",
            CommandKind::Coverage => "coverage",
            CommandKind::Rank => "rank",
            CommandKind::Help => "help",
        }
    }

    /// Who may use the command, as PRODUCT.md's command table says; the
    /// check itself is [`crate::domain::role::may`].
    pub fn who_may(self) -> WhoMay {
        match self {
            CommandKind::Plan => WhoMay::LeaderOrAllowedMembers,
            CommandKind::AddTasks | CommandKind::Serve | CommandKind::Visit => {
                WhoMay::LeaderOrMember
            }
            CommandKind::List
            | CommandKind::Request
            | CommandKind::MyRequests
            | CommandKind::Rank
            | CommandKind::Help
            | CommandKind::Coverage => WhoMay::Anyone,
            // Bare 项目 (the list) is for anyone: see `bot::duties`.
            CommandKind::Project => WhoMay::Leader,
            CommandKind::Close | CommandKind::Postpone => WhoMay::OwnerOrLeader,
            CommandKind::Cancel | CommandKind::Assign => WhoMay::Leader,
            CommandKind::Rate => WhoMay::Villagers,
            CommandKind::Bind => WhoMay::GroupAdmin,
            CommandKind::SetLeader | CommandKind::SetMember => WhoMay::GroupAdminOrLeader,
        }
    }

    /// A correct example of the command. Deadlines in examples are relative
    /// words that are never in the past, so every example parses on any day.
    pub fn example(self) -> &'static str {
        match self {
            CommandKind::Bind => "绑定 凤林镇 南坞村 南坞服务团",
            CommandKind::SetLeader => "设团长 @张三",
            CommandKind::SetMember => "设团员 @李四 @王五",
            CommandKind::Plan => {
                "排清单\n1. 清理村口河道 @张三 明天 红\n2. 走访3组农户 @李四 周日前"
            }
            CommandKind::AddTasks => "加清单 修补村道坑洼 @王五 3天内 橙",
            CommandKind::List => "清单",
            CommandKind::Serve => "服务 #2 帮王大妈办医保",
            CommandKind::Visit => "走访 张大爷家 反映3组路灯坏了",
            CommandKind::Close => "完成 #1 #3 已协调到位",
            CommandKind::Postpone => "延期 #2 下周三 等待镇里批复",
            CommandKind::Cancel => "取消 #4 与#2重复",
            CommandKind::Assign => "指派 #5 @李四",
            CommandKind::Rate => "评价 5 路灯修得快",
            CommandKind::Request => "诉求 3组路灯坏了 橙",
            CommandKind::MyRequests => "我的诉求",
            CommandKind::Project => "项目 进展 村道硬化 路基完成",
            CommandKind::Coverage => "走访率 未走访",
            CommandKind::Rank => "排名",
            CommandKind::Help => "帮助 完成",
        }
    }
}

/// A task number as typed: `#3` (also `＃3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskNo(pub u32);

impl TaskNo {
    /// The first task number typed in `text` (`#3`, `＃3`), for the example
    /// of a reply to a message that could not be parsed: the example then
    /// names the task the sender meant, never another one.
    pub fn first_in(text: &str) -> Option<u32> {
        text.match_indices(['#', '＃']).find_map(|(i, h)| {
            let after = text.get(i + h.len()..)?;
            let end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            after.get(..end)?.parse().ok().filter(|n| *n > 0)
        })
    }
}

impl fmt::Display for TaskNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One task line of 排清单 / 加清单, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    /// 1-based line of the normalized message (the command word's line is
    /// line 1), for error messages and for numbering in the reply.
    pub line_no: usize,
    pub text: String,
    /// Names typed after `@`, without the `@`, in order, without repeats.
    /// Empty: the sender is the owner.
    pub owners: Vec<String>,
    /// `None`: the level's default (`domain::level::default_deadline`).
    pub deadline: Option<NaiveDateTime>,
    /// `None`: 绿 for tasks.
    pub level: Option<Level>,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// 绑定 凤林镇 南坞村 南坞服务团
    Bind {
        township: String,
        village: String,
        team: Option<String>,
    },
    /// 设团长 @张三 / 设团员 @李四 @王五 / `/role leader @a` / `/role member @a @b`
    SetRole { leader: bool, names: Vec<String> },
    /// 排清单 / 本周清单 / 周清单 / `/plan`, one task per line.
    Plan { tasks: Vec<TaskDraft> },
    /// 加清单 / 追加 / `/add`
    AddTasks { tasks: Vec<TaskDraft> },
    /// 清单 / 进度 / 看清单 / `/list`
    List,
    /// 服务 #2 帮王大妈办医保
    Serve { task: Option<TaskNo>, text: String },
    /// 走访 张大爷家 反映3组路灯坏了 (text may be empty)
    Visit { household: String, text: String },
    /// 完成 #1 #3 已协调到位 (result required)
    Close { tasks: Vec<TaskNo>, result: String },
    /// 延期 #2 下周三 等待镇里批复 (reason required)
    Postpone {
        task: TaskNo,
        deadline: NaiveDateTime,
        reason: String,
    },
    /// 取消 #4 与#2重复 (reason required)
    Cancel { task: TaskNo, reason: String },
    /// 指派 #5 @李四 @王五: the task's owners become these people.
    Assign { task: TaskNo, names: Vec<String> },
    /// 评价 5 路灯修得快 / 满意 / 打分 4分 态度好 (comment may be empty)
    Rate { score: Score, comment: String },
    /// 诉求 3组路灯坏了 橙
    Request { text: String, level: Option<Level> },
    /// 我的诉求 / 诉求进度 / `/myasks`: the sender's own requests and their state.
    MyRequests,
    /// 项目 / 项目 新建 村道硬化 / 项目 进展 村道硬化 路基完成 / 项目 完成 村道硬化
    Project(ProjectCmd),
    /// 走访率 / 覆盖 / `/coverage`; `走访率 未走访` lists who is not yet visited.
    Coverage { unvisited: bool },
    /// 排名 (this month so far) / 排名 上月 (last month)
    Rank { last_month: bool },
    /// 帮助 / 帮助 完成
    Help { topic: Option<CommandKind> },
}

/// What 项目 asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCmd {
    /// Bare 项目: this year's projects.
    List,
    /// 新建 NAME (the name has no spaces).
    New { name: String },
    /// 进展 NAME TEXT
    Progress { name: String, text: String },
    /// 完成 NAME [TEXT]
    Done { name: String, text: String },
}

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Bind { .. } => CommandKind::Bind,
            Command::SetRole { leader: true, .. } => CommandKind::SetLeader,
            Command::SetRole { leader: false, .. } => CommandKind::SetMember,
            Command::Plan { .. } => CommandKind::Plan,
            Command::AddTasks { .. } => CommandKind::AddTasks,
            Command::List => CommandKind::List,
            Command::Serve { .. } => CommandKind::Serve,
            Command::Visit { .. } => CommandKind::Visit,
            Command::Close { .. } => CommandKind::Close,
            Command::Postpone { .. } => CommandKind::Postpone,
            Command::Cancel { .. } => CommandKind::Cancel,
            Command::Assign { .. } => CommandKind::Assign,
            Command::Rate { .. } => CommandKind::Rate,
            Command::Request { .. } => CommandKind::Request,
            Command::MyRequests => CommandKind::MyRequests,
            Command::Project(_) => CommandKind::Project,
            Command::Coverage { .. } => CommandKind::Coverage,
            Command::Rank { .. } => CommandKind::Rank,
            Command::Help { .. } => CommandKind::Help,
        }
    }
}

/// Parses one chat message. [`normalize`]s it first; never panics. Free text
/// (task text, results, reasons, comments) keeps Chinese punctuation.
pub fn parse(text: &str, ctx: &ParseCtx<'_>) -> Result<Command, ParseError> {
    parse_folded(text, ctx).map(Command::restore_punctuation)
}

impl Command {
    /// Gives free-text fields their Chinese punctuation back (see
    /// [`normalize::restore_cjk_punctuation`]).
    fn restore_punctuation(self) -> Command {
        let r = |s: String| normalize::restore_cjk_punctuation(&s);
        let drafts = |tasks: Vec<TaskDraft>| {
            tasks
                .into_iter()
                .map(|t| TaskDraft {
                    text: r(t.text),
                    ..t
                })
                .collect()
        };
        match self {
            Command::Plan { tasks } => Command::Plan {
                tasks: drafts(tasks),
            },
            Command::AddTasks { tasks } => Command::AddTasks {
                tasks: drafts(tasks),
            },
            Command::Serve { task, text } => Command::Serve {
                task,
                text: r(text),
            },
            Command::Visit { household, text } => Command::Visit {
                household: r(household),
                text: r(text),
            },
            Command::Close { tasks, result } => Command::Close {
                tasks,
                result: r(result),
            },
            Command::Postpone {
                task,
                deadline,
                reason,
            } => Command::Postpone {
                task,
                deadline,
                reason: r(reason),
            },
            Command::Cancel { task, reason } => Command::Cancel {
                task,
                reason: r(reason),
            },
            Command::Rate { score, comment } => Command::Rate {
                score,
                comment: r(comment),
            },
            Command::Request { text, level } => Command::Request {
                text: r(text),
                level,
            },
            Command::Project(ProjectCmd::Progress { name, text }) => {
                Command::Project(ProjectCmd::Progress {
                    name,
                    text: r(text),
                })
            }
            Command::Project(ProjectCmd::Done { name, text }) => {
                Command::Project(ProjectCmd::Done {
                    name,
                    text: r(text),
                })
            }
            other => other,
        }
    }
}

fn parse_folded(text: &str, ctx: &ParseCtx<'_>) -> Result<Command, ParseError> {
    let text = normalize(text, ctx.bot_names);
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let got_chars = text.chars().count();
    if got_chars > MAX_CHARS {
        return Err(ParseError::TooLong {
            max_chars: MAX_CHARS,
            got_chars,
        });
    }
    let (target, len) = matcher::match_word(&text).ok_or(ParseError::NotACommand)?;
    let rest = text[len..].trim_start_matches([' ', ':']);
    match target {
        Target::Kind(kind) => args::parse(kind, rest, ctx),
        // The rating word is the score: parse the whole message as 评价's arguments.
        Target::BareRate => args::rate(&text),
        Target::RoleWithoutWhich => Err(ParseError::BadRole {
            got: rest
                .split([' ', '\n'])
                .next()
                .unwrap_or("")
                .chars()
                .take(20)
                .collect(),
        }),
    }
}
