//! `/api/v1/opportunities`.

use super::model::{History, MoveInput, NewOpportunity, OpportunityPatch, OpportunityView};
use super::store;
use crate::platform::api::{ApiJson, ApiJsonBytes, expected_version, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::idempotency::{self, Created};
use crate::platform::list::{ListParams, Page, flag, pairs, take};
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
        .routes(routes!(list_opportunities, create_opportunity))
        .routes(routes!(
            get_opportunity,
            update_opportunity,
            delete_opportunity
        ))
        .routes(routes!(move_opportunity))
        .routes(routes!(opportunity_history))
        .routes(routes!(restore_opportunity))
}

/// Filters of the deal list. Custom fields filter as `custom.<key>=value`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct Filters {
    /// `open`, `won` or `lost`.
    status: Option<String>,
    pipeline_id: Option<String>,
    stage_id: Option<String>,
    owner_id: Option<String>,
    /// The team's members' deals (with its sub-teams).
    team_id: Option<String>,
    customer_id: Option<String>,
    contact_id: Option<String>,
    grade: Option<String>,
    priority: Option<String>,
    source: Option<String>,
    currency: Option<String>,
    probability_from: Option<i32>,
    probability_to: Option<i32>,
    expected_close_date_from: Option<String>,
    expected_close_date_to: Option<String>,
    campaign_id: Option<String>,
    partner_id: Option<String>,
    won_at_from: Option<String>,
    won_at_to: Option<String>,
    closed_at_from: Option<String>,
    closed_at_to: Option<String>,
    created_at_from: Option<String>,
    created_at_to: Option<String>,
    /// `true`: the recycle bin.
    deleted: Option<bool>,
}

/// Deals you may see. `q` searches names; sort by `updated_at`, `created_at`,
/// `name`, `amount` or `probability`.
#[utoipa::path(get, path = "/api/v1/opportunities", tag = "opportunities", params(ListParams, Filters),
    responses((status = 200, body = Page<OpportunityView>), (status = 422, body = Problem)))]
async fn list_opportunities(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<OpportunityView>>> {
    let mut p = pairs(q.as_deref())?;
    let deleted = flag(take(&mut p, "deleted"), "deleted")?;
    let team = take(&mut p, "team_id");
    let req = store::LIST.parse(&p)?;
    Ok(Json(
        store::list(&state.db, &me.user, &req, deleted, team.as_deref()).await?,
    ))
}

/// Create a deal for a customer you see. It starts in `stage_id` (default: the
/// pipeline's first open stage) and takes the stage's probability unless you give
/// one. With `products` the amount is their sum. Send `Idempotency-Key` to make
/// retries safe.
#[utoipa::path(post, path = "/api/v1/opportunities", tag = "opportunities", request_body = NewOpportunity,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = OpportunityView), (status = 422, body = Problem)))]
async fn create_opportunity(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewOpportunity>,
) -> AppResult<Response> {
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create(&state.db, now, &me.actor(), &me.user, input).await?;
        Ok(Created {
            location: format!("/api/v1/opportunities/{}", m.id),
            body: serde_json::to_value(OpportunityView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

/// One deal.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "opportunities",
    responses((status = 200, body = OpportunityView), (status = 404, body = Problem)))]
async fn get_opportunity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<OpportunityView>> {
    Ok(Json(store::get(&state.db, &me.user, &id).await?.into()))
}

/// Change a deal (send the version you read). A new `stage_id` moves it (history,
/// required fields, rules), as `POST …/move` does.
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "opportunities", request_body = OpportunityPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = OpportunityView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_opportunity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<OpportunityPatch>,
) -> AppResult<Json<OpportunityView>> {
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

/// Move a deal to another stage of its pipeline. Entering a `lost` stage needs
/// `lost_reason`; a stage's required fields must be filled (422 otherwise). The
/// stage's automation rules run in the same transaction.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/move", tag = "opportunities", request_body = MoveInput,
    responses((status = 200, body = OpportunityView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn move_opportunity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MoveInput>,
) -> AppResult<Json<OpportunityView>> {
    let m = store::move_stage(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        input,
    )
    .await?;
    Ok(Json(m.into()))
}

/// A deal's stage changes (from, to, who, when) and the seconds it spent in each stage.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}/history", tag = "opportunities",
    responses((status = 200, body = History), (status = 404, body = Problem)))]
async fn opportunity_history(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<History>> {
    Ok(Json(
        store::history(&state.db, &me.user, &id, state.clock.now()).await?,
    ))
}

/// Move a deal to the recycle bin.
#[utoipa::path(delete, path = "/api/v1/opportunities/{id}", tag = "opportunities",
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_opportunity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let expected = expected_version(&headers, None)?;
    store::set_deleted(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        true,
        expected,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a deal back from the recycle bin.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/restore", tag = "opportunities",
    responses((status = 200, body = OpportunityView), (status = 404, body = Problem)))]
async fn restore_opportunity(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<OpportunityView>> {
    let m = store::set_deleted(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        false,
        None,
    )
    .await?;
    Ok(Json(m.into()))
}

/// The values and list parameters of deals, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use crate::pipelines::model::{GRADES, PRIORITIES};
    c.one_of(
        &[
            "NewOpportunity.grade",
            "OpportunityPatch.grade",
            "OpportunityView.grade",
        ],
        GRADES,
    );
    c.one_of(
        &[
            "NewOpportunity.priority",
            "OpportunityPatch.priority",
            "OpportunityView.priority",
        ],
        PRIORITIES,
    );
    c.one_of(&["OpportunityView.status"], super::model::STATUSES);
    c.list("/api/v1/opportunities", &store::LIST);
}
