//! The arguments of each command, after its command word.

use crate::domain::level::Level;
use crate::domain::rating::Score;

use super::deadline::{self, DeadlineError};
use super::error::what;
use super::task_line::{self, extract_levels, single_level};
use super::{Command, CommandKind, ParseCtx, ParseError, ProjectCmd, TaskDraft, TaskNo, matcher};

/// Rating words: the word, its score, and whether it alone (without 评价
/// before it) starts a rating. Longest match wins, so 不满意 beats 满意.
pub(crate) const SCORE_WORDS: &[(&str, u8, bool)] = &[
    ("非常不满意", 1, true),
    ("很不满意", 1, true),
    ("不太满意", 2, true),
    ("不满意", 1, true),
    ("非常满意", 5, true),
    ("十分满意", 5, true),
    ("很满意", 5, true),
    ("比较满意", 4, true),
    ("基本满意", 3, true),
    ("满意", 5, true),
    ("一般", 3, false),
    ("还行", 3, false),
    ("好评", 5, false),
    ("差评", 1, false),
];

/// Longest quoted piece of user input kept in an error.
const MAX_GOT_CHARS: usize = 20;

/// The first white-space separated token of `s`, cut to a sane length, to
/// quote back in an error.
fn first_token(s: &str) -> String {
    s.split([' ', '\n'])
        .find(|t| !t.is_empty())
        .unwrap_or("")
        .chars()
        .take(MAX_GOT_CHARS)
        .collect()
}

/// Free text after the arguments: leading separators and white space go.
fn clean_text(s: &str) -> String {
    s.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ':' | ';' | '、' | '.' | '。' | '-' | '!' | '~')
    })
    .trim_end()
    .to_string()
}

/// Splits on white space, keeping each token's byte offset in `s`.
fn tokens_with_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c == ' ' || c == '\n', start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

fn deadline_error(kind: CommandKind, e: DeadlineError) -> ParseError {
    match e {
        DeadlineError::Invalid { got } => ParseError::BadDeadline { kind, got },
        DeadlineError::Past { got, this_week_day } => ParseError::DeadlineInPast {
            kind,
            got,
            this_week_day,
        },
    }
}

/// Reads task numbers at the start of `s`: `#1 #3`, `#1#3`, `#1,#3`,
/// `#1、#3`, `#1和#3`, `#2号`. With `bare`, a number without `#` is taken too
/// when it stands alone (`完成 1 已处理`, `完成 1号 已处理`, `完成 1、3 …`),
/// but not when it runs into text (`完成 3户走访`). Returns the numbers and
/// the text after them.
fn task_nos(kind: CommandKind, s: &str, bare: bool) -> Result<(Vec<TaskNo>, &str), ParseError> {
    let is_sep = |c: char| matches!(c, ' ' | '\n' | ',' | '、' | ';' | '和' | '及');
    let mut nos: Vec<TaskNo> = Vec::new();
    let mut done = s; // text after the last number taken
    let mut cursor = s.trim_start_matches([' ', '\n']);
    loop {
        let (hash, body) = match cursor.strip_prefix('#') {
            Some(body) => (true, body),
            None => (false, cursor),
        };
        let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let bad = || ParseError::BadTaskNo {
            kind,
            got: first_token(cursor),
        };
        if digits == 0 {
            if hash {
                return Err(bad());
            }
            break;
        }
        if !hash && !bare {
            break;
        }
        let after = &body[digits..];
        let after = after.strip_prefix('号').unwrap_or(after);
        if !(hash || after.is_empty() || after.starts_with(is_sep)) {
            break;
        }
        let n: u32 = body[..digits].parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        if !nos.contains(&TaskNo(n)) {
            nos.push(TaskNo(n));
        }
        done = after;
        let next = after.trim_start_matches(is_sep);
        let another =
            next.starts_with('#') || (bare && next.starts_with(|c: char| c.is_ascii_digit()));
        if !another {
            break;
        }
        cursor = next;
    }
    Ok((nos, done))
}

/// Exactly one task number, for 延期 / 取消.
fn one_task_no(kind: CommandKind, s: &str) -> Result<(TaskNo, &str), ParseError> {
    let (nos, rest) = task_nos(kind, s, true)?;
    match nos.as_slice() {
        [] => Err(ParseError::MissingArgument {
            kind,
            what: what::TASK_NO,
        }),
        [no] => Ok((*no, rest)),
        _ => Err(ParseError::OneTaskOnly { kind }),
    }
}

pub(crate) fn parse(
    kind: CommandKind,
    args: &str,
    ctx: &ParseCtx<'_>,
) -> Result<Command, ParseError> {
    match kind {
        CommandKind::Bind => bind(args),
        CommandKind::SetLeader => role(true, args),
        CommandKind::SetMember => role(false, args),
        CommandKind::Plan => Ok(Command::Plan {
            tasks: tasks(kind, args, ctx)?,
        }),
        CommandKind::AddTasks => Ok(Command::AddTasks {
            tasks: tasks(kind, args, ctx)?,
        }),
        // Whatever follows 清单 (本周, 进度 …) asks for the same list.
        CommandKind::List => Ok(Command::List),
        CommandKind::Serve => serve(args),
        CommandKind::Visit => visit(args),
        CommandKind::Close => close(args),
        CommandKind::Postpone => postpone(args, ctx),
        CommandKind::Cancel => cancel(args),
        CommandKind::Assign => assign(args),
        CommandKind::Rate => rate(args),
        CommandKind::Request => request(args),
        // Whatever follows 我的诉求 asks for the same list.
        CommandKind::MyRequests => Ok(Command::MyRequests),
        CommandKind::Project => project(args),
        CommandKind::Coverage => coverage(args),
        CommandKind::Rank => Ok(rank(args)),
        CommandKind::Help => Ok(Command::Help {
            topic: matcher::topic(args.trim()),
        }),
    }
}

/// 排名 [上月]: this month so far, or last month. Other words (本月, 本镇 …)
/// ask for the default.
fn rank(args: &str) -> Command {
    let first = args.split([' ', '\n']).next().unwrap_or("");
    Command::Rank {
        last_month: matches!(first, "上月" | "上个月" | "上一月" | "last"),
    }
}

/// 绑定 TOWNSHIP VILLAGE [TEAM]; the team may contain spaces.
fn bind(args: &str) -> Result<Command, ParseError> {
    let parts: Vec<&str> = args
        .split([' ', '\n', ',', '、', ';', '/'])
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [township, village, team @ ..] => Ok(Command::Bind {
            township: (*township).to_string(),
            village: (*village).to_string(),
            team: (!team.is_empty()).then(|| team.join(" ")),
        }),
        _ => Err(ParseError::MissingArgument {
            kind: CommandKind::Bind,
            what: what::VILLAGE,
        }),
    }
}

/// 设团长 @张三 / 设团员 @李四 @王五. When no `@name` was typed, the bare
/// words are taken as names (设团员 李四 王五); when there are `@name`s,
/// other words (和, 为团员) are ignored.
fn role(leader: bool, args: &str) -> Result<Command, ParseError> {
    let names = names_in(args);
    if names.is_empty() {
        let kind = if leader {
            CommandKind::SetLeader
        } else {
            CommandKind::SetMember
        };
        return Err(ParseError::MissingArgument {
            kind,
            what: what::NAMES,
        });
    }
    Ok(Command::SetRole { leader, names })
}

/// 指派 #N @NAME…
fn assign(args: &str) -> Result<Command, ParseError> {
    let kind = CommandKind::Assign;
    let (task, rest) = one_task_no(kind, args)?;
    let names = names_in(rest);
    if names.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::ASSIGNEES,
        });
    }
    Ok(Command::Assign { task, names })
}

/// The people named in `args`: the @-mentioned ones if any, else the bare
/// words (split on 、 and ,), each once, in order.
fn names_in(args: &str) -> Vec<String> {
    let clean = |n: &str| {
        n.trim_matches(|c: char| matches!(c, ',' | '、' | ';' | '.' | '。' | ':'))
            .to_string()
    };
    let mut mentioned: Vec<String> = Vec::new();
    let mut bare: Vec<String> = Vec::new();
    for token in args.split([' ', '\n']).filter(|t| !t.is_empty()) {
        match token.split_once('@') {
            Some((_, names)) => mentioned.extend(names.split('@').map(clean)),
            None => bare.extend(token.split([',', '、']).map(clean)),
        }
    }
    let mut names = if mentioned.iter().any(|n| !n.is_empty()) {
        mentioned
    } else {
        bare
    };
    names.retain(|n| !n.is_empty());
    let mut seen = Vec::with_capacity(names.len());
    names.retain(|n| {
        let new = !seen.contains(n);
        seen.push(n.clone());
        new
    });
    names
}

/// The task lines of 排清单 / 加清单: the rest of the command's line, if any,
/// and every following line. The rest of the command's line is a heading,
/// not a task, when more lines follow and it ends in a colon
/// (`排清单 本周任务:`), or when it is unnumbered and the following lines are
/// a numbered list starting at 1 (`排清单 12月第一周` + `1. …` `2. …`; with
/// `2. …` next, the first line was task 1).
fn tasks(kind: CommandKind, args: &str, ctx: &ParseCtx<'_>) -> Result<Vec<TaskDraft>, ParseError> {
    let mut body: Vec<(usize, &str)> = args
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    if let [(1, first), rest @ ..] = body.as_slice()
        && !rest.is_empty()
        && (first.ends_with(':')
            || (!task_line::is_numbered(first)
                && task_line::starts_a_list(rest[0].1)
                && rest.iter().all(|(_, l)| task_line::is_numbered(l))))
    {
        body.remove(0);
    }
    if body.is_empty() {
        return Err(ParseError::NoTasks { kind });
    }
    body.into_iter()
        .map(|(line_no, line)| {
            let parsed = task_line::parse(line, ctx).map_err(|why| ParseError::BadTaskLine {
                kind,
                line_no,
                line: line.to_string(),
                why,
            })?;
            Ok(TaskDraft {
                line_no,
                text: parsed.text,
                owners: parsed.owners,
                deadline: parsed.deadline,
                level: parsed.level,
            })
        })
        .collect()
}

/// 服务 [#N] TEXT. A task number needs its `#` here: in 服务 5 位老人 the
/// 5 is text.
fn serve(args: &str) -> Result<Command, ParseError> {
    let kind = CommandKind::Serve;
    let (nos, rest) = task_nos(kind, args, false)?;
    let task = match nos.as_slice() {
        [] => None,
        [no] => Some(*no),
        _ => return Err(ParseError::OneTaskOnly { kind }),
    };
    let text = clean_text(rest);
    if text.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::TEXT,
        });
    }
    Ok(Command::Serve { task, text })
}

/// 走访 HOUSEHOLD [TEXT]: the household is the first word; a 小组 written
/// apart before a name belongs to it (走访 3组 张大爷 …).
fn visit(args: &str) -> Result<Command, ParseError> {
    let args = args.trim();
    let split = |s: &'_ str| -> (String, String) {
        let (a, b) = s.split_once([' ', '\n', ',', ':', ';']).unwrap_or((s, ""));
        (a.to_string(), b.to_string())
    };
    let (mut household, mut text) = split(args);
    // A name is short: 张三, 张大爷家. Longer words after 3组 are what was raised.
    let name_like = |t: &str| {
        let n = t.chars().count();
        n > 0 && (n <= 4 || (n == 5 && t.ends_with('家')))
    };
    if crate::domain::household::normalize_subgroup(&household).is_some_and(|g| !g.is_empty())
        && name_like(&split(text.trim_start()).0)
    {
        let (name, rest) = split(text.trim_start());
        household = format!("{household}{name}");
        text = rest;
    }
    let household = household.trim_start_matches('@');
    if household.is_empty() {
        return Err(ParseError::MissingArgument {
            kind: CommandKind::Visit,
            what: what::HOUSEHOLD,
        });
    }
    Ok(Command::Visit {
        household: household.to_string(),
        text: clean_text(&text),
    })
}

/// The words after 项目, each with its action.
const PROJECT_ACTIONS: &[(&str, u8)] = &[
    ("新建", 0),
    ("新增", 0),
    ("立项", 0),
    ("new", 0),
    ("进展", 1),
    ("进度", 1),
    ("progress", 1),
    ("完成", 2),
    ("结项", 2),
    ("done", 2),
];

/// The longest project name taken, in characters.
pub const MAX_PROJECT_NAME: usize = 30;

/// A project name: quotes and book-title marks around it go.
fn project_name(raw: &str) -> Result<String, ParseError> {
    let name = raw
        .trim()
        .trim_matches(['《', '》', '「', '」', '"', '“', '”', '\''])
        .trim();
    if name.is_empty() {
        return Err(ParseError::MissingArgument {
            kind: CommandKind::Project,
            what: what::PROJECT_NAME,
        });
    }
    if name.contains([' ', '\n']) || name.chars().count() > MAX_PROJECT_NAME {
        return Err(ParseError::BadProjectName {
            got: name.chars().take(MAX_GOT_CHARS).collect(),
        });
    }
    Ok(name.to_string())
}

/// 项目 [新建 NAME | 进展 NAME TEXT | 完成 NAME [TEXT]].
fn project(args: &str) -> Result<Command, ParseError> {
    let args = args.trim();
    if args.is_empty() || args == "列表" || args.eq_ignore_ascii_case("list") {
        return Ok(Command::Project(ProjectCmd::List));
    }
    let Some(&(word, action)) = PROJECT_ACTIONS.iter().find(|(w, _)| {
        args.get(..w.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(w))
            && (!w.is_ascii()
                || args[w.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_ascii_alphanumeric()))
    }) else {
        return Err(ParseError::BadProjectAction {
            got: first_token(args),
        });
    };
    let rest = args[word.len()..].trim_start_matches([' ', ':']);
    let cmd = match action {
        0 => ProjectCmd::New {
            name: project_name(rest)?,
        },
        _ => {
            let (name, text) = rest
                .trim()
                .split_once([' ', '\n'])
                .unwrap_or((rest.trim(), ""));
            let name = project_name(name)?;
            let text = clean_text(text);
            if action == 1 {
                if text.is_empty() {
                    return Err(ParseError::MissingArgument {
                        kind: CommandKind::Project,
                        what: what::PROGRESS,
                    });
                }
                ProjectCmd::Progress { name, text }
            } else {
                ProjectCmd::Done { name, text }
            }
        }
    };
    Ok(Command::Project(cmd))
}

/// 走访率 [未走访].
fn coverage(args: &str) -> Result<Command, ParseError> {
    let args = args.trim();
    let unvisited = match args {
        "" => false,
        "未走访" | "未访" | "没走访" | "未走访农户" | "未走访名单" | "名单" => {
            true
        }
        a if a.eq_ignore_ascii_case("missing") => true,
        _ => {
            return Err(ParseError::BadCoverageArg {
                got: first_token(args),
            });
        }
    };
    Ok(Command::Coverage { unvisited })
}

/// 完成 #1 #3 RESULT.
fn close(args: &str) -> Result<Command, ParseError> {
    let kind = CommandKind::Close;
    let (tasks, rest) = task_nos(kind, args, true)?;
    if tasks.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::TASK_NO,
        });
    }
    let result = clean_text(rest);
    if result.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::RESULT,
        });
    }
    Ok(Command::Close { tasks, result })
}

/// 延期 #2 DEADLINE REASON, or 延期 #2 REASON DEADLINE.
fn postpone(args: &str, ctx: &ParseCtx<'_>) -> Result<Command, ParseError> {
    let kind = CommandKind::Postpone;
    let (task, rest) = one_task_no(kind, args)?;
    let tokens = tokens_with_offsets(rest);
    let words: Vec<&str> = tokens.iter().map(|(_, t)| *t).collect();
    let (found, reason) =
        if let Some((found, used)) = deadline::scan_leading(&words, ctx.today, ctx.now) {
            let reason = tokens.get(used).map_or("", |(offset, _)| &rest[*offset..]);
            (found, reason)
        } else if let Some((found, used)) = deadline::scan_trailing(&words, ctx.today, ctx.now) {
            let first = tokens.len() - used;
            let reason = tokens.get(first).map_or("", |(offset, _)| &rest[..*offset]);
            (found, reason)
        } else {
            return Err(ParseError::MissingArgument {
                kind,
                what: what::DEADLINE,
            });
        };
    let deadline = found.map_err(|e| deadline_error(kind, e))?;
    let reason = clean_text(reason);
    if reason.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::REASON,
        });
    }
    Ok(Command::Postpone {
        task,
        deadline,
        reason,
    })
}

/// 取消 #4 REASON.
fn cancel(args: &str) -> Result<Command, ParseError> {
    let kind = CommandKind::Cancel;
    let (task, rest) = one_task_no(kind, args)?;
    let reason = clean_text(rest);
    if reason.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::REASON,
        });
    }
    Ok(Command::Cancel { task, reason })
}

/// 评价 SCORE [COMMENT]; also the bare 满意 … messages, whose `args` start
/// with the rating word. SCORE is 1..=5 as `5`, `5分`, `5星`, `五分`, or a
/// rating word.
pub(crate) fn rate(args: &str) -> Result<Command, ParseError> {
    let a = args.trim_start_matches([' ', '\n', ':']);
    if a.is_empty() {
        return Err(ParseError::MissingArgument {
            kind: CommandKind::Rate,
            what: what::SCORE,
        });
    }
    let bad = || ParseError::BadScore {
        got: first_token(a),
    };

    let word = SCORE_WORDS
        .iter()
        .filter(|(w, _, _)| a.starts_with(w))
        .max_by_key(|(w, _, _)| w.len());
    let (value, rest) = if let Some(&(w, value, _)) = word {
        (u32::from(value), &a[w.len()..])
    } else {
        let ascii = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (value, rest) = if ascii > 0 {
            let value = a[..ascii].parse::<u32>().map_err(|_| bad())?;
            (value, &a[ascii..])
        } else {
            let run = a.len()
                - a.trim_start_matches(|c: char| "零〇一二两三四五六七八九十".contains(c))
                    .len();
            let value = deadline::cn_number(&a[..run]).ok_or_else(bad)?;
            (value, &a[run..])
        };
        // 4.5分 is not a score.
        if rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
            return Err(bad());
        }
        // 5分, 5星, and 5 分 typed with a space.
        let rest = ["颗星", "星", "分"]
            .iter()
            .find_map(|unit| rest.trim_start_matches(' ').strip_prefix(unit))
            .unwrap_or(rest);
        (value, rest)
    };
    let score = u8::try_from(value)
        .ok()
        .and_then(Score::new)
        .ok_or_else(bad)?;
    Ok(Command::Rate {
        score,
        comment: clean_text(rest),
    })
}

/// 诉求 TEXT [level].
fn request(args: &str) -> Result<Command, ParseError> {
    let kind = CommandKind::Request;
    let (body, mut levels) = extract_levels(args);
    let body = body.trim();
    let (head, last) = body.rsplit_once([' ', '\n']).unwrap_or(("", body));
    let text = match Level::parse(last) {
        Some(level) => {
            levels.push(level);
            head.trim_end()
        }
        None => body,
    };
    let level = single_level(&levels).ok_or(ParseError::TwoLevels { kind })?;
    if text.is_empty() {
        return Err(ParseError::MissingArgument {
            kind,
            what: what::TEXT,
        });
    }
    Ok(Command::Request {
        text: text.to_string(),
        level,
    })
}
