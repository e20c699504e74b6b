//! `/api/v1/custom-fields`: read by everyone, changed by administrators.

use super::model::{CustomFieldPatch, CustomFieldView, NewCustomField};
use super::store;
use crate::platform::api::{ApiJson, created, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::Page;
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_fields, create_field))
        .routes(routes!(get_field, update_field))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FieldFilter {
    /// `customer` or `contact`.
    entity: Option<String>,
}

/// The custom field definitions (all of them; `active=false` ones are hidden in forms).
#[utoipa::path(get, path = "/api/v1/custom-fields", tag = "custom fields", params(FieldFilter),
    responses((status = 200, body = Page<CustomFieldView>)))]
async fn list_fields(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(f): Query<FieldFilter>,
) -> AppResult<Json<Page<CustomFieldView>>> {
    let rows = store::list(&state.db, f.entity.as_deref()).await?;
    let total = rows.len() as u64;
    Ok(Json(Page {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor: None,
        total: Some(total),
        total_is_estimate: false,
    }))
}

/// Define a custom field (administrators only).
#[utoipa::path(post, path = "/api/v1/custom-fields", tag = "custom fields", request_body = NewCustomField,
    responses((status = 201, body = CustomFieldView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_field(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewCustomField>,
) -> AppResult<Response> {
    me.user.require_admin()?;
    let m = store::create(&state.db, state.clock.now(), &me.actor(), input).await?;
    Ok(created(
        format!("/api/v1/custom-fields/{}", m.id),
        CustomFieldView::from(m),
    ))
}

/// One custom field definition.
#[utoipa::path(get, path = "/api/v1/custom-fields/{id}", tag = "custom fields",
    responses((status = 200, body = CustomFieldView), (status = 404, body = Problem)))]
async fn get_field(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<CustomFieldView>> {
    Ok(Json(store::get(&state.db, &id).await?.into()))
}

/// Change a custom field's labels, options, order, required flag or active state (administrators only).
#[utoipa::path(patch, path = "/api/v1/custom-fields/{id}", tag = "custom fields", request_body = CustomFieldPatch,
    responses((status = 200, body = CustomFieldView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_field(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<CustomFieldPatch>,
) -> AppResult<Json<CustomFieldView>> {
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

/// The values of custom field definitions, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(
        &["NewCustomField.entity", "CustomFieldView.entity"],
        super::model::ENTITIES,
    );
}
