//! Paging, the same for every list of the admin API: `?limit=` (1–500,
//! default 100) and `?offset=` (default 0) in, `{items, total, limit,
//! offset}` out. Handlers (and a console's pages) take a [`Page`], check it
//! once, and answer a [`Paged`] — whether the store paged in SQL or the list
//! is short enough to page here.

use serde::{Deserialize, Serialize};

use super::auth::unprocessable;
use super::error::HttpError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page.
pub const MAX_LIMIT: i64 = 500;

/// `?limit=` (1–500, default 100) and `?offset=` (default 0).
#[derive(Deserialize, Default, Clone, Copy, Debug, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// 1 to 500; default 100.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Rows to skip; default 0.
    #[serde(default)]
    pub offset: Option<i64>,
}

impl Page {
    /// (limit, offset), or 422 naming the bad one.
    pub fn checked(&self) -> Result<(i64, i64), HttpError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(unprocessable("limit", "must be 1 to 500"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(unprocessable("offset", "cannot be negative"));
        }
        Ok((limit, offset))
    }

    /// This page of a whole list the store returned at once (lists short by
    /// nature: townships, villages, teams, tokens, a township's admins).
    pub fn of<T>(&self, all: Vec<T>) -> Result<Paged<T>, HttpError> {
        let (limit, offset) = self.checked()?;
        let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let items = all.into_iter().skip(skip).take(take).collect();
        Ok(Paged {
            items,
            total,
            limit,
            offset,
        })
    }
}

/// One page of a list: `items` (at most `limit`, after skipping `offset`)
/// and the `total` number of rows that match.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Rows that match, over all pages.
    pub total: i64,
    /// The page size used.
    pub limit: i64,
    /// Rows skipped before this page.
    pub offset: i64,
}

impl<T> Paged<T> {
    /// A page the store already cut with `limit` and `offset`.
    pub fn new(items: Vec<T>, total: i64, limit: i64, offset: i64) -> Self {
        Self {
            items,
            total,
            limit,
            offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_list_is_paged_like_a_long_one() {
        let p = Page {
            limit: Some(2),
            offset: Some(3),
        };
        let got = p.of((1..=6).collect::<Vec<_>>()).unwrap();
        assert_eq!(
            (got.items, got.total, got.limit, got.offset),
            (vec![4, 5], 6, 2, 3)
        );
        let all = Page::default().of(vec![1, 2]).unwrap();
        assert_eq!(
            (all.items, all.total, all.limit, all.offset),
            (vec![1, 2], 2, 100, 0)
        );
        let past = Page {
            limit: None,
            offset: Some(10),
        };
        assert!(past.of(vec![1]).unwrap().items.is_empty());
        let bad = Page {
            limit: Some(0),
            offset: None,
        };
        assert_eq!(bad.of(vec![1]).unwrap_err().field.as_deref(), Some("limit"));
    }
}
