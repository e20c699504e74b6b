//! Each user's private iCalendar feed (`/calendar/{token}.ics`): open tasks
//! and meetings and visits they logged, for Outlook, Apple and Google
//! calendars. The token in the address is the only credential; resetting it
//! makes a new address.

use crate::app::AppState;
use crate::entities::{activity, calendar_feed, task};
use crate::platform::error::{AppError, AppResult};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use icalendar::{Calendar, Component, Event, EventLike};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed))
}

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

fn utc(t: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), 0).unwrap_or_default()
}

/// The iCalendar text of a user's open tasks and logged meetings and visits.
pub async fn ics<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    name: &str,
    now: OffsetDateTime,
) -> AppResult<String> {
    let tasks = task::Entity::find()
        .filter(task::Column::AssigneeId.eq(user_id))
        .filter(task::Column::Status.eq("open"))
        .order_by_asc(task::Column::DueAt)
        .limit(500)
        .all(db)
        .await?;
    let meetings = activity::Entity::find()
        .filter(activity::Column::CreatedBy.eq(user_id))
        .filter(activity::Column::DeletedAt.is_null())
        .filter(activity::Column::Kind.is_in(["meeting", "visit"]))
        .filter(activity::Column::OccurredAt.gt(now - time::Duration::days(90)))
        .order_by_desc(activity::Column::OccurredAt)
        .limit(500)
        .all(db)
        .await?;
    let mut cal = Calendar::new();
    cal.name(&format!("Kehu · {name}"));
    for t in tasks {
        let mut e = Event::new();
        e.uid(&format!("task-{}@kehu", t.id))
            .summary(&t.title)
            .starts(utc(t.due_at))
            .ends(utc(t.due_at + time::Duration::minutes(30)))
            .timestamp(utc(t.updated_at));
        if let Some(n) = &t.notes {
            e.description(n);
        }
        cal.push(e.done());
    }
    for a in meetings {
        let minutes = i64::from(a.duration_minutes.unwrap_or(60).max(15));
        let mut e = Event::new();
        e.uid(&format!("activity-{}@kehu", a.id))
            .summary(
                a.subject
                    .as_deref()
                    .or(a.content.as_deref())
                    .unwrap_or(&a.kind),
            )
            .starts(utc(a.occurred_at))
            .ends(utc(a.occurred_at + time::Duration::minutes(minutes)))
            .timestamp(utc(a.updated_at));
        if let Some(l) = &a.location {
            e.location(l);
        }
        if let Some(c) = &a.content {
            e.description(c);
        }
        cal.push(e.done());
    }
    Ok(cal.done().to_string())
}

async fn feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let token = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    let f = calendar_feed::Entity::find()
        .filter(calendar_feed::Column::Token.eq(token))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let u = crate::users::store::get(&state.db, &f.user_id).await?;
    if !u.active {
        return Err(AppError::NotFound);
    }
    let body = ics(&state.db, &u.id, &u.name, state.clock.now()).await?;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    Ok(res)
}
