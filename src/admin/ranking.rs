//! Ranking views: a township's monthly ranking and its weights, the pioneer
//! candidates, 创新先锋 nominations and the confirmation that announces the
//! pioneers. The city, or the township's own token.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;

use super::Admin;
use super::error::{AdminError, AdminResult};
use super::scope::{Principal, authorize};
use crate::domain::ranking::{Month, Weights};
use crate::jobs::ranking::{self as rk, Candidates, MAX_CANDIDATES, TownshipRanking};
use crate::reply::ranking::Candidate;
use crate::store::Tx;
use crate::store::admin::{self as org, Owned};
use crate::store::ranking::{self as q, Pioneer};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Nominate {
    pub month: String,
    pub team: i64,
    pub name: String,
    pub reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub month: String,
    pub project: Vec<i64>,
    pub diligence: Vec<i64>,
    pub innovation: Vec<i64>,
}

/// A month's pioneer candidates (at most [`MAX_CANDIDATES`] of each kind)
/// and the pioneers already confirmed.
#[derive(Debug)]
pub struct PioneerCandidates {
    pub township: i64,
    pub month: Month,
    pub project: Vec<Candidate>,
    pub diligence: Vec<Candidate>,
    pub innovation: Vec<Candidate>,
    pub confirmed: Vec<Pioneer>,
}

/// What a confirmation did: the pioneers of the month and how many groups
/// were told (0 when it repeats one already made).
#[derive(Debug)]
pub struct Confirmed {
    pub month: Month,
    pub pioneers: Vec<Pioneer>,
    pub announced: usize,
}

/// A month `YYYY-MM`, or invalid.
pub fn month_of(s: &str) -> AdminResult<Month> {
    Month::parse(s).ok_or_else(|| AdminError::invalid("month", "expected YYYY-MM, e.g. 2026-11"))
}

fn month_opt(s: Option<&str>) -> AdminResult<Option<Month>> {
    s.map(month_of).transpose()
}

/// The ranking and candidates of a month (default: last month).
async fn ranking_and_candidates(
    tx: &mut Tx,
    id: i64,
    month: Option<Month>,
    tz: chrono_tz::Tz,
    now: i64,
) -> AdminResult<Option<(TownshipRanking, Candidates)>> {
    let month = match month {
        Some(m) => m,
        None => {
            let Some((_, z)) = q::township_name(tx, id).await? else {
                return Ok(None);
            };
            let tz = crate::domain::zone::team_tz(z.as_deref(), tz);
            Month::of(crate::domain::week::utc_ms_to_local(tz, now).date()).prev()
        }
    };
    let Some(r) = rk::township_ranking(tx, id, Some(month), tz, now).await? else {
        return Ok(None);
    };
    let c = rk::candidates(tx, &r).await?;
    Ok(Some((r, c)))
}

/// Exactly two distinct ids, each one of `allowed`.
fn two_of(field: &str, ids: &[i64], allowed: &[i64]) -> AdminResult<()> {
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    if ids.len() != 2 || set.len() != 2 {
        return Err(AdminError::invalid(
            field,
            "exactly two different candidates",
        ));
    }
    if let Some(bad) = ids.iter().find(|i| !allowed.contains(i)) {
        return Err(AdminError::invalid(
            field,
            format!("{bad} is not a candidate this month"),
        ));
    }
    Ok(())
}

/// The pioneers chosen, with what the announcement says of them.
fn chosen(req: &Confirm, r: &TownshipRanking, c: &Candidates) -> AdminResult<Vec<Pioneer>> {
    let project_ids: Vec<i64> = c.project.iter().map(|(t, _)| t.team_id).collect();
    let diligence_ids: Vec<i64> = c.diligence.iter().map(|(p, _, _)| p.person_id).collect();
    let innovation_ids: Vec<i64> = c.innovation.iter().map(|n| n.id).collect();
    two_of("project", &req.project, &project_ids)?;
    two_of("diligence", &req.diligence, &diligence_ids)?;
    two_of("innovation", &req.innovation, &innovation_ids)?;
    let mut out = Vec::new();
    for id in &req.project {
        if let Some((t, l)) = c.project.iter().find(|(t, _)| t.team_id == *id) {
            out.push(Pioneer {
                kind: "project".into(),
                subject_id: t.team_id,
                team_id: t.team_id,
                name: l.full(),
                detail: crate::reply::ranking::project_why(
                    t.projects_done_in_month,
                    t.projects_updated,
                ),
            });
        }
    }
    for id in &req.diligence {
        if let Some((p, name, l)) = c.diligence.iter().find(|(p, _, _)| p.person_id == *id) {
            out.push(Pioneer {
                kind: "diligence".into(),
                subject_id: p.person_id,
                team_id: p.team_id,
                name: format!("{name}（{}）", l.village),
                detail: crate::reply::ranking::diligence_why(
                    &l.full(),
                    p.services,
                    p.visits,
                    p.on_time,
                ),
            });
        }
    }
    for id in &req.innovation {
        if let Some(n) = c.innovation.iter().find(|n| n.id == *id) {
            out.push(Pioneer {
                kind: "innovation".into(),
                subject_id: n.id,
                team_id: n.team_id,
                name: format!(
                    "{}（{}）",
                    n.name,
                    r.labels.get(&n.team_id).map_or("", |l| l.village.as_str())
                ),
                detail: n.reason.clone(),
            });
        }
    }
    Ok(out)
}

impl Admin {
    /// Not found for an unknown township, forbidden for another township's token.
    async fn may_touch(&self, who: Principal, id: i64) -> AdminResult<()> {
        self.read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                Ok(())
            })
        })
        .await
    }

    /// The township's ranking of `month` (`YYYY-MM`; default: this month so far).
    pub async fn ranking(
        &self,
        who: Principal,
        id: i64,
        month: Option<&str>,
    ) -> AdminResult<TownshipRanking> {
        let month = month_opt(month)?;
        self.may_touch(who, id).await?;
        let (tz, now) = (self.default_tz, self.clock.now_ms());
        self.read_fresh(move |tx| {
            Box::pin(async move { Ok(rk::township_ranking(tx, id, month, tz, now).await?) })
        })
        .await?
        .ok_or_else(|| AdminError::not_found("township"))
    }

    /// Sets the township's ranking weights.
    pub async fn set_weights(&self, who: Principal, id: i64, w: Weights) -> AdminResult<Weights> {
        self.may_touch(who, id).await?;
        w.validate()
            .map_err(|(field, why)| AdminError::invalid(field, why))?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let before = q::weights(tx, id).await?;
                q::set_weights(tx, id, &w, stamp.now).await?;
                stamp
                    .record(
                        tx,
                        "ranking.weights",
                        &format!("township:{id}"),
                        Some(&json!(before)),
                        Some(&json!(w)),
                    )
                    .await?;
                Ok(w)
            })
        })
        .await
    }

    /// The pioneer candidates of `month` (default: last month).
    pub async fn pioneers(
        &self,
        who: Principal,
        id: i64,
        month: Option<&str>,
    ) -> AdminResult<PioneerCandidates> {
        let month = month_opt(month)?;
        self.may_touch(who, id).await?;
        let (tz, now) = (self.default_tz, self.clock.now_ms());
        let (r, c, confirmed) = self
            .read_fresh(move |tx| {
                Box::pin(async move {
                    let Some((r, c)) = ranking_and_candidates(tx, id, month, tz, now).await? else {
                        return Ok(None);
                    };
                    let confirmed = q::pioneers(tx, id, r.window.month).await?;
                    Ok(Some((r, c, confirmed)))
                })
            })
            .await?
            .ok_or_else(|| AdminError::not_found("township"))?;
        let top = |v: Vec<Candidate>| v.into_iter().take(MAX_CANDIDATES).collect();
        Ok(PioneerCandidates {
            township: id,
            month: r.window.month,
            project: top(c.project_view()),
            diligence: top(c.diligence_view()),
            innovation: top(c.innovation_view(&r)),
            confirmed,
        })
    }

    /// Nominates a 创新先锋 of a team of the township; returns the
    /// nomination's id and month. A team with no activity in the month has
    /// no pioneer.
    pub async fn nominate(
        &self,
        who: Principal,
        id: i64,
        n: Nominate,
    ) -> AdminResult<(i64, Month)> {
        self.may_touch(who, id).await?;
        let month = month_of(&n.month)?;
        let name = n.name.trim().to_string();
        let reason = n.reason.trim().to_string();
        if name.is_empty() || name.chars().count() > 40 {
            return Err(AdminError::invalid(
                "name",
                "1 to 40 characters: who is nominated",
            ));
        }
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(AdminError::invalid(
                "reason",
                "1 to 200 characters: the innovation",
            ));
        }
        let team = n.team;
        let tz = self.default_tz;
        let stamp = self.stamp(who);
        let nid = self
            .write(move |tx| {
                Box::pin(async move {
                    if org::township_of(tx, Owned::Team, team).await?.flatten() != Some(id) {
                        return Err(AdminError::invalid("team", "no such team in this township"));
                    }
                    // No medal for nothing: a team without activity in the
                    // month has no pioneer.
                    if rk::township_ranking(tx, id, Some(month), tz, stamp.now)
                        .await?
                        .is_some_and(|r| r.is_idle(team))
                    {
                        return Err(AdminError::invalid(
                            "team",
                            "no activity in that month (数据不足): no pioneer",
                        ));
                    }
                    let nid =
                        q::add_nomination(tx, id, month, team, &name, &reason, stamp.now).await?;
                    stamp
                        .record(
                            tx,
                            "pioneers.nominate",
                            &format!("township:{id}"),
                            None,
                            Some(&json!({ "id": nid, "month": month.to_string(), "team": team, "name": name })),
                        )
                        .await?;
                    Ok(nid)
                })
            })
            .await?;
        Ok((nid, month))
    }

    /// Confirms two pioneers of each kind and announces them in the
    /// township's groups. Repeating the same confirmation changes nothing
    /// and announces nothing again; a different one for a confirmed month
    /// is a conflict.
    pub async fn confirm_pioneers(
        &self,
        who: Principal,
        id: i64,
        req: Confirm,
    ) -> AdminResult<Confirmed> {
        self.may_touch(who, id).await?;
        let month = month_of(&req.month)?;
        let (tz, now) = (self.default_tz, self.clock.now());
        let stamp = self.stamp(who);
        let ctx = self.jobs.clone();
        self.write(move |tx| {
            Box::pin(async move {
                let now_ms = now.timestamp_millis();
                let Some((r, c)) = ranking_and_candidates(tx, id, Some(month), tz, now_ms).await?
                else {
                    return Err(AdminError::not_found("township"));
                };
                let picked = chosen(&req, &r, &c)?;
                let before = q::pioneers(tx, id, month).await?;
                if !before.is_empty() {
                    let key = |v: &[Pioneer]| -> BTreeSet<(String, i64)> {
                        v.iter().map(|p| (p.kind.clone(), p.subject_id)).collect()
                    };
                    if key(&before) != key(&picked) {
                        return Err(AdminError::Conflict {
                            field: None,
                            why: format!(
                                "the pioneers of {month} are already confirmed and announced"
                            ),
                        });
                    }
                    return Ok(Confirmed {
                        month,
                        pioneers: before,
                        announced: 0,
                    });
                }
                for (i, p) in picked.iter().enumerate() {
                    q::add_pioneer(tx, id, month, p, i as i64, now_ms).await?;
                }
                let announced = rk::announce_pioneers(tx, &ctx, id, month, now).await?;
                stamp
                    .record(
                        tx,
                        "pioneers.confirm",
                        &format!("township:{id}"),
                        None,
                        Some(&json!({ "month": month.to_string(), "pioneers": picked })),
                    )
                    .await?;
                Ok(Confirmed {
                    month,
                    pioneers: picked,
                    announced,
                })
            })
        })
        .await
    }
}
