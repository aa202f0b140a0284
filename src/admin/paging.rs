//! Paging, the same for every list of the admin service: a [`Page`] in
//! (`limit` 1–500, default 100; `offset` default 0), a [`Paged`] out
//! (`items`, `total`, `limit`, `offset`). [`super::Admin::list`] is the one
//! place a list is read and cut, whether the store paged in SQL ([`Rows::Cut`])
//! or the list is short enough to page here ([`Rows::All`]).

use serde::{Deserialize, Serialize};

use super::error::{AdminError, AdminResult};

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

/// A checked page: `limit` rows after skipping `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    /// The page as a [`Window`], or invalid naming the bad bound.
    pub fn checked(&self) -> AdminResult<Window> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AdminError::invalid("limit", "must be 1 to 500"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(AdminError::invalid("offset", "cannot be negative"));
        }
        Ok(Window { limit, offset })
    }
}

/// What a list query gave: the whole list (short by nature: townships,
/// villages, teams, tokens, a township's admins) or a page the store cut
/// with `limit` and `offset`, with the total over all pages.
pub enum Rows<T> {
    All(Vec<T>),
    Cut(Vec<T>, i64),
}

impl Window {
    /// This window of `rows`.
    pub fn cut<T>(self, rows: Rows<T>) -> Paged<T> {
        let (items, total) = match rows {
            Rows::Cut(items, total) => (items, total),
            Rows::All(all) => {
                let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
                let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
                let take = usize::try_from(self.limit).unwrap_or(usize::MAX);
                (all.into_iter().skip(skip).take(take).collect(), total)
            }
        };
        Paged {
            items,
            total,
            limit: self.limit,
            offset: self.offset,
        }
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
    /// The same page with each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: Option<i64>, offset: Option<i64>) -> Page {
        Page { limit, offset }
    }

    #[test]
    fn a_short_list_is_paged_like_a_long_one() {
        let w = page(Some(2), Some(3)).checked().unwrap();
        let got = w.cut(Rows::All((1..=6).collect::<Vec<_>>()));
        assert_eq!(
            (got.items, got.total, got.limit, got.offset),
            (vec![4, 5], 6, 2, 3)
        );
        let all = Page::default()
            .checked()
            .unwrap()
            .cut(Rows::All(vec![1, 2]));
        assert_eq!(
            (all.items, all.total, all.limit, all.offset),
            (vec![1, 2], 2, 100, 0)
        );
        let past = page(None, Some(10)).checked().unwrap();
        assert!(past.cut(Rows::All(vec![1])).items.is_empty());
        let cut = w.cut(Rows::Cut(vec![7, 8], 40));
        assert_eq!((cut.items, cut.total), (vec![7, 8], 40));
    }

    #[test]
    fn paging_bounds() {
        for (limit, offset, field) in [
            (Some(0), None, "limit"),
            (Some(501), None, "limit"),
            (Some(-1), None, "limit"),
            (None, Some(-1), "offset"),
        ] {
            match page(limit, offset).checked() {
                Err(AdminError::Invalid { field: f, .. }) => {
                    assert_eq!(f, field, "{limit:?} {offset:?}")
                }
                other => panic!("{limit:?} {offset:?}: {other:?}"),
            }
        }
        assert_eq!(
            page(Some(500), Some(0)).checked().unwrap(),
            Window {
                limit: 500,
                offset: 0
            }
        );
        assert_eq!(
            page(Some(1), Some(9)).checked().unwrap(),
            Window {
                limit: 1,
                offset: 9
            }
        );
    }
}
