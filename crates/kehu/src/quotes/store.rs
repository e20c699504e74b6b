//! Quote and order queries: the only place that writes `quotes` and `orders`.
//! Reads go through `DataScope` on `owner_id`. Totals are computed here from
//! the lines (`products::model::totals`), never taken from the client.
//! Accepting a quote makes its order in the same transaction.

use super::model::{
    NewOrder, NewQuote, OrderStatusInput, OrderView, PurchaseSummary, QuoteAction, QuotePatch,
    QuoteView,
};
use crate::entities::{opportunity, order, quote};
use crate::opportunities::model::{clean, parse_date};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, Event};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::money;
use crate::platform::scope::DataScope;
use crate::platform::validate::{max_len, required_text};
use crate::products::model::{LineItem, LineItemInput, Totals, parse_percent, price_items, totals};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

pub static QUOTE_LIST: ListSpec<quote::Column> = ListSpec {
    filters: &[
        Field::one_of(
            "status",
            quote::Column::Status,
            super::model::QUOTE_STATUSES,
        ),
        Field::new("customer_id", quote::Column::CustomerId, Kind::Text),
        Field::new("opportunity_id", quote::Column::OpportunityId, Kind::Text),
        Field::new("owner_id", quote::Column::OwnerId, Kind::Text),
        Field::new("currency", quote::Column::Currency, Kind::Text),
        Field::new("valid_until", quote::Column::ValidUntil, Kind::Date),
        Field::new("created_at", quote::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", quote::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("updated_at", quote::Column::UpdatedAt, Kind::Time),
        Field::new("created_at", quote::Column::CreatedAt, Kind::Time),
        Field::new("number", quote::Column::Number, Kind::Text),
        Field::new("total", quote::Column::Total, Kind::Int),
    ],
    default_sort: "-updated_at",
    id: quote::Column::Id,
    search: &[quote::Column::Number, quote::Column::Title],
    fulltext: None,
    custom: false,
};

pub static ORDER_LIST: ListSpec<order::Column> = ListSpec {
    filters: &[
        Field::one_of(
            "status",
            order::Column::Status,
            super::model::ORDER_STATUSES,
        ),
        Field::new("customer_id", order::Column::CustomerId, Kind::Text),
        Field::new("quote_id", order::Column::QuoteId, Kind::Text),
        Field::new("opportunity_id", order::Column::OpportunityId, Kind::Text),
        Field::new("owner_id", order::Column::OwnerId, Kind::Text),
        Field::new("currency", order::Column::Currency, Kind::Text),
        Field::new("order_date", order::Column::OrderDate, Kind::Date),
        Field::new("created_at", order::Column::CreatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("order_date", order::Column::OrderDate, Kind::Date),
        Field::new("created_at", order::Column::CreatedAt, Kind::Time),
        Field::new("number", order::Column::Number, Kind::Text),
        Field::new("total", order::Column::Total, Kind::Int),
    ],
    default_sort: "-order_date",
    id: order::Column::Id,
    search: &[order::Column::Number],
    fulltext: None,
    custom: false,
};

fn quotes(scope: &DataScope) -> Select<quote::Entity> {
    scope.filter(quote::Entity::find(), quote::Column::OwnerId)
}

fn orders(scope: &DataScope) -> Select<order::Entity> {
    scope.filter(order::Entity::find(), order::Column::OwnerId)
}

pub async fn get_quote<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<quote::Model> {
    let scope = DataScope::for_user(db, user).await?;
    quotes(&scope)
        .filter(quote::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// `get_quote` in a write transaction: the quote's row stays locked until
/// it ends (PostgreSQL), so concurrent changes of one quote take turns.
async fn get_quote_locked<C: ConnectionTrait>(
    txn: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<quote::Model> {
    let scope = DataScope::for_user(txn, user).await?;
    crate::platform::db::for_update(quotes(&scope).filter(quote::Column::Id.eq(id)), txn)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn get_order<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<order::Model> {
    let scope = DataScope::for_user(db, user).await?;
    orders(&scope)
        .filter(order::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn list_quotes(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<quote::Column>,
) -> AppResult<Page<QuoteView>> {
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req
        .fetch(db, quotes(&scope), sea_orm::Condition::all())
        .await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "created_at" => time_key(&m.created_at),
                "number" => json!(m.number),
                "total" => json!(m.total),
                _ => time_key(&m.updated_at),
            };
            (v, m.id.clone())
        },
        QuoteView::from,
    ))
}

pub async fn list_orders(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<order::Column>,
) -> AppResult<Page<OrderView>> {
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req
        .fetch(db, orders(&scope), sea_orm::Condition::all())
        .await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "created_at" => time_key(&m.created_at),
                "number" => json!(m.number),
                "total" => json!(m.total),
                _ => json!(m.order_date.to_string()),
            };
            (v, m.id.clone())
        },
        OrderView::from,
    ))
}

/// The orders of a customer the caller sees, newest first (its page).
pub async fn orders_of_customer<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    customer_id: &str,
) -> AppResult<Vec<order::Model>> {
    let scope = DataScope::for_user(db, user).await?;
    Ok(orders(&scope)
        .filter(order::Column::CustomerId.eq(customer_id))
        .order_by_desc(order::Column::OrderDate)
        .order_by_desc(order::Column::Id)
        .limit(100)
        .all(db)
        .await?)
}

/// What a customer bought (the orders not cancelled that the caller sees):
/// count, totals per currency, first and last order date.
pub async fn purchases<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    customer_id: &str,
) -> AppResult<PurchaseSummary> {
    let scope = DataScope::for_user(db, user).await?;
    let rows = orders(&scope)
        .filter(order::Column::CustomerId.eq(customer_id))
        .filter(order::Column::Status.ne("cancelled"))
        .all(db)
        .await?;
    let mut per: std::collections::BTreeMap<String, i128> = Default::default();
    for o in &rows {
        *per.entry(o.currency.clone()).or_default() += i128::from(o.total);
    }
    Ok(PurchaseSummary {
        customer_id: customer_id.to_owned(),
        orders: rows.len() as u64,
        totals: per
            .into_iter()
            .map(|(c, s)| money::money_of_sum(s, &c))
            .collect(),
        first_order_date: rows
            .iter()
            .map(|o| o.order_date)
            .min()
            .map(|d| d.to_string()),
        last_order_date: rows
            .iter()
            .map(|o| o.order_date)
            .max()
            .map(|d| d.to_string()),
    })
}

/// Lines, percents and totals of a quote or an order, checked and priced.
struct PricedDraft {
    items: Vec<LineItem>,
    discount_percent: i64,
    tax_rate: i64,
    totals: Totals,
}

async fn price_document<C: ConnectionTrait>(
    db: &C,
    currency: &str,
    items: &[LineItemInput],
    discount: Option<&str>,
    tax: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> AppResult<Option<PricedDraft>> {
    let percent = |field: &str, v: Option<&str>, errors: &mut Vec<FieldError>| match v
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Some(0),
        Some(s) => parse_percent(field, s).map_err(|e| errors.push(e)).ok(),
    };
    let d = percent("discount_percent", discount, errors);
    let t = percent("tax_rate", tax, errors);
    if let Err(e) = money::check_currency("currency", currency) {
        errors.push(e);
        return Ok(None);
    }
    if items.is_empty() {
        errors.push(FieldError::new("items", "required", "at least one line"));
        return Ok(None);
    }
    let (items, errs) = crate::products::store::resolve_lines(db, items, currency).await?;
    let rename = |e: FieldError| FieldError {
        field: e.field.replacen("products", "items", 1),
        ..e
    };
    if !errs.is_empty() {
        errors.extend(errs.into_iter().map(rename));
        return Ok(None);
    }
    let (lines, sum) = match price_items(&items, currency) {
        Ok(x) => x,
        Err(e) => {
            errors.extend(e.into_iter().map(rename));
            return Ok(None);
        }
    };
    let (Some(d), Some(t)) = (d, t) else {
        return Ok(None);
    };
    match totals(sum, d, t, currency) {
        Some(totals) => Ok(Some(PricedDraft {
            items: lines,
            discount_percent: d,
            tax_rate: t,
            totals,
        })),
        None => {
            errors.push(FieldError::new(
                "items",
                "too_large",
                "the total is too large",
            ));
            Ok(None)
        }
    }
}

/// The deal's lines as input lines (a quote for a deal starts from them).
fn lines_of(deal: &opportunity::Model) -> Vec<LineItemInput> {
    serde_json::from_str::<Vec<LineItem>>(&deal.products)
        .unwrap_or_default()
        .into_iter()
        .map(|l| LineItemInput {
            product_id: l.product_id,
            name: l.name,
            quantity: l.quantity,
            unit_price: l.unit_price,
            discount_percent: Some(l.discount_percent),
        })
        .collect()
}

fn quote_json(m: &quote::Model) -> Value {
    json!({
        "title": m.title,
        "customer_id": m.customer_id,
        "opportunity_id": m.opportunity_id,
        "owner_id": m.owner_id,
        "items": serde_json::from_str::<Value>(&m.items).unwrap_or(Value::Null),
        "discount_percent": crate::products::model::percent_text(m.discount_percent),
        "tax_rate": crate::products::model::percent_text(m.tax_rate),
        "total": format!("{} {}", money::text(m.total, &m.currency), m.currency),
        "valid_until": m.valid_until.map(|d| d.to_string()),
        "status": m.status,
        "order_id": m.order_id,
        "reject_reason": m.reject_reason,
        "notes": m.notes,
    })
}

fn order_json(m: &order::Model) -> Value {
    json!({
        "customer_id": m.customer_id,
        "quote_id": m.quote_id,
        "owner_id": m.owner_id,
        "items": serde_json::from_str::<Value>(&m.items).unwrap_or(Value::Null),
        "total": format!("{} {}", money::text(m.total, &m.currency), m.currency),
        "order_date": m.order_date.to_string(),
        "status": m.status,
        "notes": m.notes,
    })
}

fn check_notes(notes: &Option<String>, errors: &mut Vec<FieldError>) {
    if let Some(e) = notes.as_deref().and_then(|n| max_len("notes", n, 10_000)) {
        errors.push(e);
    }
}

pub async fn create_quote(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewQuote,
) -> AppResult<quote::Model> {
    let mut errors = Vec::new();
    if let Some(e) = required_text("title", &input.title, 200) {
        errors.push(e);
    }
    let notes = clean(input.notes.clone());
    check_notes(&notes, &mut errors);
    let valid_until = parse_date("valid_until", input.valid_until.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let txn = write_txn(db).await?;
    let deal = match clean(input.opportunity_id.clone()) {
        None => None,
        Some(o) => match crate::opportunities::store::get(&txn, user, &o).await {
            Ok(d) => Some(d),
            Err(AppError::NotFound) => {
                errors.push(FieldError::new(
                    "opportunity_id",
                    "not_found",
                    "no such deal",
                ));
                None
            }
            Err(e) => return Err(e),
        },
    };
    let customer_id = match (clean(input.customer_id.clone()), &deal) {
        (Some(c), Some(d)) if c != d.customer_id => {
            errors.push(FieldError::new(
                "opportunity_id",
                "other_customer",
                "the deal is another customer's",
            ));
            c
        }
        (Some(c), _) => c,
        (None, Some(d)) => d.customer_id.clone(),
        (None, None) => {
            errors.push(FieldError::new("customer_id", "required", "is required"));
            String::new()
        }
    };
    if !customer_id.is_empty() {
        crate::customers::store::check_visible(&txn, user, &customer_id, &mut errors).await?;
    }
    let currency = clean(input.currency.clone())
        .or_else(|| deal.as_ref().map(|d| d.currency.clone()))
        .unwrap_or_else(|| money::DEFAULT_CURRENCY.into());
    let items = match (&input.items, &deal) {
        (Some(i), _) => i.clone(),
        (None, Some(d)) => {
            if d.currency != currency {
                errors.push(FieldError::new(
                    "currency",
                    "currency_mismatch",
                    format!(
                        "the deal's lines are in {}; send items for another currency",
                        d.currency
                    ),
                ));
            }
            lines_of(d)
        }
        (None, None) => Vec::new(),
    };
    let priced = price_document(
        &txn,
        &currency,
        &items,
        input.discount_percent.as_deref(),
        input.tax_rate.as_deref(),
        &mut errors,
    )
    .await?;
    let owner = clean(input.owner_id.clone()).unwrap_or_else(|| user.id.clone());
    crate::platform::scope::check_owner(&txn, user, &owner, &mut errors).await?;
    let Some(p) = priced.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let number = crate::platform::numbering::next_number(&txn, "Q", now.year()).await?;
    let m = quote::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        number: Set(number),
        title: Set(input.title.trim().to_owned()),
        customer_id: Set(customer_id),
        opportunity_id: Set(deal.map(|d| d.id)),
        owner_id: Set(Some(owner)),
        currency: Set(currency),
        items: Set(serde_json::to_string(&p.items).unwrap_or_else(|_| "[]".into())),
        discount_percent: Set(p.discount_percent),
        tax_rate: Set(p.tax_rate),
        subtotal: Set(p.totals.subtotal),
        discount: Set(p.totals.discount),
        tax: Set(p.totals.tax),
        total: Set(p.totals.total),
        valid_until: Set(valid_until),
        status: Set("draft".into()),
        order_id: Set(None),
        reject_reason: Set(None),
        notes: Set(notes),
        sent_at: Set(None),
        decided_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "quote",
        Some(&m.id),
        "create",
        audit::created(&quote_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

async fn write_quote<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    old: &quote::Model,
    mut a: quote::ActiveModel,
    action: &str,
) -> AppResult<quote::Model> {
    a.version = Set(old.version + 1);
    a.updated_at = Set(now);
    let r = quote::Entity::update_many()
        .set(a)
        .filter(quote::Column::Id.eq(old.id.clone()))
        .filter(quote::Column::Version.eq(old.version))
        .exec(txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let m = quote::Entity::find_by_id(old.id.clone())
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        txn,
        now,
        actor,
        "quote",
        Some(&m.id),
        action,
        audit::diff(&quote_json(old), &quote_json(&m)),
    )
    .await?;
    Ok(m)
}

/// Changes a draft quote (a sent one is 409 `quote_sent`: make a new one).
#[allow(clippy::too_many_arguments)]
pub async fn update_quote(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: QuotePatch,
    expected: i64,
) -> AppResult<quote::Model> {
    let txn = write_txn(db).await?;
    let old = get_quote_locked(&txn, user, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    if old.status != "draft" {
        return Err(AppError::refused(
            "quote_sent",
            "only a draft quote changes; copy it into a new one",
        ));
    }
    let mut errors = Vec::new();
    let mut a = old.clone().into_active_model();
    if let Some(t) = &patch.title {
        if let Some(e) = required_text("title", t, 200) {
            errors.push(e);
        }
        a.title = Set(t.trim().to_owned());
    }
    if patch.items.is_some() || patch.discount_percent.is_some() || patch.tax_rate.is_some() {
        let items = match &patch.items {
            Some(i) => i.clone(),
            None => serde_json::from_str::<Vec<LineItem>>(&old.items)
                .unwrap_or_default()
                .into_iter()
                .map(|l| LineItemInput {
                    product_id: l.product_id,
                    name: l.name,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    discount_percent: Some(l.discount_percent),
                })
                .collect(),
        };
        let d = patch
            .discount_percent
            .clone()
            .unwrap_or_else(|| crate::products::model::percent_text(old.discount_percent));
        let t = patch
            .tax_rate
            .clone()
            .unwrap_or_else(|| crate::products::model::percent_text(old.tax_rate));
        if let Some(p) =
            price_document(&txn, &old.currency, &items, Some(&d), Some(&t), &mut errors).await?
        {
            a.items = Set(serde_json::to_string(&p.items).unwrap_or_else(|_| "[]".into()));
            a.discount_percent = Set(p.discount_percent);
            a.tax_rate = Set(p.tax_rate);
            a.subtotal = Set(p.totals.subtotal);
            a.discount = Set(p.totals.discount);
            a.tax = Set(p.totals.tax);
            a.total = Set(p.totals.total);
        }
    }
    if let Some(v) = &patch.valid_until {
        a.valid_until = Set(parse_date("valid_until", v.as_deref())
            .map_err(|e| errors.push(e))
            .ok()
            .flatten());
    }
    if let Some(n) = &patch.notes {
        let n = clean(n.clone());
        check_notes(&n, &mut errors);
        a.notes = Set(n);
    }
    if let Some(o) = clean(patch.owner_id.clone())
        && old.owner_id.as_deref() != Some(o.as_str())
    {
        crate::platform::scope::check_owner(&txn, user, &o, &mut errors).await?;
        a.owner_id = Set(Some(o));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let m = write_quote(&txn, now, actor, &old, a, "update").await?;
    txn.commit().await?;
    Ok(m)
}

fn check_version(input: &QuoteAction, m: &quote::Model) -> AppResult<()> {
    if input.version.is_some_and(|v| v != m.version) {
        return Err(stale());
    }
    Ok(())
}

fn expired(m: &quote::Model, today: Date) -> bool {
    m.valid_until.is_some_and(|d| d < today)
}

/// Marks a draft quote sent (to the customer).
pub async fn send_quote(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: QuoteAction,
) -> AppResult<quote::Model> {
    let txn = write_txn(db).await?;
    let old = get_quote_locked(&txn, user, id).await?;
    check_version(&input, &old)?;
    if old.status != "draft" {
        return Err(AppError::refused(
            "quote_sent",
            "the quote was sent already",
        ));
    }
    if expired(&old, now.date()) {
        return Err(AppError::field(
            "valid_until",
            "in_past",
            "the quote is no longer valid: change its date first",
        ));
    }
    let mut a = old.clone().into_active_model();
    a.status = Set("sent".into());
    a.sent_at = Set(Some(now));
    let m = write_quote(&txn, now, actor, &old, a, "send").await?;
    txn.commit().await?;
    Ok(m)
}

/// The customer accepted a sent quote: it makes its order (same lines and
/// totals), in the same transaction. A quote past `valid_until` is 409
/// `quote_expired`; deciding twice is 409 `quote_decided`.
pub async fn accept_quote(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: QuoteAction,
) -> AppResult<(quote::Model, order::Model)> {
    let txn = write_txn(db).await?;
    let old = get_quote_locked(&txn, user, id).await?;
    check_version(&input, &old)?;
    match old.status.as_str() {
        "sent" => {}
        "draft" => {
            return Err(AppError::refused(
                "quote_not_sent",
                "send the quote before it is accepted",
            ));
        }
        "expired" => return Err(AppError::refused("quote_expired", "the quote has expired")),
        _ => {
            return Err(AppError::refused(
                "quote_decided",
                format!("the quote was {} already", old.status),
            ));
        }
    }
    if expired(&old, now.date()) {
        return Err(AppError::refused("quote_expired", "the quote has expired"));
    }
    // The order is for a customer the caller still sees.
    crate::customers::store::get(&txn, user, &old.customer_id).await?;
    let number = crate::platform::numbering::next_number(&txn, "SO", now.year()).await?;
    let o = order::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        number: Set(number),
        customer_id: Set(old.customer_id.clone()),
        quote_id: Set(Some(old.id.clone())),
        opportunity_id: Set(old.opportunity_id.clone()),
        owner_id: Set(old.owner_id.clone()),
        currency: Set(old.currency.clone()),
        items: Set(old.items.clone()),
        discount_percent: Set(old.discount_percent),
        tax_rate: Set(old.tax_rate),
        subtotal: Set(old.subtotal),
        discount: Set(old.discount),
        tax: Set(old.tax),
        total: Set(old.total),
        order_date: Set(now.date()),
        status: Set("confirmed".into()),
        notes: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "order",
        Some(&o.id),
        "create",
        audit::created(&order_json(&o)),
    )
    .await?;
    let mut a = old.clone().into_active_model();
    a.status = Set("accepted".into());
    a.decided_at = Set(Some(now));
    a.order_id = Set(Some(o.id.clone()));
    let m = write_quote(&txn, now, actor, &old, a, "accept").await?;
    events::emit(
        &txn,
        &events::Ctx::new(now, actor, Some(user)),
        Event::QuoteAccepted {
            quote_id: m.id.clone(),
            order_id: o.id.clone(),
            customer_id: m.customer_id.clone(),
        },
    )
    .await?;
    txn.commit().await?;
    Ok((m, o))
}

/// The customer turned a sent quote down (`reason` required).
pub async fn reject_quote(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: QuoteAction,
) -> AppResult<quote::Model> {
    let Some(reason) = clean(input.reason.clone()) else {
        return Err(AppError::field(
            "reason",
            "required",
            "say why it was turned down",
        ));
    };
    if let Some(e) = max_len("reason", &reason, 2000) {
        return Err(AppError::Validation(vec![e]));
    }
    let txn = write_txn(db).await?;
    let old = get_quote_locked(&txn, user, id).await?;
    check_version(&input, &old)?;
    if old.status != "sent" {
        return Err(AppError::refused(
            "quote_decided",
            "only a sent quote can be turned down",
        ));
    }
    if expired(&old, now.date()) {
        return Err(AppError::refused("quote_expired", "the quote has expired"));
    }
    let mut a = old.clone().into_active_model();
    a.status = Set("rejected".into());
    a.decided_at = Set(Some(now));
    a.reject_reason = Set(Some(reason));
    let m = write_quote(&txn, now, actor, &old, a, "reject").await?;
    txn.commit().await?;
    Ok(m)
}

/// Sent quotes past their `valid_until` become `expired` (the hourly job).
pub async fn expire_quotes(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<u64> {
    let txn = write_txn(db).await?;
    let due = quote::Entity::find()
        .filter(quote::Column::Status.eq("sent"))
        .filter(quote::Column::ValidUntil.lt(now.date()))
        .limit(1000)
        .all(&txn)
        .await?;
    let actor = Actor::default();
    let mut n = 0;
    for q in &due {
        let r = quote::Entity::update_many()
            .col_expr(quote::Column::Status, Expr::value("expired"))
            .col_expr(quote::Column::Version, Expr::value(q.version + 1))
            .col_expr(quote::Column::UpdatedAt, Expr::value(now))
            .filter(quote::Column::Id.eq(q.id.clone()))
            .filter(quote::Column::Version.eq(q.version))
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            let mut changes = serde_json::Map::new();
            changes.insert("status".into(), json!(["sent", "expired"]));
            audit::record(&txn, now, &actor, "quote", Some(&q.id), "expire", changes).await?;
            n += 1;
        }
    }
    txn.commit().await?;
    Ok(n)
}

/// Records an order directly (confirmed).
pub async fn create_order(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewOrder,
) -> AppResult<order::Model> {
    let mut errors = Vec::new();
    let notes = clean(input.notes.clone());
    check_notes(&notes, &mut errors);
    let order_date = parse_date("order_date", input.order_date.as_deref())
        .map_err(|e| errors.push(e))
        .ok()
        .flatten()
        .unwrap_or(now.date());
    let txn = write_txn(db).await?;
    crate::customers::store::check_visible(&txn, user, &input.customer_id, &mut errors).await?;
    let opportunity_id = clean(input.opportunity_id.clone());
    if let Some(o) = &opportunity_id {
        match crate::opportunities::store::get(&txn, user, o).await {
            Ok(d) if d.customer_id == input.customer_id => {}
            Ok(_) => errors.push(FieldError::new(
                "opportunity_id",
                "other_customer",
                "the deal is another customer's",
            )),
            Err(AppError::NotFound) => errors.push(FieldError::new(
                "opportunity_id",
                "not_found",
                "no such deal",
            )),
            Err(e) => return Err(e),
        }
    }
    let currency = clean(input.currency.clone()).unwrap_or_else(|| money::DEFAULT_CURRENCY.into());
    let priced = price_document(
        &txn,
        &currency,
        &input.items,
        input.discount_percent.as_deref(),
        input.tax_rate.as_deref(),
        &mut errors,
    )
    .await?;
    let owner = clean(input.owner_id.clone()).unwrap_or_else(|| user.id.clone());
    crate::platform::scope::check_owner(&txn, user, &owner, &mut errors).await?;
    let Some(p) = priced.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let number = crate::platform::numbering::next_number(&txn, "SO", now.year()).await?;
    let o = order::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        number: Set(number),
        customer_id: Set(input.customer_id.clone()),
        quote_id: Set(None),
        opportunity_id: Set(opportunity_id),
        owner_id: Set(Some(owner)),
        currency: Set(currency),
        items: Set(serde_json::to_string(&p.items).unwrap_or_else(|_| "[]".into())),
        discount_percent: Set(p.discount_percent),
        tax_rate: Set(p.tax_rate),
        subtotal: Set(p.totals.subtotal),
        discount: Set(p.totals.discount),
        tax: Set(p.totals.tax),
        total: Set(p.totals.total),
        order_date: Set(order_date),
        status: Set("confirmed".into()),
        notes: Set(notes),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "order",
        Some(&o.id),
        "create",
        audit::created(&order_json(&o)),
    )
    .await?;
    txn.commit().await?;
    Ok(o)
}

/// A confirmed order becomes `fulfilled` or `cancelled` (then it stays).
pub async fn set_order_status(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: OrderStatusInput,
) -> AppResult<order::Model> {
    if let Some(e) =
        crate::platform::validate::one_of("status", input.status.trim(), super::model::ORDER_MOVES)
    {
        return Err(AppError::Validation(vec![e]));
    }
    let txn = write_txn(db).await?;
    let old = get_order(&txn, user, id).await?;
    if input.version.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    if old.status != "confirmed" {
        return Err(AppError::refused(
            "order_closed",
            format!("the order is {} already", old.status),
        ));
    }
    let r = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(input.status.trim()))
        .col_expr(order::Column::Version, Expr::value(old.version + 1))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(old.id.clone()))
        .filter(order::Column::Version.eq(old.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let m = get_order(&txn, user, id).await?;
    audit::record(
        &txn,
        now,
        actor,
        "order",
        Some(id),
        "update",
        audit::diff(&order_json(&old), &order_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Gives the open quotes (draft, sent) and confirmed orders of each
/// `(customer, old owner)` to `to`, inside a transfer's transaction: quotes go
/// with the open deals, orders with the contracts.
pub async fn move_with_customer<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    moves: &[(String, String)],
    to: &str,
    quotes_too: bool,
    orders_too: bool,
) -> AppResult<u64> {
    let mut moved = 0;
    for (customer_id, from) in moves {
        if quotes_too {
            let rows = quote::Entity::find()
                .filter(quote::Column::CustomerId.eq(customer_id.clone()))
                .filter(quote::Column::OwnerId.eq(from.clone()))
                .filter(quote::Column::Status.is_in(["draft", "sent"]))
                .all(txn)
                .await?;
            for q in rows {
                let r = quote::Entity::update_many()
                    .col_expr(quote::Column::OwnerId, Expr::value(to.to_owned()))
                    .col_expr(quote::Column::Version, Expr::value(q.version + 1))
                    .col_expr(quote::Column::UpdatedAt, Expr::value(now))
                    .filter(quote::Column::Id.eq(q.id.clone()))
                    .filter(quote::Column::Version.eq(q.version))
                    .exec(txn)
                    .await?;
                if r.rows_affected == 1 {
                    let mut changes = serde_json::Map::new();
                    changes.insert("owner_id".into(), json!([from, to]));
                    audit::record(txn, now, actor, "quote", Some(&q.id), "transfer", changes)
                        .await?;
                    moved += 1;
                }
            }
        }
        if orders_too {
            let rows = order::Entity::find()
                .filter(order::Column::CustomerId.eq(customer_id.clone()))
                .filter(order::Column::OwnerId.eq(from.clone()))
                .filter(order::Column::Status.eq("confirmed"))
                .all(txn)
                .await?;
            for o in rows {
                let r = order::Entity::update_many()
                    .col_expr(order::Column::OwnerId, Expr::value(to.to_owned()))
                    .col_expr(order::Column::Version, Expr::value(o.version + 1))
                    .col_expr(order::Column::UpdatedAt, Expr::value(now))
                    .filter(order::Column::Id.eq(o.id.clone()))
                    .filter(order::Column::Version.eq(o.version))
                    .exec(txn)
                    .await?;
                if r.rows_affected == 1 {
                    let mut changes = serde_json::Map::new();
                    changes.insert("owner_id".into(), json!([from, to]));
                    audit::record(txn, now, actor, "order", Some(&o.id), "transfer", changes)
                        .await?;
                    moved += 1;
                }
            }
        }
    }
    Ok(moved)
}
