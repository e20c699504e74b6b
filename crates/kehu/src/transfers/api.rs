//! `/api/v1/transfers`: requests to move customers, and their approval.

use super::model::{Decision, NewTransfer, STATUSES, TransferView};
use super::store;
use crate::platform::api::{ApiJson, created};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::list::Page;
use crate::platform::list::{pairs, take};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_transfers, create_transfer))
        .routes(routes!(get_transfer))
        .routes(routes!(approve_transfer))
        .routes(routes!(reject_transfer))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TransferFilters {
    /// `pending`, `approved` or `rejected`.
    status: Option<String>,
}

/// Transfer requests you may see (yours, to you, your team's; administrators: all), newest first.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "transfers", params(TransferFilters),
    responses((status = 200, body = Page<TransferView>), (status = 422, body = Problem)))]
async fn list_transfers(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<TransferView>>> {
    let mut p = pairs(q.as_deref())?;
    let status = take(&mut p, "status");
    if let Some(s) = &status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(AppError::field(
            "status",
            "not_an_option",
            "must be pending, approved or rejected",
        ));
    }
    if let Some((k, _)) = p.first() {
        return Err(AppError::field(
            k,
            "unknown_field",
            "is not a filter of this list",
        ));
    }
    Ok(Json(Page::whole(
        store::list(&state.db, &me.user, status.as_deref())
            .await?
            .into_iter()
            .map(TransferView::from)
            .collect(),
    )))
}

/// Ask to move customers you see to another user; the manager of your team decides.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "transfers", request_body = NewTransfer,
    responses((status = 201, body = TransferView), (status = 422, body = Problem)))]
async fn create_transfer(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewTransfer>,
) -> AppResult<Response> {
    let m = store::create(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/transfers/{}", m.id),
        TransferView::from(m),
    ))
}

/// One transfer request.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", tag = "transfers",
    responses((status = 200, body = TransferView), (status = 404, body = Problem)))]
async fn get_transfer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<TransferView>> {
    Ok(Json(store::get(&state.db, &me.user, &id).await?.into()))
}

/// Approve a pending request: every customer moves, or none (409 `owner_changed` when one
/// changed owner since the request; 409 `decided` when it was decided already).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/approve", tag = "transfers", request_body = Decision,
    responses((status = 200, body = TransferView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn approve_transfer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<Json<TransferView>> {
    let m = store::decide(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        true,
        d.comment,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Reject a pending request.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/reject", tag = "transfers", request_body = Decision,
    responses((status = 200, body = TransferView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn reject_transfer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(d): ApiJson<Decision>,
) -> AppResult<Json<TransferView>> {
    let m = store::decide(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        false,
        d.comment,
    )
    .await?;
    Ok(Json(m.into()))
}

/// The values of transfers, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(&["TransferView.status"], super::model::STATUSES);
}
