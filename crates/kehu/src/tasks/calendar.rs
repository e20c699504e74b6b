//! Each user's private iCalendar feed (`/calendar/{token}.ics`): open tasks
//! and meetings and visits they logged, for Outlook, Apple and Google
//! calendars. The token in the address is the only credential; resetting it
//! makes a new address.

use crate::entities::{activity, calendar_feed, task};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use icalendar::{Calendar, Component, Event, EventLike};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use time::OffsetDateTime;

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar/{file}", get(feed))
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
