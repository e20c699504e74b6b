//! `/api/v1/pools` and the ownership actions on customers: claim, return,
//! lock, unlock, assign, and the ownership history.

use super::model::{
    AssignInput, Assignment, NewPool, OwnershipView, PoolCustomerView, PoolPatch, PoolView,
    ReturnInput,
};
use super::store;
use crate::customers::model::CustomerView;
use crate::platform::api::{ApiJson, created, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::{ListParams, Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pools, create_pool))
        .routes(routes!(get_pool, update_pool, delete_pool))
        .routes(routes!(pool_customers))
        .routes(routes!(claim_customer))
        .routes(routes!(return_customer))
        .routes(routes!(lock_customer))
        .routes(routes!(unlock_customer))
        .routes(routes!(assign_customers))
        .routes(routes!(customer_ownership))
}

/// Pools you may use (administrators: all).
#[utoipa::path(get, path = "/api/v1/pools", tag = "pools",
    responses((status = 200, body = Page<PoolView>)))]
async fn list_pools(State(state): State<AppState>, me: ApiUser) -> AppResult<Json<Page<PoolView>>> {
    Ok(Json(Page::whole(
        store::visible(&state.db, &me.user)
            .await?
            .into_iter()
            .map(PoolView::from)
            .collect(),
    )))
}

/// Create a pool (administrators).
#[utoipa::path(post, path = "/api/v1/pools", tag = "pools", request_body = NewPool,
    responses((status = 201, body = PoolView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_pool(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewPool>,
) -> AppResult<Response> {
    let m = store::create(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/pools/{}", m.id),
        PoolView::from(m),
    ))
}

/// One pool you may use.
#[utoipa::path(get, path = "/api/v1/pools/{id}", tag = "pools",
    responses((status = 200, body = PoolView), (status = 404, body = Problem)))]
async fn get_pool(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<PoolView>> {
    Ok(Json(store::get(&state.db, &me.user, &id).await?.into()))
}

/// Change a pool's name, teams or rules (administrators; send the version you read).
#[utoipa::path(patch, path = "/api/v1/pools/{id}", tag = "pools", request_body = PoolPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = PoolView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_pool(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<PoolPatch>,
) -> AppResult<Json<PoolView>> {
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

/// Delete an empty pool (administrators; not the default pool).
#[utoipa::path(delete, path = "/api/v1/pools/{id}", tag = "pools",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_pool(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    store::delete(&state.db, state.clock.now(), &me.actor(), &me.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The customers waiting in a pool. Fields the pool hides stay null until claimed.
/// Filters: kind, status, level, industry, size, region, source, tag, updated_at;
/// `q` searches names.
#[utoipa::path(get, path = "/api/v1/pools/{id}/customers", tag = "pools", params(ListParams),
    responses((status = 200, body = Page<PoolCustomerView>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn pool_customers(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<PoolCustomerView>>> {
    let p = pairs(q.as_deref())?;
    let req = crate::customers::store::POOL_LIST.parse(&p)?;
    Ok(Json(
        store::customers(&state.db, &state.caches, &me.user, &id, &req).await?,
    ))
}

/// Claim a customer from a pool. 409 with `reason`: `owned`, `taken` (someone was faster),
/// `cap`, `cooldown` or `daily_limit`.
#[utoipa::path(post, path = "/api/v1/customers/{id}/claim", tag = "pools",
    responses((status = 200, body = CustomerView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn claim_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<CustomerView>> {
    let m = store::claim(&state.db, state.clock.now(), &me.actor(), &me.user, &id).await?;
    Ok(Json(m.into()))
}

/// Give your customer back to its pool, with a reason.
#[utoipa::path(post, path = "/api/v1/customers/{id}/return", tag = "pools", request_body = ReturnInput,
    responses((status = 200, body = CustomerView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn return_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReturnInput>,
) -> AppResult<Json<CustomerView>> {
    let m = store::give_back(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        &input.reason,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Lock your customer against automatic return (up to the pool's number per rep).
#[utoipa::path(post, path = "/api/v1/customers/{id}/lock", tag = "pools",
    responses((status = 200, body = CustomerView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn lock_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<CustomerView>> {
    let m = store::set_locked(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        true,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Unlock your customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/unlock", tag = "pools",
    responses((status = 200, body = CustomerView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn unlock_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<CustomerView>> {
    let m = store::set_locked(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        false,
    )
    .await?;
    Ok(Json(m.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Assigned {
    pub data: Vec<Assignment>,
}

/// Give customers to a rep (managers and administrators): `owner_id`, or `strategy`
/// `round_robin` / `least_loaded` across the active sales reps of `team_id`. All or nothing;
/// 409 `cap` when the new owner(s) would pass the pool's cap.
#[utoipa::path(post, path = "/api/v1/customers/assign", tag = "pools", request_body = AssignInput,
    responses((status = 200, body = Assigned), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn assign_customers(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<AssignInput>,
) -> AppResult<Json<Assigned>> {
    let data = store::assign(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(Json(Assigned { data }))
}

/// Every change of a customer's owner, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/ownership", tag = "pools",
    responses((status = 200, body = Page<OwnershipView>), (status = 404, body = Problem)))]
async fn customer_ownership(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Page<OwnershipView>>> {
    crate::customers::store::get(&state.db, &me.user, &id).await?;
    Ok(Json(Page::whole(store::history(&state.db, &id).await?)))
}

/// The values and list parameters of pools, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use crate::customers::model::{KINDS, STATUSES};
    c.one_of(&["PoolCustomerView.kind"], KINDS);
    c.one_of(&["PoolCustomerView.status"], STATUSES);
    c.one_of(&["AssignInput.strategy"], super::store::STRATEGIES);
    c.one_of(&["OwnershipView.action"], super::model::ACTIONS);
    c.list(
        "/api/v1/pools/{id}/customers",
        &crate::customers::store::POOL_LIST,
    );
}
