//! The inbox page: your notifications, newest first; opening one marks it read.

use super::store;
use crate::platform::error::PageResult;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render, safe_next};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox))
        .route("/inbox/read-all", post(read_all))
        .route("/inbox/{id}/open", post(open))
}

struct Item {
    id: String,
    text: String,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications/inbox.html")]
struct InboxPage {
    ctx: PageCtx,
    items: Vec<Item>,
}

async fn inbox(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let rows = store::list(&state.db, &s.user.id, false, 200).await?;
    let items = rows
        .into_iter()
        .map(|m| {
            let v = store::view(s.ctx.lang, m);
            Item {
                at: s.ctx.time(&v.created_at),
                unread: v.read_at.is_none(),
                id: v.id,
                text: v.text,
            }
        })
        .collect();
    Ok(render(&InboxPage { ctx: s.ctx, items })?)
}

async fn read_all(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    store::mark_all_read(&state.db, state.clock.now(), &s.user.id).await?;
    Ok(redirect_with_flash(&state, "/inbox", "all_read"))
}

/// Marks a notification read and follows its link.
async fn open(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let m = store::mark_read(&state.db, state.clock.now(), &s.user.id, &id).await?;
    let to = safe_next(m.link.as_deref().or(Some("/inbox")));
    Ok(Redirect::to(&to).into_response())
}
