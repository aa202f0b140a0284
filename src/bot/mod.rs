//! One inbound message → state changes and a reply (the "domain service" layer;
//! not called `service` because 服务 = service is a product noun).
//!
//! [`handle`] runs the whole turn in one write transaction: claim the message
//! id (a repeat gets the saved reply and stores nothing), learn the group and
//! sender, parse, authorize, dispatch, save the reply. A refusal or parse error
//! is a normal reply; only a storage failure rolls the turn back.

mod binding;
mod duties;
mod people;
mod ranking;
mod records;
mod requests;
mod tasks;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::command::{self, Command, CommandKind, ParseCtx, ParseError};
use crate::config::Settings;
use crate::domain::calendar::HolidayCalendar;
use crate::domain::level::LevelLimits;
use crate::domain::role::{self, Actor, Policy, TeamRole};
use crate::domain::week::IsoWeek;
use crate::platform::Inbound;
use crate::reply::{self, Mention, Reply};
use crate::store::groups::TeamRow;
use crate::store::{self, Db, StoreError, StoreResult, TurnOutcome, Tx};

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// First delivery: handled; carries the command kind if one was recognised.
    Handled(Option<CommandKind>),
    /// Seen before: answered with the saved reply, nothing stored.
    Duplicate,
}

/// The result of [`handle`].
#[derive(Debug, Clone)]
pub struct Handled {
    pub reply: Reply,
    pub outcome: Outcome,
}

/// Handles one message end to end. `Err` only when storage failed; then
/// nothing of the turn was kept and the sender should be told to resend.
///
/// The message id is recorded with the reply in the same transaction as the
/// turn's changes ([`Db::turn`]): a repeat delivery changes nothing and is
/// answered with the saved reply.
pub async fn handle(
    db: &Db,
    settings: &Arc<Settings>,
    calendar: &RwLock<HolidayCalendar>,
    default_tz: Tz,
    now: DateTime<Utc>,
    msg: Inbound,
) -> Result<Handled, StoreError> {
    let settings = Arc::clone(settings);
    let platform = msg.platform.as_str();
    let msg_id = msg.msg_id.clone();
    let mut msg = msg;
    msg.text = command_text(db, &settings, &msg).await?;
    // Parsed here, off the writer, in the default time zone; the turn parses
    // again only for a team in another zone.
    let parsed = msg
        .text
        .as_deref()
        .filter(|_| msg.is_group)
        .map(|text| Arc::new(parse(text, &settings, &msg.bot, default_tz, now)));
    // 排名 reads a township's month: done before the write, off the writer.
    let pre = ranking::prefetch(db, default_tz, now, &msg, parsed.as_deref()).await?;
    // Commands that set deadlines look at the holidays; only they pay for a
    // copy of the calendar.
    let calendar = match parsed.as_deref() {
        Some(Ok(c)) if sets_deadlines(c.kind()) => Some(Arc::new(
            calendar
                .read()
                .map_err(|_| StoreError::Other(anyhow::anyhow!("calendar lock poisoned")))?
                .clone(),
        )),
        _ => None,
    };
    let msg = Arc::new(msg);
    let outcome = db
        .turn(platform, &msg_id, now.timestamp_millis(), move |tx| {
            let (settings, msg, pre) = (Arc::clone(&settings), Arc::clone(&msg), pre.clone());
            let parsed = parsed.clone();
            let calendar = calendar.clone();
            Box::pin(async move {
                let pre = Pre {
                    parsed: parsed.as_deref(),
                    ranking: pre,
                    calendar: calendar.as_deref(),
                };
                let (reply, kind) = turn(tx, &settings, default_tz, now, &msg, pre).await?;
                // Whatever the command, the reply fits the platforms' limits.
                let reply = reply::size::fit(reply);
                let json = serde_json::to_string(&reply)
                    .map_err(|e| StoreError::Other(anyhow::Error::new(e)))?;
                Ok((
                    json,
                    Handled {
                        reply,
                        outcome: Outcome::Handled(kind),
                    },
                ))
            })
        })
        .await?;
    Ok(match outcome {
        TurnOutcome::Fresh(handled) => handled,
        TurnOutcome::Duplicate(saved) => Handled {
            reply: saved
                .and_then(|s| serde_json::from_str::<Reply>(&s).ok())
                .unwrap_or_else(reply::duplicate_in_flight),
            outcome: Outcome::Duplicate,
        },
    })
}

/// Whether a command sets deadlines (and so needs the holiday calendar).
fn sets_deadlines(kind: CommandKind) -> bool {
    matches!(
        kind,
        CommandKind::Plan | CommandKind::AddTasks | CommandKind::Postpone | CommandKind::Request
    )
}

/// The message's text without the bot's own leading `@name`
/// ([`Inbound::command_text`]). The names of the other people @-ed are read
/// only when a DingTalk message starts with an @name the bot cannot place.
async fn command_text(
    db: &Db,
    settings: &Settings,
    msg: &Inbound,
) -> Result<Option<String>, StoreError> {
    let names = bot_names(settings, &msg.bot);
    let mut others: Vec<String> = Vec::new();
    if msg.needs_mentioned_names(names) {
        let (platform, ids) = (msg.platform.as_str(), msg.mentioned.clone());
        let read: Result<Vec<String>, StoreError> = db
            .read(move |tx| {
                Box::pin(async move {
                    let mut names = Vec::with_capacity(ids.len());
                    for id in &ids {
                        if let Some(p) =
                            store::groups::person_by_platform_id(tx, platform, id).await?
                        {
                            names.push(p.display_name);
                        }
                    }
                    Ok(names)
                })
            })
            .await;
        others = read?;
    }
    Ok(msg.command_text(names, &others))
}

/// The names people type after @ to address `bot`.
fn bot_names<'s>(settings: &'s Settings, bot: &str) -> &'s [String] {
    settings
        .bot(bot)
        .map(|b| b.display_names.as_slice())
        .unwrap_or(&[])
}

/// Parses `text` for the group's bot at `now` in `tz`.
fn parse(
    text: &str,
    settings: &Settings,
    bot: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Command, ParseError> {
    let local_now = now.with_timezone(&tz).naive_local();
    let bot_names = bot_names(settings, bot);
    command::parse(
        text,
        &ParseCtx {
            today: local_now.date(),
            now: local_now,
            bot_names,
        },
    )
}

/// What [`handle`] worked out before the turn: the message parsed in the
/// default time zone, and 排名's reply.
struct Pre<'a> {
    parsed: Option<&'a Result<Command, ParseError>>,
    ranking: Option<ranking::Prefetched>,
    /// The holiday calendar, for the commands that set deadlines.
    calendar: Option<&'a HolidayCalendar>,
}

/// How much longer a new sessionWebhook must last than the one on record
/// before it is written (one write per group in this time).
const SESSION_WEBHOOK_REFRESH_MS: i64 = 30 * 60_000;

/// How stale a "last seen in this group" may get before it is refreshed.
const MEMBER_SEEN_REFRESH_MS: i64 = 6 * 3_600_000;

/// What every command handler gets to know about the turn.
pub(crate) struct Turn<'a> {
    pub msg: &'a Inbound,
    pub now_ms: i64,
    pub local_now: NaiveDateTime,
    pub tz: Tz,
    pub week: IsoWeek,
    pub group_id: i64,
    pub me: i64,
    pub me_mention: Mention,
    pub actor: Actor,
    pub settings: &'a Settings,
    /// The holiday calendar (only for commands that set deadlines).
    pub calendar: Option<&'a HolidayCalendar>,
}

impl Turn<'_> {
    pub fn week_str(&self) -> String {
        self.week.to_string()
    }

    /// The statutory holiday a local deadline falls on, if any (春节).
    pub fn holiday_of(&self, t: NaiveDateTime) -> Option<String> {
        self.calendar
            .and_then(|c| c.holiday_name(t.date()))
            .map(str::to_string)
    }

    /// A level's default deadline from now, moved off statutory holidays.
    pub fn default_deadline(
        &self,
        level: crate::domain::level::Level,
        limits: &LevelLimits,
    ) -> NaiveDateTime {
        match self.calendar {
            Some(c) => crate::domain::level::default_deadline_off_holidays(
                level,
                self.local_now,
                limits,
                c,
            ),
            None => crate::domain::level::default_deadline(level, self.local_now, limits),
        }
    }

    /// Who did it, for the audit log: `<platform>:<user id>`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.msg.platform.as_str(), self.msg.sender.id)
    }

    /// A local time as stored (UTC epoch ms).
    pub fn to_ms(&self, local: NaiveDateTime) -> i64 {
        crate::domain::week::local_to_utc(self.tz, local).timestamp_millis()
    }

    /// A stored instant as local time.
    pub fn to_local(&self, ms: i64) -> NaiveDateTime {
        crate::domain::week::utc_ms_to_local(self.tz, ms)
    }
}

fn limits(team: &TeamRow) -> LevelLimits {
    let d = |v: i64, default: u32| u32::try_from(v).ok().filter(|d| *d > 0).unwrap_or(default);
    let def = LevelLimits::default();
    LevelLimits {
        red_days: d(team.red_days, def.red_days),
        orange_days: d(team.orange_days, def.orange_days),
        yellow_days: d(team.yellow_days, def.yellow_days),
        green_days: d(team.green_days, def.green_days),
    }
}

async fn turn(
    tx: &mut Tx,
    settings: &Settings,
    default_tz: Tz,
    now: DateTime<Utc>,
    msg: &Inbound,
    pre: Pre<'_>,
) -> StoreResult<(Reply, Option<CommandKind>)> {
    if !msg.is_group {
        return Ok((reply::private_chat(), None));
    }
    let Some(text) = msg.text.as_deref() else {
        return Ok((reply::unsupported_kind(), None));
    };
    let now_ms = now.timestamp_millis();
    let platform = msg.platform.as_str();
    let sender = &msg.sender;
    let ctx = store::groups::context(tx, platform, &msg.conversation_id, &sender.id).await?;
    // Learn the group and the sender only when something is new or changed:
    // most messages come from people the group already knows.
    let (group_id, ctx) = match ctx {
        Some(c) if msg.conversation_title.is_empty() || c.group_title == msg.conversation_title => {
            (c.group_id, c)
        }
        _ => {
            let g = store::groups::upsert_group(
                tx,
                platform,
                &msg.bot,
                &msg.conversation_id,
                &msg.conversation_title,
                now_ms,
            )
            .await?;
            let c = store::groups::context(tx, platform, &msg.conversation_id, &sender.id)
                .await?
                .ok_or_else(|| StoreError::Other(anyhow::anyhow!("group {} vanished", g.id)))?;
            (g.id, c)
        }
    };
    // The write's own condition, checked first against the expiry the
    // context read: a busy group's messages cost no round trip for it.
    if let Some((url, expires_at)) = &msg.session_webhook
        && ctx
            .session_expires_at
            .is_none_or(|known| known < expires_at.saturating_sub(SESSION_WEBHOOK_REFRESH_MS))
    {
        store::groups::remember_session_webhook(
            tx,
            group_id,
            url,
            *expires_at,
            SESSION_WEBHOOK_REFRESH_MS,
        )
        .await?;
    }
    let me = match (ctx.person_id, ctx.person_name.as_deref()) {
        (Some(id), Some(name)) if sender.name.is_empty() || name == sender.name => id,
        _ => store::groups::upsert_person(tx, platform, &sender.id, &sender.name, now_ms).await?,
    };
    if ctx
        .last_seen_at
        .is_none_or(|seen| now_ms - seen > MEMBER_SEEN_REFRESH_MS)
    {
        store::groups::touch_member(tx, group_id, me, now_ms).await?;
    }
    let team = ctx.team();
    let tz = crate::domain::zone::team_tz(
        team.as_ref().and_then(|t| t.timezone.as_deref()),
        default_tz,
    );
    let local_now = now.with_timezone(&tz).naive_local();
    let bot = settings.bot(&msg.bot);
    let parsed = match pre.parsed {
        Some(p) if tz == default_tz => p.clone(),
        _ => parse(text, settings, &msg.bot, tz, now),
    };
    let cmd = match parsed {
        Ok(cmd) => cmd,
        Err(ParseError::NotACommand | ParseError::Empty) => {
            return Ok((Reply::text(reply::parse::not_a_command()), None));
        }
        Err(e) => {
            let kind = e.kind();
            let typed = command::TaskNo::first_in(text);
            return Ok((Reply::text(reply::parse::parse_error(&e, typed)), kind));
        }
    };
    let kind = cmd.kind();
    if let Command::Help { topic } = &cmd {
        let text = match topic {
            Some(k) => reply::help::help_for(*k),
            None => reply::help::help_all(),
        };
        return Ok((Reply::text(text), Some(kind)));
    }

    let role = ctx.role.as_deref().and_then(TeamRole::from_db);
    let actor = Actor {
        role,
        group_admin: msg.sender.group_admin,
        admin: bot.is_some_and(|b| b.admins.iter().any(|a| a == &msg.sender.id)),
    };
    let turn = Turn {
        msg,
        now_ms,
        local_now,
        tz,
        week: IsoWeek::of(local_now.date()),
        group_id,
        me,
        // WeCom sends no name: use the one on record (admin import), if any.
        me_mention: Mention::new(
            &msg.sender.id,
            if msg.sender.name.is_empty() {
                ctx.person_name.as_deref().unwrap_or_default()
            } else {
                &msg.sender.name
            },
        ),
        actor,
        settings,
        calendar: pre.calendar,
    };

    if team.is_none() && kind != CommandKind::Bind {
        return Ok((reply::not_bound(), Some(kind)));
    }
    let policy = Policy {
        members_may_plan: team.as_ref().is_some_and(|t| t.members_may_plan),
    };
    // Bare 项目 (the list) is for anyone; bot::duties checks the rest.
    // 绑定 depends on what exists and who administers it: bot::binding checks.
    let project_list = matches!(cmd, Command::Project(command::ProjectCmd::List));
    if let Err(who) = role::may(actor, kind.who_may(), policy)
        && !project_list
        && kind != CommandKind::Bind
    {
        let reply = if kind == CommandKind::Rate {
            reply::own_team_rating()
        } else {
            reply::not_allowed(kind.words()[0], who)
        };
        return Ok((reply, Some(kind)));
    }

    let reply = match (cmd, team) {
        (
            Command::Bind {
                township,
                village,
                team: team_name,
            },
            team,
        ) => {
            binding::bind(
                tx,
                &turn,
                team.as_ref(),
                &township,
                &village,
                team_name.as_deref(),
            )
            .await?
        }
        (_, None) => reply::not_bound(),
        (Command::SetRole { leader, names }, Some(team)) => {
            binding::set_role(tx, &turn, &team, leader, &names).await?
        }
        (Command::Plan { tasks }, Some(team)) => tasks::add(tx, &turn, &team, tasks, true).await?,
        (Command::AddTasks { tasks }, Some(team)) => {
            tasks::add(tx, &turn, &team, tasks, false).await?
        }
        (Command::List, Some(team)) => tasks::list(tx, &turn, &team).await?,
        (Command::Close { tasks, result }, Some(team)) => {
            tasks::close(tx, &turn, &team, &tasks, &result).await?
        }
        (
            Command::Postpone {
                task,
                deadline,
                reason,
            },
            Some(team),
        ) => tasks::postpone(tx, &turn, &team, task, deadline, &reason).await?,
        (Command::Assign { task, names }, Some(team)) => {
            tasks::assign(tx, &turn, &team, task, &names).await?
        }
        (Command::Cancel { task, reason }, Some(team)) => {
            tasks::cancel(tx, &turn, &team, task, &reason).await?
        }
        (Command::Request { text, level }, Some(team)) => {
            tasks::request(tx, &turn, &team, &text, level).await?
        }
        (Command::MyRequests, Some(team)) => requests::mine(tx, &turn, &team).await?,
        (Command::Serve { task, text }, Some(team)) => {
            records::serve(tx, &turn, &team, task, &text).await?
        }
        (Command::Visit { household, text }, Some(team)) => {
            records::visit(tx, &turn, &team, &household, &text).await?
        }
        (Command::Rate { score, comment }, Some(team)) => {
            records::rate(tx, &turn, &team, score, &comment).await?
        }
        (Command::Project(p), Some(team)) => duties::project(tx, &turn, &team, p).await?,
        (Command::Coverage { unvisited }, Some(team)) => {
            duties::coverage(tx, &turn, &team, unvisited).await?
        }
        (Command::Rank { last_month }, Some(team)) => match pre.ranking {
            Some(p) if p.team_id == team.team_id => p.reply,
            _ => ranking::rank(tx, &team, last_month, default_tz, now_ms).await?,
        },
        (Command::Help { .. }, Some(_)) => {
            unreachable!("help is answered before binding is checked")
        }
    };
    Ok((reply, Some(kind)))
}
