//! Contract queries: the only place that writes `contracts`,
//! `contract_approvals` and `payment_installments`. Reads go through
//! `DataScope` on the contract's `owner_id`; payments and invoices
//! (`payments.rs`) are scoped through their contract.
//!
//! Every change of a contract's money (its amount, plan, payments, invoices)
//! starts with `get_locked`, which on PostgreSQL locks the contract's row, so
//! two requests cannot both pass an "at most the contract amount" check.

use super::model::{
    ApprovalView, ContractPatch, ContractSettings, ContractView, DecisionInput, InstallmentView,
    NewContract, PlanInput, PlanView, SubmitInput, Sums,
};
use crate::entities::{
    allocation, contract, contract_approval, contract_request, installment, invoice, opportunity,
    payment, team, user,
};
use crate::opportunities::model::{clean, parse_date};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{CurrentUser, Role};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, Event};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::money::{self, Money};
use crate::platform::scope::DataScope;
use crate::platform::validate::{max_len, required_text};
use crate::products::model::{LineItem, LineItemInput, price_items};
use sea_orm::DatabaseTransaction;
use sea_orm::sea_query::{Expr, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use time::{Date, OffsetDateTime};

/// Who may approve any contract, confirm payments and change contract settings
/// (administrators always may).
pub const FINANCE: &[Role] = &[Role::Finance];

pub static LIST: ListSpec<contract::Column> = ListSpec {
    filters: &[
        Field::one_of("status", contract::Column::Status, super::model::STATUSES),
        Field::new("customer_id", contract::Column::CustomerId, Kind::Text),
        Field::new("owner_id", contract::Column::OwnerId, Kind::Text),
        Field::new(
            "opportunity_id",
            contract::Column::OpportunityId,
            Kind::Text,
        ),
        Field::new("approver_id", contract::Column::ApproverId, Kind::Text),
        Field::new("currency", contract::Column::Currency, Kind::Text),
        Field::new("amount", contract::Column::Amount, Kind::Int),
        Field::new("sign_date", contract::Column::SignDate, Kind::Date),
        Field::new("start_date", contract::Column::StartDate, Kind::Date),
        Field::new("end_date", contract::Column::EndDate, Kind::Date),
        Field::new("created_at", contract::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", contract::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("updated_at", contract::Column::UpdatedAt, Kind::Time),
        Field::new("created_at", contract::Column::CreatedAt, Kind::Time),
        Field::new("number", contract::Column::Number, Kind::Text),
        Field::new("amount", contract::Column::Amount, Kind::Int),
        Field::new("end_date", contract::Column::EndDate, Kind::Date),
    ],
    default_sort: "-updated_at",
    id: contract::Column::Id,
    search: &[contract::Column::Number, contract::Column::Title],
    fulltext: None,
    custom: false,
};

pub const SETTINGS_KEY: &str = "contracts.settings";

fn scoped(scope: &DataScope) -> Select<contract::Entity> {
    scope.filter(contract::Entity::find(), contract::Column::OwnerId)
}

/// The ids of the contracts `scope` sees, as a subquery (payments and
/// invoices are scoped through it).
pub fn visible_ids(scope: &DataScope) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(contract::Column::Id)
        .from(contract::Entity)
        .cond_where(scope.condition(contract::Column::OwnerId))
        .to_owned()
}

/// A contract `user` may see; 404 otherwise.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<contract::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope)
        .filter(contract::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// `get`, locking the row on PostgreSQL (SQLite's write transaction already
/// serialises writers): the start of every change of a contract's money.
pub async fn get_locked<C: ConnectionTrait>(
    txn: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<contract::Model> {
    let scope = DataScope::for_user(txn, user).await?;
    let mut q = scoped(&scope).filter(contract::Column::Id.eq(id));
    if txn.get_database_backend() == DbBackend::Postgres {
        q = q.lock(LockType::Update);
    }
    q.one(txn).await?.ok_or(AppError::NotFound)
}

/// Planned, received, pending and invoiced sums of some contracts.
pub async fn sums<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<HashMap<String, Sums>> {
    let mut out: HashMap<String, Sums> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(500) {
        let planned: Vec<(String, Option<i64>)> = installment::Entity::find()
            .select_only()
            .column(installment::Column::ContractId)
            .column_as(sum(installment::Entity, installment::Column::Amount), "s")
            .filter(installment::Column::ContractId.is_in(chunk.to_vec()))
            .group_by(installment::Column::ContractId)
            .into_tuple()
            .all(db)
            .await?;
        for (id, s) in planned {
            out.entry(id).or_default().planned = s.unwrap_or(0);
        }
        let paid: Vec<(String, String, Option<i64>)> = payment::Entity::find()
            .select_only()
            .column(payment::Column::ContractId)
            .column(payment::Column::Status)
            .column_as(sum(payment::Entity, payment::Column::Amount), "s")
            .filter(payment::Column::ContractId.is_in(chunk.to_vec()))
            .filter(payment::Column::Status.ne("rejected"))
            .group_by(payment::Column::ContractId)
            .group_by(payment::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        for (id, status, s) in paid {
            let e = out.entry(id).or_default();
            if status == "confirmed" {
                e.received = s.unwrap_or(0);
            } else {
                e.pending = s.unwrap_or(0);
            }
        }
        let invoiced: Vec<(String, Option<i64>)> = invoice::Entity::find()
            .select_only()
            .column(invoice::Column::ContractId)
            .column_as(sum(invoice::Entity, invoice::Column::Amount), "s")
            .filter(invoice::Column::ContractId.is_in(chunk.to_vec()))
            .filter(invoice::Column::Status.eq("issued"))
            .group_by(invoice::Column::ContractId)
            .into_tuple()
            .all(db)
            .await?;
        for (id, s) in invoiced {
            out.entry(id).or_default().invoiced = s.unwrap_or(0);
        }
    }
    Ok(out)
}

/// `SUM(col)` as BIGINT. One contract's sums stay below its amount, which fits i64.
fn sum<E: EntityTrait>(entity: E, col: E::Column) -> Expr {
    Expr::from(sea_orm::sea_query::Func::cast_as(
        sea_orm::sea_query::Func::sum(Expr::col((entity, col))),
        sea_orm::sea_query::Alias::new("BIGINT"),
    ))
}

pub async fn view<C: ConnectionTrait>(db: &C, m: contract::Model) -> AppResult<ContractView> {
    let s = sums(db, std::slice::from_ref(&m.id))
        .await?
        .remove(&m.id)
        .unwrap_or_default();
    Ok(ContractView::new(m, s))
}

pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<contract::Column>,
    team_id: Option<&str>,
) -> AppResult<Page<ContractView>> {
    let mut extra = Condition::all();
    if let Some(t) = team_id {
        extra = extra.add(
            contract::Column::OwnerId
                .is_in(crate::opportunities::store::team_members(db, t).await?),
        );
    }
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req.fetch(db, scoped(&scope), extra).await?;
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let s = sums(db, &ids).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "created_at" => time_key(&m.created_at),
                "number" => json!(m.number),
                "amount" => json!(m.amount),
                "end_date" => json!(m.end_date.map(|d| d.to_string())),
                _ => time_key(&m.updated_at),
            };
            (v, m.id.clone())
        },
        |m| {
            let x = s.get(&m.id).copied().unwrap_or_default();
            ContractView::new(m, x)
        },
    ))
}

/// The contracts of a customer the caller sees (its page lists them).
pub async fn of_customer<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    customer_id: &str,
) -> AppResult<Vec<ContractView>> {
    let scope = DataScope::for_user(db, user).await?;
    let rows = scoped(&scope)
        .filter(contract::Column::CustomerId.eq(customer_id))
        .order_by_desc(contract::Column::UpdatedAt)
        .limit(100)
        .all(db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let mut s = sums(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let x = s.remove(&m.id).unwrap_or_default();
            ContractView::new(m, x)
        })
        .collect())
}

/// The contract made from a deal, if the caller sees it.
pub async fn of_opportunity<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    opportunity_id: &str,
) -> AppResult<Option<contract::Model>> {
    let scope = DataScope::for_user(db, user).await?;
    Ok(scoped(&scope)
        .filter(contract::Column::OpportunityId.eq(opportunity_id))
        .order_by_asc(contract::Column::CreatedAt)
        .one(db)
        .await?)
}

// ---- Settings ----

pub async fn settings<C: ConnectionTrait>(db: &C) -> AppResult<ContractSettings> {
    Ok(
        match crate::settings::store::json_setting(db, SETTINGS_KEY).await? {
            Some((v, version)) => {
                let mut s: ContractSettings = serde_json::from_value(v).unwrap_or_default();
                s.version = version;
                s
            }
            None => ContractSettings::default(),
        },
    )
}

/// Changes the contract settings (finance and administrators).
pub async fn set_settings(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: ContractSettings,
    expected: Option<i64>,
) -> AppResult<ContractSettings> {
    let mut errors = Vec::new();
    let t = &input.approval_threshold;
    let threshold = money::parse_amount("approval_threshold.amount", &t.amount, &t.currency)
        .map_err(|e| errors.push(e))
        .ok();
    if !(1..=365).contains(&input.expiry_reminder_days) {
        errors.push(FieldError::new(
            "expiry_reminder_days",
            "out_of_range",
            "must be between 1 and 365",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut new = ContractSettings {
        approval_threshold: money::money(threshold.unwrap_or(0), &t.currency),
        expiry_reminder_days: input.expiry_reminder_days,
        version: 0,
    };
    let txn = write_txn(db).await?;
    let old = settings(&txn).await?;
    let mut old_v = serde_json::to_value(&old).unwrap_or_default();
    let mut new_v = serde_json::to_value(&new).unwrap_or_default();
    for v in [&mut old_v, &mut new_v] {
        if let Some(o) = v.as_object_mut() {
            o.remove("version");
        }
    }
    new.version = crate::settings::store::put_versioned(
        &txn,
        now,
        actor,
        SETTINGS_KEY,
        "contracts",
        (old_v, new_v),
        old.version,
        expected,
    )
    .await?;
    txn.commit().await?;
    Ok(new)
}

/// The most a contract's money may reach: its amount, or a lower amount
/// waiting for approval (so that approving it cannot leave more recorded than
/// the contract).
pub fn cap(c: &contract::Model) -> i64 {
    c.pending_amount.map_or(c.amount, |p| p.min(c.amount))
}

/// Whether a contract of this amount needs an approver.
pub fn needs_approval(s: &ContractSettings, amount: i64, currency: &str) -> bool {
    let t = &s.approval_threshold;
    if t.currency != currency {
        return true;
    }
    money::parse_amount("t", &t.amount, &t.currency).is_ok_and(|limit| amount >= limit)
}

// ---- Numbers ----

// ---- Writing contracts ----

/// A contract about to be inserted, checked.
struct Fresh {
    id: String,
    title: String,
    customer_id: String,
    opportunity_id: Option<String>,
    order_id: Option<String>,
    amount: i64,
    currency: String,
    products: Vec<LineItem>,
    sign_date: Option<Date>,
    start_date: Option<Date>,
    end_date: Option<Date>,
    owner_id: Option<String>,
    notes: Option<String>,
}

fn view_json(m: &contract::Model) -> Value {
    let mut v =
        serde_json::to_value(ContractView::new(m.clone(), Sums::default())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in [
            "id",
            "version",
            "created_at",
            "updated_at",
            "created_by",
            "planned",
            "received",
            "pending_payments",
            "invoiced",
            "outstanding",
        ] {
            o.remove(k);
        }
        for k in ["amount", "pending_amount"] {
            if let Some(a) = o.get(k).cloned().filter(|a| !a.is_null()) {
                o.insert(
                    k.into(),
                    json!(format!(
                        "{} {}",
                        a["amount"].as_str().unwrap_or(""),
                        a["currency"].as_str().unwrap_or("")
                    )),
                );
            }
        }
    }
    v
}

async fn insert<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    f: Fresh,
) -> AppResult<contract::Model> {
    let number = crate::platform::numbering::next_number(txn, "HT", now.year()).await?;
    let m = contract::ActiveModel {
        id: Set(f.id),
        number: Set(number),
        title: Set(f.title),
        customer_id: Set(f.customer_id),
        opportunity_id: Set(f.opportunity_id),
        order_id: Set(f.order_id),
        amount: Set(f.amount),
        currency: Set(f.currency),
        pending_amount: Set(None),
        sign_date: Set(f.sign_date),
        start_date: Set(f.start_date),
        end_date: Set(f.end_date),
        owner_id: Set(f.owner_id),
        status: Set("draft".into()),
        approver_id: Set(None),
        activated_at: Set(None),
        terminated_reason: Set(None),
        products: Set(serde_json::to_string(&f.products).unwrap_or_else(|_| "[]".into())),
        notes: Set(f.notes),
        expiry_reminded_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(actor.user_id.clone()),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        now,
        actor,
        "contract",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    Ok(m)
}

/// Prices the contract from product lines or an amount.
async fn price<C: ConnectionTrait>(
    db: &C,
    currency: &str,
    amount: Option<&Money>,
    products: Option<&Vec<LineItemInput>>,
    errors: &mut Vec<FieldError>,
) -> AppResult<Option<(i64, Vec<LineItem>)>> {
    if let Err(e) = money::check_currency("currency", currency) {
        errors.push(e);
        return Ok(None);
    }
    match (products, amount) {
        (Some(items), _) if !items.is_empty() => {
            let (items, mut errs) =
                crate::products::store::resolve_lines(db, items, currency).await?;
            let priced = if errs.is_empty() {
                match price_items(&items, currency) {
                    Ok(x) => Some((x.1, x.0)),
                    Err(e) => {
                        errs.extend(e);
                        None
                    }
                }
            } else {
                None
            };
            errors.extend(errs);
            Ok(priced)
        }
        (_, Some(a)) => match money::parse_amount("amount", &a.amount, currency) {
            Ok(v) if v > 0 => Ok(Some((v, Vec::new()))),
            Ok(_) => {
                errors.push(FieldError::new(
                    "amount",
                    "out_of_range",
                    "must be more than 0",
                ));
                Ok(None)
            }
            Err(e) => {
                errors.push(e);
                Ok(None)
            }
        },
        _ => {
            errors.push(FieldError::new(
                "amount",
                "required",
                "give an amount or product lines",
            ));
            Ok(None)
        }
    }
}

struct Dates {
    sign: Option<Date>,
    start: Option<Date>,
    end: Option<Date>,
}

fn check_dates(d: &Dates, errors: &mut Vec<FieldError>) {
    if let (Some(s), Some(e)) = (d.start, d.end)
        && e < s
    {
        errors.push(FieldError::new(
            "end_date",
            "before_start",
            "must not be before the start date",
        ));
    }
}

fn date_of(field: &str, v: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Date> {
    parse_date(field, v)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten()
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewContract,
) -> AppResult<contract::Model> {
    let mut errors = Vec::new();
    if let Some(e) = required_text("title", &input.title, 200) {
        errors.push(e);
    }
    if let Some(n) = &input.notes
        && let Some(e) = max_len("notes", n, 10_000)
    {
        errors.push(e);
    }
    let currency = input
        .amount
        .as_ref()
        .map(|a| a.currency.trim().to_owned())
        .or_else(|| clean(input.currency.clone()))
        .unwrap_or_else(|| money::DEFAULT_CURRENCY.to_owned());
    let dates = Dates {
        sign: date_of("sign_date", input.sign_date.as_deref(), &mut errors),
        start: date_of("start_date", input.start_date.as_deref(), &mut errors),
        end: date_of("end_date", input.end_date.as_deref(), &mut errors),
    };
    check_dates(&dates, &mut errors);
    let txn = write_txn(db).await?;
    let priced = price(
        &txn,
        &currency,
        input.amount.as_ref(),
        input.products.as_ref(),
        &mut errors,
    )
    .await?;
    crate::customers::store::check_visible(&txn, user, &input.customer_id, &mut errors).await?;
    let opportunity_id = clean(input.opportunity_id.clone());
    if let Some(o) = &opportunity_id {
        match crate::opportunities::store::get(&txn, user, o).await {
            Ok(deal) if deal.customer_id == input.customer_id => {}
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
    let order_id = clean(input.order_id.clone());
    if let Some(o) = &order_id {
        match crate::quotes::store::get_order(&txn, user, o).await {
            Ok(ord) if ord.status == "cancelled" => {
                return Err(AppError::refused("order_closed", "the order was cancelled"));
            }
            Ok(ord) if ord.customer_id == input.customer_id => {}
            Ok(_) => errors.push(FieldError::new(
                "order_id",
                "other_customer",
                "the order is another customer's",
            )),
            Err(AppError::NotFound) => {
                errors.push(FieldError::new("order_id", "not_found", "no such order"))
            }
            Err(e) => return Err(e),
        }
    }
    let owner = clean(input.owner_id.clone()).unwrap_or_else(|| user.id.clone());
    crate::platform::scope::check_owner(&txn, user, &owner, &mut errors).await?;
    let Some((amount, products)) = priced.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let m = insert(
        &txn,
        now,
        actor,
        Fresh {
            id: uuid::Uuid::now_v7().to_string(),
            title: input.title.trim().to_owned(),
            customer_id: input.customer_id.clone(),
            opportunity_id,
            order_id,
            amount,
            currency,
            products,
            sign_date: dates.sign,
            start_date: dates.start,
            end_date: dates.end,
            owner_id: Some(owner),
            notes: clean(input.notes),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Makes the draft contract of a won deal's `contract_requests` row (inside
/// the caller's transaction) and marks the request done. The request is
/// claimed first (`contract_id IS NULL`), so it makes one draft however often
/// it is tried; `None` when it already had one.
pub async fn draft_for_request<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    req: &contract_request::Model,
) -> AppResult<Option<contract::Model>> {
    let id = uuid::Uuid::now_v7().to_string();
    let claimed = contract_request::Entity::update_many()
        .col_expr(
            contract_request::Column::ContractId,
            Expr::value(id.clone()),
        )
        .col_expr(contract_request::Column::DoneAt, Expr::value(now))
        .filter(contract_request::Column::Id.eq(req.id.clone()))
        .filter(contract_request::Column::ContractId.is_null())
        .exec(txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(None);
    }
    let title = opportunity::Entity::find_by_id(req.opportunity_id.clone())
        .one(txn)
        .await?
        .map(|o| o.name)
        .unwrap_or_else(|| "合同 Contract".into());
    let m = insert(
        txn,
        now,
        actor,
        Fresh {
            id,
            title,
            customer_id: req.customer_id.clone(),
            opportunity_id: Some(req.opportunity_id.clone()),
            order_id: None,
            amount: req.amount,
            currency: req.currency.clone(),
            products: serde_json::from_str(&req.products).unwrap_or_default(),
            sign_date: None,
            start_date: None,
            end_date: None,
            owner_id: req.owner_id.clone(),
            notes: None,
        },
    )
    .await?;
    Ok(Some(m))
}

/// Drafts for won deals recorded before contracts existed (the hourly job).
/// A request that fails is logged and left for the next run.
pub async fn draft_waiting_requests(
    db: &DatabaseConnection,
    now: OffsetDateTime,
) -> AppResult<u64> {
    let waiting = contract_request::Entity::find()
        .filter(contract_request::Column::ContractId.is_null())
        .limit(500)
        .all(db)
        .await?;
    let actor = Actor::default();
    let mut n = 0;
    for req in waiting {
        let txn = write_txn(db).await?;
        match draft_for_request(&txn, now, &actor, &req).await {
            Ok(made) => {
                txn.commit().await?;
                n += u64::from(made.is_some());
            }
            Err(e) => {
                tracing::warn!(request = %req.id, error = %e, "contract draft not made");
            }
        }
    }
    Ok(n)
}

/// Writes `a` if the contract still has the version that was read.
async fn write(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    old: &contract::Model,
    mut a: contract::ActiveModel,
    action: &str,
) -> AppResult<contract::Model> {
    a.version = Set(old.version + 1);
    a.updated_at = Set(now);
    let r = contract::Entity::update_many()
        .set(a)
        .filter(contract::Column::Id.eq(old.id.clone()))
        .filter(contract::Column::Version.eq(old.version))
        .exec(txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let m = contract::Entity::find_by_id(old.id.clone())
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        txn,
        now,
        actor,
        "contract",
        Some(&m.id),
        action,
        audit::diff(&view_json(old), &view_json(&m)),
    )
    .await?;
    if old.activated_at.is_none() && m.activated_at.is_some() {
        events::emit(
            txn,
            &events::Ctx::new(now, actor, None),
            Event::ContractActivated {
                contract_id: m.id.clone(),
                customer_id: m.customer_id.clone(),
                opportunity_id: m.opportunity_id.clone(),
            },
        )
        .await?;
    }
    Ok(m)
}

/// Changes a contract. Its amount and products change only while it is a draft.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: ContractPatch,
    expected: i64,
) -> AppResult<contract::Model> {
    let txn = write_txn(db).await?;
    let old = get_locked(&txn, user, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    if old.status == "terminated" {
        return Err(AppError::refused(
            "contract_closed",
            "a terminated contract cannot be changed",
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
    if patch.amount.is_some() || patch.products.is_some() {
        if old.status != "draft" {
            return Err(AppError::refused(
                "approval_required",
                "the amount of a contract past its draft changes only through approval: POST /api/v1/contracts/{id}/submit with the new amount",
            ));
        }
        let currency = patch
            .amount
            .as_ref()
            .map(|m| m.currency.trim().to_owned())
            .unwrap_or_else(|| old.currency.clone());
        let planned = sums(&txn, std::slice::from_ref(&old.id))
            .await?
            .remove(&old.id)
            .unwrap_or_default()
            .planned;
        if planned > 0 && currency != old.currency {
            errors.push(FieldError::new(
                "amount.currency",
                "plan_exists",
                "the payment plan is in the contract's currency; change the plan first",
            ));
        }
        if let Some((amount, products)) = price(
            &txn,
            &currency,
            patch.amount.as_ref(),
            patch.products.as_ref(),
            &mut errors,
        )
        .await?
        {
            if amount < planned {
                errors.push(FieldError::new(
                    "amount",
                    "below_recorded",
                    format!(
                        "must be at least the {} of the payment plan",
                        money::text(planned, &old.currency)
                    ),
                ));
            }
            a.amount = Set(amount);
            a.currency = Set(currency);
            a.products = Set(serde_json::to_string(&products).unwrap_or_else(|_| "[]".into()));
        }
    }
    let mut dates = Dates {
        sign: old.sign_date,
        start: old.start_date,
        end: old.end_date,
    };
    for (field, v, target) in [
        ("sign_date", &patch.sign_date, &mut dates.sign),
        ("start_date", &patch.start_date, &mut dates.start),
        ("end_date", &patch.end_date, &mut dates.end),
    ] {
        if let Some(v) = v {
            *target = date_of(field, v.as_deref(), &mut errors);
        }
    }
    check_dates(&dates, &mut errors);
    a.sign_date = Set(dates.sign);
    a.start_date = Set(dates.start);
    a.end_date = Set(dates.end);
    if dates.end != old.end_date {
        a.expiry_reminded_at = Set(None);
    }
    if let Some(n) = &patch.notes {
        if let Some(e) = n.as_deref().and_then(|n| max_len("notes", n, 10_000)) {
            errors.push(e);
        }
        a.notes = Set(clean(n.clone()));
    }
    if let Some(o) = clean(patch.owner_id.clone())
        && old.owner_id.as_deref() != Some(o.as_str())
    {
        crate::platform::scope::check_owner(&txn, user, &o, &mut errors).await?;
        if old.status == "pending_approval" {
            // The new owner's manager decides now.
            a.approver_id = Set(manager_of(&txn, Some(&o)).await?);
        }
        a.owner_id = Set(Some(o));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let m = write(&txn, now, actor, &old, a, "update").await?;
    txn.commit().await?;
    Ok(m)
}

/// Gives the contracts (not terminated) of each `(customer, old owner)` to `to`
/// (a transfer that asks for it), inside the transfer's transaction.
pub async fn move_contracts<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    moves: &[(String, String)],
    to: &str,
) -> AppResult<u64> {
    let mut moved = 0;
    for (customer_id, from) in moves {
        let rows = contract::Entity::find()
            .filter(contract::Column::CustomerId.eq(customer_id.clone()))
            .filter(contract::Column::OwnerId.eq(from.clone()))
            .filter(contract::Column::Status.ne("terminated"))
            .order_by_asc(contract::Column::Id)
            .all(txn)
            .await?;
        for c in rows {
            let approver = if c.status == "pending_approval" {
                manager_of(txn, Some(to)).await?
            } else {
                c.approver_id.clone()
            };
            let r = contract::Entity::update_many()
                .col_expr(contract::Column::OwnerId, Expr::value(to.to_owned()))
                .col_expr(contract::Column::ApproverId, Expr::value(approver))
                .col_expr(contract::Column::Version, Expr::value(c.version + 1))
                .col_expr(contract::Column::UpdatedAt, Expr::value(now))
                .filter(contract::Column::Id.eq(c.id.clone()))
                .filter(contract::Column::Version.eq(c.version))
                .exec(txn)
                .await?;
            if r.rows_affected == 0 {
                continue;
            }
            let mut changes = serde_json::Map::new();
            changes.insert("owner_id".into(), json!([from, to]));
            audit::record(
                txn,
                now,
                actor,
                "contract",
                Some(&c.id),
                "transfer",
                changes,
            )
            .await?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// The manager of the owner's team, if it is someone else.
async fn manager_of<C: ConnectionTrait>(db: &C, owner: Option<&str>) -> AppResult<Option<String>> {
    let Some(owner) = owner else {
        return Ok(None);
    };
    let team_id = user::Entity::find_by_id(owner.to_owned())
        .one(db)
        .await?
        .and_then(|u| u.team_id);
    let manager = match team_id {
        Some(t) => team::Entity::find_by_id(t)
            .one(db)
            .await?
            .and_then(|t| t.manager_id),
        None => None,
    };
    Ok(manager.filter(|m| m != owner))
}

async fn approval_step<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    contract_id: &str,
    action: &str,
    amount: i64,
    actor: &CurrentUser,
    comment: Option<String>,
) -> AppResult<()> {
    contract_approval::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        contract_id: Set(contract_id.to_owned()),
        action: Set(action.to_owned()),
        amount: Set(amount),
        actor_id: Set(Some(actor.id.clone())),
        comment: Set(comment),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

fn note(m: &contract::Model, by: &CurrentUser, comment: Option<&str>) -> Value {
    json!({
        "customer_name": format!("{} {}", m.number, m.title),
        "by": by.name,
        "message": comment.unwrap_or(""),
    })
}

/// Asks for approval. A draft goes to `pending_approval` (or straight to
/// `active` under the threshold); an active contract's new `amount` waits in
/// `pending_amount` for approval (or applies at once under the threshold).
pub async fn submit(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: SubmitInput,
) -> AppResult<contract::Model> {
    let txn = write_txn(db).await?;
    let old = get_locked(&txn, user, id).await?;
    if input.version.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let comment = clean(input.comment.clone());
    let settings = settings(&txn).await?;
    let mut a = old.clone().into_active_model();
    let amount = match (old.status.as_str(), &input.amount) {
        ("draft", None) => {
            if old.amount == 0 {
                return Err(AppError::field(
                    "amount",
                    "out_of_range",
                    "must be more than 0",
                ));
            }
            old.amount
        }
        ("draft", Some(_)) => {
            return Err(AppError::field(
                "amount",
                "not_allowed",
                "change a draft's amount with PATCH before submitting it",
            ));
        }
        ("active", Some(m)) => {
            if m.currency.trim() != old.currency {
                return Err(AppError::field(
                    "amount.currency",
                    "currency_mismatch",
                    format!("the contract is in {}", old.currency),
                ));
            }
            let new = money::parse_amount("amount", &m.amount, &old.currency)
                .map_err(|e| AppError::Validation(vec![e]))?;
            let s = sums(&txn, std::slice::from_ref(&old.id))
                .await?
                .remove(&old.id)
                .unwrap_or_default();
            let floor = s
                .received
                .saturating_add(s.pending)
                .max(s.invoiced)
                .max(s.planned);
            if new < floor || new == 0 {
                return Err(AppError::field(
                    "amount",
                    "below_recorded",
                    format!(
                        "must be at least {} (payments, invoices and the plan already recorded)",
                        money::text(floor, &old.currency)
                    ),
                ));
            }
            if new == old.amount {
                return Err(AppError::field(
                    "amount",
                    "unchanged",
                    "is the contract's amount already",
                ));
            }
            new
        }
        ("active", None) => {
            return Err(AppError::field(
                "amount",
                "required",
                "an active contract is submitted again only with a new amount",
            ));
        }
        ("pending_approval", _) => {
            return Err(AppError::refused(
                "approval_pending",
                "the contract is already waiting for approval",
            ));
        }
        _ => {
            return Err(AppError::refused(
                "contract_closed",
                "an expired or terminated contract cannot be submitted",
            ));
        }
    };
    approval_step(
        &txn,
        now,
        &old.id,
        "submitted",
        amount,
        user,
        comment.clone(),
    )
    .await?;
    let link = format!("/contracts/{}", old.id);
    // Lowering an approved amount needs approval as much as raising it.
    if needs_approval(
        &settings,
        amount.max(if old.status == "active" {
            old.amount
        } else {
            0
        }),
        &old.currency,
    ) {
        let approver = manager_of(&txn, old.owner_id.as_deref()).await?;
        a.status = Set("pending_approval".into());
        a.approver_id = Set(approver.clone());
        if old.status == "active" {
            a.pending_amount = Set(Some(amount));
        }
        let to: Vec<String> = match approver {
            Some(m) => vec![m],
            None => finance_users(&txn).await?,
        };
        let items = to
            .into_iter()
            .filter(|u| *u != user.id)
            .map(|u| (u, note(&old, user, comment.as_deref()), link.clone()))
            .collect();
        crate::notifications::store::notify_many(&txn, now, "contract_approval_requested", items)
            .await?;
    } else {
        approval_step(&txn, now, &old.id, "auto_approved", amount, user, None).await?;
        a.status = Set("active".into());
        a.amount = Set(amount);
        a.pending_amount = Set(None);
        a.approver_id = Set(None);
        if old.activated_at.is_none() {
            a.activated_at = Set(Some(now));
        }
    }
    let m = write(&txn, now, actor, &old, a, "submit").await?;
    txn.commit().await?;
    Ok(m)
}

/// Active finance users and administrators (approvers when the owner has no manager).
async fn finance_users<C: ConnectionTrait>(db: &C) -> AppResult<Vec<String>> {
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.is_in(["finance", "admin"]))
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Active finance users (told of payments waiting for confirmation).
pub async fn finance_only<C: ConnectionTrait>(db: &C) -> AppResult<Vec<String>> {
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.eq("finance"))
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Whether `user` may decide on `m`'s approval: its approver, finance, an administrator.
pub fn may_approve(user: &CurrentUser, m: &contract::Model) -> bool {
    user.has_role(FINANCE) || m.approver_id.as_deref() == Some(user.id.as_str())
}

/// Approves or rejects a contract waiting for approval.
pub async fn decide(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    approve: bool,
    input: DecisionInput,
) -> AppResult<contract::Model> {
    let comment = clean(input.comment.clone());
    if !approve && comment.is_none() {
        return Err(AppError::field(
            "comment",
            "required",
            "say why the contract is rejected",
        ));
    }
    let txn = write_txn(db).await?;
    let old = get_locked(&txn, user, id).await?;
    if input.version.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    if old.status != "pending_approval" {
        return Err(AppError::refused(
            "not_pending",
            "the contract is not waiting for approval",
        ));
    }
    if !may_approve(user, &old) {
        return Err(AppError::Forbidden);
    }
    // Nobody but an administrator approves what they submitted themselves.
    let submitter = contract_approval::Entity::find()
        .filter(contract_approval::Column::ContractId.eq(old.id.clone()))
        .filter(contract_approval::Column::Action.eq("submitted"))
        .order_by_desc(contract_approval::Column::CreatedAt)
        .order_by_desc(contract_approval::Column::Id)
        .one(&txn)
        .await?
        .and_then(|a| a.actor_id);
    if approve && !user.is_admin() && submitter.as_deref() == Some(user.id.as_str()) {
        return Err(AppError::refused(
            "own_submission",
            "someone else must approve what you submitted",
        ));
    }
    let amount = old.pending_amount.unwrap_or(old.amount);
    if approve && old.pending_amount.is_some() {
        let s = sums(&txn, std::slice::from_ref(&old.id))
            .await?
            .remove(&old.id)
            .unwrap_or_default();
        let floor = s
            .received
            .saturating_add(s.pending)
            .max(s.invoiced)
            .max(s.planned);
        if amount < floor {
            return Err(AppError::refused(
                "below_recorded",
                format!(
                    "the new amount is below the {} already paid, invoiced or planned",
                    money::text(floor, &old.currency)
                ),
            ));
        }
    }
    approval_step(
        &txn,
        now,
        &old.id,
        if approve { "approved" } else { "rejected" },
        amount,
        user,
        comment.clone(),
    )
    .await?;
    let mut a = old.clone().into_active_model();
    a.approver_id = Set(None);
    a.pending_amount = Set(None);
    let was_active = old.activated_at.is_some();
    if approve {
        a.status = Set("active".into());
        a.amount = Set(amount);
        if !was_active {
            a.activated_at = Set(Some(now));
        }
    } else {
        a.status = Set(if was_active { "active" } else { "draft" }.into());
    }
    let m = write(
        &txn,
        now,
        actor,
        &old,
        a,
        if approve { "approve" } else { "reject" },
    )
    .await?;
    if let Some(owner) = &m.owner_id
        && *owner != user.id
    {
        crate::notifications::store::notify(
            &txn,
            now,
            owner,
            if approve {
                "contract_approved"
            } else {
                "contract_rejected"
            },
            note(&m, user, comment.as_deref()),
            Some(&format!("/contracts/{}", m.id)),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(m)
}

/// Ends a contract early (a draft is cancelled the same way); needs a reason.
pub async fn terminate(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: DecisionInput,
) -> AppResult<contract::Model> {
    let Some(reason) = clean(input.comment.clone()) else {
        return Err(AppError::field(
            "comment",
            "required",
            "say why the contract ends",
        ));
    };
    if let Some(e) = max_len("comment", &reason, 2000) {
        return Err(AppError::Validation(vec![e]));
    }
    let txn = write_txn(db).await?;
    let old = get_locked(&txn, user, id).await?;
    if input.version.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    if old.status == "terminated" {
        return Err(AppError::refused(
            "contract_closed",
            "the contract is already terminated",
        ));
    }
    // A contract never signed that waits for its approval is approved or
    // rejected (back to a draft, which may then be cancelled), not ended:
    // its approver would be left with a request about nothing.
    if old.status == "pending_approval" && old.activated_at.is_none() {
        return Err(AppError::refused(
            "pending_approval",
            "the contract waits for approval: it is approved or rejected first",
        ));
    }
    // A draft is cancelled by whoever sees it; a signed contract ends only by a
    // manager, finance or an administrator.
    if old.activated_at.is_some() && !user.has_role(&[Role::Manager, Role::Finance]) {
        return Err(AppError::Forbidden);
    }
    let mut a = old.clone().into_active_model();
    a.status = Set("terminated".into());
    a.terminated_reason = Set(Some(reason));
    a.pending_amount = Set(None);
    a.approver_id = Set(None);
    let m = write(&txn, now, actor, &old, a, "terminate").await?;
    txn.commit().await?;
    Ok(m)
}

pub async fn approvals<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<Vec<ApprovalView>> {
    let c = get(db, user, id).await?;
    Ok(contract_approval::Entity::find()
        .filter(contract_approval::Column::ContractId.eq(id))
        .order_by_asc(contract_approval::Column::CreatedAt)
        .order_by_asc(contract_approval::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|a| ApprovalView {
            action: a.action,
            amount: money::money(a.amount, &c.currency),
            actor_id: a.actor_id,
            comment: a.comment,
            at: a.created_at,
        })
        .collect())
}

// ---- Payment plans ----

/// Confirmed and pending sums allocated to installments: `id → (paid, pending)`.
pub async fn allocated<C: ConnectionTrait>(
    db: &C,
    installment_ids: &[String],
) -> AppResult<HashMap<String, (i64, i64)>> {
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for chunk in installment_ids.chunks(500) {
        let rows: Vec<(String, String, Option<i64>)> = allocation::Entity::find()
            .select_only()
            .column(allocation::Column::InstallmentId)
            .column(payment::Column::Status)
            .column_as(sum(allocation::Entity, allocation::Column::Amount), "s")
            .join(
                sea_orm::JoinType::InnerJoin,
                allocation::Entity::belongs_to(payment::Entity)
                    .from(allocation::Column::PaymentId)
                    .to(payment::Column::Id)
                    .into(),
            )
            .filter(allocation::Column::InstallmentId.is_in(chunk.to_vec()))
            .filter(payment::Column::Status.ne("rejected"))
            .group_by(allocation::Column::InstallmentId)
            .group_by(payment::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        for (id, status, s) in rows {
            let e = out.entry(id).or_default();
            if status == "confirmed" {
                e.0 += s.unwrap_or(0);
            } else {
                e.1 += s.unwrap_or(0);
            }
        }
    }
    Ok(out)
}

pub async fn installments_of<C: ConnectionTrait>(
    db: &C,
    contract_id: &str,
) -> AppResult<Vec<installment::Model>> {
    Ok(installment::Entity::find()
        .filter(installment::Column::ContractId.eq(contract_id))
        .order_by_asc(installment::Column::Number)
        .all(db)
        .await?)
}

async fn plan_view<C: ConnectionTrait>(
    db: &C,
    c: &contract::Model,
    today: Date,
) -> AppResult<PlanView> {
    let rows = installments_of(db, &c.id).await?;
    let ids: Vec<String> = rows.iter().map(|i| i.id.clone()).collect();
    let paid = allocated(db, &ids).await?;
    let planned: i64 = rows.iter().map(|i| i.amount).sum();
    Ok(PlanView {
        contract_id: c.id.clone(),
        planned: money::money(planned, &c.currency),
        unplanned: money::money((c.amount - planned).max(0), &c.currency),
        installments: rows
            .into_iter()
            .map(|i| {
                let (p, q) = paid.get(&i.id).copied().unwrap_or_default();
                InstallmentView::new(i, &c.currency, p, q, today)
            })
            .collect(),
    })
}

pub async fn plan<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
    today: Date,
) -> AppResult<PlanView> {
    let c = get(db, user, id).await?;
    plan_view(db, &c, today).await
}

/// Sets a contract's payment plan. Installments are numbered by due date; their
/// sum may not exceed the contract amount; an installment with payments on it
/// must be kept (send its `id`) and not go below what was paid on it. Payment
/// amounts not yet allocated (recorded before the plan, or beyond it) then pay
/// the open installments in due order. Bumps the contract's version.
pub async fn set_plan(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    input: PlanInput,
) -> AppResult<PlanView> {
    let txn = write_txn(db).await?;
    let c = get_locked(&txn, user, id).await?;
    if input.version.is_some_and(|v| v != c.version) {
        return Err(stale());
    }
    if c.status == "terminated" {
        return Err(AppError::refused(
            "contract_closed",
            "a terminated contract's plan cannot change",
        ));
    }
    let old = installments_of(&txn, &c.id).await?;
    let old_ids: Vec<String> = old.iter().map(|i| i.id.clone()).collect();
    let paid = allocated(&txn, &old_ids).await?;
    let mut errors = Vec::new();
    if input.installments.len() > 120 {
        errors.push(FieldError::new(
            "installments",
            "too_long",
            "at most 120 installments",
        ));
    }
    let mut rows: Vec<(Option<String>, Date, i64, Option<String>)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, it) in input.installments.iter().enumerate() {
        let f = |k: &str| format!("installments[{i}].{k}");
        let due = crate::platform::validate::date(&f("due_date"), it.due_date.trim())
            .map_err(|e| errors.push(e))
            .ok();
        if it.amount.currency != c.currency {
            errors.push(FieldError::new(
                &f("amount.currency"),
                "currency_mismatch",
                format!("must be the contract's currency, {}", c.currency),
            ));
        }
        let amount = match money::parse_amount(&f("amount"), &it.amount.amount, &c.currency) {
            Ok(0) => {
                errors.push(FieldError::new(
                    &f("amount"),
                    "out_of_range",
                    "must be more than 0",
                ));
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let notes = clean(it.notes.clone());
        if let Some(e) = notes.as_deref().and_then(|n| max_len(&f("notes"), n, 500)) {
            errors.push(e);
        }
        let keep = clean(it.id.clone());
        if let Some(k) = &keep {
            if seen.contains(k) {
                errors.push(FieldError::new(&f("id"), "taken", "named twice"));
            } else if !old_ids.contains(k) {
                errors.push(FieldError::new(
                    &f("id"),
                    "not_found",
                    "no such installment",
                ));
            } else if let (Some(a), Some((p, q))) = (amount, paid.get(k))
                && a < p + q
            {
                errors.push(FieldError::new(
                    &f("amount"),
                    "below_paid",
                    format!(
                        "must be at least {} (paid on it already)",
                        money::text(p + q, &c.currency)
                    ),
                ));
            }
            seen.push(k.clone());
        }
        if let (Some(d), Some(a)) = (due, amount) {
            rows.push((keep, d, a, notes));
        }
    }
    for (old_id, (p, q)) in &paid {
        if p + q > 0 && !rows.iter().any(|r| r.0.as_deref() == Some(old_id)) {
            errors.push(FieldError::new(
                "installments",
                "has_payments",
                "an installment with payments on it must stay in the plan",
            ));
            break;
        }
    }
    let total: i128 = rows.iter().map(|r| i128::from(r.2)).sum();
    if total > i128::from(cap(&c)) {
        errors.push(FieldError::new(
            "installments",
            "exceeds_contract",
            format!(
                "the installments add up to {}, more than the contract's {}",
                money::money_of_sum(total, &c.currency).amount,
                money::text(cap(&c), &c.currency)
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    rows.sort_by_key(|a| a.1);
    let kept: Vec<String> = rows.iter().filter_map(|r| r.0.clone()).collect();
    let gone: Vec<&installment::Model> = old.iter().filter(|i| !kept.contains(&i.id)).collect();
    if !gone.is_empty() {
        let ids: Vec<String> = gone.iter().map(|i| i.id.clone()).collect();
        // Only rejected payments can still point at them.
        allocation::Entity::delete_many()
            .filter(allocation::Column::InstallmentId.is_in(ids.clone()))
            .exec(&txn)
            .await?;
        installment::Entity::delete_many()
            .filter(installment::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
    }
    for (n, (keep, due, amount, notes)) in rows.iter().enumerate() {
        let number = i32::try_from(n + 1).unwrap_or(i32::MAX);
        match keep {
            Some(k) => {
                let was = old.iter().find(|o| &o.id == k);
                let mut q = installment::Entity::update_many()
                    .col_expr(installment::Column::Number, Expr::value(number))
                    .col_expr(installment::Column::DueDate, Expr::value(*due))
                    .col_expr(installment::Column::Amount, Expr::value(*amount))
                    .col_expr(installment::Column::Notes, Expr::value(notes.clone()));
                if was.is_some_and(|w| w.due_date != *due) {
                    q = q.col_expr(
                        installment::Column::OverdueNotifiedAt,
                        Expr::value(Option::<OffsetDateTime>::None),
                    );
                }
                q.filter(installment::Column::Id.eq(k.clone()))
                    .exec(&txn)
                    .await?;
            }
            None => {
                // The same installment sent again without its id keeps its reminder mark.
                let reminded = gone
                    .iter()
                    .find(|g| g.due_date == *due && g.amount == *amount)
                    .and_then(|g| g.overdue_notified_at);
                installment::ActiveModel {
                    id: Set(uuid::Uuid::now_v7().to_string()),
                    contract_id: Set(c.id.clone()),
                    number: Set(number),
                    due_date: Set(*due),
                    amount: Set(*amount),
                    notes: Set(notes.clone()),
                    overdue_notified_at: Set(reminded),
                    created_at: Set(now),
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    allocate_leftovers(&txn, &c.id).await?;
    let before: Vec<Value> = old
        .iter()
        .map(|i| json!([i.due_date.to_string(), money::text(i.amount, &c.currency)]))
        .collect();
    let after: Vec<Value> = rows
        .iter()
        .map(|r| json!([r.1.to_string(), money::text(r.2, &c.currency)]))
        .collect();
    let r = contract::Entity::update_many()
        .col_expr(contract::Column::Version, Expr::value(c.version + 1))
        .col_expr(contract::Column::UpdatedAt, Expr::value(now))
        .filter(contract::Column::Id.eq(c.id.clone()))
        .filter(contract::Column::Version.eq(c.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let mut changes = serde_json::Map::new();
    changes.insert("installments".into(), json!([before, after]));
    audit::record(&txn, now, actor, "contract", Some(&c.id), "plan", changes).await?;
    let view = plan_view(&txn, &c, now.date()).await?;
    txn.commit().await?;
    Ok(view)
}

/// What is still open on each installment of a contract (payments not
/// rejected count), in due order: `(installment, open amount)`.
pub async fn open_installments<C: ConnectionTrait>(
    db: &C,
    contract_id: &str,
) -> AppResult<Vec<(installment::Model, i64)>> {
    let insts = installments_of(db, contract_id).await?;
    let ids: Vec<String> = insts.iter().map(|i| i.id.clone()).collect();
    let taken = allocated(db, &ids).await?;
    let mut out: Vec<(installment::Model, i64)> = insts
        .into_iter()
        .map(|i| {
            let (p, q) = taken.get(&i.id).copied().unwrap_or_default();
            let open = (i.amount - p - q).max(0);
            (i, open)
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.due_date
            .cmp(&b.0.due_date)
            .then(a.0.number.cmp(&b.0.number))
    });
    Ok(out)
}

/// Splits `amount` over the open installments in due order: `(installment id, part)`.
pub fn fill_in_due_order(open: &[(installment::Model, i64)], amount: i64) -> Vec<(String, i64)> {
    let mut left = amount;
    let mut parts = Vec::new();
    for (i, o) in open {
        if left == 0 {
            break;
        }
        let take = (*o).min(left);
        if take > 0 {
            parts.push((i.id.clone(), take));
            left -= take;
        }
    }
    parts
}

/// Allocates what payments (not rejected) of a contract have not yet allocated
/// to its open installments, in due order.
async fn allocate_leftovers<C: ConnectionTrait>(txn: &C, contract_id: &str) -> AppResult<()> {
    let pays = payment::Entity::find()
        .filter(payment::Column::ContractId.eq(contract_id))
        .filter(payment::Column::Status.ne("rejected"))
        .order_by_asc(payment::Column::ReceivedOn)
        .order_by_asc(payment::Column::Id)
        .all(txn)
        .await?;
    if pays.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = pays.iter().map(|p| p.id.clone()).collect();
    let mut used: HashMap<String, i64> = HashMap::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for chunk in ids.chunks(500) {
        for a in allocation::Entity::find()
            .filter(allocation::Column::PaymentId.is_in(chunk.to_vec()))
            .all(txn)
            .await?
        {
            *used.entry(a.payment_id.clone()).or_default() += a.amount;
            pairs.push((a.payment_id, a.installment_id));
        }
    }
    let mut open = open_installments(txn, contract_id).await?;
    for p in pays {
        let left = p.amount - used.get(&p.id).copied().unwrap_or(0);
        if left <= 0 {
            continue;
        }
        for (iid, part) in fill_in_due_order(&open, left) {
            if pairs.iter().any(|(pp, ii)| *pp == p.id && *ii == iid) {
                allocation::Entity::update_many()
                    .col_expr(
                        allocation::Column::Amount,
                        sea_orm::sea_query::ExprTrait::add(
                            Expr::col(allocation::Column::Amount),
                            part,
                        ),
                    )
                    .filter(allocation::Column::PaymentId.eq(p.id.clone()))
                    .filter(allocation::Column::InstallmentId.eq(iid.clone()))
                    .exec(txn)
                    .await?;
            } else {
                allocation::ActiveModel {
                    payment_id: Set(p.id.clone()),
                    installment_id: Set(iid.clone()),
                    amount: Set(part),
                }
                .insert(txn)
                .await?;
                pairs.push((p.id.clone(), iid.clone()));
            }
            if let Some(o) = open.iter_mut().find(|o| o.0.id == iid) {
                o.1 -= part;
            }
        }
    }
    Ok(())
}
