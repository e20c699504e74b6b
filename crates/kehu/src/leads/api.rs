//! `/api/v1/leads` and `/api/v1/lead-forms`.

use super::model::{
    BulkInput, ConvertInput, Converted, LeadFormPatch, LeadFormView, LeadPatch, LeadView, NewLead,
    NewLeadForm,
};
use super::store;
use crate::platform::api::{ApiJson, ApiJsonBytes, created, expected_version, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::idempotency::{self, Created};
use crate::platform::list::{ListParams, Page, flag, pairs, take};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(bulk_leads))
        .routes(routes!(get_lead, update_lead, delete_lead))
        .routes(routes!(restore_lead))
        .routes(routes!(convert_lead))
        .routes(routes!(list_forms, create_form))
        .routes(routes!(get_form, update_form))
}

/// Filters of the lead list. Custom fields filter as `custom.<key>=value`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct LeadFilters {
    /// `new`, `contacting`, `qualified`, `unqualified` or `converted`.
    status: Option<String>,
    source: Option<String>,
    owner_id: Option<String>,
    company: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    tag: Option<String>,
    score_from: Option<i32>,
    score_to: Option<i32>,
    form_id: Option<String>,
    campaign_id: Option<String>,
    partner_id: Option<String>,
    created_at_from: Option<String>,
    created_at_to: Option<String>,
    /// `true`: the recycle bin.
    deleted: Option<bool>,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ForceParam {
    /// `true`: save even if the lead looks like an existing lead or customer.
    force: Option<bool>,
}

fn force_of(q: Option<&str>) -> AppResult<bool> {
    let mut p = pairs(q)?;
    flag(take(&mut p, "force"), "force")
}

/// Leads you may see (managers and administrators also see unassigned ones).
/// `q` searches names, companies, phones, emails and WeChat ids.
#[utoipa::path(get, path = "/api/v1/leads", tag = "leads", params(ListParams, LeadFilters),
    responses((status = 200, body = Page<LeadView>), (status = 422, body = Problem)))]
async fn list_leads(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<LeadView>>> {
    let mut p = pairs(q.as_deref())?;
    let deleted = flag(take(&mut p, "deleted"), "deleted")?;
    let req = store::LIST.parse(&p)?;
    Ok(Json(store::list(&state.db, &me.user, &req, deleted).await?))
}

/// Create a lead. Look-alike leads or customers (same phone, email or company) answer 409
/// with `matches`, unless `force=true`. Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads", request_body = NewLead, params(ForceParam,
        ("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = LeadView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_lead(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewLead>,
) -> AppResult<Response> {
    let force = force_of(q.as_deref())?;
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create(&state.db, now, &me.actor(), &me.user, input, force).await?;
        Ok(Created {
            location: format!("/api/v1/leads/{}", m.id),
            body: serde_json::to_value(LeadView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// How many leads changed.
    pub updated: u64,
}

/// Change the status (`disqualify_reason` for `unqualified`) or the owner (managers and
/// administrators) of many leads at once; all or nothing.
#[utoipa::path(post, path = "/api/v1/leads/bulk", tag = "leads", request_body = BulkInput,
    responses((status = 200, body = BulkResult), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn bulk_leads(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<BulkInput>,
) -> AppResult<Json<BulkResult>> {
    let updated = store::bulk(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(Json(BulkResult { updated }))
}

/// One lead.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads",
    responses((status = 200, body = LeadView), (status = 404, body = Problem)))]
async fn get_lead(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<LeadView>> {
    Ok(Json(store::get(&state.db, &me.user, &id).await?.into()))
}

/// Change a lead (send the version you read).
#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads", request_body = LeadPatch, params(ForceParam,
        ("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = LeadView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_lead(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<LeadPatch>,
) -> AppResult<Json<LeadView>> {
    let force = force_of(q.as_deref())?;
    let expected = required_version(&headers, patch.version)?;
    let m = store::update(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        patch,
        expected,
        force,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Move a lead to the recycle bin.
#[utoipa::path(delete, path = "/api/v1/leads/{id}", tag = "leads",
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_lead(
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

/// Bring a lead back from the recycle bin.
#[utoipa::path(post, path = "/api/v1/leads/{id}/restore", tag = "leads",
    responses((status = 200, body = LeadView), (status = 404, body = Problem)))]
async fn restore_lead(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<LeadView>> {
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

/// Convert a lead into a customer and a contact (or a contact of `customer_id`). A new
/// customer that looks like an existing one answers 409 with `matches` unless `force`;
/// converting twice answers 409 `converted`.
#[utoipa::path(post, path = "/api/v1/leads/{id}/convert", tag = "leads", request_body = ConvertInput,
    responses((status = 200, body = Converted), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn convert_lead(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConvertInput>,
) -> AppResult<Json<Converted>> {
    Ok(Json(
        store::convert(
            &state.db,
            state.clock.now(),
            &me.actor(),
            &me.user,
            &id,
            input,
        )
        .await?,
    ))
}

/// The web-to-lead forms (administrators).
#[utoipa::path(get, path = "/api/v1/lead-forms", tag = "leads",
    responses((status = 200, body = Page<LeadFormView>), (status = 403, body = Problem)))]
async fn list_forms(
    State(state): State<AppState>,
    me: ApiUser,
) -> AppResult<Json<Page<LeadFormView>>> {
    me.user.require_admin()?;
    Ok(Json(Page::whole(
        store::forms(&state.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    )))
}

/// Create a web-to-lead form (administrators); it is served at `/f/{form_key}`.
#[utoipa::path(post, path = "/api/v1/lead-forms", tag = "leads", request_body = NewLeadForm,
    responses((status = 201, body = LeadFormView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_form(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewLeadForm>,
) -> AppResult<Response> {
    let m = store::create_form(&state.db, state.clock.now(), &me.actor(), &me.user, input).await?;
    Ok(created(
        format!("/api/v1/lead-forms/{}", m.id),
        LeadFormView::from(m),
    ))
}

/// One web-to-lead form (administrators).
#[utoipa::path(get, path = "/api/v1/lead-forms/{id}", tag = "leads",
    responses((status = 200, body = LeadFormView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_form(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<LeadFormView>> {
    me.user.require_admin()?;
    store::forms(&state.db)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .map(|f| Json(f.into()))
        .ok_or(crate::platform::error::AppError::NotFound)
}

/// Change a web-to-lead form, e.g. `{"active": false}` to close it (administrators).
#[utoipa::path(patch, path = "/api/v1/lead-forms/{id}", tag = "leads", request_body = LeadFormPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = LeadFormView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_form(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<LeadFormPatch>,
) -> AppResult<Json<LeadFormView>> {
    let expected = required_version(&headers, patch.version)?;
    let m = store::update_form(
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

/// The values and list parameters of leads, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(
        &[
            "NewLead.status",
            "LeadPatch.status",
            "LeadView.status",
            "BulkInput.status",
        ],
        super::model::STATUSES,
    );
    c.list("/api/v1/leads", &store::LIST);
}
