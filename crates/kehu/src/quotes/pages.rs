//! Quote and order pages: lists, the form with the line editor, the quote
//! page (send, accept, reject, print, Excel), the order page, and the
//! printable quote.

use super::model::{
    NewOrder, NewQuote, ORDER_STATUSES, OrderStatusInput, OrderView, QUOTE_STATUSES, QuoteAction,
    QuotePatch, QuoteView,
};
use super::store;
use crate::entities::customer;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, HtmlForm, Pairs, opt_value, value};
use crate::platform::list::pairs;
use crate::platform::money::{self, Money};
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render, urlencode};
use crate::products::model::{LineItem, LineItemInput};
use crate::products::pages::{LineRow, catalogue, line_rows, lines_from_form};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/quotes", get(list_quotes).post(create_quote))
        .route("/quotes/new", get(new_quote))
        .route("/quotes/{id}", get(quote_page).post(update_quote))
        .route("/quotes/{id}/edit", get(edit_quote))
        .route("/quotes/{id}/send", post(send))
        .route("/quotes/{id}/accept", post(accept))
        .route("/quotes/{id}/reject", post(reject))
        .route("/quotes/{id}/print", get(print))
        .route("/quotes/{id}/export.xlsx", get(export))
        .route("/orders", get(list_orders).post(create_order))
        .route("/orders/new", get(new_order))
        .route("/orders/{id}", get(order_page))
        .route("/orders/{id}/status", post(order_status))
}

fn shown(m: &Money) -> String {
    money::display_money(m)
}

async fn customer_names(
    state: &AppState,
    s: &Signed,
    ids: Vec<String>,
) -> PageResult<HashMap<String, String>> {
    Ok(crate::customers::store::visible_names(&state.db, &s.user, ids).await?)
}

fn codes(ctx: &PageCtx, prefix: &str, list: &[&str]) -> Vec<(String, String)> {
    list.iter()
        .map(|c| (c.to_string(), ctx.label(prefix, c)))
        .collect()
}

// ---- Lists ----

/// A quote or an order in a table: (id, number, title, customer id, customer,
/// status, total, date).
pub struct DocRow {
    pub id: String,
    pub number: String,
    pub title: String,
    pub customer_id: String,
    pub customer: String,
    pub status: String,
    pub total: String,
    pub date: String,
}

#[derive(Template)]
#[template(path = "quotes/list.html")]
struct ListPage {
    ctx: PageCtx,
    /// `quotes` or `orders`.
    kind: &'static str,
    rows: Vec<DocRow>,
    total: u64,
    q: String,
    filters: Vec<FormField>,
    next_href: Option<String>,
}

impl ListPage {
    /// `quotes.<k>` or `orders.<k>`.
    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.kind)
    }
}

async fn list_quotes(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let page = store::list_quotes(&state.db, &s.user, &store::QUOTE_LIST.parse(&p)?).await?;
    let names = customer_names(
        &state,
        &s,
        page.data.iter().map(|q| q.customer_id.clone()).collect(),
    )
    .await?;
    let rows = page
        .data
        .iter()
        .map(|q| DocRow {
            id: q.id.clone(),
            number: q.number.clone(),
            title: q.title.clone(),
            customer_id: q.customer_id.clone(),
            customer: names.get(&q.customer_id).cloned().unwrap_or_default(),
            status: q.status.clone(),
            total: shown(&q.priced.total),
            date: q.valid_until.clone().unwrap_or_default(),
        })
        .collect();
    list_page(s, "quotes", rows, page.total, page.next_cursor, &p)
}

async fn list_orders(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let page = store::list_orders(&state.db, &s.user, &store::ORDER_LIST.parse(&p)?).await?;
    let names = customer_names(
        &state,
        &s,
        page.data.iter().map(|o| o.customer_id.clone()).collect(),
    )
    .await?;
    let rows = page.data.iter().map(|o| order_row(o, &names)).collect();
    list_page(s, "orders", rows, page.total, page.next_cursor, &p)
}

fn order_row(o: &OrderView, names: &HashMap<String, String>) -> DocRow {
    DocRow {
        id: o.id.clone(),
        number: o.number.clone(),
        title: o
            .priced
            .items
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        customer_id: o.customer_id.clone(),
        customer: names.get(&o.customer_id).cloned().unwrap_or_default(),
        status: o.status.clone(),
        total: shown(&o.priced.total),
        date: o.order_date.clone(),
    }
}

/// The orders of a customer for its page.
pub async fn customer_orders(
    state: &AppState,
    s: &Signed,
    customer_id: &str,
) -> PageResult<Vec<DocRow>> {
    let rows = store::orders_of_customer(&state.db, &s.user, customer_id).await?;
    let names = HashMap::new();
    Ok(rows
        .into_iter()
        .map(|o| order_row(&OrderView::from(o), &names))
        .collect())
}

fn list_page(
    s: Signed,
    kind: &'static str,
    rows: Vec<DocRow>,
    total: Option<u64>,
    next: Option<String>,
    p: &[(String, String)],
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let statuses = if kind == "quotes" {
        QUOTE_STATUSES
    } else {
        ORDER_STATUSES
    };
    let filters = vec![
        FormField::new(
            "status",
            ctx.t("contracts.field.status"),
            "select",
            &v("status"),
        )
        .options(codes(ctx, &format!("{kind}.status"), statuses)),
    ];
    let next_href = next.map(|c| {
        format!(
            "/{kind}?q={}&status={}&cursor={}",
            urlencode(&v("q")),
            urlencode(&v("status")),
            urlencode(&c)
        )
    });
    Ok(render(&ListPage {
        total: total.unwrap_or(0),
        q: v("q"),
        ctx: s.ctx,
        kind,
        rows,
        filters,
        next_href,
    })?)
}

// ---- The form (quotes and orders) ----

#[derive(Template)]
#[template(path = "quotes/form.html")]
struct FormPage {
    ctx: PageCtx,
    title: String,
    action: String,
    back: String,
    form_id: &'static str,
    hidden: Vec<(String, String)>,
    fields: Vec<FormField>,
    lines: Vec<LineRow>,
    catalogue: Vec<(String, String)>,
    errors: FormErrors,
}

impl FormPage {
    fn other_errors(&self) -> Vec<String> {
        let shown: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        self.errors.other(&shown)
    }
}

/// What the form is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Doc {
    NewQuote,
    EditQuote,
    NewOrder,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    s: Signed,
    doc: Doc,
    id: Option<&str>,
    form: &Pairs,
    lines: &[LineItemInput],
    errors: FormErrors,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("quotes.field.{k}")).to_owned();
    let mut fields = Vec::new();
    if doc != Doc::NewOrder {
        fields.push(
            FormField::new("title", &t("title"), "text", &v("title"))
                .required()
                .max(200),
        );
    }
    if doc != Doc::EditQuote {
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
        fields.push(
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
        );
    }
    if doc == Doc::NewOrder {
        fields.push(FormField::new(
            "order_date",
            &t("order_date"),
            "date",
            &v("order_date"),
        ));
    } else {
        fields.push(FormField::new(
            "valid_until",
            &t("valid_until"),
            "date",
            &v("valid_until"),
        ));
    }
    let owner = v("owner_id");
    let owners = crate::users::store::owner_choices(&state.db, &s.user, &owner).await?;
    fields.extend([
        FormField::new(
            "discount_percent",
            &t("discount_percent"),
            "text",
            &v("discount_percent"),
        )
        .max(10),
        FormField::new("tax_rate", &t("tax_rate"), "text", &v("tax_rate")).max(10),
        FormField::new(
            "owner_id",
            ctx.t("contracts.field.owner_id"),
            "select",
            &v("owner_id"),
        )
        .options(owners)
        .required(),
        FormField::new(
            "notes",
            ctx.t("contracts.field.notes"),
            "textarea",
            &v("notes"),
        )
        .max(10_000)
        .wide(),
    ]);
    let fields = fields.into_iter().map(|f| f.with_errors(&errors)).collect();
    let (title, action, back, form_id) = match doc {
        Doc::NewQuote => (
            ctx.t("quotes.new").to_owned(),
            "/quotes".to_owned(),
            "/quotes".to_owned(),
            "quote-form",
        ),
        Doc::EditQuote => {
            let i = id.unwrap_or_default();
            (
                ctx.t("quotes.edit").to_owned(),
                format!("/quotes/{i}"),
                format!("/quotes/{i}"),
                "quote-form",
            )
        }
        Doc::NewOrder => (
            ctx.t("orders.new").to_owned(),
            "/orders".to_owned(),
            "/orders".to_owned(),
            "order-form",
        ),
    };
    let hidden = ["version", "opportunity_id"]
        .iter()
        .filter(|k| !v(k).is_empty())
        .map(|k| (k.to_string(), v(k)))
        .collect();
    Ok(render(&FormPage {
        lines: line_rows(lines, 4),
        catalogue: catalogue(state, lines).await?,
        ctx: s.ctx,
        title,
        action,
        back,
        form_id,
        hidden,
        fields,
        errors,
    })?)
}

fn input_lines(items: &[LineItem]) -> Vec<LineItemInput> {
    items
        .iter()
        .map(|l| LineItemInput {
            product_id: l.product_id.clone(),
            name: l.name.clone(),
            quantity: l.quantity.clone(),
            unit_price: l.unit_price.clone(),
            discount_percent: Some(l.discount_percent.clone()),
        })
        .collect()
}

async fn new_quote(
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
        ("tax_rate".into(), "13".into()),
        (
            "valid_until".into(),
            (state.clock.now().date() + time::Duration::days(30)).to_string(),
        ),
    ];
    let mut lines = Vec::new();
    let deal = get("opportunity_id");
    if !deal.is_empty() {
        let o = crate::opportunities::store::get(&state.db, &s.user, &deal).await?;
        form.extend([
            ("title".into(), o.name.clone()),
            ("opportunity_id".into(), o.id.clone()),
        ]);
        form.retain(|(k, _)| k != "customer_id" && k != "currency");
        form.push(("customer_id".into(), o.customer_id.clone()));
        form.push(("currency".into(), o.currency.clone()));
        lines =
            input_lines(&serde_json::from_str::<Vec<LineItem>>(&o.products).unwrap_or_default());
    }
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, Doc::NewQuote, None, &form, &lines, errors).await
}

async fn create_quote(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let lines = lines_from_form(&form);
    let input = NewQuote {
        title: value(&form, "title"),
        customer_id: opt_value(&form, "customer_id"),
        opportunity_id: opt_value(&form, "opportunity_id"),
        currency: opt_value(&form, "currency"),
        items: Some(lines.clone()),
        discount_percent: opt_value(&form, "discount_percent"),
        tax_rate: opt_value(&form, "tax_rate"),
        valid_until: opt_value(&form, "valid_until"),
        owner_id: opt_value(&form, "owner_id"),
        notes: opt_value(&form, "notes"),
    };
    match store::create_quote(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(q) => Ok(redirect_with_flash(
            &state,
            &format!("/quotes/{}", q.id),
            "quote_created",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, Doc::NewQuote, None, &form, &lines, errors).await
        }
    }
}

async fn edit_quote(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let q = QuoteView::from(store::get_quote(&state.db, &s.user, &id).await?);
    let form: Pairs = vec![
        ("title".into(), q.title.clone()),
        (
            "valid_until".into(),
            q.valid_until.clone().unwrap_or_default(),
        ),
        ("discount_percent".into(), q.priced.discount_percent.clone()),
        ("tax_rate".into(), q.priced.tax_rate.clone()),
        ("owner_id".into(), q.owner_id.clone().unwrap_or_default()),
        ("notes".into(), q.notes.clone().unwrap_or_default()),
        ("version".into(), q.version.to_string()),
    ];
    let lines = input_lines(&q.priced.items);
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, Doc::EditQuote, Some(&id), &form, &lines, errors).await
}

async fn update_quote(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let lines = lines_from_form(&form);
    let version = value(&form, "version").parse::<i64>().ok();
    let patch = QuotePatch {
        title: Some(value(&form, "title")),
        items: Some(lines.clone()),
        discount_percent: Some(value(&form, "discount_percent")),
        tax_rate: Some(value(&form, "tax_rate")),
        valid_until: Some(opt_value(&form, "valid_until")),
        notes: Some(opt_value(&form, "notes")),
        owner_id: opt_value(&form, "owner_id"),
        version,
    };
    let result = match version {
        Some(v) => {
            store::update_quote(
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
            &format!("/quotes/{id}"),
            "saved",
        )),
        Err(AppError::Refused { .. }) => Ok(redirect_with_flash(
            &state,
            &format!("/quotes/{id}"),
            "quote_refused",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, Doc::EditQuote, Some(&id), &form, &lines, errors).await
        }
    }
}

// ---- The quote page ----

#[derive(Template)]
#[template(path = "quotes/detail.html")]
struct QuotePage {
    ctx: PageCtx,
    q: QuoteView,
    customer: String,
    /// (label, amount) of the totals.
    sums: Vec<(String, String)>,
    order_number: Option<String>,
}

fn sums(ctx: &PageCtx, p: &super::model::Priced) -> Vec<(String, String)> {
    vec![
        (ctx.t("quotes.subtotal").to_owned(), shown(&p.subtotal)),
        (
            format!("{} ({}%)", ctx.t("quotes.discount"), p.discount_percent),
            format!("−{}", shown(&p.discount)),
        ),
        (
            format!("{} ({}%)", ctx.t("quotes.tax"), p.tax_rate),
            shown(&p.tax),
        ),
        (ctx.t("quotes.total").to_owned(), shown(&p.total)),
    ]
}

async fn quote_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let q = QuoteView::from(store::get_quote(&state.db, &s.user, &id).await?);
    let customer = customer_names(&state, &s, vec![q.customer_id.clone()])
        .await?
        .remove(&q.customer_id)
        .unwrap_or_default();
    let order_number = match &q.order_id {
        Some(o) => store::get_order(&state.db, &s.user, o)
            .await
            .ok()
            .map(|o| o.number),
        None => None,
    };
    Ok(render(&QuotePage {
        sums: sums(&s.ctx, &q.priced),
        ctx: s.ctx,
        q,
        customer,
        order_number,
    })?)
}

fn action_of(form: &Pairs) -> QuoteAction {
    QuoteAction {
        reason: opt_value(form, "reason"),
        version: value(form, "version").parse().ok(),
    }
}

fn after(state: &AppState, to: &str, r: Result<(), AppError>, ok: &str) -> PageResult<Response> {
    match r {
        Ok(()) => Ok(redirect_with_flash(state, to, ok)),
        Err(AppError::Validation(errs)) => Ok(redirect_with_flash(
            state,
            to,
            match errs.first().map(|e| e.field.as_str()) {
                Some("reason") => "comment_required",
                Some("valid_until") => "quote_out_of_date",
                _ => "contract_invalid",
            },
        )),
        Err(AppError::Refused { reason, .. }) => Ok(redirect_with_flash(
            state,
            to,
            if reason == "quote_expired" {
                "quote_out_of_date"
            } else {
                "quote_refused"
            },
        )),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(state, to, "stale")),
        Err(e) => Err(e.into()),
    }
}

async fn send(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let r = store::send_quote(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        action_of(&form),
    )
    .await
    .map(|_| ());
    after(&state, &format!("/quotes/{id}"), r, "quote_sent")
}

async fn accept(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    match store::accept_quote(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        action_of(&form),
    )
    .await
    {
        Ok((_, o)) => Ok(redirect_with_flash(
            &state,
            &format!("/orders/{}", o.id),
            "quote_accepted",
        )),
        Err(e) => after(&state, &format!("/quotes/{id}"), Err(e), ""),
    }
}

async fn reject(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let r = store::reject_quote(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        action_of(&form),
    )
    .await
    .map(|_| ());
    after(&state, &format!("/quotes/{id}"), r, "quote_rejected")
}

#[derive(Template)]
#[template(path = "quotes/print.html")]
struct PrintPage {
    ctx: PageCtx,
    q: QuoteView,
    customer: String,
    sums: Vec<(String, String)>,
}

/// The quote on its own, laid out for printing (or saving as PDF from the browser).
async fn print(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let q = QuoteView::from(store::get_quote(&state.db, &s.user, &id).await?);
    let customer = customer_names(&state, &s, vec![q.customer_id.clone()])
        .await?
        .remove(&q.customer_id)
        .unwrap_or_default();
    Ok(render(&PrintPage {
        sums: sums(&s.ctx, &q.priced),
        ctx: s.ctx,
        q,
        customer,
    })?)
}

/// The quote as an Excel workbook.
async fn export(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let q = QuoteView::from(store::get_quote(&state.db, &s.user, &id).await?);
    let customer = customer_names(&state, &s, vec![q.customer_id.clone()])
        .await?
        .remove(&q.customer_id)
        .unwrap_or_default();
    let ctx = &s.ctx;
    let labels = super::export::Labels {
        title: ctx.t("contracts.field.currency"),
        number: ctx.t("quotes.field.number"),
        customer: ctx.t("quotes.field.customer_id"),
        valid_until: ctx.t("quotes.field.valid_until"),
        columns: [
            ctx.t("opportunities.product.name"),
            ctx.t("opportunities.product.quantity"),
            ctx.t("opportunities.product.unit_price"),
            ctx.t("opportunities.product.discount"),
            ctx.t("opportunities.product.total"),
        ],
        subtotal: ctx.t("quotes.subtotal"),
        discount: ctx.t("quotes.discount"),
        tax: ctx.t("quotes.tax"),
        total: ctx.t("quotes.total"),
    };
    let bytes = super::export::xlsx(&q, &customer, &labels)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.xlsx\"", q.number),
            ),
        ],
        bytes,
    )
        .into_response())
}

// ---- Orders ----

async fn new_order(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let p = pairs(raw.as_deref())?;
    let customer = p
        .iter()
        .find(|(k, _)| k == "customer_id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let form: Pairs = vec![
        ("customer_id".into(), customer),
        ("currency".into(), money::DEFAULT_CURRENCY.into()),
        ("owner_id".into(), s.user.id.clone()),
        ("tax_rate".into(), "13".into()),
        ("order_date".into(), state.clock.now().date().to_string()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, Doc::NewOrder, None, &form, &[], errors).await
}

async fn create_order(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let lines = lines_from_form(&form);
    let input = NewOrder {
        customer_id: value(&form, "customer_id"),
        opportunity_id: opt_value(&form, "opportunity_id"),
        currency: opt_value(&form, "currency"),
        items: lines.clone(),
        discount_percent: opt_value(&form, "discount_percent"),
        tax_rate: opt_value(&form, "tax_rate"),
        order_date: opt_value(&form, "order_date"),
        owner_id: opt_value(&form, "owner_id"),
        notes: opt_value(&form, "notes"),
    };
    match store::create_order(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(o) => Ok(redirect_with_flash(
            &state,
            &format!("/orders/{}", o.id),
            "order_created",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, Doc::NewOrder, None, &form, &lines, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "quotes/order.html")]
struct OrderPage {
    ctx: PageCtx,
    o: OrderView,
    customer: String,
    sums: Vec<(String, String)>,
    quote_number: Option<String>,
}

async fn order_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let o = OrderView::from(store::get_order(&state.db, &s.user, &id).await?);
    let customer = customer_names(&state, &s, vec![o.customer_id.clone()])
        .await?
        .remove(&o.customer_id)
        .unwrap_or_default();
    let quote_number = match &o.quote_id {
        Some(q) => store::get_quote(&state.db, &s.user, q)
            .await
            .ok()
            .map(|q| q.number),
        None => None,
    };
    Ok(render(&OrderPage {
        sums: sums(&s.ctx, &o.priced),
        ctx: s.ctx,
        o,
        customer,
        quote_number,
    })?)
}

async fn order_status(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let r = store::set_order_status(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        OrderStatusInput {
            status: value(&form, "status"),
            version: value(&form, "version").parse().ok(),
        },
    )
    .await
    .map(|_| ());
    let to = format!("/orders/{id}");
    match r {
        Ok(()) => Ok(redirect_with_flash(&state, &to, "saved")),
        Err(AppError::Refused { .. }) | Err(AppError::Validation(_)) => {
            Ok(redirect_with_flash(&state, &to, "quote_refused"))
        }
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, &to, "stale")),
        Err(e) => Err(e.into()),
    }
}
