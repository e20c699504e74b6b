//! `/api/v1/quotes`, `/api/v1/orders`, `/api/v1/customers/{id}/purchases`.

use super::model::{
    NewOrder, NewQuote, OrderStatusInput, OrderView, PurchaseSummary, QuoteAction, QuotePatch,
    QuoteView,
};
use super::store;
use crate::platform::api::{ApiJson, ApiJsonBytes, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::idempotency::{self, Created};
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
        .routes(routes!(list_quotes, create_quote))
        .routes(routes!(get_quote, update_quote))
        .routes(routes!(send_quote))
        .routes(routes!(accept_quote))
        .routes(routes!(reject_quote))
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order))
        .routes(routes!(order_status))
        .routes(routes!(customer_purchases))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct QuoteFilters {
    /// `draft`, `sent`, `accepted`, `rejected`, `expired`.
    status: Option<String>,
    customer_id: Option<String>,
    opportunity_id: Option<String>,
    owner_id: Option<String>,
    valid_until_from: Option<String>,
    valid_until_to: Option<String>,
}

/// Quotes you may see. `q` searches number and title; sort by `updated_at`,
/// `created_at`, `number`, `total`.
#[utoipa::path(get, path = "/api/v1/quotes", tag = "quotes", params(ListParams, QuoteFilters),
    responses((status = 200, body = Page<QuoteView>), (status = 422, body = Problem)))]
async fn list_quotes(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<QuoteView>>> {
    let req = store::QUOTE_LIST.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::list_quotes(&state.db, &me.user, &req).await?))
}

/// Create a draft quote (`Q-<year>-000001`) for a customer or a deal you see:
/// lines (catalogue products or free lines), a discount and tax on the whole;
/// the totals are computed here. A deal's quote starts from the deal's lines.
#[utoipa::path(post, path = "/api/v1/quotes", tag = "quotes", request_body = NewQuote,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = QuoteView), (status = 422, body = Problem)))]
async fn create_quote(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewQuote>,
) -> AppResult<Response> {
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create_quote(&state.db, now, &me.actor(), &me.user, input).await?;
        Ok(Created {
            location: format!("/api/v1/quotes/{}", m.id),
            body: serde_json::to_value(QuoteView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

/// One quote.
#[utoipa::path(get, path = "/api/v1/quotes/{id}", tag = "quotes",
    responses((status = 200, body = QuoteView), (status = 404, body = Problem)))]
async fn get_quote(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<QuoteView>> {
    Ok(Json(
        store::get_quote(&state.db, &me.user, &id).await?.into(),
    ))
}

/// Change a draft quote (send the version you read); a sent one is 409 `quote_sent`.
#[utoipa::path(patch, path = "/api/v1/quotes/{id}", tag = "quotes", request_body = QuotePatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = QuoteView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_quote(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<QuotePatch>,
) -> AppResult<Json<QuoteView>> {
    let expected = required_version(&headers, patch.version)?;
    let m = store::update_quote(
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

/// Mark a draft quote as sent to the customer.
#[utoipa::path(post, path = "/api/v1/quotes/{id}/send", tag = "quotes", request_body = QuoteAction,
    responses((status = 200, body = QuoteView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn send_quote(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<QuoteAction>,
) -> AppResult<Json<QuoteView>> {
    let m = store::send_quote(
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

/// A quote accepted and the order it made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub quote: QuoteView,
    pub order: OrderView,
}

/// The customer accepted a sent quote: its order is made with the same lines
/// and totals. Past `valid_until` it is 409 `quote_expired`.
#[utoipa::path(post, path = "/api/v1/quotes/{id}/accept", tag = "quotes", request_body = QuoteAction,
    responses((status = 200, body = Accepted), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn accept_quote(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<QuoteAction>,
) -> AppResult<Json<Accepted>> {
    let (q, o) = store::accept_quote(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        input,
    )
    .await?;
    Ok(Json(Accepted {
        quote: q.into(),
        order: o.into(),
    }))
}

/// The customer turned a sent quote down (`reason` required).
#[utoipa::path(post, path = "/api/v1/quotes/{id}/reject", tag = "quotes", request_body = QuoteAction,
    responses((status = 200, body = QuoteView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn reject_quote(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<QuoteAction>,
) -> AppResult<Json<QuoteView>> {
    let m = store::reject_quote(
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

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct OrderFilters {
    /// `confirmed`, `fulfilled`, `cancelled`.
    status: Option<String>,
    customer_id: Option<String>,
    quote_id: Option<String>,
    opportunity_id: Option<String>,
    owner_id: Option<String>,
    order_date_from: Option<String>,
    order_date_to: Option<String>,
}

/// Orders you may see (a customer's purchase history with `customer_id`).
/// Sort by `order_date` (default, newest first), `created_at`, `number`, `total`.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(ListParams, OrderFilters),
    responses((status = 200, body = Page<OrderView>), (status = 422, body = Problem)))]
async fn list_orders(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<OrderView>>> {
    let req = store::ORDER_LIST.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::list_orders(&state.db, &me.user, &req).await?))
}

/// Record an order (confirmed) for a customer you see; totals are computed here.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = NewOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = OrderView), (status = 422, body = Problem)))]
async fn create_order(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewOrder>,
) -> AppResult<Response> {
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create_order(&state.db, now, &me.actor(), &me.user, input).await?;
        Ok(Created {
            location: format!("/api/v1/orders/{}", m.id),
            body: serde_json::to_value(OrderView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

/// One order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
async fn get_order(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<OrderView>> {
    Ok(Json(
        store::get_order(&state.db, &me.user, &id).await?.into(),
    ))
}

/// Mark a confirmed order `fulfilled` or `cancelled`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/status", tag = "orders", request_body = OrderStatusInput,
    responses((status = 200, body = OrderView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn order_status(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OrderStatusInput>,
) -> AppResult<Json<OrderView>> {
    let m = store::set_order_status(
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

/// What a customer you see bought: orders (not cancelled), totals per
/// currency, first and last order date.
#[utoipa::path(get, path = "/api/v1/customers/{id}/purchases", tag = "orders",
    responses((status = 200, body = PurchaseSummary), (status = 404, body = Problem)))]
async fn customer_purchases(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<PurchaseSummary>> {
    crate::customers::store::get(&state.db, &me.user, &id).await?;
    Ok(Json(store::purchases(&state.db, &me.user, &id).await?))
}

/// The values and list parameters of quotes and orders, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use super::model::{ORDER_MOVES, ORDER_STATUSES, QUOTE_STATUSES};
    c.one_of(&["QuoteView.status"], QUOTE_STATUSES);
    c.one_of(&["OrderView.status"], ORDER_STATUSES);
    c.one_of(&["OrderStatusInput.status"], ORDER_MOVES);
    c.list("/api/v1/quotes", &store::QUOTE_LIST);
    c.list("/api/v1/orders", &store::ORDER_LIST);
}
