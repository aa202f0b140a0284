//! The admin service layer: everything the admin API (and the township
//! clerks' web console after it) may do, callable without HTTP.
//!
//! A call is a method on [`Admin`] (the database, the clock, the job
//! context and the city token it needs) taking the caller's [`Principal`]
//! and typed inputs, and returning a typed result or an [`AdminError`]. The
//! service owns, for each call:
//!
//! * its transaction ([`Admin::read`], [`Admin::write`]; a list goes through
//!   [`Admin::list`], the one place a list is read and paged);
//! * authorisation: who may read or write which township, village, team or
//!   person ([`scope`]);
//! * the audit record, in the same transaction as the change ([`Stamp`]);
//! * the admin rules: names, time zones, level time limits, push robots,
//!   bind and roster rules, token issue and revoke, schedules, the holiday
//!   calendar, household import, exports, rankings and pioneers.
//!
//! Nothing here knows HTTP: `http::admin*` extracts a request, calls one
//! method and maps an [`AdminError`] to a problem document. A new admin
//! endpoint is a method in the file of its area here (`org`, `ops`, `views`,
//! `ranking`), plus a thin handler in the matching `http/admin*.rs`.

pub mod error;
pub mod ops;
pub mod org;
pub mod paging;
pub mod ranking;
pub mod scope;
pub mod views;

use chrono_tz::Tz;
use futures_util::future::BoxFuture;
use serde_json::Value;
use subtle::ConstantTimeEq;

pub use error::{AdminError, AdminResult};
pub use paging::{Page, Paged, Rows, Window};
pub use scope::Principal;

use crate::clock::SharedClock;
use crate::config::Secret;
use crate::jobs::JobCtx;
use crate::store::{Db, Tx, audit};

/// The admin service: what its calls need, cheap to clone.
#[derive(Clone)]
pub struct Admin {
    pub db: Db,
    pub clock: SharedClock,
    /// The time zone of a township that names none.
    pub default_tz: Tz,
    /// Runs jobs now, holds the holiday calendar in force, announces pioneers.
    pub jobs: JobCtx,
    /// `LIANCUN_ADMIN_TOKEN`; `None` turns the admin service off.
    pub city_token: Option<Secret>,
}

/// Who made a change and when: written with every audit record of a call.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub now: i64,
    pub actor: String,
}

impl Stamp {
    /// Records `action` on `target` in the caller's transaction, so the
    /// record exists exactly when the change does.
    pub async fn record(
        &self,
        tx: &mut Tx,
        action: &str,
        target: &str,
        before: Option<&Value>,
        after: Option<&Value>,
    ) -> AdminResult<()> {
        audit::record(tx, self.now, &self.actor, action, target, before, after).await?;
        Ok(())
    }
}

impl Admin {
    /// The service over the job context's database, settings and time zone.
    pub fn new(jobs: JobCtx, clock: SharedClock) -> Admin {
        Admin {
            db: jobs.db.clone(),
            default_tz: jobs.default_tz,
            city_token: jobs.settings.admin_token.clone(),
            jobs,
            clock,
        }
    }

    /// Now, and who is acting, for the audit log.
    pub fn stamp(&self, who: Principal) -> Stamp {
        Stamp {
            now: self.clock.now_ms(),
            actor: who.actor(),
        }
    }

    /// Runs `f` in a read transaction.
    pub async fn read<T, F>(&self, f: F) -> AdminResult<T>
    where
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, AdminResult<T>>,
    {
        self.db.read(f).await
    }

    /// Runs `f` as a read that may bring derived rows up to date
    /// ([`Db::read_fresh`](crate::store::Db::read_fresh)).
    pub async fn read_fresh<T, F>(&self, f: F) -> AdminResult<T>
    where
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, AdminResult<T>>,
    {
        self.db.read_fresh(f).await
    }

    /// Runs `f` in a write transaction; none of its writes stay if it fails.
    pub async fn write<T, F>(&self, f: F) -> AdminResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, AdminResult<T>> + Send + 'static,
    {
        self.db.write(f).await
    }

    /// The one list reader: runs `f` for the window `w` in a read
    /// transaction and pages what it gives (the whole list, or a page the
    /// store cut with the window).
    pub async fn list<T, F>(&self, w: Window, f: F) -> AdminResult<Paged<T>>
    where
        F: for<'c> FnOnce(&'c mut Tx, Window) -> BoxFuture<'c, AdminResult<Rows<T>>>,
    {
        let rows = self.read(move |tx| f(tx, w)).await?;
        Ok(w.cut(rows))
    }

    /// The caller holding bearer token `given`: the city, a live township
    /// token, or unauthorized (as is everyone while no city token is set).
    pub async fn authenticate(&self, given: &str) -> AdminResult<Principal> {
        let Some(city) = self.city_token.as_ref() else {
            // No city token configured: the admin API is off, township
            // tokens issued earlier included (said at start).
            return Err(AdminError::Unauthorized(
                "the admin API is off: no admin token is configured",
            ));
        };
        if given.is_empty() {
            return Err(AdminError::Unauthorized("missing bearer token"));
        }
        if bool::from(given.as_bytes().ct_eq(city.expose().as_bytes())) {
            return Ok(Principal::City);
        }
        if !given.starts_with("lct_") {
            return Err(AdminError::Unauthorized("missing or wrong bearer token"));
        }
        let hash = scope::token_hash(given);
        let found = self
            .read(move |tx| {
                Box::pin(async move { Ok(crate::store::admin::live_token(tx, &hash).await?) })
            })
            .await?;
        match found {
            Some((token_id, township_id)) => Ok(Principal::Township {
                token_id,
                township_id,
            }),
            None => Err(AdminError::Unauthorized(
                "missing, wrong or revoked bearer token",
            )),
        }
    }
}

/// A trimmed name of 1 to 64 characters, or invalid naming `field`.
pub fn name(field: &str, raw: &str) -> AdminResult<String> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            field,
            "must be 1 to 64 characters, no control characters",
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
