//! Paging on the wire, the same for every list of the admin API:
//! `?limit=` (1–500, default 100) and `?offset=` (default 0) in — the
//! service's [`Page`] — and its [`Paged`] out as `{items, total, limit,
//! offset}`. The rules live in [`crate::admin::paging`]; a list handler is
//! [`list`] over one service call.

use axum::Json;

use super::error::HttpError;
use crate::admin::AdminResult;
pub use crate::admin::paging::{DEFAULT_LIMIT, MAX_LIMIT, Page, Paged};

/// The answer of a list handler: a page as JSON, or the service's refusal
/// as a problem.
pub fn list<T>(page: AdminResult<Paged<T>>) -> Result<Json<Paged<T>>, HttpError> {
    Ok(Json(page?))
}
