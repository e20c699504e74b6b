//! `/api/v1/customers`: lists, create (duplicate check, Idempotency-Key), read,
//! change, recycle bin, timeline.

use super::model::{CustomerPatch, CustomerView, NewCustomer};
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
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(restore_customer))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(import_customers))
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::imports::store::MAX_FILE_BYTES + 64 * 1024,
                )),
        )
}

/// Filters of the customer list. Custom fields filter as `custom.<key>=value`
/// (`custom.<key>_from` / `_to` for numbers and dates).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct CustomerFilters {
    kind: Option<String>,
    status: Option<String>,
    level: Option<String>,
    industry: Option<String>,
    size: Option<String>,
    region: Option<String>,
    source: Option<String>,
    email: Option<String>,
    /// Exact name (use `q` to search).
    name: Option<String>,
    /// Exact phone as stored (use `q` to find any 4+ digits).
    phone: Option<String>,
    website: Option<String>,
    address: Option<String>,
    /// Customers carrying this tag.
    tag: Option<String>,
    owner_id: Option<String>,
    created_by: Option<String>,
    birthday_from: Option<String>,
    birthday_to: Option<String>,
    created_at_from: Option<String>,
    created_at_to: Option<String>,
    updated_at_from: Option<String>,
    updated_at_to: Option<String>,
    /// `true`: the recycle bin instead of the live list.
    deleted: Option<bool>,
    /// `true`: only customers that need a follow-up (no activity for longer than their
    /// level's interval).
    follow_up_due: Option<bool>,
}

/// Duplicate handling on create and change.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ForceParam {
    /// `true`: create or save even if the record looks like an existing one.
    force: Option<bool>,
}

fn force_of(q: Option<&str>) -> AppResult<bool> {
    let mut p = pairs(q)?;
    flag(take(&mut p, "force"), "force")
}

/// List customers you may see. `q` searches names, phones (any 4+ digits) and emails,
/// the customer's and its contacts'.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(ListParams, CustomerFilters),
    responses((status = 200, body = Page<CustomerView>), (status = 422, body = Problem)))]
async fn list_customers(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<CustomerView>>> {
    let mut p = pairs(q.as_deref())?;
    let deleted = flag(take(&mut p, "deleted"), "deleted")?;
    let due = flag(take(&mut p, "follow_up_due"), "follow_up_due")?;
    let req = store::LIST.parse(&p)?;
    Ok(Json(
        store::list(
            &state.db,
            &state.caches,
            &me.user,
            &req,
            deleted,
            due,
            state.clock.now(),
        )
        .await?,
    ))
}

/// Create a customer. Possible duplicates (same normalised name, phone or email) answer 409
/// with `matches`, unless `force=true`. Send `Idempotency-Key` to make retries safe.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomer, params(ForceParam,
        ("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = CustomerView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_customer(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewCustomer>,
) -> AppResult<Response> {
    let force = force_of(q.as_deref())?;
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create(&state.db, now, &me.actor(), &me.user, input, force).await?;
        Ok(Created {
            location: format!("/api/v1/customers/{}", m.id),
            body: serde_json::to_value(CustomerView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    responses((status = 200, body = CustomerView), (status = 404, body = Problem)))]
async fn get_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<CustomerView>> {
    let days = crate::settings::store::follow_up_days_cached(&state.caches, &state.db).await?;
    Ok(Json(store::view_at(
        store::get(&state.db, &me.user, &id).await?,
        &days,
        state.clock.now(),
    )))
}

/// Change a customer (send the version you read). A new name, phone or email is checked for duplicates.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerPatch, params(ForceParam,
        ("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = CustomerView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<CustomerPatch>,
) -> AppResult<Json<CustomerView>> {
    let force = force_of(q.as_deref())?;
    let expected = Some(required_version(&headers, patch.version)?);
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

/// Move a customer (and its contacts) to the recycle bin.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_customer(
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

/// Bring a customer back from the recycle bin (its owner or an administrator).
#[utoipa::path(post, path = "/api/v1/customers/{id}/restore", tag = "customers",
    responses((status = 200, body = CustomerView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn restore_customer(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<CustomerView>> {
    Ok(Json(
        store::restore(&state.db, state.clock.now(), &me.actor(), &me.user, &id)
            .await?
            .into(),
    ))
}

/// Import customers from a CSV (UTF-8, UTF-16 with a byte-order mark, or
/// GBK/GB18030: `encoding` says which was read) or Excel file (multipart
/// field `file`, up to 200 MB and 1,000,000 rows); the first row names the columns (`name`/名称,
/// `phone`/电话, `email`/邮箱, `industry`/行业, `region`/区域, `level`/级别,
/// `status`/状态, `tags`/标签, …). You own what you import. A file that cannot be
/// read, lacks a name column or names an unknown one is a 422 at once; otherwise
/// the import runs in the background (202, `Location` of the import to poll):
/// rows go in batches, a row with a field error fails alone (listed, and in the
/// error file), look-alikes of existing customers (or of earlier rows) are skipped
/// unless `on_duplicate=create`; `dry_run=true` reports without writing.
#[utoipa::path(post, path = "/api/v1/customers/import", tag = "customers",
    params(("dry_run" = Option<bool>, Query, description = "report only"),
        ("on_duplicate" = Option<String>, Query, description = "`skip` (default) or `create`")),
    request_body(content_type = "multipart/form-data", description = "a `file` field"),
    responses((status = 202, body = crate::imports::store::ImportView, description = "started; poll `Location`"),
        (status = 401, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn import_customers(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
    form: axum::extract::Multipart,
) -> AppResult<Response> {
    let mut p = pairs(q.as_deref())?;
    let dry_run = flag(take(&mut p, "dry_run"), "dry_run")?;
    let create = match take(&mut p, "on_duplicate").as_deref() {
        None | Some("skip") => false,
        Some("create") => true,
        Some(_) => {
            return Err(crate::platform::error::AppError::field(
                "on_duplicate",
                "not_an_option",
                "must be skip or create",
            ));
        }
    };
    let (name, data, _) = super::import::read_upload(form).await?;
    let table = super::import::read_table(&name, &data)?;
    let m = super::import::start(
        &state.db,
        &state.clock,
        &me.actor(),
        &me.user,
        &name,
        table,
        create,
        dry_run,
    )
    .await?;
    let location = format!("/api/v1/imports/{}", m.id);
    let mut res =
        crate::platform::api::created(location, crate::imports::store::view(&m, state.clock.now()));
    *res.status_mut() = StatusCode::ACCEPTED;
    Ok(res)
}

/// The values and list parameters of customers, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use super::model::{KINDS, STATUSES};
    c.one_of(
        &[
            "NewCustomer.kind",
            "CustomerPatch.kind",
            "CustomerView.kind",
        ],
        KINDS,
    );
    c.one_of(
        &[
            "NewCustomer.status",
            "CustomerPatch.status",
            "CustomerView.status",
        ],
        STATUSES,
    );
    c.list("/api/v1/customers", &store::LIST);
}
