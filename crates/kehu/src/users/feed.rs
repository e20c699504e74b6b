//! Each user's calendar feed address (`/calendar/{token}.ics`, served by
//! `tasks::calendar`): the token in it is the only credential, made on first
//! use; resetting it makes a new address.

use crate::entities::calendar_feed;
use crate::platform::error::{AppError, AppResult};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

fn new_token() -> String {
    crate::platform::auth::random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect()
}

/// The user's feed token, made on first use.
pub async fn token(
    db: &DatabaseConnection,
    user_id: &str,
    now: OffsetDateTime,
) -> AppResult<String> {
    if let Some(f) = calendar_feed::Entity::find_by_id(user_id.to_owned())
        .one(db)
        .await?
    {
        return Ok(f.token);
    }
    let t = new_token();
    let inserted = calendar_feed::Entity::insert(calendar_feed::ActiveModel {
        user_id: Set(user_id.to_owned()),
        token: Set(t.clone()),
        created_at: Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(calendar_feed::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 0 {
        // Another request made it first.
        return calendar_feed::Entity::find_by_id(user_id.to_owned())
            .one(db)
            .await?
            .map(|f| f.token)
            .ok_or(AppError::NotFound);
    }
    Ok(t)
}

/// Replaces the user's feed token (the old address stops working).
pub async fn reset(
    db: &DatabaseConnection,
    user_id: &str,
    now: OffsetDateTime,
) -> AppResult<String> {
    let t = new_token();
    let r = calendar_feed::Entity::update_many()
        .col_expr(
            calendar_feed::Column::Token,
            sea_orm::sea_query::Expr::value(t.clone()),
        )
        .col_expr(
            calendar_feed::Column::CreatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(calendar_feed::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return token(db, user_id, now).await;
    }
    Ok(t)
}

/// The feed's address as people reach this server.
pub fn url(base: &str, token: &str) -> String {
    format!("{base}/calendar/{token}.ics")
}
