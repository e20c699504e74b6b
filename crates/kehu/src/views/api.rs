//! `/api/v1/views`: your saved list views.

use super::store;
use crate::entities::saved_view;
use crate::platform::api::{ApiJson, created};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::Page;
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_views, save_view))
        .routes(routes!(delete_view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewView {
    pub id: String,
    /// `customer` or `contact`.
    pub entity: String,
    pub name: String,
    /// The list's query string, e.g. `owner_id=…&level=A&region=华东`.
    pub query: String,
}

impl From<saved_view::Model> for ViewView {
    fn from(m: saved_view::Model) -> Self {
        ViewView {
            id: m.id,
            entity: m.entity,
            name: m.name,
            query: m.query,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EntityParam {
    entity: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewView {
    pub entity: String,
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    pub query: String,
}

/// Your saved views of a list.
#[utoipa::path(get, path = "/api/v1/views", tag = "views", params(EntityParam), responses((status = 200, body = Page<ViewView>)))]
async fn list_views(
    State(state): State<AppState>,
    me: ApiUser,
    Query(p): Query<EntityParam>,
) -> AppResult<Json<Page<ViewView>>> {
    let rows = store::list(&state.db, &me.user.id, &p.entity).await?;
    let total = rows.len() as u64;
    Ok(Json(Page {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor: None,
        total: Some(total),
        total_is_estimate: false,
    }))
}

/// Save a view (a view with the same name is replaced).
#[utoipa::path(post, path = "/api/v1/views", tag = "views", request_body = NewView,
    responses((status = 201, body = ViewView), (status = 422, body = Problem)))]
async fn save_view(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(v): ApiJson<NewView>,
) -> AppResult<Response> {
    let m = store::save(
        &state.db,
        state.clock.now(),
        &me.user.id,
        &v.entity,
        &v.name,
        &v.query,
    )
    .await?;
    Ok(created(
        format!("/api/v1/views/{}", m.id),
        ViewView::from(m),
    ))
}

/// Delete one of your views.
#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "views", responses((status = 204), (status = 404, body = Problem)))]
async fn delete_view(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    store::delete(&state.db, &me.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The values of saved views, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(
        &["NewView.entity", "ViewView.entity"],
        super::store::ENTITIES,
    );
}
