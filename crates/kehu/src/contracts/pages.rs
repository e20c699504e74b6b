//! Contract pages: the list, the form, the contract page (approval, plan vs
//! received vs invoiced, installments, payments, invoices), the payment and
//! invoice forms, the payments to confirm, receivables, and the settings.

use super::model::{
    ContractPatch, ContractSettings, ContractView, DecisionInput, INVOICE_KINDS, InstallmentInput,
    InvoiceView, METHODS, NewContract, NewInvoice, NewPayment, PaymentView, PlanInput, STATUSES,
    SubmitInput,
};
use super::store::FINANCE;
use super::{payments, receivables, store};
use crate::entities::{customer, opportunity};
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, FormPage, HtmlForm, Pairs, opt_value, value};
use crate::platform::list::{pairs, take};
use crate::platform::money::{self, Money};
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render, urlencode};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::{BTreeMap, HashMap};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contracts", get(list).post(create))
        .route("/contracts/new", get(new_form))
        .route("/contracts/{id}", get(detail).post(update))
        .route("/contracts/{id}/edit", get(edit_form))
        .route("/contracts/{id}/submit", post(submit))
        .route("/contracts/{id}/approve", post(approve))
        .route("/contracts/{id}/reject", post(reject))
        .route("/contracts/{id}/terminate", post(terminate))
        .route("/contracts/{id}/plan", post(set_plan))
        .route(
            "/contracts/{id}/payments",
            get(payment_form).post(record_payment),
        )
        .route(
            "/contracts/{id}/invoices",
            get(invoice_form).post(create_invoice),
        )
        .route("/payments", get(payments_page))
        .route("/payments/{id}/confirm", post(confirm_payment))
        .route("/payments/{id}/reject", post(reject_payment))
        .route("/invoices/{id}/void", post(void_invoice))
        .route("/receivables", get(receivables_page))
        .route(
            "/settings/contracts",
            get(settings_form).post(save_settings),
        )
}

/// A money value back in stored units (0 if it cannot be read).
fn units(m: &Money) -> i64 {
    money::parse_amount("a", &m.amount, &m.currency).unwrap_or(0)
}

fn shown(m: &Money) -> String {
    money::display_money(m)
}

/// A contract in a table.
pub struct Row {
    pub c: ContractView,
    pub customer: String,
    pub owner: String,
    pub amount: String,
    pub received: String,
    pub outstanding: String,
}

async fn rows(state: &AppState, me: &CurrentUser, list: Vec<ContractView>) -> PageResult<Vec<Row>> {
    let customers = crate::customers::store::visible_names(
        &state.db,
        me,
        list.iter().map(|c| c.customer_id.clone()).collect(),
    )
    .await?;
    let names = crate::users::store::names(
        &state.db,
        list.iter().filter_map(|c| c.owner_id.clone()).collect(),
    )
    .await?;
    Ok(list
        .into_iter()
        .map(|c| Row {
            customer: customers.get(&c.customer_id).cloned().unwrap_or_default(),
            owner: c
                .owner_id
                .as_ref()
                .and_then(|o| names.get(o).cloned())
                .unwrap_or_default(),
            amount: shown(&c.amount),
            received: shown(&c.received),
            outstanding: shown(&c.outstanding),
            c,
        })
        .collect())
}

/// The contracts of a customer for its page.
pub async fn customer_rows(
    state: &AppState,
    me: &CurrentUser,
    customer_id: &str,
) -> PageResult<Vec<Row>> {
    let list = store::of_customer(&state.db, me, customer_id).await?;
    rows(state, me, list).await
}

#[derive(Template)]
#[template(path = "contracts/list.html")]
struct ListPage {
    ctx: PageCtx,
    is_finance: bool,
    rows: Vec<Row>,
    total: u64,
    q: String,
    filters: Vec<FormField>,
    next_href: Option<String>,
}

fn codes(ctx: &PageCtx, prefix: &str, list: &[&str]) -> Vec<(String, String)> {
    list.iter()
        .map(|c| (c.to_string(), ctx.label(prefix, c)))
        .collect()
}

fn query_string(p: &[(String, String)]) -> String {
    p.iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let all = p.clone();
    let team = take(&mut p, "team_id");
    let req = store::LIST.parse(&p)?;
    let page = store::list(&state.db, &s.user, &req, team.as_deref()).await?;
    let ctx = &s.ctx;
    let v = |k: &str| {
        all.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let t = |k: &str| ctx.t(&format!("contracts.field.{k}")).to_owned();
    let mut filters = vec![
        FormField::new("status", &t("status"), "select", &v("status")).options(codes(
            ctx,
            "contracts.status",
            STATUSES,
        )),
    ];
    if s.user.scope != Scope::Own {
        filters.push(
            FormField::new("owner_id", &t("owner_id"), "select", &v("owner_id"))
                .options(crate::users::store::owners(&state.db, &s.user).await?),
        );
    }
    filters.push(FormField::new(
        "end_date_to",
        ctx.t("contracts.ending_before"),
        "date",
        &v("end_date_to"),
    ));
    let base: Vec<(String, String)> = all.iter().filter(|(k, _)| k != "cursor").cloned().collect();
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut q = base.clone();
        q.push(("cursor".into(), c.clone()));
        format!("/contracts?{}", query_string(&q))
    });
    let rows = rows(&state, &s.user, page.data).await?;
    Ok(render(&ListPage {
        is_finance: s.user.has_role(FINANCE),
        total: page.total.unwrap_or(0),
        q: v("q"),
        ctx: s.ctx,
        rows,
        filters,
        next_href,
    })?)
}

// ---- The contract form ----

async fn form_page(
    state: &AppState,
    s: Signed,
    id: Option<&str>,
    version: Option<i64>,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("contracts.field.{k}")).to_owned();
    let mut fields = vec![
        FormField::new("title", &t("title"), "text", &v("title"))
            .required()
            .max(200),
    ];
    if id.is_none() {
        let scope = DataScope::for_user(&state.db, &s.user).await?;
        let mut customers: Vec<(String, String)> = scope
            .filter(
                customer::Entity::find().filter(customer::Column::DeletedAt.is_null()),
                customer::Column::OwnerId,
            )
            .order_by_desc(customer::Column::UpdatedAt)
            .limit(200)
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::Name)
            .into_tuple()
            .all(&state.db)
            .await?;
        let chosen = v("customer_id");
        if !chosen.is_empty() && !customers.iter().any(|c| c.0 == chosen) {
            match crate::customers::store::get(&state.db, &s.user, &chosen).await {
                Ok(c) => customers.insert(0, (c.id, c.name)),
                Err(AppError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        fields.push(
            FormField::new("customer_id", &t("customer_id"), "select", &chosen)
                .options(customers)
                .required(),
        );
        if !v("opportunity_id").is_empty() {
            fields.push(
                FormField::new(
                    "opportunity_id",
                    &t("opportunity_id"),
                    "select",
                    &v("opportunity_id"),
                )
                .options(vec![(v("opportunity_id"), v("opportunity_name"))]),
            );
        }
    }
    let draft = id.is_none() || v("status") == "draft";
    // A draft priced by product lines keeps the amount of its lines.
    if draft && v("priced_by_lines").is_empty() {
        fields.push(
            FormField::new("amount", &t("amount"), "text", &v("amount"))
                .required()
                .max(20),
        );
        fields.push(
            FormField::new("currency", &t("currency"), "select", &v("currency"))
                .options(
                    money::CURRENCIES
                        .iter()
                        .map(|(c, _)| (c.to_string(), c.to_string()))
                        .collect(),
                )
                .required(),
        );
    }
    let owner = v("owner_id");
    let owner_choices = crate::users::store::owner_choices(&state.db, &s.user, &owner).await?;
    fields.extend([
        FormField::new("sign_date", &t("sign_date"), "date", &v("sign_date")),
        FormField::new("start_date", &t("start_date"), "date", &v("start_date")),
        FormField::new("end_date", &t("end_date"), "date", &v("end_date")),
        FormField::new("owner_id", &t("owner_id"), "select", &owner)
            .options(owner_choices)
            .required(),
        FormField::new("notes", &t("notes"), "textarea", &v("notes"))
            .max(10_000)
            .wide(),
    ]);
    let fields = fields.into_iter().map(|f| f.with_errors(&errors)).collect();
    let title = ctx
        .t(if id.is_some() {
            "contracts.edit"
        } else {
            "contracts.new"
        })
        .to_owned();
    let mut hidden: Vec<(String, String)> = Vec::new();
    if let Some(v) = version {
        hidden.push(("version".into(), v.to_string()));
    }
    for k in ["status", "opportunity_name", "priced_by_lines", "order_id"] {
        if !v(k).is_empty() {
            hidden.push((k.into(), v(k)));
        }
    }
    Ok(render(&FormPage {
        ctx: s.ctx,
        title,
        action: id.map_or("/contracts".into(), |i| format!("/contracts/{i}")),
        back: id.map_or("/contracts".into(), |i| format!("/contracts/{i}")),
        form_id: "contract-form",
        hidden,
        fields,
        errors,
    })?)
}

async fn new_form(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let p = pairs(raw.as_deref())?;
    let get = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut form: Pairs = vec![
        ("customer_id".into(), get("customer_id")),
        ("currency".into(), money::DEFAULT_CURRENCY.into()),
        ("owner_id".into(), s.user.id.clone()),
        ("status".into(), "draft".into()),
    ];
    let order = get("order_id");
    if !order.is_empty() {
        let o = crate::quotes::store::get_order(&state.db, &s.user, &order).await?;
        form = vec![
            (
                "title".into(),
                format!("{} {}", s.ctx.t("orders.one"), o.number),
            ),
            ("customer_id".into(), o.customer_id.clone()),
            ("order_id".into(), o.id.clone()),
            ("amount".into(), money::text(o.total, &o.currency)),
            ("currency".into(), o.currency.clone()),
            (
                "owner_id".into(),
                o.owner_id.clone().unwrap_or(s.user.id.clone()),
            ),
            ("status".into(), "draft".into()),
        ];
        if let Some(d) = o.opportunity_id.clone()
            && let Ok(deal) = crate::opportunities::store::get(&state.db, &s.user, &d).await
        {
            form.push(("opportunity_id".into(), d));
            form.push(("opportunity_name".into(), deal.name));
        }
    }
    let deal = get("opportunity_id");
    if !deal.is_empty() {
        let o: opportunity::Model =
            crate::opportunities::store::get(&state.db, &s.user, &deal).await?;
        form = vec![
            ("title".into(), o.name.clone()),
            ("customer_id".into(), o.customer_id.clone()),
            ("opportunity_id".into(), o.id.clone()),
            ("opportunity_name".into(), o.name.clone()),
            ("amount".into(), money::text(o.amount, &o.currency)),
            ("currency".into(), o.currency.clone()),
            (
                "owner_id".into(),
                o.owner_id.clone().unwrap_or(s.user.id.clone()),
            ),
            ("status".into(), "draft".into()),
        ];
    }
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, None, None, &form, errors).await
}

fn money_of(form: &Pairs, field: &str, currency: &str) -> Money {
    Money {
        amount: value(form, field).replace([',', '，', ' '], ""),
        currency: currency.to_owned(),
    }
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let input = NewContract {
        title: value(&form, "title"),
        customer_id: value(&form, "customer_id"),
        opportunity_id: opt_value(&form, "opportunity_id"),
        order_id: opt_value(&form, "order_id"),
        amount: Some(money_of(&form, "amount", &value(&form, "currency"))),
        sign_date: opt_value(&form, "sign_date"),
        start_date: opt_value(&form, "start_date"),
        end_date: opt_value(&form, "end_date"),
        owner_id: opt_value(&form, "owner_id"),
        notes: opt_value(&form, "notes"),
        ..Default::default()
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(c) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{}", c.id),
            "contract_created",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, None, None, &form, errors).await
        }
    }
}

fn as_form(c: &ContractView) -> Pairs {
    let x = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("title".into(), c.title.clone()),
        ("amount".into(), c.amount.amount.clone()),
        ("currency".into(), c.amount.currency.clone()),
        ("sign_date".into(), x(&c.sign_date)),
        ("start_date".into(), x(&c.start_date)),
        ("end_date".into(), x(&c.end_date)),
        ("owner_id".into(), x(&c.owner_id)),
        ("notes".into(), x(&c.notes)),
        ("status".into(), c.status.clone()),
        (
            "priced_by_lines".into(),
            if c.products.is_empty() { "" } else { "1" }.into(),
        ),
    ]
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = store::view(&state.db, store::get(&state.db, &s.user, &id).await?).await?;
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, Some(&id), Some(c.version), &as_form(&c), errors).await
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().ok();
    let old = store::get(&state.db, &s.user, &id).await?;
    // A draft priced by product lines keeps them: its amount follows the lines.
    let priced_by_lines = old.products != "[]";
    let patch = ContractPatch {
        title: Some(value(&form, "title")),
        amount: (old.status == "draft" && !priced_by_lines)
            .then(|| money_of(&form, "amount", &value(&form, "currency"))),
        sign_date: Some(opt_value(&form, "sign_date")),
        start_date: Some(opt_value(&form, "start_date")),
        end_date: Some(opt_value(&form, "end_date")),
        owner_id: opt_value(&form, "owner_id"),
        notes: Some(opt_value(&form, "notes")),
        version,
        ..Default::default()
    };
    let result = match version {
        Some(v) => {
            store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                patch,
                v,
            )
            .await
        }
        None => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{id}"),
            "saved",
        )),
        Err(AppError::Refused { .. }) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{id}"),
            "contract_refused",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            let mut form = form;
            form.push(("status".into(), old.status));
            form_page(&state, s, Some(&id), version, &form, errors).await
        }
    }
}

// ---- The contract page ----

pub struct PaymentRow {
    pub p: PaymentView,
    pub amount: String,
    pub by: String,
}

pub struct InvoiceRow {
    pub i: InvoiceView,
    pub amount: String,
}

pub struct InstallmentRow {
    pub id: String,
    pub notes: String,
    /// Paid or awaiting confirmation on it: it cannot be removed.
    pub has_payments: bool,
    pub number: i32,
    pub due_date: String,
    pub amount: String,
    pub amount_text: String,
    pub paid: String,
    pub outstanding: String,
    pub status: String,
    pub days_overdue: i64,
}

#[derive(Template)]
#[template(path = "contracts/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    row: Row,
    opportunity: Option<(String, String)>,
    facts: Vec<(String, String)>,
    /// (label, value, css class) of the money cards.
    summary: Vec<(String, String, &'static str)>,
    approvals: Vec<(String, String, String, String, String)>,
    installments: Vec<InstallmentRow>,
    /// Blank rows of the plan editor after the existing installments.
    blank_rows: Vec<usize>,
    payments: Vec<PaymentRow>,
    invoices: Vec<InvoiceRow>,
    can_approve: bool,
    is_finance: bool,
    /// Where a payment decision returns to.
    back: String,
    collectable: bool,
    pending_amount: Option<String>,
    /// (id, name, size in KB) of the attached files.
    files: Vec<(String, String, i64)>,
}

async fn detail(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    // `?rows=N`: that many empty rows in the plan editor (3 by default, at most 60).
    let blank = pairs(raw.as_deref())?
        .iter()
        .find(|(k, _)| k == "rows")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(3)
        .clamp(1, 60);
    let m = store::get(&state.db, &s.user, &id).await?;
    let can_approve = m.status == "pending_approval" && store::may_approve(&s.user, &m);
    let collectable = m.activated_at.is_some() && m.status != "draft";
    let c = store::view(&state.db, m).await?;
    let today = state.clock.now().date();
    let plan = store::plan(&state.db, &s.user, &id, today).await?;
    let pays = payments::payments_of(&state.db, &id).await?;
    let invs = payments::invoices_of(&state.db, &id).await?;
    let steps = store::approvals(&state.db, &s.user, &id).await?;
    let ctx = &s.ctx;
    let mut people: Vec<String> = pays.iter().filter_map(|p| p.recorded_by.clone()).collect();
    people.extend(steps.iter().filter_map(|a| a.actor_id.clone()));
    people.extend(c.approver_id.clone());
    let names = crate::users::store::names(&state.db, people).await?;
    let name = |i: &Option<String>| {
        i.as_ref()
            .and_then(|i| names.get(i).cloned())
            .unwrap_or_default()
    };
    let opportunity = match &c.opportunity_id {
        Some(o) => crate::opportunities::store::get(&state.db, &s.user, o)
            .await
            .ok()
            .map(|o| (o.id, o.name)),
        None => None,
    };
    let t = |k: &str| ctx.t(&format!("contracts.field.{k}")).to_owned();
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let mut facts = vec![
        (t("number"), c.number.clone()),
        (t("sign_date"), dash(&c.sign_date)),
        (t("start_date"), dash(&c.start_date)),
        (t("end_date"), dash(&c.end_date)),
    ];
    if c.approver_id.is_some() {
        facts.push((t("approver_id"), name(&c.approver_id)));
    }
    if let Some(r) = &c.terminated_reason {
        facts.push((t("terminated_reason"), r.clone()));
    }
    let overdue = plan
        .installments
        .iter()
        .filter(|i| i.status == "overdue")
        .fold(0i64, |acc, i| acc + units(&i.outstanding));
    let summary = vec![
        (t("amount"), shown(&c.amount), ""),
        (ctx.t("contracts.planned").to_owned(), shown(&c.planned), ""),
        (
            ctx.t("contracts.received").to_owned(),
            shown(&c.received),
            "ok",
        ),
        (
            ctx.t("contracts.pending_payments").to_owned(),
            shown(&c.pending_payments),
            "",
        ),
        (
            ctx.t("contracts.invoiced").to_owned(),
            shown(&c.invoiced),
            "",
        ),
        (
            ctx.t("contracts.outstanding").to_owned(),
            shown(&c.outstanding),
            "strong",
        ),
        (
            ctx.t("contracts.overdue").to_owned(),
            money::display(overdue, &c.amount.currency),
            if overdue > 0 { "danger" } else { "" },
        ),
    ];
    let approvals = steps
        .into_iter()
        .map(|a| {
            (
                a.at.date().to_string(),
                ctx.label("contracts.approval", &a.action),
                shown(&a.amount),
                name(&a.actor_id),
                a.comment.unwrap_or_default(),
            )
        })
        .collect();
    let installments: Vec<InstallmentRow> = plan
        .installments
        .into_iter()
        .map(|i| InstallmentRow {
            has_payments: units(&i.paid) + units(&i.pending) > 0,
            notes: i.notes.clone().unwrap_or_default(),
            amount_text: shown(&i.amount),
            paid: shown(&i.paid),
            outstanding: shown(&i.outstanding),
            id: i.id,
            number: i.number,
            due_date: i.due_date,
            amount: i.amount.amount,
            status: i.status,
            days_overdue: i.days_overdue,
        })
        .collect();
    let blank_rows = (installments.len()..installments.len() + blank).collect();
    let payments = pays
        .into_iter()
        .map(|p| PaymentRow {
            amount: shown(&p.amount),
            by: name(&p.recorded_by),
            p,
        })
        .collect();
    let invoices = invs
        .into_iter()
        .map(|i| InvoiceRow {
            amount: shown(&i.amount),
            i,
        })
        .collect();
    let pending_amount = c.pending_amount.as_ref().map(shown);
    let files = super::files::of_contract(&state.db, &id)
        .await?
        .into_iter()
        .map(|f| (f.id, f.file_name, (f.size + 1023) / 1024))
        .collect();
    let row = rows(&state, &s.user, vec![c])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    Ok(render(&DetailPage {
        back: format!("/contracts/{id}"),
        is_finance: s.user.has_role(FINANCE),
        ctx: s.ctx,
        row,
        opportunity,
        facts,
        summary,
        approvals,
        installments,
        blank_rows,
        payments,
        invoices,
        can_approve,
        collectable,
        pending_amount,
        files,
    })?)
}

/// Where an action on a contract lands: its page with a message, or (for a
/// field error) its page with the message of the first error.
fn after(state: &AppState, id: &str, r: Result<(), AppError>, ok: &str) -> PageResult<Response> {
    let to = format!("/contracts/{id}");
    match r {
        Ok(()) => Ok(redirect_with_flash(state, &to, ok)),
        Err(AppError::Validation(errs)) => {
            let first = errs.first();
            let key = match (
                first.map(|e| e.field.as_str()).unwrap_or(""),
                first.map(|e| e.code.as_str()).unwrap_or(""),
            ) {
                ("comment" | "reason", "required") => "comment_required",
                (_, "exceeds_contract") => "plan_exceeds_contract",
                (_, "has_payments") => "plan_has_payments",
                (_, "below_paid") => "plan_below_paid",
                (_, "below_recorded") => "amount_below_recorded",
                (f, _) if f.starts_with("installments") => "plan_invalid",
                (f, _) if f.starts_with("amount") => "amount_invalid",
                _ => "contract_invalid",
            };
            Ok(redirect_with_flash(state, &to, key))
        }
        Err(AppError::Refused { reason, .. }) => Ok(redirect_with_flash(
            state,
            &to,
            match reason {
                "own_submission" => "own_submission",
                "below_recorded" => "amount_below_recorded",
                _ => "contract_refused",
            },
        )),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(state, &to, "stale")),
        Err(e) => Err(e.into()),
    }
}

async fn submit(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let old = store::get(&state.db, &s.user, &id).await?;
    let input = SubmitInput {
        amount: opt_value(&form, "amount").map(|_| money_of(&form, "amount", &old.currency)),
        comment: opt_value(&form, "comment"),
        version: value(&form, "version").parse().ok(),
    };
    let r = store::submit(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        input,
    )
    .await
    .map(|_| ());
    after(&state, &id, r, "contract_submitted")
}

fn decision(form: &Pairs) -> DecisionInput {
    DecisionInput {
        comment: opt_value(form, "comment"),
        version: value(form, "version").parse().ok(),
    }
}

async fn approve(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let r = store::decide(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        true,
        decision(&form),
    )
    .await
    .map(|_| ());
    after(&state, &id, r, "contract_approved")
}

async fn reject(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let r = store::decide(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        false,
        decision(&form),
    )
    .await
    .map(|_| ());
    after(&state, &id, r, "contract_rejected")
}

async fn terminate(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let r = store::terminate(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        decision(&form),
    )
    .await
    .map(|_| ());
    after(&state, &id, r, "contract_terminated")
}

/// The plan editor posts rows `id_N`, `due_date_N`, `amount_N`; empty rows are skipped.
async fn set_plan(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    // The editor's amounts are in the contract's currency.
    let currency = store::get(&state.db, &s.user, &id).await?.currency;
    let mut rows: BTreeMap<usize, InstallmentInput> = BTreeMap::new();
    for (k, v) in &form {
        let Some((field, n)) = k.rsplit_once('_') else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else {
            continue;
        };
        let r = rows.entry(n).or_default();
        match field {
            "id" => r.id = Some(v.clone()).filter(|x| !x.is_empty()),
            "due_date" => r.due_date = v.trim().to_owned(),
            "amount" => r.amount.amount = v.replace([',', '，', ' '], ""),
            "notes" => r.notes = Some(v.clone()).filter(|x| !x.trim().is_empty()),
            _ => {}
        }
    }
    let removed: Vec<usize> = form
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("remove_")?.parse().ok())
        .collect();
    let installments = rows
        .into_iter()
        .filter(|(n, r)| {
            !(removed.contains(n) || (r.due_date.is_empty() && r.amount.amount.is_empty()))
        })
        .map(|(_, mut r)| {
            r.amount.currency = currency.clone();
            r
        })
        .collect();
    let r = store::set_plan(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        PlanInput {
            installments,
            version: value(&form, "version").parse().ok(),
        },
    )
    .await
    .map(|_| ());
    after(&state, &id, r, "plan_saved")
}

// ---- Payments ----

async fn payment_fields(
    state: &AppState,
    ctx: &PageCtx,
    me: &CurrentUser,
    id: &str,
    form: &Pairs,
    errors: &FormErrors,
) -> PageResult<Vec<FormField>> {
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("payments.field.{k}")).to_owned();
    let plan = store::plan(&state.db, me, id, state.clock.now().date()).await?;
    let open: Vec<(String, String)> = plan
        .installments
        .iter()
        .filter_map(|i| {
            // Open for a new payment: not paid, nor awaiting confirmation.
            let open = units(&i.outstanding) - units(&i.pending);
            (open > 0).then(|| {
                (
                    i.id.clone(),
                    format!(
                        "#{} · {} · {}",
                        i.number,
                        i.due_date,
                        money::display(open, &i.amount.currency)
                    ),
                )
            })
        })
        .collect();
    let mut inst = FormField::new(
        "installment_id",
        &t("installment_id"),
        "select",
        &v("installment_id"),
    )
    .options(open);
    inst.empty_label = Some(ctx.t("payments.auto_allocate").to_owned());
    Ok([
        FormField::new("amount", &t("amount"), "text", &v("amount"))
            .required()
            .max(20)
            .hint(&v("currency_hint")),
        FormField::new("received_on", &t("received_on"), "date", &v("received_on")).required(),
        FormField::new("method", &t("method"), "select", &v("method"))
            .options(codes(ctx, "payments.method", METHODS))
            .required(),
        inst,
        FormField::new("reference", &t("reference"), "text", &v("reference")).max(100),
        FormField::new("notes", &t("notes"), "textarea", &v("notes"))
            .max(2000)
            .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(errors))
    .collect())
}

async fn payment_page(
    state: &AppState,
    s: Signed,
    id: &str,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let fields = payment_fields(state, &s.ctx, &s.user, id, form, &errors).await?;
    Ok(render(&FormPage {
        title: s.ctx.t("payments.new").to_owned(),
        ctx: s.ctx,
        action: format!("/contracts/{id}/payments"),
        back: format!("/contracts/{id}"),
        form_id: "payment-form",
        hidden: vec![("idempotency_key".into(), value(form, "idempotency_key"))],
        fields,
        errors,
    })?)
}

async fn payment_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = store::view(&state.db, store::get(&state.db, &s.user, &id).await?).await?;
    let form: Pairs = vec![
        ("amount".into(), c.outstanding.amount.clone()),
        ("currency_hint".into(), c.amount.currency.clone()),
        ("received_on".into(), state.clock.now().date().to_string()),
        ("method".into(), "bank_transfer".into()),
        // The form's own key: posting it twice records the payment once.
        ("idempotency_key".into(), uuid::Uuid::new_v4().to_string()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    payment_page(&state, s, &id, &form, errors).await
}

async fn record_payment(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let c = store::get(&state.db, &s.user, &id).await?;
    let input = NewPayment {
        contract_id: id.clone(),
        installment_id: opt_value(&form, "installment_id"),
        allocations: None,
        amount: money_of(&form, "amount", &c.currency),
        received_on: value(&form, "received_on"),
        method: value(&form, "method"),
        reference: opt_value(&form, "reference"),
        notes: opt_value(&form, "notes"),
    };
    let now = state.clock.now();
    let result = once_from_form(&state, &s, &form, || async {
        let m = payments::record(&state.db, now, &s.actor(), &s.user, input).await?;
        Ok(m.id)
    })
    .await;
    let mut form = form;
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{id}"),
            "payment_recorded",
        )),
        Err(AppError::Refused { .. }) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{id}"),
            "contract_refused",
        )),
        Err(e) => {
            let errors = form_errors(s.ctx.lang, e, &mut form)?;
            form.push(("currency_hint".into(), c.currency));
            payment_page(&state, s, &id, &form, errors).await
        }
    }
}

/// Runs a create posted by a form once per the form's `idempotency_key` (a
/// double click or a resend records it once); the form's fields but the CSRF
/// token make the request that a reuse of the key is compared with.
async fn once_from_form<F, Fut>(
    state: &AppState,
    s: &Signed,
    form: &Pairs,
    create: F,
) -> Result<(), AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, AppError>>,
{
    let mut headers = HeaderMap::new();
    if let Ok(k) = value(form, "idempotency_key").parse() {
        headers.insert(crate::platform::idempotency::HEADER, k);
    }
    let body = serde_urlencoded::to_string(
        form.iter()
            .filter(|(k, _)| k != "_csrf")
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    crate::platform::idempotency::once(
        &state.db,
        state.clock.now(),
        &s.user.id,
        &headers,
        body.as_bytes(),
        || async {
            let id = create().await?;
            Ok(crate::platform::idempotency::Created {
                location: String::new(),
                body: serde_json::json!({ "id": id }),
            })
        },
    )
    .await
    .map(|_| ())
}

/// Form errors of a create sent once: a key already used for other values (the
/// form sent, then changed after going back) gets a fresh key and a message.
fn form_errors(
    lang: crate::platform::i18n::Lang,
    e: AppError,
    form: &mut Pairs,
) -> Result<FormErrors, AppError> {
    let resent = e
        .field_errors()
        .is_some_and(|errs| errs.iter().any(|x| x.field == "Idempotency-Key"));
    if resent {
        form.retain(|(k, _)| k != "idempotency_key");
        form.push(("idempotency_key".into(), uuid::Uuid::new_v4().to_string()));
        let mut errors = FormErrors::new(lang);
        errors.general = Some(lang.t("error.form_resent"));
        return Ok(errors);
    }
    FormErrors::from_error(lang, e)
}

async fn decide_payment(
    state: &AppState,
    s: &Signed,
    id: &str,
    confirm: bool,
    form: &Pairs,
) -> PageResult<Response> {
    let back = value(form, "back");
    let back = if back.starts_with("/payments") || back.starts_with("/contracts/") {
        back
    } else {
        "/payments".into()
    };
    let r = payments::decide(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        id,
        confirm,
        opt_value(form, "reason"),
        value(form, "version").parse().ok(),
    )
    .await;
    let key = match r {
        Ok(_) if confirm => "payment_confirmed",
        Ok(_) => "payment_rejected",
        Err(AppError::Validation(_)) => "reason_required",
        Err(AppError::Refused { .. }) | Err(AppError::Conflict(_)) => "payment_decided",
        Err(e) => return Err(e.into()),
    };
    Ok(redirect_with_flash(state, &back, key))
}

async fn confirm_payment(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    decide_payment(&state, &s, &id, true, &form).await
}

async fn reject_payment(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    decide_payment(&state, &s, &id, false, &form).await
}

#[derive(Template)]
#[template(path = "contracts/payments.html")]
struct PaymentsPage {
    ctx: PageCtx,
    status: String,
    /// Where a decision returns to (this page with its filter).
    back: String,
    /// (payment row, contract id, contract number, customer name)
    rows: Vec<(PaymentRow, String, String, String)>,
    is_finance: bool,
    next_href: Option<String>,
}

/// Payments on the contracts the viewer sees; finance confirms the pending ones here.
async fn payments_page(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    // Finance opens the page on what waits for them; `status=all` shows every payment.
    let status = match take(&mut p, "status").filter(|v| !v.trim().is_empty()) {
        Some(v) => v,
        None if s.user.has_role(FINANCE) => "pending".into(),
        None => "all".into(),
    };
    p.retain(|(_, v)| !v.trim().is_empty());
    if status != "all" {
        p.push(("status".into(), status.clone()));
    }
    let page =
        payments::list_payments(&state.db, &s.user, &payments::PAYMENT_LIST.parse(&p)?).await?;
    let ids: Vec<String> = page.data.iter().map(|p| p.contract_id.clone()).collect();
    let contracts: HashMap<String, (String, String)> = crate::entities::contract::Entity::find()
        .filter(crate::entities::contract::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| (c.id, (c.number, c.customer_id)))
        .collect();
    let customers = crate::customers::store::visible_names(
        &state.db,
        &s.user,
        contracts.values().map(|c| c.1.clone()).collect(),
    )
    .await?;
    let names = crate::users::store::names(
        &state.db,
        page.data
            .iter()
            .filter_map(|p| p.recorded_by.clone())
            .collect(),
    )
    .await?;
    let next_href = page
        .next_cursor
        .as_ref()
        .map(|c| format!("/payments?status={status}&cursor={}", urlencode(c)));
    let rows = page
        .data
        .into_iter()
        .map(|p| {
            let (number, customer_id) = contracts.get(&p.contract_id).cloned().unwrap_or_default();
            let cid = p.contract_id.clone();
            (
                PaymentRow {
                    amount: shown(&p.amount),
                    by: p
                        .recorded_by
                        .as_ref()
                        .and_then(|i| names.get(i).cloned())
                        .unwrap_or_default(),
                    p,
                },
                cid,
                number,
                customers.get(&customer_id).cloned().unwrap_or_default(),
            )
        })
        .collect();
    Ok(render(&PaymentsPage {
        back: format!("/payments?status={status}"),
        is_finance: s.user.has_role(FINANCE),
        ctx: s.ctx,
        status,
        rows,
        next_href,
    })?)
}

// ---- Invoices ----

async fn invoice_page(
    s: Signed,
    id: &str,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("invoices.field.{k}")).to_owned();
    let fields = [
        FormField::new("kind", &t("kind"), "select", &v("kind"))
            .options(codes(ctx, "invoices.kind", INVOICE_KINDS))
            .required(),
        FormField::new("amount", &t("amount"), "text", &v("amount"))
            .required()
            .max(20),
        FormField::new("buyer_title", &t("buyer_title"), "text", &v("buyer_title"))
            .required()
            .max(200),
        FormField::new(
            "buyer_tax_no",
            &t("buyer_tax_no"),
            "text",
            &v("buyer_tax_no"),
        )
        .max(20),
        FormField::new("number", &t("number"), "text", &v("number")).max(40),
        FormField::new("issued_on", &t("issued_on"), "date", &v("issued_on")).required(),
        FormField::new("notes", &t("notes"), "textarea", &v("notes"))
            .max(2000)
            .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    Ok(render(&FormPage {
        title: ctx.t("invoices.new").to_owned(),
        action: format!("/contracts/{id}/invoices"),
        back: format!("/contracts/{id}"),
        form_id: "invoice-form",
        hidden: vec![("idempotency_key".into(), v("idempotency_key"))],
        ctx: s.ctx,
        fields,
        errors,
    })?)
}

async fn invoice_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = store::view(&state.db, store::get(&state.db, &s.user, &id).await?).await?;
    let buyer = crate::customers::store::get(&state.db, &s.user, &c.customer_id)
        .await
        .map(|x| x.name)
        .unwrap_or_default();
    let left = units(&c.amount) - units(&c.invoiced);
    let form: Pairs = vec![
        ("kind".into(), "vat_special".into()),
        ("idempotency_key".into(), uuid::Uuid::new_v4().to_string()),
        (
            "amount".into(),
            money::text(left.max(0), &c.amount.currency),
        ),
        ("buyer_title".into(), buyer),
        ("issued_on".into(), state.clock.now().date().to_string()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    invoice_page(s, &id, &form, errors).await
}

async fn create_invoice(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let c = store::get(&state.db, &s.user, &id).await?;
    let input = NewInvoice {
        contract_id: id.clone(),
        number: opt_value(&form, "number"),
        kind: value(&form, "kind"),
        amount: money_of(&form, "amount", &c.currency),
        buyer_title: value(&form, "buyer_title"),
        buyer_tax_no: opt_value(&form, "buyer_tax_no"),
        issued_on: value(&form, "issued_on"),
        notes: opt_value(&form, "notes"),
    };
    let now = state.clock.now();
    let result = once_from_form(&state, &s, &form, || async {
        let m = payments::create_invoice(&state.db, now, &s.actor(), &s.user, input).await?;
        Ok(m.id)
    })
    .await;
    let mut form = form;
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{id}"),
            "invoice_created",
        )),
        Err(AppError::Refused { .. }) => Ok(redirect_with_flash(
            &state,
            &format!("/contracts/{id}"),
            "contract_refused",
        )),
        Err(e) => {
            let errors = form_errors(s.ctx.lang, e, &mut form)?;
            invoice_page(s, &id, &form, errors).await
        }
    }
}

async fn void_invoice(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let inv = payments::get_invoice(&state.db, &s.user, &id).await?;
    let r = payments::void_invoice(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        opt_value(&form, "reason"),
    )
    .await
    .map(|_| ());
    after(&state, &inv.contract_id, r, "invoice_voided")
}

// ---- Receivables ----

#[derive(Template)]
#[template(path = "contracts/receivables.html")]
struct ReceivablesPage {
    ctx: PageCtx,
    r: super::model::Receivables,
    /// (item, customer name, owner name)
    items: Vec<(super::model::ReceivableItem, String, String)>,
    filters: Vec<FormField>,
}

impl ReceivablesPage {
    fn show(&self, m: &Money) -> String {
        shown(m)
    }
}

async fn receivables_page(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let p = pairs(raw.as_deref())?;
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let params = super::api::ReceivableParams {
        currency: v("currency"),
        owner_id: v("owner_id"),
        team_id: v("team_id"),
        customer_id: v("customer_id"),
        as_of: v("as_of"),
    };
    let f = super::api::receivable_filter(&state, &params).await?;
    let r = receivables::receivables(&state.db, &s.user, &f).await?;
    let customers = crate::customers::store::visible_names(
        &state.db,
        &s.user,
        r.items.iter().map(|i| i.customer_id.clone()).collect(),
    )
    .await?;
    let names: HashMap<String, String> = r
        .by_owner
        .iter()
        .filter_map(|o| o.id.clone().map(|i| (i, o.name.clone())))
        .collect();
    let items = r
        .items
        .iter()
        .map(|i| {
            (
                i.clone(),
                customers.get(&i.customer_id).cloned().unwrap_or_default(),
                i.owner_id
                    .as_ref()
                    .and_then(|o| names.get(o).cloned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let ctx = &s.ctx;
    let mut filters = vec![
        FormField::new(
            "currency",
            ctx.t("contracts.field.currency"),
            "select",
            &f.currency,
        )
        .options(
            money::CURRENCIES
                .iter()
                .map(|(c, _)| (c.to_string(), c.to_string()))
                .collect(),
        )
        .required(),
    ];
    if s.user.scope != Scope::Own {
        filters.push(
            FormField::new(
                "owner_id",
                ctx.t("contracts.field.owner_id"),
                "select",
                &v("owner_id").unwrap_or_default(),
            )
            .options(crate::users::store::owners(&state.db, &s.user).await?),
        );
    }
    filters.push(FormField::new(
        "as_of",
        ctx.t("receivables.as_of"),
        "date",
        &f.as_of.to_string(),
    ));
    Ok(render(&ReceivablesPage {
        ctx: s.ctx,
        r,
        items,
        filters,
    })?)
}

// ---- Settings ----

fn settings_page(s: Signed, form: &Pairs, errors: FormErrors) -> PageResult<Response> {
    let ctx = &s.ctx;
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("contracts.settings.{k}")).to_owned();
    let fields = [
        FormField::new("threshold", &t("threshold"), "text", &v("threshold"))
            .required()
            .max(20)
            .hint(ctx.t("contracts.settings.threshold_hint")),
        FormField::new(
            "currency",
            ctx.t("contracts.field.currency"),
            "select",
            &v("currency"),
        )
        .options(
            money::CURRENCIES
                .iter()
                .map(|(c, _)| (c.to_string(), c.to_string()))
                .collect(),
        )
        .required(),
        FormField::new(
            "reminder_days",
            &t("reminder_days"),
            "number",
            &v("reminder_days"),
        )
        .required(),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    Ok(render(&FormPage {
        title: t("title"),
        action: "/settings/contracts".into(),
        back: if s.user.is_admin() {
            "/settings"
        } else {
            "/contracts"
        }
        .into(),
        form_id: "contract-settings",
        hidden: vec![("version".into(), v("version"))],
        ctx: s.ctx,
        fields,
        errors,
    })?)
}

async fn settings_form(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_role(FINANCE)?;
    let c = store::settings(&state.db).await?;
    let form: Pairs = vec![
        ("threshold".into(), c.approval_threshold.amount),
        ("currency".into(), c.approval_threshold.currency),
        ("reminder_days".into(), c.expiry_reminder_days.to_string()),
        ("version".into(), c.version.to_string()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    settings_page(s, &form, errors)
}

async fn save_settings(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_role(FINANCE)?;
    let days = value(&form, "reminder_days").trim().parse::<i32>();
    let input = ContractSettings {
        approval_threshold: money_of(&form, "threshold", &value(&form, "currency")),
        expiry_reminder_days: *days.as_ref().unwrap_or(&0),
        version: value(&form, "version").parse().unwrap_or(0),
    };
    let expected = Some(input.version);
    let r = match days {
        Ok(_) => {
            store::set_settings(&state.db, state.clock.now(), &s.actor(), input, expected).await
        }
        Err(_) => Err(AppError::field(
            "reminder_days",
            "invalid_number",
            "must be a whole number",
        )),
    };
    match r {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/contracts", "saved")),
        Err(e) => {
            let e = match e {
                AppError::Validation(errs) => AppError::Validation(
                    errs.into_iter()
                        .map(|mut x| {
                            x.field = match x.field.as_str() {
                                "approval_threshold.amount" => "threshold".into(),
                                "expiry_reminder_days" => "reminder_days".into(),
                                f => f.to_owned(),
                            };
                            x
                        })
                        .collect(),
                ),
                e => e,
            };
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            settings_page(s, &form, errors)
        }
    }
}
