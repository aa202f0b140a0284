//! DingTalk HMAC-SHA256 signatures: the `sign` header of robot callbacks
//! (base64 HMAC-SHA256 of "timestamp\nappSecret" under the app secret) and
//! the 加签 of custom robot webhook URLs (the same over the robot's `SEC…` secret).
//!
//! `sign = base64(HMAC-SHA256(key = secret, msg = timestamp + "\n" + secret))`.
//! Callbacks carry it in headers; custom robot webhooks append it, URL-encoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a callback's timestamp may be from our clock (DingTalk: one hour).
pub const MAX_SKEW_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("timestamp or sign header missing")]
    Missing,
    #[error("timestamp is not a number")]
    BadTimestamp,
    #[error("timestamp more than one hour from now")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

fn mac(timestamp: &str, secret: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(timestamp.as_bytes());
    m.update(b"\n");
    m.update(secret.as_bytes());
    m
}

/// The base64 signature of `timestamp` under `secret`.
pub fn sign(timestamp: &str, secret: &str) -> String {
    STANDARD.encode(mac(timestamp, secret).finalize().into_bytes())
}

/// Checks a callback's `timestamp` and `sign` headers: within one hour of
/// `now_ms` (exactly one hour still passes) and a matching signature,
/// compared in constant time.
pub fn verify_callback(
    timestamp: Option<&str>,
    sign: Option<&str>,
    secret: &str,
    now_ms: i64,
) -> Result<(), SignError> {
    let (Some(ts), Some(sig)) = (timestamp, sign) else {
        return Err(SignError::Missing);
    };
    let ts_ms: i64 = ts.trim().parse().map_err(|_| SignError::BadTimestamp)?;
    if now_ms.abs_diff(ts_ms) > MAX_SKEW_MS as u64 {
        return Err(SignError::Stale);
    }
    let given = STANDARD
        .decode(sig.trim())
        .map_err(|_| SignError::Mismatch)?;
    mac(ts, secret)
        .verify_slice(&given)
        .map_err(|_| SignError::Mismatch)
}

/// A custom robot webhook URL with 加签: `…&timestamp=…&sign=<urlencoded>`.
pub fn signed_robot_url(webhook: &str, secret: &str, now_ms: i64) -> String {
    let ts = now_ms.to_string();
    let sig = sign(&ts, secret);
    let sep = if webhook.contains('?') { '&' } else { '?' };
    format!(
        "{webhook}{sep}timestamp={ts}&sign={}",
        urlencoding::encode(&sig)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../../tests/vectors/dingtalk.json"))
            .expect("vectors parse")
    }

    #[test]
    fn known_answers() {
        let v = vectors();
        for key in [
            "dingtalk_callback_sign_doc_inputs",
            "dingtalk_callback_sign",
        ] {
            let c = &v[key];
            assert_eq!(
                sign(
                    c["timestamp"].as_str().unwrap(),
                    c["app_secret"].as_str().unwrap()
                ),
                c["sign"].as_str().unwrap(),
                "{key}"
            );
        }
    }

    #[test]
    fn acceptance_window_vectors() {
        let v = vectors();
        let secret = v["dingtalk_callback_sign"]["app_secret"].as_str().unwrap();
        for case in v["dingtalk_callback_accept_cases"].as_array().unwrap() {
            let got = verify_callback(
                case["ts"].as_str(),
                case["sign"].as_str(),
                secret,
                case["now_ms"].as_i64().unwrap(),
            );
            assert_eq!(got.is_ok(), case["accept"].as_bool().unwrap(), "{case}");
        }
    }

    #[test]
    fn malformed_headers_are_refused_without_panic() {
        assert_eq!(
            verify_callback(None, Some("x"), "s", 0),
            Err(SignError::Missing)
        );
        assert_eq!(
            verify_callback(Some("1"), None, "s", 0),
            Err(SignError::Missing)
        );
        assert_eq!(
            verify_callback(Some("abc"), Some("x"), "s", 0),
            Err(SignError::BadTimestamp)
        );
        assert_eq!(
            verify_callback(Some("0"), Some("!!!"), "s", 0),
            Err(SignError::Mismatch)
        );
        assert_eq!(
            verify_callback(Some("0"), Some(""), "s", 0),
            Err(SignError::Mismatch)
        );
        assert_eq!(
            verify_callback(Some("-9223372036854775808"), Some("x"), "s", i64::MAX),
            Err(SignError::Stale)
        );
    }

    #[test]
    fn custom_robot_sign_vectors() {
        let v = vectors();
        for key in ["dingtalk_custom_robot_sign", "dingtalk_custom_robot_sign_2"] {
            let c = &v[key];
            let ts = c["timestamp"].as_str().unwrap();
            let secret = c["secret"].as_str().unwrap();
            assert_eq!(
                sign(ts, secret),
                c["sign_base64"].as_str().unwrap(),
                "{key}"
            );
            let url = signed_robot_url(
                "https://oapi.dingtalk.com/robot/send?access_token=ACCESS_TOKEN",
                secret,
                ts.parse().unwrap(),
            );
            assert!(
                url.ends_with(&format!("sign={}", c["sign_urlencoded"].as_str().unwrap())),
                "{url}"
            );
            if let Some(full) = c["url"].as_str() {
                assert_eq!(url, full);
            }
        }
    }
}
