//! The one error type of the application and how it is shown.
//!
//! API handlers return `AppError`, rendered as RFC 9457 problem details.
//! Page handlers return `PageError`, which the web layer turns into a full
//! error page in the reader's language (see `web::error_pages`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field: `field` is the JSON/form name, `message` a readable English text,
/// `code` a stable machine code (also the i18n key suffix `error.<code>`).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Problem details body (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `refused` problems: why, as a stable code (`owned`, `cap`, `cooldown`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `duplicate` problems: the existing records that look the same.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub matches: Vec<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// An action the record's state does not allow now (a claim of an owned
    /// customer, a cap reached, a decision made twice); `reason` is a stable code.
    #[error("refused: {reason}")]
    Refused {
        reason: &'static str,
        detail: String,
    },
    /// The record may already exist; `matches` lists the likely duplicates.
    #[error("possible duplicate")]
    Duplicate(Vec<serde_json::Value>),
    #[error("version required")]
    PreconditionRequired,
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    /// The database is busy with other writes (SQLite's write lock, a
    /// PostgreSQL serialization failure): nothing was written, try again.
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn refused(reason: &'static str, detail: impl Into<String>) -> Self {
        AppError::Refused {
            reason,
            detail: detail.into(),
        }
    }

    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::Refused { .. } => StatusCode::CONFLICT,
            AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::Duplicate(_) => StatusCode::CONFLICT,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not-found",
            AppError::Conflict(_) => "conflict",
            AppError::Refused { .. } => "refused",
            AppError::PreconditionRequired => "version-required",
            AppError::Duplicate(_) => "duplicate",
            AppError::Validation(_) => "validation",
            AppError::TooManyRequests { .. } => "rate-limited",
            AppError::PayloadTooLarge => "too-large",
            AppError::Busy => "busy",
            AppError::Unexpected(_) => "internal",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (title, detail, errors) = match self {
            AppError::BadRequest(d) => ("Bad request", Some(d.clone()), vec![]),
            AppError::Unauthorized => ("Authentication required", None, vec![]),
            AppError::Forbidden => (
                "Forbidden",
                Some("you are not allowed to do this".into()),
                vec![],
            ),
            AppError::NotFound => ("Not found", None, vec![]),
            AppError::Conflict(d) => ("Conflict", Some(d.clone()), vec![]),
            AppError::Refused { detail, .. } => ("Not allowed now", Some(detail.clone()), vec![]),
            AppError::Duplicate(_) => (
                "Possible duplicate",
                Some("records with the same name, phone or email exist; send force=true to create anyway".into()),
                vec![],
            ),
            AppError::PreconditionRequired => (
                "Version required",
                Some("send the version you read, as If-Match or \"version\" in the body".into()),
                vec![],
            ),
            AppError::Validation(errs) => {
                let n = errs.len();
                let detail = if n == 1 {
                    "1 field is invalid".to_owned()
                } else {
                    format!("{n} fields are invalid")
                };
                ("Invalid input", Some(detail), errs.clone())
            }
            AppError::TooManyRequests { detail, .. } => {
                ("Too many requests", Some(detail.clone()), vec![])
            }
            AppError::PayloadTooLarge => ("Payload too large", None, vec![]),
            AppError::Busy => (
                "Busy",
                Some("the database is busy with other changes; nothing was written, try again in a moment".into()),
                vec![],
            ),
            AppError::Unexpected(_) => (
                "Internal error",
                Some("an unexpected error occurred".into()),
                vec![],
            ),
        };
        Problem {
            kind: format!("https://kehu.dev/problems/{}", self.slug()),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
            request_id: None,
            reason: match self {
                AppError::Refused { reason, .. } => Some((*reason).to_owned()),
                _ => None,
            },
            matches: match self {
                AppError::Duplicate(m) => m.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// Field errors, when this is a validation error.
    pub fn field_errors(&self) -> Option<&[FieldError]> {
        match self {
            AppError::Validation(errs) => Some(errs),
            _ => None,
        }
    }
}

/// Seconds a client is told to wait (`Retry-After`) after a `503 busy`.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// What a database error means for the caller, by the database's own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// SQLite's lock or the pool could not be had in time; a PostgreSQL
    /// serialization failure, deadlock or lock timeout: retry later.
    Busy,
    /// A unique index refused the row: a concurrent change got there first.
    Unique,
    /// PostgreSQL refused a value as text (a NUL byte, bad encoding).
    BadText,
    Other,
}

/// Classifies a database error (SQLite extended result codes, PostgreSQL SQLSTATE).
pub fn db_failure(e: &sea_orm::DbErr) -> DbFailure {
    use sea_orm::{DbErr, RuntimeErr, SqlErr};
    if matches!(e, DbErr::ConnectionAcquire(_)) {
        return DbFailure::Busy;
    }
    if let Some(SqlErr::UniqueConstraintViolation(_)) = e.sql_err() {
        return DbFailure::Unique;
    }
    let (DbErr::Exec(RuntimeErr::SqlxError(inner))
    | DbErr::Query(RuntimeErr::SqlxError(inner))
    | DbErr::Conn(RuntimeErr::SqlxError(inner))) = e
    else {
        return DbFailure::Other;
    };
    match inner.as_ref() {
        sea_orm::sqlx::Error::PoolTimedOut => DbFailure::Busy,
        sea_orm::sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            if d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their extended codes.
                match code.parse::<i64>().map(|c| c & 0xff) {
                    Ok(5 | 6) => DbFailure::Busy,
                    _ => DbFailure::Other,
                }
            } else {
                match code.as_str() {
                    "40001" | "40P01" | "55P03" | "57014" => DbFailure::Busy,
                    "22021" | "22P05" => DbFailure::BadText,
                    _ => DbFailure::Other,
                }
            }
        }
        _ => DbFailure::Other,
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        match db_failure(&e) {
            DbFailure::Busy => {
                tracing::warn!(error = %e, "database busy");
                AppError::Busy
            }
            DbFailure::Unique => {
                // A store that expects a duplicate checks for it first: this is a race.
                tracing::warn!(error = %e, "unique index refused a write");
                AppError::Conflict(
                    "a record with the same key was saved at the same time; reload and try again"
                        .into(),
                )
            }
            DbFailure::BadText => {
                AppError::BadRequest("a value is not valid text (NUL bytes are refused)".into())
            }
            DbFailure::Other => AppError::Unexpected(anyhow::Error::new(e)),
        }
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Unexpected(e) = &self {
            tracing::error!(error = ?e, "unexpected error");
        }
        let status = self.status();
        let mut res = (status, Json(self.problem())).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        let retry_after = match &self {
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            AppError::Busy => Some(BUSY_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// Marker put on page responses that the web layer replaces with a full error page.
#[derive(Clone, Debug)]
pub struct ErrorPageMarker {
    pub detail: Option<String>,
}

/// The error type of HTML handlers.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let err = self.0;
        match err {
            AppError::Unauthorized => axum::response::Redirect::to("/login").into_response(),
            AppError::Unexpected(e) => {
                tracing::error!(error = ?e, "unexpected error");
                let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                res.extensions_mut()
                    .insert(ErrorPageMarker { detail: None });
                res
            }
            other => {
                let detail = match &other {
                    AppError::Conflict(d) | AppError::BadRequest(d) => Some(d.clone()),
                    AppError::TooManyRequests { detail, .. } => Some(detail.clone()),
                    _ => None,
                };
                let mut res = other.status().into_response();
                res.extensions_mut().insert(ErrorPageMarker { detail });
                res
            }
        }
    }
}

pub type PageResult<T> = Result<T, PageError>;
