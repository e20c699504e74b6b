//! `/api/v1/notifications`: your inbox.

use super::store::{self, NotificationView};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::i18n::Lang;
use crate::platform::list::{flag, pairs, take};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(read_all_notifications))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct InboxParams {
    /// `true`: unread ones only.
    unread: Option<bool>,
    /// At most this many, newest first (default 50, at most 500).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    pub data: Vec<NotificationView>,
    /// Always null: the inbox answers the newest `limit` (older ones are not paged).
    pub next_cursor: Option<String>,
    /// How many there are in all (unread only with `unread=true`).
    pub total: u64,
    /// How many are unread in all.
    pub unread: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Marked {
    /// How many were unread before.
    pub marked: u64,
}

pub fn lang_of(me: &ApiUser) -> Lang {
    me.user
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::En)
}

/// Your notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(InboxParams),
    responses((status = 200, body = Inbox), (status = 400, body = Problem)))]
async fn list_notifications(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Inbox>> {
    let mut p = pairs(q.as_deref())?;
    let unread = flag(take(&mut p, "unread"), "unread")?;
    let limit = match take(&mut p, "limit") {
        None => 50,
        Some(l) => match l.parse::<u64>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                return Err(AppError::field(
                    "limit",
                    "out_of_range",
                    "must be a whole number from 1 to 500",
                ));
            }
        },
    };
    if let Some((k, _)) = p.first() {
        return Err(AppError::field(
            k,
            "unknown_field",
            "is not a filter of this list",
        ));
    }
    let rows = store::list(&state.db, &me.user.id, unread, limit).await?;
    let lang = lang_of(&me);
    let unread_count = store::unread_count(&state.db, &me.user.id).await?;
    Ok(Json(Inbox {
        data: rows.into_iter().map(|m| store::view(lang, m)).collect(),
        next_cursor: None,
        total: if unread {
            unread_count
        } else {
            store::count(&state.db, &me.user.id).await?
        },
        unread: unread_count,
    }))
}

/// Mark one of your notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    responses((status = 204), (status = 404, body = Problem)))]
async fn read_notification(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    store::mark_read(&state.db, state.clock.now(), &me.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark all your notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses((status = 200, body = Marked)))]
async fn read_all_notifications(
    State(state): State<AppState>,
    me: ApiUser,
) -> AppResult<Json<Marked>> {
    let marked = store::mark_all_read(&state.db, state.clock.now(), &me.user.id).await?;
    Ok(Json(Marked { marked }))
}
