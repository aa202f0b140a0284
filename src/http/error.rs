//! Error responses, in one place: RFC 9457 problem details
//! (`application/problem+json`) for the admin API and everything else this
//! service answers itself; the webhooks keep the `{"error": reason}` body the
//! chat platforms have always been given.

use std::any::Any;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

/// The media type of a problem document (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP failure with a reason safe to show the caller. 5xx reasons are
/// generic; their cause is logged where it happened.
///
/// `reason` becomes the problem's `detail`; `field` names the input that was
/// wrong (a body or query field, `members[1]`, `csv`), `line` and `column`
/// where in the body it was.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub reason: String,
    pub field: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl HttpError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            field: None,
            line: None,
            column: None,
        }
    }

    /// Names the field the error is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Says where in the body the error is (1-based line, and column if known).
    pub fn at_line(mut self, line: usize, column: Option<usize>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }

    /// The problem document this error is answered with.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: "about:blank".to_string(),
            title: title(self.status),
            status: self.status.as_u16(),
            detail: self.reason.clone(),
            field: self.field.clone(),
            line: self.line,
            column: self.column,
        }
    }

    /// The webhooks' own shape, `{"error": reason}`: the chat platforms and
    /// their operators read it as it always was.
    pub fn into_webhook_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.reason }))).into_response()
    }
}

/// An RFC 9457 problem document: every 4xx and 5xx answer of `/api/v1`.
/// `type` is `about:blank` (the status says what kind of problem it is) and
/// `title` the status' phrase; `detail` says what was wrong in words and
/// starts with the field when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// `about:blank`: the HTTP status is the problem type.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: String,
    /// The HTTP status phrase, e.g. `Unprocessable Entity`.
    #[schema(example = "Unprocessable Entity")]
    pub title: String,
    /// The HTTP status code, repeated.
    #[schema(example = 422)]
    pub status: u16,
    /// What was wrong, in words; starts with the field when there is one.
    #[schema(example = "timezone: not an IANA time zone like Asia/Shanghai")]
    pub detail: String,
    /// The input that was wrong: a body or query field (`timezone`,
    /// `members[1]`), or `csv` for a household file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "timezone")]
    pub field: Option<String>,
    /// Where in the body (1-based line), for malformed JSON or a bad CSV row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Where on that line (1-based column), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

fn title(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_string()
}

fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        problem_response(self.status, &self.problem())
    }
}

pub async fn not_found() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "no such route")
}

pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = detail, "request handler panicked");
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// Middleware: an error answer under `/api/v1` that the framework made
/// itself rather than a handler — 405 from routing, 413 from the body limit,
/// 504 from the timeout — becomes a problem document too, keeping its status
/// and headers (`Allow` on a 405).
///
/// `allowed` maps each `/api/v1` route template to the methods it takes
/// (`GET,HEAD,POST`): the router adds its `Allow` header only after this
/// middleware has run, so a 405's detail names them from here.
pub async fn problems(
    State(allowed): State<Arc<HashMap<String, String>>>,
    req: Request,
    next: Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/v1");
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let resp = next.run(req).await;
    let status = resp.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let allow = parts
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            route
                .as_ref()
                .and_then(|r| allowed.get(r))
                .map(String::as_str)
        })
        .unwrap_or("")
        .to_string();
    let detail = framework_detail(status, &method, &allow, &text);
    let problem = HttpError::new(status, detail).problem();
    let fresh = problem_response(status, &problem);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, fresh.into_body())
}

/// The words for an error the framework answered without any.
fn framework_detail(status: StatusCode, method: &Method, allow: &str, text: &str) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED if allow.is_empty() => {
            format!("{method} is not allowed here")
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("{method} is not allowed here; allowed: {allow}")
        }
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the request body is larger than this endpoint takes ({}; {} for a household import)",
            size(super::MAX_BODY),
            size(super::admin_org::MAX_CSV)
        ),
        StatusCode::GATEWAY_TIMEOUT => format!(
            "the request took longer than {} s",
            super::REQUEST_TIMEOUT.as_secs()
        ),
        _ if !text.is_empty() => text.to_string(),
        _ => title(status),
    }
}

/// `65536` → `64 KiB`, `8388608` → `8 MiB`.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// A body the client sent that does not parse: 400 with where (malformed
/// JSON), or 422 naming the field (well-formed JSON of the wrong shape).
/// `path` is where in the value it stopped (`members[1]`; empty at the top).
pub fn json_body_error(path: &str, inner: serde_json::Error) -> HttpError {
    let message = without_position(&inner);
    match inner.classify() {
        serde_json::error::Category::Data => {
            let field = field_of(path, &message).unwrap_or_else(|| "body".to_string());
            HttpError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: {message}"),
            )
            .with_field(field)
        }
        _ => HttpError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {message}"),
        )
        .at_line(inner.line(), Some(inner.column())),
    }
}

/// serde_json's message without its " at line N column M" (said apart).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// The field a deserialization error is about: the path where it stopped,
/// and for an unknown or missing field the field's own name under it.
pub fn field_of(path: &str, message: &str) -> Option<String> {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next())
        .filter(|n| !n.is_empty());
    let path = (!path.is_empty() && path != ".").then_some(path);
    match (path, named) {
        // An unknown field's path already ends with it; a missing one's does not.
        (Some(p), Some(n)) if p == n || p.ends_with(&format!(".{n}")) => Some(p.to_string()),
        (Some(p), Some(n)) => Some(format!("{p}.{n}")),
        (None, Some(n)) => Some(n.to_string()),
        (Some(p), None) => Some(p.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Roster {
        leader: Option<i64>,
        members: Vec<i64>,
    }

    fn parse(raw: &str) -> HttpError {
        let de = &mut serde_json::Deserializer::from_str(raw);
        serde_path_to_error::deserialize::<_, Roster>(de)
            .map(|_| ())
            .map_err(|e| json_body_error(&e.path().to_string(), e.into_inner()))
            .unwrap_err()
    }

    #[test]
    fn malformed_json_is_400_with_its_line() {
        let e = parse("{\"leader\": 1,\n \"members\": [1,}");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.line, Some(2), "{e:?}");
        assert!(e.column.is_some());
        assert!(e.reason.starts_with("the body is not valid JSON"), "{e:?}");
        assert!(
            !e.reason.contains("at line"),
            "the position is said apart: {e:?}"
        );
    }

    #[test]
    fn well_formed_json_of_the_wrong_shape_is_422_naming_the_field() {
        for (raw, field) in [
            (r#"{"leader": "x", "members": []}"#, "leader"),
            (r#"{"members": [1, "two"]}"#, "members[1]"),
            (r#"{"members": [], "colour": 1}"#, "colour"),
            (r#"{"leader": 1}"#, "members"),
        ] {
            let e = parse(raw);
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{raw}");
            assert_eq!(e.field.as_deref(), Some(field), "{raw}: {e:?}");
            assert!(e.reason.starts_with(&format!("{field}: ")), "{raw}: {e:?}");
        }
    }

    #[test]
    fn a_problem_has_the_rfc_9457_members() {
        let p = HttpError::new(StatusCode::CONFLICT, "name: taken")
            .with_field("name")
            .problem();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            json!({"type": "about:blank", "title": "Conflict", "status": 409, "detail": "name: taken", "field": "name"})
        );
    }
}
