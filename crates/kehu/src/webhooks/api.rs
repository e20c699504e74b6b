//! `/api/v1/webhooks`, `/api/v1/settings/webhooks` (administrators).

use super::model::{
    DeliveryView, NewWebhook, WebhookPatch, WebhookSettings, WebhookView, WebhookWithSecret,
};
use super::store;
use crate::platform::api::{ApiJson, created, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::{ListParams, Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
        .routes(routes!(get_settings, put_settings))
}

/// Webhook subscriptions (administrators). Filters: `active`; sort by
/// `created_at` (default, newest first) or `url`.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", params(ListParams),
    responses((status = 200, body = Page<WebhookView>), (status = 403, body = Problem)))]
async fn list_webhooks(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<WebhookView>>> {
    me.user.require_admin()?;
    let req = store::LIST.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::list(&state.db, &req).await?))
}

/// Subscribe a URL to events. The answer carries the signing `secret`, once.
/// Deliveries are signed the Standard Webhooks way (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">`, the key being the base64-decoded part of the
/// secret after `whsec_`) and with `X-Kehu-Signature: sha256=<hex HMAC of the body>`.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_webhook(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewWebhook>,
) -> AppResult<Response> {
    me.user.require_admin()?;
    let w = store::create(&state.db, state.clock.now(), &me.actor(), input).await?;
    Ok(created(format!("/api/v1/webhooks/{}", w.webhook.id), w))
}

/// One subscription.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 200, body = WebhookView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_webhook(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<WebhookView>> {
    me.user.require_admin()?;
    Ok(Json(store::get(&state.db, &id).await?.into()))
}

/// Change a subscription (send the version you read). `active: true` turns
/// back on one the server turned off after a day of failures.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = WebhookView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_webhook(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> AppResult<Json<WebhookView>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, patch.version)?;
    let m = store::update(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &id,
        patch,
        expected,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Delete a subscription; its pending deliveries are dropped.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_webhook(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    me.user.require_admin()?;
    store::delete(&state.db, state.clock.now(), &me.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (answered once). For 24 hours deliveries are signed
/// with the old and the new secret, space-separated, so receivers can switch.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    responses((status = 200, body = WebhookWithSecret), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn rotate_secret(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<WebhookWithSecret>> {
    me.user.require_admin()?;
    Ok(Json(
        store::rotate_secret(&state.db, state.clock.now(), &me.actor(), &id).await?,
    ))
}

/// A subscription's deliveries, newest first: event, status (`pending`,
/// `succeeded`, `failed`), attempts, the last response code, duration and the
/// first 1 KB of its body, the next attempt. Filters: `status`, `event`.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(ListParams),
    responses((status = 200, body = Page<DeliveryView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_deliveries(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<DeliveryView>>> {
    me.user.require_admin()?;
    let req = store::DELIVERIES.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::deliveries(&state.db, &id, &req).await?))
}

/// Send a delivery again now (same `webhook-id`; the attempts start over).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    responses((status = 200, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn redeliver(
    State(state): State<AppState>,
    me: ApiUser,
    Path((id, delivery_id)): Path<(String, String)>,
) -> AppResult<Json<DeliveryView>> {
    me.user.require_admin()?;
    let d = store::redeliver(&state.db, state.clock.now(), &me.actor(), &id, &delivery_id).await?;
    Ok(Json(d.into()))
}

/// Whether webhooks may target `http://` and loopback or private addresses.
#[utoipa::path(get, path = "/api/v1/settings/webhooks", tag = "webhooks",
    responses((status = 200, body = WebhookSettings), (status = 403, body = Problem)))]
async fn get_settings(
    State(state): State<AppState>,
    me: ApiUser,
) -> AppResult<Json<WebhookSettings>> {
    me.user.require_admin()?;
    Ok(Json(store::settings(&state.db).await?))
}

/// Change the webhook settings (send the version you read).
#[utoipa::path(put, path = "/api/v1/settings/webhooks", tag = "webhooks", request_body = WebhookSettings,
    responses((status = 200, body = WebhookSettings), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn put_settings(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<WebhookSettings>,
) -> AppResult<Json<WebhookSettings>> {
    me.user.require_admin()?;
    Ok(Json(
        store::set_settings(&state.db, state.clock.now(), &me.actor(), input).await?,
    ))
}

/// The list parameters of webhooks, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.list("/api/v1/webhooks", &store::LIST);
    c.list("/api/v1/webhooks/{id}/deliveries", &store::DELIVERIES);
}
