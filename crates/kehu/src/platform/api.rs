//! Small pieces every JSON handler shares: the body extractor with problem-details
//! rejections, `If-Match` versions, `201 Created` with `Location`, and nullable PATCH fields.

use crate::platform::error::{AppError, FieldError};
use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// A JSON body. Malformed JSON is 400; a wrong or unknown field is 422 naming the
/// field; a body over the limit is 413 — always as problem details.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiJsonBytes(v, _) = ApiJsonBytes::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// Like `ApiJson`, keeping the raw body too (for `Idempotency-Key` hashing).
pub struct ApiJsonBytes<T>(pub T, pub axum::body::Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJsonBytes<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(AppError::BadRequest(
                "expected Content-Type: application/json".into(),
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(rej) if rej.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(rej) => return Err(AppError::BadRequest(rej.body_text())),
        };
        let v = parse_json(&bytes)?;
        Ok(ApiJsonBytes(v, bytes))
    }
}

/// Parses JSON the way `ApiJson` does (also for tests and the CLI).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(AppError::BadRequest("the body is not valid UTF-8".into()));
    }
    if json_has_nul(bytes) {
        return Err(AppError::BadRequest(
            "a string of the body contains a NUL character (\\u0000)".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(AppError::BadRequest(format!("malformed JSON: {inner}")));
            }
            let msg = inner.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            let field = if let Some(rest) = msg.strip_prefix("unknown field `") {
                rest.split('`').next().unwrap_or("").to_owned()
            } else if let Some(rest) = msg.strip_prefix("missing field `") {
                rest.split('`').next().unwrap_or("").to_owned()
            } else if path == "." {
                "body".to_owned()
            } else {
                path
            };
            let code = if msg.starts_with("unknown field") {
                "unknown_field"
            } else if msg.starts_with("missing field") {
                "required"
            } else {
                "invalid_type"
            };
            Err(AppError::Validation(vec![FieldError::new(
                &field, code, msg,
            )]))
        }
    }
}

/// Whether a JSON text holds an escaped NUL (`\u0000`) in a string; a raw
/// NUL is not valid JSON anyway. Escapes are followed, so `"\\u0000"` (a
/// backslash, then "u0000") is no NUL.
pub fn json_has_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0 => return true,
            b'\\' => {
                if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(&b"0000"[..])
                {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The expected version of a PATCH/DELETE: `If-Match` header, else the body's `version`.
pub fn expected_version(
    headers: &HeaderMap,
    body_version: Option<i64>,
) -> Result<Option<i64>, AppError> {
    match headers.get(header::IF_MATCH) {
        Some(v) => {
            let s = v
                .to_str()
                .unwrap_or("")
                .trim()
                .trim_start_matches("W/")
                .trim_matches('"');
            s.parse::<i64>().map(Some).map_err(|_| {
                AppError::BadRequest("If-Match must be the record's version number".into())
            })
        }
        None => Ok(body_version),
    }
}

/// The version a client must send with a change: `If-Match` or the body's
/// `version`; `428` without either, so no client overwrites blindly.
pub fn required_version(headers: &HeaderMap, body_version: Option<i64>) -> Result<i64, AppError> {
    expected_version(headers, body_version)?.ok_or(AppError::PreconditionRequired)
}

/// `409` for a stale version.
pub fn stale() -> AppError {
    AppError::Conflict("the record was changed by someone else; reload it and try again".into())
}

/// `201 Created` with a `Location` header and the record.
pub fn created<T: Serialize>(location: String, body: T) -> Response {
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// For PATCH bodies: absent → `None`, `null` → `Some(None)`, value → `Some(Some(v))`.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_escaped_nul_in_json_strings_only() {
        assert!(json_has_nul(br#"{"name":"a\u0000b"}"#));
        assert!(json_has_nul(b"{\"name\":\"a\0\"}"));
        assert!(!json_has_nul(br#"{"name":"a\\u0000b"}"#));
        assert!(!json_has_nul(br#"{"name":"a\u0001b","x":"\\"}"#));
        assert!(matches!(
            parse_json::<serde_json::Value>(br#"{"q":"\u0000"}"#),
            Err(AppError::BadRequest(_))
        ));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        name: String,
        #[serde(default, deserialize_with = "double_option")]
        team_id: Option<Option<String>>,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<T>(br#"{"name": 1}"#).unwrap_err();
        assert_eq!(e.field_errors().unwrap()[0].field, "name");
        let e = parse_json::<T>(br#"{"name": "a", "x": 1}"#).unwrap_err();
        assert_eq!(e.field_errors().unwrap()[0].field, "x");
        let e = parse_json::<T>(br#"{}"#).unwrap_err();
        assert_eq!(e.field_errors().unwrap()[0].field, "name");
        assert!(matches!(
            parse_json::<T>(b"{").unwrap_err(),
            AppError::BadRequest(_)
        ));
        assert!(matches!(
            parse_json::<T>(b"\xff\xfe").unwrap_err(),
            AppError::BadRequest(_)
        ));
    }

    #[test]
    fn null_and_absent_differ() {
        assert_eq!(parse_json::<T>(br#"{"name":"a"}"#).unwrap().team_id, None);
        assert_eq!(
            parse_json::<T>(br#"{"name":"a","team_id":null}"#)
                .unwrap()
                .team_id,
            Some(None)
        );
    }

    #[test]
    fn if_match_wins_over_body() {
        let mut h = HeaderMap::new();
        assert_eq!(expected_version(&h, Some(3)).unwrap(), Some(3));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"5\""));
        assert_eq!(expected_version(&h, Some(3)).unwrap(), Some(5));
        h.insert(header::IF_MATCH, HeaderValue::from_static("x"));
        assert!(expected_version(&h, None).is_err());
    }
}
