//! `/imports/{id}`: an import's progress (the page reloads itself every two
//! seconds while it runs, no script needed) and its outcome.

use super::store::{self, ImportView};
use crate::platform::error::PageResult;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, render};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/imports/{id}", get(show))
}

#[derive(askama::Template)]
#[template(path = "imports/show.html")]
struct ShowPage {
    ctx: PageCtx,
    r: ImportView,
    back: String,
}

async fn show(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let m = store::get(&state.db, &s.user, &id).await?;
    let r = store::view(&m, state.clock.now());
    let back = format!("/{}/import", r.kind);
    Ok(render(&ShowPage {
        ctx: s.ctx,
        r,
        back,
    })?)
}
