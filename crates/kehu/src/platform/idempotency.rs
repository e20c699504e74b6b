//! `Idempotency-Key` for `POST`: a retry with the same key and body gets the
//! first answer again and creates nothing twice; the same key with another
//! body is refused.

use crate::entities::idempotency_key;
use crate::platform::auth::sha256_hex;
use crate::platform::error::{AppError, AppResult};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use time::OffsetDateTime;

pub const HEADER: &str = "idempotency-key";

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
    if let Some(prev) = idempotency_key::Entity::find_by_id((user_id.to_owned(), key.clone()))
        .one(db)
        .await?
    {
        if prev.request_hash != hash {
            return Err(AppError::field(
                "Idempotency-Key",
                "reused",
                "was already used for a different request",
            ));
        }
        let status = StatusCode::from_u16(prev.status as u16).unwrap_or(StatusCode::CREATED);
        return Ok(respond(status, prev.location.as_deref(), prev.body, true));
    }
    let c = create().await?;
    let body = c.body.to_string();
    // A concurrent retry may have stored the key first; the first answer stands.
    let _ = idempotency_key::ActiveModel {
        user_id: Set(user_id.to_owned()),
        key: Set(key),
        request_hash: Set(hash),
        status: Set(StatusCode::CREATED.as_u16() as i32),
        location: Set(Some(c.location.clone())),
        body: Set(body.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await;
    Ok(respond(StatusCode::CREATED, Some(&c.location), body, false))
}

/// Forgets keys older than `before` (run by the daily jobs).
pub async fn purge(db: &DatabaseConnection, before: OffsetDateTime) -> AppResult<u64> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let r = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}
