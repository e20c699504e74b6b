//! `/api/v1/activities`.

use super::model::{ActivityPatch, ActivityView, NewActivity};
use super::store;
use crate::platform::api::{ApiJson, created, expected_version, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::{ListParams, Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use crate::tasks::model::TaskView;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_activities, create_activity))
        .routes(routes!(get_activity, update_activity, delete_activity))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ActivityFilters {
    kind: Option<String>,
    customer_id: Option<String>,
    contact_id: Option<String>,
    lead_id: Option<String>,
    created_by: Option<String>,
    result: Option<String>,
    occurred_at_from: Option<String>,
    occurred_at_to: Option<String>,
}

/// Activities on the customers and leads you see (and your own), newest first.
#[utoipa::path(get, path = "/api/v1/activities", tag = "activities", params(ListParams, ActivityFilters),
    responses((status = 200, body = Page<ActivityView>), (status = 422, body = Problem)))]
async fn list_activities(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<ActivityView>>> {
    let p = pairs(q.as_deref())?;
    let req = store::LIST.parse(&p)?;
    Ok(Json(store::list(&state.db, &me.user, &req).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Logged {
    #[serde(flatten)]
    pub activity: ActivityView,
    /// The follow-up task made from `next_follow_up_at`.
    pub follow_up: Option<TaskView>,
}

/// Log an activity on a customer, contact or lead you see. It moves the customer's
/// `last_activity_at`; `next_follow_up_at` (in the future) makes your follow-up task.
#[utoipa::path(post, path = "/api/v1/activities", tag = "activities", request_body = NewActivity,
    responses((status = 201, body = Logged), (status = 422, body = Problem)))]
async fn create_activity(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewActivity>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let (a, t) = store::create(&state.db, now, &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/activities/{}", a.id),
        Logged {
            activity: a.into(),
            follow_up: t.map(|t| TaskView::new(t, now)),
        },
    ))
}

/// One activity.
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities",
    responses((status = 200, body = ActivityView), (status = 404, body = Problem)))]
async fn get_activity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ActivityView>> {
    Ok(Json(store::get(&state.db, &me.user, &id).await?.into()))
}

/// Change an activity (send the version you read).
#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "activities", request_body = ActivityPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = ActivityView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_activity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<ActivityPatch>,
) -> AppResult<Json<ActivityView>> {
    let expected = required_version(&headers, patch.version)?;
    let m = store::update(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        patch,
        expected,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Delete an activity.
#[utoipa::path(delete, path = "/api/v1/activities/{id}", tag = "activities",
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_activity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let expected = expected_version(&headers, None)?;
    store::delete(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        expected,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The values and list parameters of activities, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(
        &[
            "NewActivity.kind",
            "ActivityPatch.kind",
            "ActivityView.kind",
        ],
        super::model::KINDS,
    );
    c.list("/api/v1/activities", &store::LIST);
}
