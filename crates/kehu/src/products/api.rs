//! `/api/v1/products`.

use super::model::{NewProduct, ProductPatch, ProductView};
use super::{EDITORS, store};
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
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct Filters {
    sku: Option<String>,
    category: Option<String>,
    currency: Option<String>,
    active: Option<bool>,
}

/// The product catalogue. `q` searches name and SKU; sort by `name`, `sku`,
/// `price` or `updated_at`.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ListParams, Filters),
    responses((status = 200, body = Page<ProductView>), (status = 422, body = Problem)))]
async fn list_products(
    State(state): State<AppState>,
    _me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<ProductView>>> {
    let p = pairs(q.as_deref())?;
    let req = store::LIST.parse(&p)?;
    Ok(Json(store::list(&state.db, &req).await?))
}

/// Add a product (administrators and finance). The SKU must be unique.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = NewProduct,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = ProductView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_product(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewProduct>,
) -> AppResult<Response> {
    me.user.require_role(EDITORS)?;
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create(&state.db, now, &me.actor(), input).await?;
        Ok(Created {
            location: format!("/api/v1/products/{}", m.id),
            body: serde_json::to_value(ProductView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products",
    responses((status = 200, body = ProductView), (status = 404, body = Problem)))]
async fn get_product(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ProductView>> {
    Ok(Json(store::get(&state.db, &id).await?.into()))
}

/// Change a product (administrators and finance; send the version you read).
/// Set `active: false` to take it out of new line items; lines that have it keep it.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", request_body = ProductPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = ProductView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_product(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> AppResult<Json<ProductView>> {
    me.user.require_role(EDITORS)?;
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

/// The list parameters of products, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.list("/api/v1/products", &store::LIST);
}
