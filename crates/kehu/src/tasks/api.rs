//! `/api/v1/tasks`.

use super::model::{NewTask, TaskPatch, TaskView};
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
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(my_day))
        .routes(routes!(get_task, update_task))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TaskFilters {
    /// `open`, `done` or `cancelled`.
    status: Option<String>,
    kind: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    customer_id: Option<String>,
    lead_id: Option<String>,
    due_at_from: Option<String>,
    due_at_to: Option<String>,
}

/// Tasks of the people you see (and the ones you made), soonest due first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListParams, TaskFilters),
    responses((status = 200, body = Page<TaskView>), (status = 422, body = Problem)))]
async fn list_tasks(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<TaskView>>> {
    let p = pairs(q.as_deref())?;
    let req = store::LIST.parse(&p)?;
    Ok(Json(
        store::list(&state.db, &me.user, &req, state.clock.now()).await?,
    ))
}

/// Create a task (for yourself, or for someone you see).
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = NewTask,
    responses((status = 201, body = TaskView), (status = 422, body = Problem)))]
async fn create_task(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewTask>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let m = store::create(&state.db, now, &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/tasks/{}", m.id),
        TaskView::new(m, now),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyDay {
    /// Your open tasks that are overdue or due within 24 hours, soonest first.
    pub mine: Vec<TaskView>,
    /// For managers: the overdue follow-ups of the people you see.
    pub team_overdue: Vec<TaskView>,
}

/// "My day": what is overdue or due within 24 hours.
#[utoipa::path(get, path = "/api/v1/tasks/my-day", tag = "tasks", responses((status = 200, body = MyDay)))]
async fn my_day(State(state): State<AppState>, me: ApiUser) -> AppResult<Json<MyDay>> {
    let now = state.clock.now();
    let (mine, team) = store::my_day(&state.db, &me.user, now).await?;
    Ok(Json(MyDay {
        mine: mine.into_iter().map(|t| TaskView::new(t, now)).collect(),
        team_overdue: team.into_iter().map(|t| TaskView::new(t, now)).collect(),
    }))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    responses((status = 200, body = TaskView), (status = 404, body = Problem)))]
async fn get_task(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<TaskView>> {
    Ok(Json(TaskView::new(
        store::get(&state.db, &me.user, &id).await?,
        state.clock.now(),
    )))
}

/// Change a task, e.g. `{"status": "done"}` (send the version you read).
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", request_body = TaskPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = TaskView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_task(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<TaskPatch>,
) -> AppResult<Json<TaskView>> {
    let expected = required_version(&headers, patch.version)?;
    let now = state.clock.now();
    let m = store::update(&state.db, now, &me.actor(), &me.user, &id, patch, expected).await?;
    Ok(Json(TaskView::new(m, now)))
}

/// The values and list parameters of tasks, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use super::model::{KINDS, PRIORITIES, STATUSES};
    c.one_of(&["NewTask.kind", "TaskPatch.kind", "TaskView.kind"], KINDS);
    c.one_of(
        &[
            "NewTask.priority",
            "TaskPatch.priority",
            "TaskView.priority",
        ],
        PRIORITIES,
    );
    c.one_of(&["TaskPatch.status", "TaskView.status"], STATUSES);
    c.list("/api/v1/tasks", &store::LIST);
}
