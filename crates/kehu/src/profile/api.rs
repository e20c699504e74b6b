//! `GET /api/v1/customers/{id}/timeline`.

use super::timeline::{self, TimelineItem};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::Page;
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(customer_timeline))
}

/// Everything that happened to a customer, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers",
    responses((status = 200, body = Page<TimelineItem>), (status = 404, body = Problem)))]
async fn customer_timeline(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Page<TimelineItem>>> {
    crate::customers::store::get(&state.db, &me.user, &id).await?;
    Ok(Json(Page::whole(
        timeline::for_customer(&state.db, &me.user, &id).await?,
    )))
}
