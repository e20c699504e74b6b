//! `/api/v1/teams`.

use super::model::{NewTeam, TeamPatch, TeamView};
use super::store;
use crate::platform::api::{ApiJson, created, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::{ListParams, Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, update_team))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TeamFilters {
    parent_id: Option<String>,
    manager_id: Option<String>,
}

/// List teams.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(ListParams, TeamFilters),
    responses((status = 200, body = Page<TeamView>), (status = 422, body = Problem)))]
async fn list_teams(
    State(state): State<AppState>,
    _me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<TeamView>>> {
    let req = store::LIST.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::list(&state.db, &req).await?))
}

/// Create a team (administrators only).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = NewTeam,
    responses((status = 201, body = TeamView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_team(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewTeam>,
) -> AppResult<Response> {
    me.user.require_admin()?;
    let t = store::create(&state.db, state.clock.now(), &me.actor(), input).await?;
    Ok(created(
        format!("/api/v1/teams/{}", t.id),
        TeamView::from(t),
    ))
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams",
    responses((status = 200, body = TeamView), (status = 404, body = Problem)))]
async fn get_team(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<TeamView>> {
    Ok(Json(store::get(&state.db, &id).await?.into()))
}

/// Change a team (administrators only). Moving a team under its own sub-team is refused.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", request_body = TeamPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = TeamView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_team(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> AppResult<Json<TeamView>> {
    me.user.require_admin()?;
    let expected = Some(required_version(&headers, patch.version)?);
    Ok(Json(
        store::update(
            &state.db,
            state.clock.now(),
            &me.actor(),
            &id,
            patch,
            expected,
        )
        .await?
        .into(),
    ))
}

/// The list parameters of teams, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.list("/api/v1/teams", &store::LIST);
}
