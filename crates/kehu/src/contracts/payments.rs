//! Payment and invoice queries: the only place that writes `payments`,
//! `payment_allocations` and `invoices`. Both are seen through their contract
//! (`store::visible_ids`), and every write starts by locking the contract
//! (`store::get_locked`), so "at most what is still owed" and "at most the
//! contract amount" hold under concurrent requests on both databases.

use super::model::{INVOICE_KINDS, InvoiceView, METHODS, NewInvoice, NewPayment, PaymentView};
use super::store::{self, FINANCE, get_locked};
use crate::entities::{allocation, contract, installment, invoice, payment};
use crate::opportunities::model::clean;
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, Event};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::money;
use crate::platform::scope::DataScope;
use crate::platform::validate::{max_len, one_of, required_text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

pub static PAYMENT_LIST: ListSpec<payment::Column> = ListSpec {
    filters: &[
        Field::new("contract_id", payment::Column::ContractId, Kind::Text),
        Field::one_of(
            "status",
            payment::Column::Status,
            super::model::PAYMENT_STATUSES,
        ),
        Field::one_of("method", payment::Column::Method, METHODS),
        Field::new("currency", payment::Column::Currency, Kind::Text),
        Field::new("received_on", payment::Column::ReceivedOn, Kind::Date),
        Field::new("amount", payment::Column::Amount, Kind::Int),
        Field::new("recorded_by", payment::Column::RecordedBy, Kind::Text),
        Field::new("created_at", payment::Column::CreatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("created_at", payment::Column::CreatedAt, Kind::Time),
        Field::new("received_on", payment::Column::ReceivedOn, Kind::Date),
        Field::new("amount", payment::Column::Amount, Kind::Int),
    ],
    default_sort: "-created_at",
    id: payment::Column::Id,
    search: &[payment::Column::Reference],
    fulltext: None,
    custom: false,
};

pub static INVOICE_LIST: ListSpec<invoice::Column> = ListSpec {
    filters: &[
        Field::new("contract_id", invoice::Column::ContractId, Kind::Text),
        Field::one_of(
            "status",
            invoice::Column::Status,
            super::model::INVOICE_STATUSES,
        ),
        Field::one_of("kind", invoice::Column::Kind, INVOICE_KINDS),
        Field::new("currency", invoice::Column::Currency, Kind::Text),
        Field::new("issued_on", invoice::Column::IssuedOn, Kind::Date),
        Field::new("created_at", invoice::Column::CreatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("created_at", invoice::Column::CreatedAt, Kind::Time),
        Field::new("issued_on", invoice::Column::IssuedOn, Kind::Date),
        Field::new("amount", invoice::Column::Amount, Kind::Int),
    ],
    default_sort: "-created_at",
    id: invoice::Column::Id,
    search: &[invoice::Column::Number, invoice::Column::BuyerTitle],
    fulltext: None,
    custom: false,
};

fn visible(scope: &DataScope, col: impl ColumnTrait) -> Condition {
    Condition::all().add(col.in_subquery(store::visible_ids(scope)))
}

/// The allocations of some payments: `payment id → [(installment id, amount)]`.
async fn allocations_of<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> AppResult<HashMap<String, Vec<(String, i64)>>> {
    let mut out: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for a in allocation::Entity::find()
            .filter(allocation::Column::PaymentId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            out.entry(a.payment_id)
                .or_default()
                .push((a.installment_id, a.amount));
        }
    }
    Ok(out)
}

pub async fn payment_view<C: ConnectionTrait>(db: &C, m: payment::Model) -> AppResult<PaymentView> {
    let a = allocations_of(db, std::slice::from_ref(&m.id))
        .await?
        .remove(&m.id)
        .unwrap_or_default();
    Ok(PaymentView::new(m, a))
}

pub async fn list_payments(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<payment::Column>,
) -> AppResult<Page<PaymentView>> {
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req
        .fetch(
            db,
            payment::Entity::find(),
            visible(&scope, payment::Column::ContractId),
        )
        .await?;
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let a = allocations_of(db, &ids).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "received_on" => json!(m.received_on.to_string()),
                "amount" => json!(m.amount),
                _ => time_key(&m.created_at),
            };
            (v, m.id.clone())
        },
        |m| {
            let x = a.get(&m.id).cloned().unwrap_or_default();
            PaymentView::new(m, x)
        },
    ))
}

/// The payments of a contract (its page), newest first.
pub async fn payments_of<C: ConnectionTrait>(
    db: &C,
    contract_id: &str,
) -> AppResult<Vec<PaymentView>> {
    let rows = payment::Entity::find()
        .filter(payment::Column::ContractId.eq(contract_id))
        .order_by_desc(payment::Column::ReceivedOn)
        .order_by_desc(payment::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let mut a = allocations_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let x = a.remove(&m.id).unwrap_or_default();
            PaymentView::new(m, x)
        })
        .collect())
}

/// A payment whose contract `user` sees; 404 otherwise.
pub async fn get_payment<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<payment::Model> {
    let scope = DataScope::for_user(db, user).await?;
    payment::Entity::find()
        .filter(payment::Column::Id.eq(id))
        .filter(visible(&scope, payment::Column::ContractId))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn payment_json(m: &payment::Model) -> serde_json::Value {
    json!({
        "contract_id": m.contract_id,
        "amount": format!("{} {}", money::text(m.amount, &m.currency), m.currency),
        "received_on": m.received_on.to_string(),
        "method": m.method,
        "reference": m.reference,
        "status": m.status,
        "reject_reason": m.reject_reason,
    })
}

/// Whether payments may be recorded or invoices issued on a contract: it has
/// been active (an expired or terminated one still collects what is owed).
fn check_collectable(c: &contract::Model) -> AppResult<()> {
    if c.activated_at.is_none() || c.status == "draft" {
        return Err(AppError::refused(
            "contract_not_active",
            "the contract has not been approved and activated yet",
        ));
    }
    Ok(())
}

/// Records a payment (pending until finance confirms it). It may not exceed
/// what is still owed: the amount less every payment not rejected.
pub async fn record(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewPayment,
) -> AppResult<payment::Model> {
    let mut errors = Vec::new();
    let received_on = crate::platform::validate::date("received_on", &input.received_on)
        .map_err(|e| errors.push(e))
        .ok();
    // "Today" where the user is: up to 14 hours ahead of UTC (UTC+8 in China).
    if received_on.is_some_and(|d| d > (now + time::Duration::hours(14)).date()) {
        errors.push(FieldError::new(
            "received_on",
            "in_future",
            "must not be in the future",
        ));
    }
    if let Some(e) = one_of("method", input.method.trim(), METHODS) {
        errors.push(e);
    }
    let reference = clean(input.reference.clone());
    if let Some(e) = reference
        .as_deref()
        .and_then(|r| max_len("reference", r, 100))
    {
        errors.push(e);
    }
    let notes = clean(input.notes.clone());
    if let Some(e) = notes.as_deref().and_then(|n| max_len("notes", n, 2000)) {
        errors.push(e);
    }
    let txn = write_txn(db).await?;
    let c = match get_locked(&txn, user, &input.contract_id).await {
        Ok(c) => c,
        Err(AppError::NotFound) => {
            return Err(AppError::field(
                "contract_id",
                "not_found",
                "no such contract",
            ));
        }
        Err(e) => return Err(e),
    };
    check_collectable(&c)?;
    if input.amount.currency.trim() != c.currency {
        errors.push(FieldError::new(
            "amount.currency",
            "currency_mismatch",
            format!("the contract is in {}", c.currency),
        ));
    }
    let amount = match money::parse_amount("amount", &input.amount.amount, &c.currency) {
        Ok(0) => {
            errors.push(FieldError::new(
                "amount",
                "out_of_range",
                "must be more than 0",
            ));
            0
        }
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            0
        }
    };
    let s = store::sums(&txn, std::slice::from_ref(&c.id))
        .await?
        .remove(&c.id)
        .unwrap_or_default();
    let owed = store::cap(&c) - s.received - s.pending;
    if amount > owed {
        errors.push(FieldError::new(
            "amount",
            "exceeds_outstanding",
            format!(
                "is more than the {} still owed on the contract",
                money::text(owed.max(0), &c.currency)
            ),
        ));
    }
    // What is still open on each installment (payments not rejected count).
    let open = store::open_installments(&txn, &c.id).await?;
    let open_on = |id: &str| open.iter().find(|o| o.0.id == id).map_or(0, |o| o.1);
    let mut parts: Vec<(String, i64)> = Vec::new();
    match (&input.installment_id, &input.allocations) {
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "allocations",
            "not_allowed",
            "give installment_id or allocations, not both",
        )),
        (Some(iid), None) => match open.iter().find(|o| &o.0.id == iid) {
            None => errors.push(FieldError::new(
                "installment_id",
                "not_found",
                "no such installment of this contract",
            )),
            Some((i, o)) if amount > *o => errors.push(FieldError::new(
                "amount",
                "exceeds_installment",
                format!(
                    "is more than the {} open on installment {}; split it with allocations",
                    money::text(*o, &c.currency),
                    i.number
                ),
            )),
            Some((i, _)) => parts.push((i.id.clone(), amount)),
        },
        (None, Some(list)) => {
            let mut total: i64 = 0;
            for (k, a) in list.iter().enumerate() {
                let f = |x: &str| format!("allocations[{k}].{x}");
                let Some((i, _)) = open.iter().find(|o| o.0.id == a.installment_id) else {
                    errors.push(FieldError::new(
                        &f("installment_id"),
                        "not_found",
                        "no such installment of this contract",
                    ));
                    continue;
                };
                if parts.iter().any(|p| p.0 == i.id) {
                    errors.push(FieldError::new(
                        &f("installment_id"),
                        "taken",
                        "named twice",
                    ));
                    continue;
                }
                if a.amount.currency != c.currency {
                    errors.push(FieldError::new(
                        &f("amount.currency"),
                        "currency_mismatch",
                        format!("must be the contract's currency, {}", c.currency),
                    ));
                    continue;
                }
                match money::parse_amount(&f("amount"), &a.amount.amount, &c.currency) {
                    Ok(0) => errors.push(FieldError::new(
                        &f("amount"),
                        "out_of_range",
                        "must be more than 0",
                    )),
                    Ok(v) if v > open_on(&i.id) => errors.push(FieldError::new(
                        &f("amount"),
                        "exceeds_installment",
                        format!(
                            "is more than the {} open on installment {}",
                            money::text(open_on(&i.id), &c.currency),
                            i.number
                        ),
                    )),
                    Ok(v) => {
                        total = total.saturating_add(v);
                        parts.push((i.id.clone(), v));
                    }
                    Err(e) => errors.push(e),
                }
            }
            if total > amount {
                errors.push(FieldError::new(
                    "allocations",
                    "exceeds_payment",
                    "the parts add up to more than the payment",
                ));
            } else if total < amount {
                // The rest pays the other open installments in due order.
                let rest: Vec<(installment::Model, i64)> = open
                    .iter()
                    .filter(|o| !parts.iter().any(|p| p.0 == o.0.id))
                    .cloned()
                    .collect();
                parts.extend(store::fill_in_due_order(&rest, amount - total));
            }
        }
        (None, None) => parts = store::fill_in_due_order(&open, amount),
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let m = payment::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        contract_id: Set(c.id.clone()),
        amount: Set(amount),
        currency: Set(c.currency.clone()),
        received_on: Set(received_on.unwrap_or(now.date())),
        method: Set(input.method.trim().to_owned()),
        reference: Set(reference),
        notes: Set(notes),
        status: Set("pending".into()),
        recorded_by: Set(Some(user.id.clone())),
        decided_by: Set(None),
        decided_at: Set(None),
        reject_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if !parts.is_empty() {
        allocation::Entity::insert_many(parts.into_iter().map(|(iid, a)| {
            allocation::ActiveModel {
                payment_id: Set(m.id.clone()),
                installment_id: Set(iid),
                amount: Set(a),
            }
        }))
        .exec(&txn)
        .await?;
    }
    audit::record(
        &txn,
        now,
        actor,
        "payment",
        Some(&m.id),
        "create",
        audit::created(&payment_json(&m)),
    )
    .await?;
    // Finance hears of it: payments wait for their confirmation.
    let data = json!({
        "customer_name": format!("{} {}", c.number, money::display(m.amount, &m.currency)),
        "by": user.name,
    });
    let link = format!("/contracts/{}", c.id);
    let items = store::finance_only(&txn)
        .await?
        .into_iter()
        .filter(|u| *u != user.id)
        .map(|u| (u, data.clone(), link.clone()))
        .collect();
    crate::notifications::store::notify_many(&txn, now, "payment_recorded", items).await?;
    txn.commit().await?;
    Ok(m)
}

/// Confirms (finance) or rejects a pending payment. Deciding twice is a 409.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    confirm: bool,
    reason: Option<String>,
    expected: Option<i64>,
) -> AppResult<payment::Model> {
    let reason = clean(reason);
    if !confirm {
        match &reason {
            None => {
                return Err(AppError::field(
                    "reason",
                    "required",
                    "say why the payment is rejected",
                ));
            }
            Some(r) => {
                if let Some(e) = max_len("reason", r, 2000) {
                    return Err(AppError::Validation(vec![e]));
                }
            }
        }
    }
    let txn = write_txn(db).await?;
    let old = get_payment(&txn, user, id).await?;
    user.require_role(FINANCE)?;
    let c = get_locked(&txn, user, &old.contract_id).await?;
    let old = payment::Entity::find_by_id(old.id.clone())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    if old.status != "pending" {
        return Err(AppError::refused(
            "already_decided",
            format!("the payment is already {}", old.status),
        ));
    }
    let mut a = old.clone().into_active_model();
    a.status = Set(if confirm { "confirmed" } else { "rejected" }.into());
    a.decided_by = Set(Some(user.id.clone()));
    a.decided_at = Set(Some(now));
    a.reject_reason = Set(if confirm { None } else { reason.clone() });
    a.version = Set(old.version + 1);
    a.updated_at = Set(now);
    let r = payment::Entity::update_many()
        .set(a)
        .filter(payment::Column::Id.eq(old.id.clone()))
        .filter(payment::Column::Version.eq(old.version))
        .filter(payment::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let m = payment::Entity::find_by_id(old.id.clone())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &txn,
        now,
        actor,
        "payment",
        Some(&m.id),
        if confirm { "confirm" } else { "reject" },
        audit::diff(&payment_json(&old), &payment_json(&m)),
    )
    .await?;
    if confirm {
        events::emit(
            &txn,
            &events::Ctx::new(now, actor, Some(user)),
            Event::PaymentConfirmed {
                payment_id: m.id.clone(),
                contract_id: c.id.clone(),
                customer_id: c.customer_id.clone(),
                amount: money::text(m.amount, &m.currency),
                currency: m.currency.clone(),
            },
        )
        .await?;
    }
    if let Some(owner) = &c.owner_id
        && *owner != user.id
    {
        crate::notifications::store::notify(
            &txn,
            now,
            owner,
            if confirm {
                "payment_confirmed"
            } else {
                "payment_rejected"
            },
            json!({
                "customer_name": format!("{} {}", c.number, money::display(m.amount, &m.currency)),
                "by": user.name,
                "message": reason.unwrap_or_default(),
            }),
            Some(&format!("/contracts/{}", c.id)),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(m)
}

// ---- Invoices ----

pub async fn list_invoices(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<invoice::Column>,
) -> AppResult<Page<InvoiceView>> {
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req
        .fetch(
            db,
            invoice::Entity::find(),
            visible(&scope, invoice::Column::ContractId),
        )
        .await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "issued_on" => json!(m.issued_on.to_string()),
                "amount" => json!(m.amount),
                _ => time_key(&m.created_at),
            };
            (v, m.id.clone())
        },
        InvoiceView::from,
    ))
}

pub async fn invoices_of<C: ConnectionTrait>(
    db: &C,
    contract_id: &str,
) -> AppResult<Vec<InvoiceView>> {
    Ok(invoice::Entity::find()
        .filter(invoice::Column::ContractId.eq(contract_id))
        .order_by_desc(invoice::Column::IssuedOn)
        .order_by_desc(invoice::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(InvoiceView::from)
        .collect())
}

pub async fn get_invoice<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<invoice::Model> {
    let scope = DataScope::for_user(db, user).await?;
    invoice::Entity::find()
        .filter(invoice::Column::Id.eq(id))
        .filter(visible(&scope, invoice::Column::ContractId))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn invoice_json(m: &invoice::Model) -> serde_json::Value {
    json!({
        "contract_id": m.contract_id,
        "number": m.number,
        "kind": m.kind,
        "amount": format!("{} {}", money::text(m.amount, &m.currency), m.currency),
        "buyer_title": m.buyer_title,
        "buyer_tax_no": m.buyer_tax_no,
        "issued_on": m.issued_on.to_string(),
        "status": m.status,
        "void_reason": m.void_reason,
    })
}

fn number_taken() -> AppError {
    AppError::field("number", "taken", "another invoice has this number")
}

/// Records an invoice issued against a contract; the invoices not voided may
/// not add up to more than the contract amount.
pub async fn create_invoice(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewInvoice,
) -> AppResult<invoice::Model> {
    let mut errors = Vec::new();
    if let Some(e) = one_of("kind", input.kind.trim(), INVOICE_KINDS) {
        errors.push(e);
    }
    if let Some(e) = required_text("buyer_title", &input.buyer_title, 200) {
        errors.push(e);
    }
    let tax_no = clean(input.buyer_tax_no.clone()).map(|t| t.to_uppercase());
    if let Some(t) = &tax_no
        && (!(15..=20).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        errors.push(FieldError::new(
            "buyer_tax_no",
            "invalid",
            "must be 15 to 20 letters and digits",
        ));
    }
    let number = clean(input.number.clone());
    if let Some(e) = number.as_deref().and_then(|n| max_len("number", n, 40)) {
        errors.push(e);
    }
    let notes = clean(input.notes.clone());
    if let Some(e) = notes.as_deref().and_then(|n| max_len("notes", n, 2000)) {
        errors.push(e);
    }
    let issued_on = crate::platform::validate::date("issued_on", &input.issued_on)
        .map_err(|e| errors.push(e))
        .ok();
    let txn = write_txn(db).await?;
    let c = match get_locked(&txn, user, &input.contract_id).await {
        Ok(c) => c,
        Err(AppError::NotFound) => {
            return Err(AppError::field(
                "contract_id",
                "not_found",
                "no such contract",
            ));
        }
        Err(e) => return Err(e),
    };
    check_collectable(&c)?;
    if input.amount.currency.trim() != c.currency {
        errors.push(FieldError::new(
            "amount.currency",
            "currency_mismatch",
            format!("the contract is in {}", c.currency),
        ));
    }
    let amount = match money::parse_amount("amount", &input.amount.amount, &c.currency) {
        Ok(0) => {
            errors.push(FieldError::new(
                "amount",
                "out_of_range",
                "must be more than 0",
            ));
            0
        }
        Ok(v) => v,
        Err(e) => {
            errors.push(e);
            0
        }
    };
    let s = store::sums(&txn, std::slice::from_ref(&c.id))
        .await?
        .remove(&c.id)
        .unwrap_or_default();
    if amount > store::cap(&c) - s.invoiced {
        errors.push(FieldError::new(
            "amount",
            "exceeds_contract",
            format!(
                "is more than the {} not yet invoiced on the contract",
                money::text((store::cap(&c) - s.invoiced).max(0), &c.currency)
            ),
        ));
    }
    if let Some(n) = &number
        && invoice::Entity::find()
            .filter(invoice::Column::Number.eq(n.clone()))
            .one(&txn)
            .await?
            .is_some()
    {
        return Err(number_taken());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let m = invoice::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        contract_id: Set(c.id.clone()),
        number: Set(number),
        kind: Set(input.kind.trim().to_owned()),
        amount: Set(amount),
        currency: Set(c.currency.clone()),
        buyer_title: Set(input.buyer_title.trim().to_owned()),
        buyer_tax_no: Set(tax_no),
        issued_on: Set(issued_on.unwrap_or(now.date())),
        status: Set("issued".into()),
        void_reason: Set(None),
        notes: Set(notes),
        created_by: Set(Some(user.id.clone())),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => number_taken(),
        _ => e.into(),
    })?;
    audit::record(
        &txn,
        now,
        actor,
        "invoice",
        Some(&m.id),
        "create",
        audit::created(&invoice_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Voids an issued invoice (finance; with a reason); voiding twice is a 409.
pub async fn void_invoice(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    reason: Option<String>,
) -> AppResult<invoice::Model> {
    let Some(reason) = clean(reason) else {
        return Err(AppError::field(
            "reason",
            "required",
            "say why the invoice is voided",
        ));
    };
    if let Some(e) = max_len("reason", &reason, 2000) {
        return Err(AppError::Validation(vec![e]));
    }
    let txn = write_txn(db).await?;
    let old = get_invoice(&txn, user, id).await?;
    user.require_role(FINANCE)?;
    get_locked(&txn, user, &old.contract_id).await?;
    if old.status != "issued" {
        return Err(AppError::refused(
            "already_voided",
            "the invoice is already voided",
        ));
    }
    let mut a = old.clone().into_active_model();
    a.status = Set("voided".into());
    a.void_reason = Set(Some(reason));
    a.version = Set(old.version + 1);
    a.updated_at = Set(now);
    let r = invoice::Entity::update_many()
        .set(a)
        .filter(invoice::Column::Id.eq(old.id.clone()))
        .filter(invoice::Column::Status.eq("issued"))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let m = get_invoice(&txn, user, id).await?;
    audit::record(
        &txn,
        now,
        actor,
        "invoice",
        Some(&m.id),
        "void",
        audit::diff(&invoice_json(&old), &invoice_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}
