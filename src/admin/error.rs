//! [`AdminError`]: what an admin service call can fail with, in words a
//! clerk can act on. The HTTP layer maps each variant to a status once
//! (`http::auth`); a console can show the same words.

use crate::store::StoreError;

/// Why an admin service call did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No credentials, or ones that are wrong or revoked.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The principal may not see or change this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// No such row; the message says what was missing (`no such team`).
    #[error("{0}")]
    NotFound(String),
    /// Refused by what is already stored; `field` is the input at fault.
    #[error("{why}")]
    Conflict { field: Option<String>, why: String },
    /// An input is wrong: `field` names it, `why` says how; `line` is the
    /// line of an uploaded file where it is.
    #[error("{field}: {why}")]
    Invalid {
        field: String,
        why: String,
        line: Option<usize>,
    },
    /// An upload or an answer larger than one call takes.
    #[error("{0}")]
    TooLarge(String),
    /// Our fault; the cause is logged where it happened, never shown.
    #[error("internal error")]
    Internal,
}

/// The words of [`AdminError::Forbidden`] for another township's data.
pub const OTHER_TOWNSHIP: &str = "this token may not see or change another township's data";
/// The words of [`AdminError::Forbidden`] for what only the city may do.
pub const CITY_ONLY: &str = "only the city admin token may do this";

impl AdminError {
    /// An input refused: `field` and the reason.
    pub fn invalid(field: impl Into<String>, why: impl std::fmt::Display) -> Self {
        AdminError::Invalid {
            field: field.into(),
            why: why.to_string(),
            line: None,
        }
    }

    /// `no such {what}`.
    pub fn not_found(what: &str) -> Self {
        AdminError::NotFound(format!("no such {what}"))
    }

    /// Logs `cause` once and hides it from the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "admin service call failed");
        AdminError::Internal
    }

    /// A refusal by what is stored, in words. `key` is the store's
    /// backend-neutral name of the refusing constraint (`table(col, col)` or
    /// `foreign key`), the same on SQLite and PostgreSQL.
    pub fn conflict(key: &str) -> Self {
        let (field, words) = match key {
            "townships(name)" => (Some("name"), "a township with this name already exists"),
            "villages(township_id, name)" => (
                Some("name"),
                "the township already has a village with this name",
            ),
            "teams(village_id, name)" => (
                Some("name"),
                "the village already has a team with this name",
            ),
            "people(platform, platform_user_id)" => (
                Some("platform_user_id"),
                "a person with this platform and platform_user_id is already registered",
            ),
            "households(village_id, name, subgroup)" => (
                Some("name"),
                "the village already has a household with this name in this subgroup",
            ),
            "projects(team_id, year, name)" => (
                Some("name"),
                "the team already has a hard project with this name this year",
            ),
            "foreign key" => (
                None,
                "it refers to something that does not exist, or something still refers to it",
            ),
            _ => (None, "it conflicts with what is already stored"),
        };
        let why = match field {
            Some(f) => format!("{f}: {words}"),
            None => format!("{words} ({key})"),
        };
        AdminError::Conflict {
            field: field.map(str::to_string),
            why,
        }
    }
}

/// Store failures inside a service call: a missing row, a refusing
/// constraint (in words), else a logged internal error.
impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AdminError::NotFound("not found".to_string()),
            StoreError::Conflict(c) => AdminError::conflict(&c),
            other => AdminError::internal(other),
        }
    }
}

/// What a service call returns.
pub type AdminResult<T> = Result<T, AdminError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_constraint_names_its_field_and_an_unknown_one_its_key() {
        let AdminError::Conflict { field, why } = AdminError::conflict("teams(village_id, name)")
        else {
            panic!("a conflict");
        };
        assert_eq!(field.as_deref(), Some("name"));
        assert!(why.starts_with("name: the village already"), "{why}");
        let AdminError::Conflict { field, why } = AdminError::conflict("x(y)") else {
            panic!("a conflict");
        };
        assert_eq!(field, None);
        assert!(why.ends_with("(x(y))"), "{why}");
    }
}
