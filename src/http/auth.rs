//! Who calls the admin API, and what they may touch.
//!
//! Two kinds of bearer token: `LIANCUN_ADMIN_TOKEN` is the city admin
//! ([`Principal::City`]), and township tokens issued by the city through
//! `POST /api/v1/tokens` ([`Principal::Township`]) see and change only their
//! own township. Township tokens are stored as the SHA-256 (hex) of the token.
//!
//! Extractors: [`Principal`] accepts either kind; [`Admin`] accepts only the
//! city (a township token gets 403). A handler touching township data takes a
//! `Principal` and asks [`Principal::check`] (or [`authorize`], which looks up
//! the row's township): unknown ids are 404 before scope is judged, so another
//! township's ids answer 403.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::HttpError;
use crate::state::AppState;
use crate::store::{StoreError, Tx, admin as q};

/// An authenticated caller of the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// `LIANCUN_ADMIN_TOKEN`: everything.
    City,
    /// A township token: only that township's data.
    Township { token_id: i64, township_id: i64 },
}

impl Principal {
    /// The actor written to the audit log: `admin` or `token:<id>`.
    pub fn actor(&self) -> String {
        match self {
            Principal::City => "admin".to_string(),
            Principal::Township { token_id, .. } => format!("token:{token_id}"),
        }
    }

    /// The township this principal is confined to; `None` for the city.
    pub fn township(&self) -> Option<i64> {
        match self {
            Principal::City => None,
            Principal::Township { township_id, .. } => Some(*township_id),
        }
    }

    /// 403 unless the principal may touch data of `township` (`None`: data
    /// of no township, such as an unbound group, which only the city may touch).
    pub fn check(&self, township: Option<i64>) -> Result<(), HttpError> {
        match (self, township) {
            (Principal::City, _) => Ok(()),
            (Principal::Township { township_id, .. }, Some(t)) if *township_id == t => Ok(()),
            _ => Err(forbidden()),
        }
    }

    /// 403 unless the principal may change a person who belongs to
    /// `townships` (the city: anyone; a township token: people of its own
    /// township, or of none yet).
    pub fn check_person(&self, townships: &[i64]) -> Result<(), HttpError> {
        match self.township() {
            Some(own) if !townships.is_empty() && !townships.contains(&own) => Err(forbidden()),
            _ => Ok(()),
        }
    }

    /// 403 unless this is the city admin.
    pub fn city_only(&self) -> Result<(), HttpError> {
        match self {
            Principal::City => Ok(()),
            Principal::Township { .. } => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "only the city admin token may do this",
            )),
        }
    }

    /// The township filter a list runs with: a township token always sees its
    /// own township (asking for another is 403); the city sees what it asks.
    pub fn scope_filter(&self, asked: Option<i64>) -> Result<Option<i64>, HttpError> {
        match (self, asked) {
            (Principal::City, asked) => Ok(asked),
            (Principal::Township { township_id, .. }, None) => Ok(Some(*township_id)),
            (Principal::Township { township_id, .. }, Some(t)) if t == *township_id => Ok(Some(t)),
            _ => Err(forbidden()),
        }
    }
}

pub fn forbidden() -> HttpError {
    HttpError::new(
        StatusCode::FORBIDDEN,
        "this token may not see or change another township's data",
    )
}

/// The hash stored for a township token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new township token: `lct_` and 64 hex digits (256 random bits).
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("lct_{hex}"))
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// matched without regard to case (RFC 7235 §2.1: `bearer`, `BEARER` …).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn unauthorized(why: &str) -> HttpError {
    HttpError::new(StatusCode::UNAUTHORIZED, why)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .unwrap_or("")
            .to_string();
        if state.settings.admin_token.is_none() {
            // No city token configured: the admin API is off, township
            // tokens issued earlier included (said at start).
            return Err(unauthorized(
                "the admin API is off: no admin token is configured",
            ));
        }
        if given.is_empty() {
            return Err(unauthorized("missing bearer token"));
        }
        if let Some(expected) = state.settings.admin_token.as_ref()
            && bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes()))
        {
            super::access::note(parts, &Principal::City);
            return Ok(Principal::City);
        }
        if !given.starts_with("lct_") {
            return Err(unauthorized("missing or wrong bearer token"));
        }
        let hash = token_hash(&given);
        let found = state
            .db
            .read(move |tx| Box::pin(async move { q::live_token(tx, &hash).await }))
            .await
            .map_err(store_err)?;
        match found {
            Some((token_id, township_id)) => {
                let who = Principal::Township {
                    token_id,
                    township_id,
                };
                super::access::note(parts, &who);
                Ok(who)
            }
            None => Err(unauthorized("missing, wrong or revoked bearer token")),
        }
    }
}

/// The city admin only: township tokens get 403. For endpoints that are not
/// about one township (tokens, the holiday calendar, the audit log).
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = Principal::from_request_parts(parts, state).await?;
        p.city_only()?;
        Ok(Admin(p))
    }
}

/// A path parameter; one that does not parse (`/teams/abc`, an id past
/// i64) names no row, so it is a JSON 404 like any unknown id.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(t)| ApiPath(t))
            .map_err(|e| HttpError::new(StatusCode::NOT_FOUND, format!("path: {}", e.body_text())))
    }
}

/// Query parameters; a bad or unknown one is a JSON 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(t)| ApiQuery(t))
            .map_err(|e| {
                let text = e.body_text();
                let why = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                // `limit: invalid digit found in string`: the parameter
                // leads the message; it is the problem's field.
                let (path, why) = match why.split_once(": ") {
                    Some((name, rest))
                        if !name.is_empty()
                            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        (name, rest)
                    }
                    _ => ("", why),
                };
                let field =
                    super::error::field_of(path, why).unwrap_or_else(|| "query".to_string());
                unprocessable(&field, why)
            })
    }
}

/// Looks up the township of a row in `tx` and judges it: 404 when there is
/// no such row (`what` names it), 403 when it is another township's.
/// Returns the row's township.
pub async fn authorize(
    tx: &mut Tx,
    who: Principal,
    kind: q::Owned,
    id: i64,
    what: &'static str,
) -> Result<Option<i64>, HttpError> {
    let Some(township) = q::township_of(tx, kind, id).await? else {
        return Err(not_found(what));
    };
    who.check(township)?;
    Ok(township)
}

/// Store failures inside the admin API's transactions: 404, 409 naming the
/// constraint, else a logged 500.
impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        store_err(e)
    }
}

pub fn internal(e: impl std::fmt::Display) -> HttpError {
    tracing::error!(error = %e, "admin API request failed");
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

pub fn store_err(e: StoreError) -> HttpError {
    match e {
        StoreError::NotFound => HttpError::new(StatusCode::NOT_FOUND, "not found"),
        StoreError::Conflict(c) => conflict(&c),
        other => internal(other),
    }
}

/// A 409 that says in words what is already there. `key` is the store's
/// backend-neutral name of the refusing constraint (`table(col, col)` or
/// `foreign key`), the same on SQLite and PostgreSQL.
pub fn conflict(key: &str) -> HttpError {
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
    let detail = match field {
        Some(f) => format!("{f}: {words}"),
        None => format!("{words} ({key})"),
    };
    let e = HttpError::new(StatusCode::CONFLICT, detail);
    match field {
        Some(f) => e.with_field(f),
        None => e,
    }
}

/// 422 naming `field`: the detail starts with it, and the problem's `field` says it.
pub fn unprocessable(field: &str, why: impl std::fmt::Display) -> HttpError {
    HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: {why}")).with_field(field)
}

pub fn not_found(what: &str) -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, format!("no such {what}"))
}

/// Parses a JSON body (an empty one is `{}`): 400 with the line and column
/// when it is not JSON at all, 422 naming the field when it is JSON of the
/// wrong shape. Control characters are dropped from every string first
/// ([`crate::domain::text::clean`]).
pub fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, HttpError> {
    use super::error::json_body_error;
    let raw: &[u8] = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        raw
    };
    if raw.contains(&b'\\') {
        // Only an escape can hide a control character (serde_json refuses
        // raw ones): parse, clean every string, then take the shape.
        let mut v: serde_json::Value =
            serde_json::from_slice(raw).map_err(|e| json_body_error("", e))?;
        crate::domain::text::clean_json(&mut v);
        return serde_path_to_error::deserialize(v)
            .map_err(|e| json_body_error(&e.path().to_string(), e.into_inner()));
    }
    let de = &mut serde_json::Deserializer::from_slice(raw);
    let value: T = serde_path_to_error::deserialize(&mut *de)
        .map_err(|e| json_body_error(&e.path().to_string(), e.into_inner()))?;
    // Trailing characters after the value: malformed, as serde_json::from_slice says.
    de.end().map_err(|e| json_body_error("", e))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_to_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("lct_") && a.len() == 68, "{a}");
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(h.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for h in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "BeArEr  abc ",
            "Bearer\tabc",
        ] {
            assert_eq!(bearer(h), Some("abc"), "{h:?}");
        }
        for h in ["Basic abc", "Bearerabc", "Bearer", "Token abc", ""] {
            assert_eq!(bearer(h).filter(|t| !t.is_empty()), None, "{h:?}");
        }
    }

    #[test]
    fn scopes() {
        let t = Principal::Township {
            token_id: 7,
            township_id: 2,
        };
        assert!(t.check(Some(2)).is_ok());
        assert_eq!(t.check(Some(3)).unwrap_err().status, 403);
        assert_eq!(t.check(None).unwrap_err().status, 403);
        assert!(Principal::City.check(None).is_ok());
        assert_eq!(t.scope_filter(None).unwrap(), Some(2));
        assert_eq!(t.scope_filter(Some(3)).unwrap_err().status, 403);
        assert_eq!(Principal::City.scope_filter(None).unwrap(), None);
        assert_eq!(t.actor(), "token:7");
        assert_eq!(Principal::City.actor(), "admin");
        assert_eq!(t.city_only().unwrap_err().status, 403);
    }
}
