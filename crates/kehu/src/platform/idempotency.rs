//! `Idempotency-Key` for `POST`: a retry with the same key and body gets the
//! first answer again and creates nothing twice; the same key with another
//! body is refused. The key is claimed before the create runs, so a retry that
//! arrives while the first request is still running is refused (409
//! `in_progress`) instead of creating a second record.

use crate::entities::idempotency_key;
use crate::platform::auth::sha256_hex;
use crate::platform::error::{AppError, AppResult};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

pub const HEADER: &str = "idempotency-key";
/// The status of a key whose first request is still running.
const IN_PROGRESS: i32 = 0;

/// The answer of a create: status, `Location`, JSON body.
pub struct Created {
    pub location: String,
    pub body: serde_json::Value,
}

fn respond(status: StatusCode, location: Option<&str>, body: String, replayed: bool) -> Response {
    let mut res = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        res.headers_mut().insert(header::LOCATION, l);
    }
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// Runs `create` once per `(user, Idempotency-Key)`; without the header it just runs it.
pub async fn once<F, Fut>(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    user_id: &str,
    headers: &HeaderMap,
    request: &[u8],
    create: F,
) -> AppResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<Created>>,
{
    let key = match headers.get(HEADER) {
        None => None,
        Some(v) => {
            let k = v.to_str().unwrap_or("").trim().to_owned();
            if k.is_empty() || k.len() > 200 {
                return Err(AppError::field(
                    "Idempotency-Key",
                    "invalid",
                    "must be 1 to 200 visible characters",
                ));
            }
            Some(k)
        }
    };
    let Some(key) = key else {
        let c = create().await?;
        return Ok(respond(
            StatusCode::CREATED,
            Some(&c.location),
            c.body.to_string(),
            false,
        ));
    };
    let hash = sha256_hex(&String::from_utf8_lossy(request));
    // Claim the key first (status 0 while the create runs): of two requests
    // with the same key at the same time, one creates and the other is told so.
    let claim = idempotency_key::ActiveModel {
        user_id: Set(user_id.to_owned()),
        key: Set(key.clone()),
        request_hash: Set(hash.clone()),
        status: Set(IN_PROGRESS),
        location: Set(None),
        body: Set(String::new()),
        created_at: Set(now),
    };
    if let Err(e) = idempotency_key::Entity::insert(claim).exec(db).await {
        if !matches!(
            e.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            return Err(e.into());
        }
        let prev = idempotency_key::Entity::find_by_id((user_id.to_owned(), key.clone()))
            .one(db)
            .await?
            .ok_or_else(|| {
                AppError::refused("in_progress", "a request with this key is still running")
            })?;
        if prev.request_hash != hash {
            return Err(AppError::field(
                "Idempotency-Key",
                "reused",
                "was already used for a different request",
            ));
        }
        if prev.status == IN_PROGRESS {
            return Err(AppError::refused(
                "in_progress",
                "a request with this key is still running; retry in a moment",
            ));
        }
        let status = StatusCode::from_u16(prev.status as u16).unwrap_or(StatusCode::CREATED);
        return Ok(respond(status, prev.location.as_deref(), prev.body, true));
    }
    let c = match create().await {
        Ok(c) => c,
        Err(e) => {
            // Nothing was created: the key may be used again.
            idempotency_key::Entity::delete_by_id((user_id.to_owned(), key))
                .exec(db)
                .await?;
            return Err(e);
        }
    };
    let body = c.body.to_string();
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            Expr::value(i32::from(StatusCode::CREATED.as_u16())),
        )
        .col_expr(
            idempotency_key::Column::Location,
            Expr::value(c.location.clone()),
        )
        .col_expr(idempotency_key::Column::Body, Expr::value(body.clone()))
        .filter(idempotency_key::Column::UserId.eq(user_id))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(respond(StatusCode::CREATED, Some(&c.location), body, false))
}

/// Forgets keys older than `before` (run by the daily jobs).
pub async fn purge(db: &DatabaseConnection, before: OffsetDateTime) -> AppResult<u64> {
    let r = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}
