//! The organisation a township sets up without chatting: township tokens,
//! townships, villages (and their household registry), teams and their
//! people, people, groups.
//!
//! Rows of no township — a group not bound to a team, a person on no team
//! and admin of no township — may be read and placed by any token; once
//! placed they belong to that township.

use std::collections::BTreeMap;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::error::{AdminError, AdminResult};
use super::paging::{Page, Paged, Rows};
use super::scope::{Principal, authorize, new_token, person_in_scope, token_hash};
use super::{Admin, name};
use crate::domain::phone::mobile;
use crate::domain::role::MAX_TEAM_MEMBERS;
use crate::import::households as import;
use crate::store::admin::{self as q, Owned};
use crate::store::{StoreResult, Tx, groups, households, jobs};

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------- tokens

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub township_id: i64,
    /// Who holds it, e.g. "凤林镇组织办 王科长".
    pub name: String,
}

/// A token just issued: its row and, this once, its secret.
#[derive(Serialize, Debug)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub row: q::Token,
    pub token: String,
}

// ---------------------------------------------------------------- townships

/// A new township. Omitted fields take the defaults (members may not plan;
/// 红 1, 橙 3, 黄 5, 绿 7 days; the service's time zone).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTownship {
    pub name: String,
    pub timezone: Option<String>,
    #[serde(default)]
    pub members_may_plan: bool,
    pub red_days: Option<i64>,
    pub orange_days: Option<i64>,
    pub yellow_days: Option<i64>,
    pub green_days: Option<i64>,
}

/// Changes to a township; absent fields stay. `timezone: null` returns to
/// the service's default.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TownshipPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    pub members_may_plan: Option<bool>,
    pub red_days: Option<i64>,
    pub orange_days: Option<i64>,
    pub yellow_days: Option<i64>,
    pub green_days: Option<i64>,
}

/// A township with its admins and schedule overrides (job → cron).
#[derive(Serialize, Debug)]
pub struct TownshipDetail {
    #[serde(flatten)]
    pub township: q::Township,
    pub admins: Vec<q::Person>,
    pub schedule: BTreeMap<String, String>,
}

/// An IANA time zone's canonical name, or invalid.
pub fn timezone(raw: &str) -> AdminResult<String> {
    crate::domain::zone::parse(raw.trim())
        .map(|tz| tz.name().to_string())
        .ok_or_else(|| AdminError::invalid("timezone", "not an IANA time zone like Asia/Shanghai"))
}

/// Applies a patch to a township, validating each field given.
fn apply_township(t: &mut q::Township, p: TownshipPatch) -> AdminResult<()> {
    if let Some(n) = p.name {
        t.name = name("name", &n)?;
    }
    if let Some(tz) = p.timezone {
        t.timezone = tz.as_deref().map(timezone).transpose()?;
    }
    if let Some(m) = p.members_may_plan {
        t.members_may_plan = m;
    }
    for (field, given, slot) in [
        ("red_days", p.red_days, &mut t.red_days),
        ("orange_days", p.orange_days, &mut t.orange_days),
        ("yellow_days", p.yellow_days, &mut t.yellow_days),
        ("green_days", p.green_days, &mut t.green_days),
    ] {
        if let Some(d) = given {
            if !(1..=7).contains(&d) {
                return Err(AdminError::invalid(
                    field,
                    "must be 1 to 7 days (a task never runs past Sunday)",
                ));
            }
            *slot = d;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- villages, teams

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrgFilter {
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
    /// Rows to skip; default 0.
    pub offset: Option<i64>,
}

impl OrgFilter {
    fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVillage {
    pub township_id: i64,
    pub name: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    pub village_id: i64,
    pub name: String,
}

/// The team's roster: one leader (or none) and its members, by person id.
/// Replaces the roster; people not named lose their role on the team.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    pub leader: Option<i64>,
    #[serde(default)]
    pub members: Vec<i64>,
}

/// A team with its people (leader first) and the ids of its groups.
#[derive(Serialize, Debug)]
pub struct TeamDetail {
    #[serde(flatten)]
    pub team: q::Team,
    pub people: Vec<q::TeamPerson>,
    pub groups: Vec<i64>,
}

/// What a household import did.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub village_id: i64,
    pub inserted: i64,
    pub updated: i64,
    pub total: i64,
}

/// Largest household upload accepted, CSV or `.xlsx`: room for
/// [`import::MAX_ROWS`] rows of long names (a 50,000-row CSV of short ones
/// is about 1.5 MB), so that the row cap, not the body, decides.
pub const MAX_UPLOAD: usize = 8 * 1024 * 1024;

/// An upload refused: too large past the row cap, else invalid with the
/// reason (which names line and column) under `what` (`csv`, `xlsx`, `file`).
fn import_error(what: &str, e: import::ImportError) -> AdminError {
    match e {
        import::ImportError::TooManyRows { .. } | import::ImportError::TooBigUnzipped => {
            AdminError::TooLarge(format!("{what}: {e}"))
        }
        import::ImportError::Invalid(why) => {
            // The reason starts "line N, column …" where a row is at fault:
            // the error says the line apart too.
            let line = why
                .strip_prefix("line ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok());
            AdminError::Invalid {
                field: what.to_string(),
                why,
                line,
            }
        }
    }
}

// ---------------------------------------------------------------- people

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeopleFilter {
    pub township_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    /// `dingtalk` or `wecom`.
    pub platform: String,
    /// DingTalk staffId or WeCom userid.
    pub platform_user_id: String,
    pub display_name: String,
    /// A mainland mobile number (for @mobile in pushes).
    pub phone: Option<String>,
}

/// Changes to a person; `phone: null` clears the phone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonPatch {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
}

/// A person with the townships they belong to.
#[derive(Serialize, Debug)]
pub struct PersonDetail {
    #[serde(flatten)]
    pub person: q::Person,
    pub townships: Vec<i64>,
}

fn phone_field(raw: &str) -> AdminResult<String> {
    mobile(raw).ok_or_else(|| {
        AdminError::invalid("phone", "not a mainland mobile number like 13812345678")
    })
}

/// Whether `who` may place person `id` on a team (`field` names the input):
/// their people, or people of no township.
async fn placeable(tx: &mut Tx, who: Principal, field: &str, id: i64) -> AdminResult<()> {
    if q::person(tx, id).await?.is_none() {
        return Err(AdminError::invalid(field, format!("no such person {id}")));
    }
    who.check_person(&q::person_townships(tx, id).await?)
}

// ---------------------------------------------------------------- groups

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    pub township_id: Option<i64>,
    pub team_id: Option<i64>,
    /// `dingtalk` or `wecom`.
    pub platform: Option<String>,
    /// `true`: bound to a team; `false`: not (yet) bound — visible to every token.
    pub bound: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The team a group serves; `null` unbinds it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupTeam {
    pub team_id: Option<i64>,
}

async fn team_detail(tx: &mut Tx, id: i64) -> AdminResult<TeamDetail> {
    let team = q::team(tx, id)
        .await?
        .ok_or_else(|| AdminError::not_found("team"))?;
    let people = q::team_people(tx, id).await?;
    let f = q::GroupFilter {
        team_id: Some(id),
        ..Default::default()
    };
    let (groups, _) = q::groups(tx, &f, 500, 0).await?;
    Ok(TeamDetail {
        team,
        people,
        groups: groups.iter().map(|g| g.id).collect(),
    })
}

/// A row created under a parent and renamed, the same way for each kind:
/// villages (under a township) and teams (under a village).
struct Named<R> {
    /// `village`: the audit actions (`village.create`, `village.update`),
    /// targets (`village:7`) and "no such village".
    what: &'static str,
    kind: Owned,
    /// The parent: its input field, its kind, and "no such …" when missing.
    parent: (&'static str, Owned, &'static str),
    insert: for<'c> fn(&'c mut Tx, i64, &'c str, i64) -> BoxFuture<'c, StoreResult<i64>>,
    get: for<'c> fn(&'c mut Tx, i64) -> BoxFuture<'c, StoreResult<Option<R>>>,
    rename: for<'c> fn(&'c mut Tx, i64, &'c str) -> BoxFuture<'c, StoreResult<()>>,
}

fn villages() -> Named<q::Village> {
    Named {
        what: "village",
        kind: Owned::Village,
        parent: ("township_id", Owned::Township, "no such township"),
        insert: |tx, parent, name, now| Box::pin(q::insert_village(tx, parent, name, now)),
        get: |tx, id| Box::pin(q::village(tx, id)),
        rename: |tx, id, name| Box::pin(q::rename_village(tx, id, name)),
    }
}

fn teams() -> Named<q::Team> {
    Named {
        what: "team",
        kind: Owned::Team,
        parent: ("village_id", Owned::Village, "no such village"),
        insert: |tx, parent, name, now| Box::pin(q::insert_team(tx, parent, name, now)),
        get: |tx, id| Box::pin(q::team(tx, id)),
        rename: |tx, id, name| Box::pin(q::rename_team(tx, id, name)),
    }
}

impl Admin {
    /// Creates a row of `n` named `raw` under `parent`, audited.
    async fn create_named<R>(
        &self,
        who: Principal,
        n: Named<R>,
        parent: i64,
        raw: &str,
    ) -> AdminResult<R>
    where
        R: Serialize + Send + 'static,
    {
        let name = name("name", raw)?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let (field, kind, missing) = n.parent;
                let Some(t) = q::township_of(tx, kind, parent).await? else {
                    return Err(AdminError::invalid(field, missing));
                };
                who.check(t)?;
                let id = (n.insert)(tx, parent, &name, stamp.now).await?;
                let row = (n.get)(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found(n.what))?;
                let (action, target) = (format!("{}.create", n.what), format!("{}:{id}", n.what));
                stamp
                    .record(tx, &action, &target, None, Some(&json!(row)))
                    .await?;
                Ok(row)
            })
        })
        .await
    }

    /// Renames row `id` of `n` to `raw`, audited with the row before and after.
    async fn rename_named<R>(
        &self,
        who: Principal,
        n: Named<R>,
        id: i64,
        raw: &str,
    ) -> AdminResult<R>
    where
        R: Serialize + Send + 'static,
    {
        let name = name("name", raw)?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, n.kind, id, n.what).await?;
                let before = (n.get)(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found(n.what))?;
                (n.rename)(tx, id, &name).await?;
                let after = (n.get)(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found(n.what))?;
                let (action, target) = (format!("{}.update", n.what), format!("{}:{id}", n.what));
                stamp
                    .record(
                        tx,
                        &action,
                        &target,
                        Some(&json!(before)),
                        Some(&json!(after)),
                    )
                    .await?;
                Ok(after)
            })
        })
        .await
    }
}

impl Admin {
    // ------------------------------------------------------------ tokens

    /// Township tokens (never their secrets). City admin only.
    pub async fn tokens(&self, who: Principal, page: Page) -> AdminResult<Paged<q::Token>> {
        who.city_only()?;
        let w = page.checked()?;
        self.list(w, |tx, _| {
            Box::pin(async move { Ok(Rows::All(q::tokens(tx).await?)) })
        })
        .await
    }

    /// Issues a township token; the result holds it once. City admin only.
    pub async fn issue_token(&self, who: Principal, t: NewToken) -> AdminResult<IssuedToken> {
        who.city_only()?;
        let label = name("name", &t.name)?;
        let secret = new_token().map_err(AdminError::internal)?;
        let hash = token_hash(&secret);
        let stamp = self.stamp(who);
        let township = t.township_id;
        let row = self
            .write(move |tx| {
                Box::pin(async move {
                    if q::township(tx, township).await?.is_none() {
                        return Err(AdminError::invalid("township_id", "no such township"));
                    }
                    let row = q::insert_token(tx, township, &label, &hash, stamp.now).await?;
                    let after = json!({ "township_id": township, "name": label });
                    let target = format!("token:{}", row.id);
                    stamp
                        .record(tx, "token.create", &target, None, Some(&after))
                        .await?;
                    Ok(row)
                })
            })
            .await?;
        Ok(IssuedToken { row, token: secret })
    }

    /// Revokes a township token at once. City admin only.
    pub async fn revoke_token(&self, who: Principal, id: i64) -> AdminResult<()> {
        who.city_only()?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let before = q::token(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("token"))?;
                if q::revoke_token(tx, id, stamp.now).await? {
                    let after = json!({ "revoked_at": stamp.now });
                    stamp
                        .record(
                            tx,
                            "token.revoke",
                            &format!("token:{id}"),
                            Some(&json!(before)),
                            Some(&after),
                        )
                        .await?;
                }
                Ok(())
            })
        })
        .await
    }

    // ------------------------------------------------------------ townships

    /// Townships: all for the city, its own for a township token.
    pub async fn townships(&self, who: Principal, page: Page) -> AdminResult<Paged<q::Township>> {
        let w = page.checked()?;
        let only = who.township();
        self.list(w, move |tx, _| {
            Box::pin(async move { Ok(Rows::All(q::townships(tx, only).await?)) })
        })
        .await
    }

    /// Creates a township. City admin only.
    pub async fn create_township(
        &self,
        who: Principal,
        n: NewTownship,
    ) -> AdminResult<q::Township> {
        who.city_only()?;
        let mut t = q::Township {
            id: 0,
            name: name("name", &n.name)?,
            timezone: None,
            members_may_plan: false,
            red_days: 1,
            orange_days: 3,
            yellow_days: 5,
            green_days: 7,
            created_at: 0,
        };
        apply_township(
            &mut t,
            TownshipPatch {
                timezone: n.timezone.map(Some),
                members_may_plan: Some(n.members_may_plan),
                red_days: n.red_days,
                orange_days: n.orange_days,
                yellow_days: n.yellow_days,
                green_days: n.green_days,
                ..Default::default()
            },
        )?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let row = q::insert_township(tx, &t, stamp.now).await?;
                let target = format!("township:{}", row.id);
                stamp
                    .record(tx, "township.create", &target, None, Some(&json!(row)))
                    .await?;
                Ok(row)
            })
        })
        .await
    }

    /// A township with its admins and schedule overrides.
    pub async fn township(&self, who: Principal, id: i64) -> AdminResult<TownshipDetail> {
        self.read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let township = q::township(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("township"))?;
                let admins = q::township_admins(tx, id).await?;
                let schedule = jobs::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .collect();
                Ok(TownshipDetail {
                    township,
                    admins,
                    schedule,
                })
            })
        })
        .await
    }

    /// Changes a township's name, time zone, members_may_plan or level time limits.
    pub async fn patch_township(
        &self,
        who: Principal,
        id: i64,
        p: TownshipPatch,
    ) -> AdminResult<q::Township> {
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let before = q::township(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("township"))?;
                let mut after = before.clone();
                apply_township(&mut after, p)?;
                q::update_township(tx, &after).await?;
                stamp
                    .record(
                        tx,
                        "township.update",
                        &format!("township:{id}"),
                        Some(&json!(before)),
                        Some(&json!(after)),
                    )
                    .await?;
                Ok(after)
            })
        })
        .await
    }

    // ------------------------------------------------------------ villages

    /// Villages (`township_id` narrows).
    pub async fn villages(&self, who: Principal, f: OrgFilter) -> AdminResult<Paged<q::Village>> {
        let w = f.page().checked()?;
        if f.village_id.is_some() {
            return Err(AdminError::invalid(
                "village_id",
                "not a filter of villages; use GET /api/v1/villages/{id}",
            ));
        }
        let township = who.scope_filter(f.township_id)?;
        self.list(w, move |tx, _| {
            Box::pin(async move { Ok(Rows::All(q::villages(tx, township).await?)) })
        })
        .await
    }

    /// Creates a village in a township.
    pub async fn create_village(&self, who: Principal, n: NewVillage) -> AdminResult<q::Village> {
        self.create_named(who, villages(), n.township_id, &n.name)
            .await
    }

    /// A village.
    pub async fn village(&self, who: Principal, id: i64) -> AdminResult<q::Village> {
        self.read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, id, "village").await?;
                q::village(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("village"))
            })
        })
        .await
    }

    /// Renames a village.
    pub async fn rename_village(
        &self,
        who: Principal,
        id: i64,
        r: Rename,
    ) -> AdminResult<q::Village> {
        self.rename_named(who, villages(), id, &r.name).await
    }

    // ------------------------------------------------------------ households

    /// A village's registered households, in subgroup then name order.
    pub async fn households(
        &self,
        who: Principal,
        village: i64,
        page: Page,
    ) -> AdminResult<Paged<households::Household>> {
        let w = page.checked()?;
        self.list(w, move |tx, w| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, village, "village").await?;
                let items = households::list(tx, village, w.limit, w.offset).await?;
                let total = households::count(tx, village).await?;
                Ok(Rows::Cut(items, total))
            })
        })
        .await
    }

    /// Imports a village's household registry from an upload (CSV or
    /// `.xlsx`, told apart by [`import::Format::detect`]). The village is
    /// authorized before the file is read; any bad row rejects the whole
    /// file; a household already registered under the same 姓名 and 小组 gets
    /// the new phone.
    pub async fn import_households<B>(
        &self,
        who: Principal,
        village: i64,
        content_type: Option<String>,
        upload: B,
    ) -> AdminResult<ImportReport>
    where
        B: AsRef<[u8]> + Send + 'static,
    {
        // Who may, before any parsing: another township's village is
        // refused at no cost.
        self.read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, village, "village").await?;
                Ok(())
            })
        })
        .await?;
        // Parsing is linear but not free (a big workbook is unzipped): off
        // the async workers, so health checks and the webhooks keep theirs.
        let rows = tokio::task::spawn_blocking(move || {
            let raw = upload.as_ref();
            let format = import::Format::detect(content_type.as_deref(), raw)
                .map_err(|e| import_error("file", e))?;
            import::parse(format, raw, import::MAX_ROWS).map_err(|e| import_error(format.name(), e))
        })
        .await
        .map_err(AdminError::internal)??;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, village, "village").await?;
                let before = households::count(tx, village).await?;
                let batch: Vec<(&str, &str, Option<&str>)> = rows
                    .iter()
                    .map(|r| (r.name.as_str(), r.subgroup.as_str(), r.phone.as_deref()))
                    .collect();
                households::upsert_many(tx, village, &batch, stamp.now).await?;
                let total = households::count(tx, village).await?;
                // The file holds each (姓名, 小组) once: every row either
                // added a household or updated one.
                let inserted = total - before;
                let updated = i64::try_from(rows.len()).unwrap_or(i64::MAX) - inserted;
                stamp
                    .record(
                        tx,
                        "households.import",
                        &format!("village:{village}"),
                        Some(&json!({ "households": before })),
                        Some(
                            &json!({ "households": total, "inserted": inserted, "updated": updated }),
                        ),
                    )
                    .await?;
                Ok(ImportReport {
                    village_id: village,
                    inserted,
                    updated,
                    total,
                })
            })
        })
        .await
    }

    // ------------------------------------------------------------ teams

    /// Teams (`township_id`, `village_id` narrow).
    pub async fn teams(&self, who: Principal, f: OrgFilter) -> AdminResult<Paged<q::Team>> {
        let w = f.page().checked()?;
        let township = who.scope_filter(f.township_id)?;
        let village = f.village_id;
        self.list(w, move |tx, _| {
            Box::pin(async move {
                if let Some(v) = village {
                    authorize(tx, who, Owned::Village, v, "village").await?;
                }
                Ok(Rows::All(q::teams(tx, township, village).await?))
            })
        })
        .await
    }

    /// Creates a team in a village.
    pub async fn create_team(&self, who: Principal, n: NewTeam) -> AdminResult<q::Team> {
        self.create_named(who, teams(), n.village_id, &n.name).await
    }

    /// A team with its people (leader first) and the ids of its groups.
    pub async fn team(&self, who: Principal, id: i64) -> AdminResult<TeamDetail> {
        self.read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Team, id, "team").await?;
                team_detail(tx, id).await
            })
        })
        .await
    }

    /// Renames a team.
    pub async fn rename_team(&self, who: Principal, id: i64, r: Rename) -> AdminResult<q::Team> {
        self.rename_named(who, teams(), id, &r.name).await
    }

    /// Sets the team's leader and members (replacing the roster).
    pub async fn set_team_people(
        &self,
        who: Principal,
        id: i64,
        r: Roster,
    ) -> AdminResult<TeamDetail> {
        for (i, m) in r.members.iter().enumerate() {
            if Some(*m) == r.leader {
                return Err(AdminError::invalid(
                    format!("members[{i}]"),
                    "the leader is not also a member",
                ));
            }
            if r.members[..i].contains(m) {
                return Err(AdminError::invalid(format!("members[{i}]"), "named twice"));
            }
        }
        if r.members.len() > MAX_TEAM_MEMBERS {
            return Err(AdminError::invalid(
                "members",
                format!("at most {MAX_TEAM_MEMBERS}"),
            ));
        }
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Team, id, "team").await?;
                if let Some(l) = r.leader {
                    placeable(tx, who, "leader", l).await?;
                }
                for (i, m) in r.members.iter().enumerate() {
                    placeable(tx, who, &format!("members[{i}]"), *m).await?;
                }
                let before = q::team_people(tx, id).await?;
                q::set_team_people(tx, id, r.leader, &r.members, stamp.now).await?;
                let after = q::team_people(tx, id).await?;
                let brief = |p: &[q::TeamPerson]| {
                    json!(
                        p.iter()
                            .map(|p| json!({ "person_id": p.person_id, "role": p.role }))
                            .collect::<Vec<_>>()
                    )
                };
                stamp
                    .record(
                        tx,
                        "team.people",
                        &format!("team:{id}"),
                        Some(&brief(&before)),
                        Some(&brief(&after)),
                    )
                    .await?;
                team_detail(tx, id).await
            })
        })
        .await
    }

    // ------------------------------------------------------------ people

    /// People: the city sees everyone (`township_id` narrows); a township
    /// token sees people on its teams and its township admins.
    pub async fn people(&self, who: Principal, f: PeopleFilter) -> AdminResult<Paged<q::Person>> {
        let w = Page {
            limit: f.limit,
            offset: f.offset,
        }
        .checked()?;
        let township = who.scope_filter(f.township_id)?;
        self.list(w, move |tx, w| {
            Box::pin(async move {
                let (items, total) = q::people(tx, township, w.limit, w.offset).await?;
                Ok(Rows::Cut(items, total))
            })
        })
        .await
    }

    /// Registers a person by platform identity (before they ever chat).
    pub async fn create_person(&self, who: Principal, n: NewPerson) -> AdminResult<q::Person> {
        if n.platform.parse::<crate::platform::Platform>().is_err() {
            return Err(AdminError::invalid("platform", "must be dingtalk or wecom"));
        }
        let uid = n.platform_user_id.trim().to_string();
        if uid.is_empty() || uid.len() > 128 {
            return Err(AdminError::invalid(
                "platform_user_id",
                "must be 1 to 128 characters",
            ));
        }
        let display = name("display_name", &n.display_name)?;
        let phone = n.phone.as_deref().map(phone_field).transpose()?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                // Another township's person is neither renamed nor revealed
                // by a conflict.
                if let Some(p) = groups::person_by_platform_id(tx, &n.platform, &uid).await? {
                    who.check_person(&q::person_townships(tx, p.id).await?)?;
                }
                let id =
                    q::insert_person(tx, &n.platform, &uid, &display, phone.as_deref(), stamp.now)
                        .await?;
                let row = q::person(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("person"))?;
                stamp
                    .record(
                        tx,
                        "person.create",
                        &format!("person:{id}"),
                        None,
                        Some(&json!(row)),
                    )
                    .await?;
                Ok(row)
            })
        })
        .await
    }

    /// A person with the townships they belong to.
    pub async fn person(&self, who: Principal, id: i64) -> AdminResult<PersonDetail> {
        self.read(move |tx| {
            Box::pin(async move {
                let person = person_in_scope(tx, who, id).await?;
                let townships = q::person_townships(tx, id).await?;
                Ok(PersonDetail { person, townships })
            })
        })
        .await
    }

    /// Changes a person's display name or phone.
    pub async fn patch_person(
        &self,
        who: Principal,
        id: i64,
        p: PersonPatch,
    ) -> AdminResult<q::Person> {
        let display = p
            .display_name
            .as_deref()
            .map(|n| name("display_name", n))
            .transpose()?;
        let phone = match p.phone {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => Some(Some(phone_field(&raw)?)),
        };
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let before = person_in_scope(tx, who, id).await?;
                let name = display.unwrap_or_else(|| before.display_name.clone());
                let phone = phone.unwrap_or_else(|| before.phone.clone());
                q::update_person(tx, id, &name, phone.as_deref()).await?;
                let after = q::person(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("person"))?;
                stamp
                    .record(
                        tx,
                        "person.update",
                        &format!("person:{id}"),
                        Some(&json!(before)),
                        Some(&json!(after)),
                    )
                    .await?;
                Ok(after)
            })
        })
        .await
    }

    // ------------------------------------------------------------ groups

    /// Groups the bot has seen. A township token sees its township's groups,
    /// and with `bound=false` the groups not bound yet (to bind them).
    pub async fn groups(&self, who: Principal, g: GroupQuery) -> AdminResult<Paged<q::Group>> {
        let w = Page {
            limit: g.limit,
            offset: g.offset,
        }
        .checked()?;
        if let Some(p) = &g.platform
            && p.parse::<crate::platform::Platform>().is_err()
        {
            return Err(AdminError::invalid("platform", "must be dingtalk or wecom"));
        }
        let township = if g.bound == Some(false) {
            if g.township_id.is_some() || g.team_id.is_some() {
                return Err(AdminError::invalid(
                    "bound",
                    "unbound groups have no township or team",
                ));
            }
            None
        } else {
            who.scope_filter(g.township_id)?
        };
        let team = g.team_id;
        let f = q::GroupFilter {
            township_id: township,
            team_id: team,
            platform: g.platform,
            bound: g.bound,
        };
        self.list(w, move |tx, w| {
            Box::pin(async move {
                if let Some(t) = team {
                    authorize(tx, who, Owned::Team, t, "team").await?;
                }
                let (items, total) = q::groups(tx, &f, w.limit, w.offset).await?;
                Ok(Rows::Cut(items, total))
            })
        })
        .await
    }

    /// Binds a group to a team (what `绑定` does in the chat), or unbinds it.
    /// An unbound group is anyone's to bind; a bound one is its township's.
    pub async fn bind_group(&self, who: Principal, id: i64, b: GroupTeam) -> AdminResult<q::Group> {
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let before = q::group(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("group"))?;
                if before.township_id.is_some() {
                    who.check(before.township_id)?;
                }
                if let Some(team) = b.team_id {
                    let Some(t) = q::township_of(tx, Owned::Team, team).await? else {
                        return Err(AdminError::invalid("team_id", "no such team"));
                    };
                    who.check(t)?;
                }
                q::set_group_team(tx, id, b.team_id).await?;
                let after = q::group(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("group"))?;
                stamp
                    .record(
                        tx,
                        "group.bind",
                        &format!("group:{id}"),
                        Some(&json!({ "team_id": before.team_id })),
                        Some(&json!({ "team_id": after.team_id })),
                    )
                    .await?;
                Ok(after)
            })
        })
        .await
    }
}
