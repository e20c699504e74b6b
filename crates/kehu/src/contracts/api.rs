//! `/api/v1/contracts`, `/api/v1/payments`, `/api/v1/invoices`,
//! `/api/v1/receivables`, `/api/v1/settings/contracts`.

use super::model::{
    ApprovalView, ContractPatch, ContractSettings, ContractView, DecisionInput, InvoiceView,
    NewContract, NewInvoice, NewPayment, PaymentView, PlanInput, PlanView, Receivables,
    SubmitInput,
};
use super::receivables::ReceivableFilter;
use super::store::FINANCE;
use super::{payments, receivables, store};
use crate::platform::api::{ApiJson, ApiJsonBytes, required_version};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::idempotency::{self, Created};
use crate::platform::list::{ListParams, Page, pairs, take};
use crate::platform::money;
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contracts, create_contract))
        .routes(routes!(get_contract, update_contract))
        .routes(routes!(submit_contract))
        .routes(routes!(approve_contract))
        .routes(routes!(reject_contract))
        .routes(routes!(terminate_contract))
        .routes(routes!(contract_approvals))
        .routes(routes!(get_plan, set_plan))
        .routes(routes!(list_payments, record_payment))
        .routes(routes!(get_payment))
        .routes(routes!(confirm_payment))
        .routes(routes!(reject_payment))
        .routes(routes!(list_invoices, create_invoice))
        .routes(routes!(get_invoice))
        .routes(routes!(void_invoice))
        .routes(routes!(get_receivables))
        .routes(routes!(get_contract_settings, put_contract_settings))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct Filters {
    /// `draft`, `pending_approval`, `active`, `expired`, `terminated`.
    status: Option<String>,
    customer_id: Option<String>,
    owner_id: Option<String>,
    /// The team's members' contracts (with its sub-teams).
    team_id: Option<String>,
    opportunity_id: Option<String>,
    /// Contracts waiting for this approver.
    approver_id: Option<String>,
    currency: Option<String>,
    sign_date_from: Option<String>,
    sign_date_to: Option<String>,
    end_date_from: Option<String>,
    end_date_to: Option<String>,
}

/// Contracts you may see, with what was received and invoiced. `q` searches
/// number and title; sort by `updated_at`, `created_at`, `number`, `amount`, `end_date`.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts", params(ListParams, Filters),
    responses((status = 200, body = Page<ContractView>), (status = 422, body = Problem)))]
async fn list_contracts(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<ContractView>>> {
    let mut p = pairs(q.as_deref())?;
    let team = take(&mut p, "team_id");
    let req = store::LIST.parse(&p)?;
    Ok(Json(
        store::list(&state.db, &me.user, &req, team.as_deref()).await?,
    ))
}

/// Create a draft contract for a customer you see (numbered `HT-<year>-000001`).
/// With `products` the amount is their sum. Won deals get their draft by the
/// won stage's rule.
#[utoipa::path(post, path = "/api/v1/contracts", tag = "contracts", request_body = NewContract,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = ContractView), (status = 422, body = Problem)))]
async fn create_contract(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewContract>,
) -> AppResult<Response> {
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = store::create(&state.db, now, &me.actor(), &me.user, input).await?;
        let v = store::view(&state.db, m).await?;
        Ok(Created {
            location: format!("/api/v1/contracts/{}", v.id),
            body: serde_json::to_value(v).unwrap_or_default(),
        })
    })
    .await
}

/// One contract with `planned`, `received`, `pending_payments`, `invoiced` and `outstanding`.
#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts",
    responses((status = 200, body = ContractView), (status = 404, body = Problem)))]
async fn get_contract(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ContractView>> {
    let m = store::get(&state.db, &me.user, &id).await?;
    Ok(Json(store::view(&state.db, m).await?))
}

/// Change a contract (send the version you read). The amount and products change
/// only while it is a draft (409 `approval_required` after: submit the new amount).
#[utoipa::path(patch, path = "/api/v1/contracts/{id}", tag = "contracts", request_body = ContractPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = ContractView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_contract(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<ContractPatch>,
) -> AppResult<Json<ContractView>> {
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
    Ok(Json(store::view(&state.db, m).await?))
}

/// Submit a draft for approval, or an active contract's new `amount`. From the
/// approval threshold (`/api/v1/settings/contracts`) it waits for the owner's
/// manager (or finance); below it, it takes effect at once.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/submit", tag = "contracts", request_body = SubmitInput,
    responses((status = 200, body = ContractView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn submit_contract(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SubmitInput>,
) -> AppResult<Json<ContractView>> {
    let m = store::submit(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        input,
    )
    .await?;
    Ok(Json(store::view(&state.db, m).await?))
}

async fn decide(
    state: &AppState,
    me: &ApiUser,
    id: &str,
    approve: bool,
    input: DecisionInput,
) -> AppResult<Json<ContractView>> {
    let m = store::decide(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        id,
        approve,
        input,
    )
    .await?;
    Ok(Json(store::view(&state.db, m).await?))
}

/// Approve a contract waiting for approval (its approver, finance or an administrator).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/approve", tag = "contracts", request_body = DecisionInput,
    responses((status = 200, body = ContractView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn approve_contract(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> AppResult<Json<ContractView>> {
    decide(&state, &me, &id, true, input).await
}

/// Reject a contract waiting for approval (`comment` required): a draft goes back
/// to draft, an amount change is dropped.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/reject", tag = "contracts", request_body = DecisionInput,
    responses((status = 200, body = ContractView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject_contract(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> AppResult<Json<ContractView>> {
    decide(&state, &me, &id, false, input).await
}

/// End a contract early (`comment` is the reason, required).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/terminate", tag = "contracts", request_body = DecisionInput,
    responses((status = 200, body = ContractView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn terminate_contract(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> AppResult<Json<ContractView>> {
    let m = store::terminate(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        input,
    )
    .await?;
    Ok(Json(store::view(&state.db, m).await?))
}

/// A contract's approval steps, oldest first.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/approvals", tag = "contracts",
    responses((status = 200, body = Page<ApprovalView>), (status = 404, body = Problem)))]
async fn contract_approvals(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Page<ApprovalView>>> {
    Ok(Json(Page::whole(
        store::approvals(&state.db, &me.user, &id).await?,
    )))
}

/// A contract's payment plan: installments with what was paid on each and their status.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/payment_plans", tag = "contracts",
    responses((status = 200, body = PlanView), (status = 404, body = Problem)))]
async fn get_plan(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<PlanView>> {
    Ok(Json(
        store::plan(&state.db, &me.user, &id, state.clock.now().date()).await?,
    ))
}

/// Set the payment plan: `{"installments": [{"due_date", "amount"}…]}` replaces it.
/// The installments may not add up to more than the contract; keep an
/// installment that has payments by sending its `id`.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/payment_plans", tag = "contracts", request_body = PlanInput,
    responses((status = 200, body = PlanView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn set_plan(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PlanInput>,
) -> AppResult<Json<PlanView>> {
    Ok(Json(
        store::set_plan(
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

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PaymentFilters {
    contract_id: Option<String>,
    /// `pending`, `confirmed`, `rejected`.
    status: Option<String>,
    method: Option<String>,
    currency: Option<String>,
    received_on_from: Option<String>,
    received_on_to: Option<String>,
}

/// Payments on contracts you see. `q` searches the reference; sort by
/// `created_at`, `received_on` or `amount`.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", params(ListParams, PaymentFilters),
    responses((status = 200, body = Page<PaymentView>), (status = 422, body = Problem)))]
async fn list_payments(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<PaymentView>>> {
    let p = pairs(q.as_deref())?;
    let req = payments::PAYMENT_LIST.parse(&p)?;
    Ok(Json(
        payments::list_payments(&state.db, &me.user, &req).await?,
    ))
}

/// Record a payment received (pending until finance confirms it). The
/// `Idempotency-Key` header is required: a retried request never records money
/// twice. The amount may not exceed what is still owed on the contract.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments", request_body = NewPayment,
    params(("Idempotency-Key" = String, Header, description = "required; a retry with the same key returns the first result")),
    responses((status = 201, body = PaymentView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn record_payment(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewPayment>,
) -> AppResult<Response> {
    if !headers.contains_key(idempotency::HEADER) {
        return Err(AppError::field(
            "Idempotency-Key",
            "required",
            "send an Idempotency-Key header so that a retry cannot record the payment twice",
        ));
    }
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = payments::record(&state.db, now, &me.actor(), &me.user, input).await?;
        let v = payments::payment_view(&state.db, m).await?;
        Ok(Created {
            location: format!("/api/v1/payments/{}", v.id),
            body: serde_json::to_value(v).unwrap_or_default(),
        })
    })
    .await
}

/// One payment.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments",
    responses((status = 200, body = PaymentView), (status = 404, body = Problem)))]
async fn get_payment(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<PaymentView>> {
    let m = payments::get_payment(&state.db, &me.user, &id).await?;
    Ok(Json(payments::payment_view(&state.db, m).await?))
}

/// A decision on a payment.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentDecision {
    /// Required to reject.
    pub reason: Option<String>,
    pub version: Option<i64>,
}

async fn decide_payment(
    state: &AppState,
    me: &ApiUser,
    id: &str,
    confirm: bool,
    input: PaymentDecision,
) -> AppResult<Json<PaymentView>> {
    let m = payments::decide(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        id,
        confirm,
        input.reason,
        input.version,
    )
    .await?;
    Ok(Json(payments::payment_view(&state.db, m).await?))
}

/// Confirm a pending payment (finance or an administrator); a second confirmation is 409.
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "payments", request_body = PaymentDecision,
    responses((status = 200, body = PaymentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn confirm_payment(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PaymentDecision>,
) -> AppResult<Json<PaymentView>> {
    decide_payment(&state, &me, &id, true, input).await
}

/// Reject a pending payment (finance or an administrator; `reason` required).
#[utoipa::path(post, path = "/api/v1/payments/{id}/reject", tag = "payments", request_body = PaymentDecision,
    responses((status = 200, body = PaymentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject_payment(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PaymentDecision>,
) -> AppResult<Json<PaymentView>> {
    decide_payment(&state, &me, &id, false, input).await
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct InvoiceFilters {
    contract_id: Option<String>,
    /// `issued` or `voided`.
    status: Option<String>,
    kind: Option<String>,
    issued_on_from: Option<String>,
    issued_on_to: Option<String>,
}

/// Invoices on contracts you see. `q` searches number and buyer.
#[utoipa::path(get, path = "/api/v1/invoices", tag = "invoices", params(ListParams, InvoiceFilters),
    responses((status = 200, body = Page<InvoiceView>), (status = 422, body = Problem)))]
async fn list_invoices(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<InvoiceView>>> {
    let p = pairs(q.as_deref())?;
    let req = payments::INVOICE_LIST.parse(&p)?;
    Ok(Json(
        payments::list_invoices(&state.db, &me.user, &req).await?,
    ))
}

/// Record an invoice issued against a contract; the invoiced total may not
/// exceed the contract amount.
#[utoipa::path(post, path = "/api/v1/invoices", tag = "invoices", request_body = NewInvoice,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first result")),
    responses((status = 201, body = InvoiceView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_invoice(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJsonBytes(input, raw): ApiJsonBytes<NewInvoice>,
) -> AppResult<Response> {
    let now = state.clock.now();
    idempotency::once(&state.db, now, &me.user.id, &headers, &raw, || async {
        let m = payments::create_invoice(&state.db, now, &me.actor(), &me.user, input).await?;
        Ok(Created {
            location: format!("/api/v1/invoices/{}", m.id),
            body: serde_json::to_value(InvoiceView::from(m)).unwrap_or_default(),
        })
    })
    .await
}

/// One invoice.
#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "invoices",
    responses((status = 200, body = InvoiceView), (status = 404, body = Problem)))]
async fn get_invoice(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<InvoiceView>> {
    Ok(Json(
        payments::get_invoice(&state.db, &me.user, &id)
            .await?
            .into(),
    ))
}

/// Void an issued invoice (`reason` required); voiding twice is 409.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/void", tag = "invoices", request_body = PaymentDecision,
    responses((status = 200, body = InvoiceView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn void_invoice(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PaymentDecision>,
) -> AppResult<Json<InvoiceView>> {
    let m = payments::void_invoice(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        input.reason,
    )
    .await?;
    Ok(Json(m.into()))
}

/// Which receivables: one currency (default CNY), a rep, a team, a customer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReceivableParams {
    pub currency: Option<String>,
    pub owner_id: Option<String>,
    pub team_id: Option<String>,
    pub customer_id: Option<String>,
    /// `YYYY-MM-DD` (default today): the day ages are counted to.
    pub as_of: Option<String>,
}

/// Turns query parameters into a receivables filter (API and page alike).
pub async fn receivable_filter(
    state: &AppState,
    p: &ReceivableParams,
) -> AppResult<ReceivableFilter> {
    let clean = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let currency = clean(&p.currency).unwrap_or_else(|| money::DEFAULT_CURRENCY.into());
    money::check_currency("currency", &currency).map_err(|e| AppError::Validation(vec![e]))?;
    let as_of = match clean(&p.as_of) {
        Some(d) => crate::platform::validate::date("as_of", &d)
            .map_err(|e| AppError::Validation(vec![e]))?,
        None => state.clock.now().date(),
    };
    let mut owners = clean(&p.owner_id).map(|o| vec![o]);
    if let Some(t) = clean(&p.team_id) {
        let members = crate::opportunities::store::team_members(&state.db, &t).await?;
        owners = Some(match owners {
            Some(o) => o.into_iter().filter(|x| members.contains(x)).collect(),
            None => members,
        });
    }
    Ok(ReceivableFilter {
        currency,
        owner_ids: owners,
        customer_id: clean(&p.customer_id),
        as_of,
    })
}

/// Outstanding installments of active and expired contracts you see, oldest
/// due first, with aging buckets (not due, 1–30, 31–60, 61–90, 90+ days) in
/// total, by rep and by team. One currency at a time.
#[utoipa::path(get, path = "/api/v1/receivables", tag = "payments", params(ReceivableParams),
    responses((status = 200, body = Receivables), (status = 422, body = Problem)))]
async fn get_receivables(
    State(state): State<AppState>,
    me: ApiUser,
    Query(p): Query<ReceivableParams>,
) -> AppResult<Json<Receivables>> {
    let f = receivable_filter(&state, &p).await?;
    Ok(Json(
        receivables::receivables(&state.db, &me.user, &f).await?,
    ))
}

/// The approval threshold and the expiry reminder.
#[utoipa::path(get, path = "/api/v1/settings/contracts", tag = "contracts",
    responses((status = 200, body = ContractSettings)))]
async fn get_contract_settings(
    State(state): State<AppState>,
    _me: ApiUser,
) -> AppResult<Json<ContractSettings>> {
    Ok(Json(store::settings(&state.db).await?))
}

/// Change the contract settings (finance or an administrator; send the version you read).
#[utoipa::path(put, path = "/api/v1/settings/contracts", tag = "contracts", request_body = ContractSettings,
    responses((status = 200, body = ContractSettings), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn put_contract_settings(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<ContractSettings>,
) -> AppResult<Json<ContractSettings>> {
    me.user.require_role(FINANCE)?;
    let expected = Some(input.version);
    Ok(Json(
        store::set_settings(&state.db, state.clock.now(), &me.actor(), input, expected).await?,
    ))
}

/// The values and list parameters of contracts, payments and invoices, in the
/// OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    use super::model::{
        INSTALLMENT_STATUSES, INVOICE_KINDS, INVOICE_STATUSES, METHODS, PAYMENT_STATUSES, STATUSES,
    };
    c.one_of(&["ContractView.status"], STATUSES);
    c.one_of(&["InstallmentView.status"], INSTALLMENT_STATUSES);
    c.one_of(&["NewPayment.method", "PaymentView.method"], METHODS);
    c.one_of(&["PaymentView.status"], PAYMENT_STATUSES);
    c.one_of(&["NewInvoice.kind", "InvoiceView.kind"], INVOICE_KINDS);
    c.one_of(&["InvoiceView.status"], INVOICE_STATUSES);
    c.list("/api/v1/contracts", &store::LIST);
    c.list("/api/v1/payments", &payments::PAYMENT_LIST);
    c.list("/api/v1/invoices", &payments::INVOICE_LIST);
}
