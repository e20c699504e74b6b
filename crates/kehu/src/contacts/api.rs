//! `/api/v1/contacts` and `/api/v1/customers/{id}/contacts`.

use super::model::{ContactPatch, ContactView, NewContact};
use super::store;
use crate::platform::api::{ApiJson, created, expected_version, required_version};
use crate::platform::error::{AppResult, Problem};
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
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact, delete_contact))
        .routes(routes!(restore_contact))
        .routes(routes!(list_customer_contacts, create_customer_contact))
}

/// Filters of the contact list (custom fields: `custom.<key>=value`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ContactFilters {
    customer_id: Option<String>,
    role: Option<String>,
    is_primary: Option<bool>,
    email: Option<String>,
    department: Option<String>,
    name: Option<String>,
    title: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    wechat: Option<String>,
    birthday_from: Option<String>,
    birthday_to: Option<String>,
    /// `true`: the recycle bin.
    deleted: Option<bool>,
}

/// List contacts of the customers you may see. `q` searches names, phones, emails and WeChat ids.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", params(ListParams, ContactFilters),
    responses((status = 200, body = Page<ContactView>), (status = 422, body = Problem)))]
async fn list_contacts(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<ContactView>>> {
    let mut p = pairs(q.as_deref())?;
    let deleted = flag(take(&mut p, "deleted"), "deleted")?;
    let req = store::LIST.parse(&p)?;
    Ok(Json(store::list(&state.db, &me.user, &req, deleted).await?))
}

/// Create a contact for a customer you may see.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", request_body = NewContact,
    responses((status = 201, body = ContactView), (status = 422, body = Problem)))]
async fn create_contact(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewContact>,
) -> AppResult<Response> {
    let m = store::create(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/contacts/{}", m.id),
        ContactView::from(m),
    ))
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts",
    responses((status = 200, body = ContactView), (status = 404, body = Problem)))]
async fn get_contact(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ContactView>> {
    Ok(Json(store::get(&state.db, &me.user, &id).await?.into()))
}

/// Change a contact (send the version you read).
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", request_body = ContactPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = ContactView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_contact(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<ContactPatch>,
) -> AppResult<Json<ContactView>> {
    let expected = Some(required_version(&headers, patch.version)?);
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
        .await?
        .into(),
    ))
}

/// Move a contact to the recycle bin.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts",
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_contact(
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

/// Bring a contact back from the recycle bin.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/restore", tag = "contacts",
    responses((status = 200, body = ContactView), (status = 404, body = Problem)))]
async fn restore_contact(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ContactView>> {
    Ok(Json(
        store::restore(&state.db, state.clock.now(), &me.actor(), &me.user, &id)
            .await?
            .into(),
    ))
}

/// The contacts of a customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "contacts",
    responses((status = 200, body = Page<ContactView>), (status = 404, body = Problem)))]
async fn list_customer_contacts(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Page<ContactView>>> {
    crate::customers::store::get(&state.db, &me.user, &id).await?;
    let rows = store::of_customer(&state.db, &id).await?;
    let total = rows.len() as u64;
    Ok(Json(Page {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor: None,
        total: Some(total),
        total_is_estimate: false,
    }))
}

/// Add a contact to a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "contacts", request_body = NewContact,
    responses((status = 201, body = ContactView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create_customer_contact(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(mut input): ApiJson<NewContact>,
) -> AppResult<Response> {
    crate::customers::store::get(&state.db, &me.user, &id).await?;
    input.customer_id = Some(id);
    let m = store::create(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/contacts/{}", m.id),
        ContactView::from(m),
    ))
}

/// The values and list parameters of contacts, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(
        &["NewContact.role", "ContactPatch.role", "ContactView.role"],
        super::model::ROLES,
    );
    c.list("/api/v1/contacts", &store::LIST);
}
