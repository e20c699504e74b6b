//! `/api/v1/pipelines` and `/api/v1/automation-rules`.

use super::model::{NewPipeline, NewRule, PipelinePatch, PipelineView, RulePatch, RuleView};
use super::store;
use crate::platform::api::{ApiJson, created, required_version};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::list::Page;
use crate::platform::list::{pairs, take};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pipelines, create_pipeline))
        .routes(routes!(get_pipeline, update_pipeline, delete_pipeline))
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, update_rule, delete_rule))
}

/// Every pipeline with its stages in order (the default first).
#[utoipa::path(get, path = "/api/v1/pipelines", tag = "opportunities",
    responses((status = 200, body = Page<PipelineView>)))]
async fn list_pipelines(
    State(state): State<AppState>,
    _me: ApiUser,
) -> AppResult<Json<Page<PipelineView>>> {
    Ok(Json(Page::whole(store::all(&state.db).await?)))
}

/// Create a pipeline (administrators). Without `stages` it copies the default pipeline's.
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "opportunities", request_body = NewPipeline,
    responses((status = 201, body = PipelineView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_pipeline(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewPipeline>,
) -> AppResult<Response> {
    let p = store::create(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(format!("/api/v1/pipelines/{}", p.id), p))
}

/// One pipeline with its stages.
#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "opportunities",
    responses((status = 200, body = PipelineView), (status = 404, body = Problem)))]
async fn get_pipeline(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<PipelineView>> {
    Ok(Json(store::get(&state.db, &id).await?))
}

/// Change a pipeline (administrators). `stages`, when sent, is the whole new list in
/// order: send a stage's `id` to keep it; a stage left out is removed (409
/// `stage_in_use` while deals sit in it).
#[utoipa::path(patch, path = "/api/v1/pipelines/{id}", tag = "opportunities", request_body = PipelinePatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = PipelineView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_pipeline(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<PipelinePatch>,
) -> AppResult<Json<PipelineView>> {
    let expected = required_version(&headers, patch.version)?;
    Ok(Json(
        store::update(
            &state.db,
            state.clock.now(),
            &me.actor(),
            &me.user,
            &id,
            patch,
            expected,
        )
        .await?,
    ))
}

/// Remove a pipeline that no deal uses (administrators; never the default).
#[utoipa::path(delete, path = "/api/v1/pipelines/{id}", tag = "opportunities",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_pipeline(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    store::delete(&state.db, state.clock.now(), &me.actor(), &me.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct RuleFilters {
    pipeline_id: Option<String>,
}

/// The automation rules (administrators), in the order they run.
#[utoipa::path(get, path = "/api/v1/automation-rules", tag = "opportunities", params(RuleFilters),
    responses((status = 200, body = Page<RuleView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_rules(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<RuleView>>> {
    me.user.require_admin()?;
    let mut p = pairs(q.as_deref())?;
    let pipeline = take(&mut p, "pipeline_id");
    if let Some((k, _)) = p.first() {
        return Err(AppError::field(k, "unknown_field", "is not a filter here"));
    }
    Ok(Json(Page::whole(
        store::rules(&state.db, pipeline.as_deref())
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    )))
}

/// Add a rule (administrators): when a deal enters `stage_id` (and `condition`
/// holds), `create_task`, `notify`, `set_field` or `contract_draft`. Rules run in
/// the transaction of the stage change: all of them happen, or the move fails.
#[utoipa::path(post, path = "/api/v1/automation-rules", tag = "opportunities", request_body = NewRule,
    responses((status = 201, body = RuleView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_rule(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewRule>,
) -> AppResult<Response> {
    let m = store::create_rule(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/automation-rules/{}", m.id),
        RuleView::from(m),
    ))
}

/// One rule (administrators).
#[utoipa::path(get, path = "/api/v1/automation-rules/{id}", tag = "opportunities",
    responses((status = 200, body = RuleView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_rule(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<RuleView>> {
    me.user.require_admin()?;
    store::rules(&state.db, None)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .map(|r| Json(r.into()))
        .ok_or(AppError::NotFound)
}

/// Change a rule, e.g. `{"active": false}` (administrators).
#[utoipa::path(patch, path = "/api/v1/automation-rules/{id}", tag = "opportunities", request_body = RulePatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = RuleView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_rule(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<RulePatch>,
) -> AppResult<Json<RuleView>> {
    let expected = required_version(&headers, patch.version)?;
    let m = store::update_rule(
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

/// Remove a rule (administrators).
#[utoipa::path(delete, path = "/api/v1/automation-rules/{id}", tag = "opportunities",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_rule(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    store::delete_rule(&state.db, state.clock.now(), &me.actor(), &me.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The values of stages and automation rules, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use super::model::{ACTIONS, CONDITION_FIELDS, CONDITION_OPS, STAGE_KINDS};
    c.one_of(&["StageInput.kind", "StageView.kind"], STAGE_KINDS);
    c.one_of(
        &["NewRule.action", "RulePatch.action", "RuleView.action"],
        ACTIONS,
    );
    c.one_of(&["RuleCondition.field"], CONDITION_FIELDS);
    c.one_of(&["RuleCondition.op"], CONDITION_OPS);
}
