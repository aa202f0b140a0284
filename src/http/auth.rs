//! Who calls the admin API: the Bearer token of a request becomes a
//! [`Principal`] (the city, or a township token) through
//! [`crate::admin::Admin::authenticate`]; what a principal may touch is the
//! service's to judge (`crate::admin::scope`). Also the admin API's own
//! extractors (path, query, JSON body) and the one mapping of an
//! [`AdminError`] to a problem.
//!
//! Extractors: [`Principal`] accepts either kind of token; [`CityAdmin`]
//! accepts only the city (a township token gets 403); [`Service`] is the
//! admin service over this app's state.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::HttpError;
use crate::admin::{Admin, AdminError};
use crate::state::AppState;

pub use crate::admin::Principal;

/// The admin service over the app's database, clock and jobs.
pub fn service(state: &AppState) -> Admin {
    Admin::new(state.jobs.clone(), state.clock.clone())
}

/// The admin service, as an extractor.
pub struct Service(pub Admin);

impl FromRequestParts<AppState> for Service {
    type Rejection = HttpError;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Service(service(state)))
    }
}

/// The one place an [`AdminError`] becomes a problem: its status, its
/// words as the detail, the field (and line) it names.
impl From<AdminError> for HttpError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Unauthorized(why) => HttpError::new(StatusCode::UNAUTHORIZED, why),
            AdminError::Forbidden(why) => HttpError::new(StatusCode::FORBIDDEN, why),
            AdminError::NotFound(why) => HttpError::new(StatusCode::NOT_FOUND, why),
            AdminError::Conflict { field, why } => {
                let e = HttpError::new(StatusCode::CONFLICT, why);
                match field {
                    Some(f) => e.with_field(f),
                    None => e,
                }
            }
            AdminError::Invalid { field, why, line } => {
                let e = unprocessable(&field, why);
                match line {
                    Some(n) => e.at_line(n, None),
                    None => e,
                }
            }
            AdminError::TooLarge(why) => HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, why),
            AdminError::Internal => {
                HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// matched without regard to case (RFC 7235 §2.1: `bearer`, `BEARER` …).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
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
            .unwrap_or("");
        let who = service(state).authenticate(given).await?;
        super::access::note(parts, &who);
        Ok(who)
    }
}

/// The city admin only: township tokens get 403. For endpoints that are not
/// about one township (tokens, the holiday calendar).
pub struct CityAdmin(pub Principal);

impl FromRequestParts<AppState> for CityAdmin {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let p = Principal::from_request_parts(parts, state).await?;
        p.city_only()?;
        Ok(CityAdmin(p))
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
    fn every_admin_error_keeps_its_status_and_field() {
        let cases = [
            (AdminError::Unauthorized("missing bearer token"), 401, None),
            (AdminError::Forbidden("no"), 403, None),
            (AdminError::not_found("team"), 404, None),
            (AdminError::conflict("townships(name)"), 409, Some("name")),
            (
                AdminError::invalid("limit", "must be 1 to 500"),
                422,
                Some("limit"),
            ),
            (AdminError::TooLarge("csv: too many rows".into()), 413, None),
            (AdminError::Internal, 500, None),
        ];
        for (e, status, field) in cases {
            let h = HttpError::from(e);
            assert_eq!(h.status.as_u16(), status, "{h:?}");
            assert_eq!(h.field.as_deref(), field, "{h:?}");
        }
        let bad_row = HttpError::from(AdminError::Invalid {
            field: "csv".into(),
            why: "line 3, column 2: not a phone".into(),
            line: Some(3),
        });
        assert_eq!(bad_row.reason, "csv: line 3, column 2: not a phone");
        assert_eq!(bad_row.line, Some(3));
    }
}
