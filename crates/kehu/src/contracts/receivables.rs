//! Receivables (the installments still owed, with aging), the payments
//! report's sums, and the contract jobs: drafts for waiting won deals,
//! expiry (status and reminders) and overdue-installment reminders.

use super::model::{AgingRow, BUCKETS, ReceivableItem, Receivables, bucket};
use super::store::{self, allocated, draft_waiting_requests};
use crate::entities::{contract, installment, payment, team, user};
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::AppResult;
use crate::platform::money;
use crate::platform::scope::DataScope;
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use time::{Date, OffsetDateTime};

/// Contracts whose installments are owed: approved and not terminated.
const OWING: &[&str] = &["active", "expired", "pending_approval"];

/// Which receivables to show.
#[derive(Debug, Clone)]
pub struct ReceivableFilter {
    pub currency: String,
    pub owner_ids: Option<Vec<String>>,
    pub customer_id: Option<String>,
    pub as_of: Date,
}

fn owing_contracts(
    scope: &DataScope,
    currency: &str,
    owners: Option<&Vec<String>>,
    customer_id: Option<&str>,
) -> sea_orm::sea_query::SelectStatement {
    let mut q = store::visible_ids(scope);
    q.and_where(Expr::col(contract::Column::Status).is_in(OWING.iter().copied()))
        .and_where(Expr::col(contract::Column::ActivatedAt).is_not_null())
        .and_where(Expr::col(contract::Column::Currency).eq(currency));
    if let Some(o) = owners {
        q.and_where(Expr::col(contract::Column::OwnerId).is_in(o.clone()));
    }
    if let Some(c) = customer_id {
        q.and_where(Expr::col(contract::Column::CustomerId).eq(c));
    }
    q
}

fn row(id: Option<String>, name: String, sums: &[i128; 5], currency: &str) -> AgingRow {
    AgingRow {
        id,
        name,
        buckets: sums
            .iter()
            .map(|s| money::money_of_sum(*s, currency))
            .collect(),
        total: money::money_of_sum(sums.iter().sum(), currency),
    }
}

/// Every installment still owed on contracts `user` sees, oldest due first,
/// with the aging by rep and by team.
pub async fn receivables<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    f: &ReceivableFilter,
) -> AppResult<Receivables> {
    let scope = DataScope::for_user(db, user).await?;
    let sub = owing_contracts(
        &scope,
        &f.currency,
        f.owner_ids.as_ref(),
        f.customer_id.as_deref(),
    );
    let insts = installment::Entity::find()
        .filter(installment::Column::ContractId.in_subquery(sub.clone()))
        .order_by_asc(installment::Column::DueDate)
        .order_by_asc(installment::Column::Id)
        .all(db)
        .await?;
    let contracts: HashMap<String, contract::Model> = contract::Entity::find()
        .filter(contract::Column::Id.in_subquery(sub))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let ids: Vec<String> = insts.iter().map(|i| i.id.clone()).collect();
    let paid = allocated(db, &ids).await?;
    let mut items = Vec::new();
    let mut total = [0i128; 5];
    let mut by_owner: BTreeMap<Option<String>, [i128; 5]> = BTreeMap::new();
    for i in insts {
        let Some(c) = contracts.get(&i.contract_id) else {
            continue;
        };
        let p = paid.get(&i.id).map(|x| x.0).unwrap_or(0);
        let outstanding = i.amount - p;
        if outstanding <= 0 {
            continue;
        }
        let days = (f.as_of - i.due_date).whole_days();
        let b = bucket(days);
        let k = BUCKETS.iter().position(|x| *x == b).unwrap_or(0);
        total[k] += i128::from(outstanding);
        by_owner.entry(c.owner_id.clone()).or_default()[k] += i128::from(outstanding);
        items.push(ReceivableItem {
            installment_id: i.id,
            number: i.number,
            contract_id: c.id.clone(),
            contract_number: c.number.clone(),
            contract_title: c.title.clone(),
            customer_id: c.customer_id.clone(),
            owner_id: c.owner_id.clone(),
            due_date: i.due_date.to_string(),
            amount: money::money(i.amount, &f.currency),
            paid: money::money(p, &f.currency),
            outstanding: money::money(outstanding, &f.currency),
            days_overdue: std::cmp::max(days, 0),
            bucket: b.into(),
        });
    }
    let owner_ids: Vec<String> = by_owner.keys().flatten().cloned().collect();
    let users: Vec<(String, String, Option<String>)> = user::Entity::find()
        .filter(user::Column::Id.is_in(owner_ids))
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .column(user::Column::TeamId)
        .into_tuple()
        .all(db)
        .await?;
    let teams: HashMap<String, String> = team::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut by_team: BTreeMap<Option<String>, [i128; 5]> = BTreeMap::new();
    let mut ranked: Vec<(&Option<String>, &[i128; 5])> = by_owner.iter().collect();
    ranked.sort_by_key(|(_, s)| std::cmp::Reverse(s.iter().sum::<i128>()));
    let mut owners = Vec::new();
    for (owner, sums) in ranked {
        let u = users.iter().find(|u| Some(&u.0) == owner.as_ref());
        let team_id = u.and_then(|u| u.2.clone());
        let t = by_team.entry(team_id).or_default();
        for k in 0..5 {
            t[k] += sums[k];
        }
        owners.push(row(
            owner.clone(),
            u.map(|u| u.1.clone()).unwrap_or_default(),
            sums,
            &f.currency,
        ));
    }
    let by_team = by_team
        .iter()
        .map(|(id, sums)| {
            let name = id
                .as_ref()
                .and_then(|i| teams.get(i).cloned())
                .unwrap_or_default();
            row(id.clone(), name, sums, &f.currency)
        })
        .collect();
    Ok(Receivables {
        currency: f.currency.clone(),
        as_of: f.as_of.to_string(),
        buckets: BUCKETS.iter().map(|b| b.to_string()).collect(),
        total: row(None, String::new(), &total, &f.currency),
        by_owner: owners,
        by_team,
        items,
    })
}

/// How the payments report groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Month,
    Owner,
    Customer,
}

/// Confirmed payments received in `[from, to]` on contracts `user` sees, in one
/// currency: `(key, payments, exact sum in stored units)` per day, owner or
/// customer (the report folds days into months).
pub async fn payment_sums<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    from: Date,
    to: Date,
    currency: &str,
    owners: Option<&Vec<String>>,
    group: GroupBy,
) -> AppResult<Vec<(String, i64, i128)>> {
    let scope = DataScope::for_user(db, user).await?;
    let mut contracts = store::visible_ids(&scope);
    if let Some(o) = owners {
        contracts.and_where(Expr::col(contract::Column::OwnerId).is_in(o.clone()));
    }
    let (hi, lo) = money::split_sum(Expr::col((payment::Entity, payment::Column::Amount)));
    let mut q = payment::Entity::find()
        .select_only()
        .filter(payment::Column::Status.eq("confirmed"))
        .filter(payment::Column::Currency.eq(currency))
        .filter(payment::Column::ReceivedOn.gte(from))
        .filter(payment::Column::ReceivedOn.lte(to))
        .filter(payment::Column::ContractId.in_subquery(contracts));
    let key = match group {
        GroupBy::Month => Expr::col((payment::Entity, payment::Column::ReceivedOn)),
        GroupBy::Owner => Expr::cust("COALESCE(contracts.owner_id, '')"),
        GroupBy::Customer => Expr::col((contract::Entity, contract::Column::CustomerId)),
    };
    if group != GroupBy::Month {
        q = q.join(
            sea_orm::JoinType::InnerJoin,
            payment::Entity::belongs_to(contract::Entity)
                .from(payment::Column::ContractId)
                .to(contract::Column::Id)
                .into(),
        );
    }
    q = q
        .column_as(key.clone(), "k")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(hi, "hi")
        .column_as(lo, "lo")
        .group_by(key);
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = match group {
        GroupBy::Month => {
            let r: Vec<(Date, i64, Option<i64>, Option<i64>)> = q.into_tuple().all(db).await?;
            r.into_iter()
                .map(|(d, n, h, l)| (d.to_string(), n, h, l))
                .collect()
        }
        _ => q.into_tuple().all(db).await?,
    };
    Ok(rows
        .into_iter()
        .map(|(k, n, h, l)| (k, n, money::join_sums(h, l)))
        .collect())
}

// ---- Jobs ----

/// What one run of the contract jobs did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobCounts {
    pub drafted: u64,
    pub expired: u64,
    pub expiry_reminders: u64,
    pub overdue_reminders: u64,
}

/// Drafts for waiting won deals; contracts past their end date become
/// `expired`; owners hear of contracts ending within the reminder days and of
/// installments that fell due unpaid (once each, with a task to collect).
pub async fn run_jobs(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<JobCounts> {
    let mut out = JobCounts {
        drafted: draft_waiting_requests(db, now).await?,
        ..Default::default()
    };
    let today = now.date();
    let actor = Actor::default();
    let settings = store::settings(db).await?;
    // Expiry.
    let txn = write_txn(db).await?;
    let ending: Vec<contract::Model> = contract::Entity::find()
        .filter(contract::Column::Status.eq("active"))
        .filter(contract::Column::EndDate.lt(today))
        .limit(1000)
        .all(&txn)
        .await?;
    for c in &ending {
        let r = contract::Entity::update_many()
            .col_expr(contract::Column::Status, Expr::value("expired"))
            .col_expr(contract::Column::Version, Expr::value(c.version + 1))
            .col_expr(contract::Column::UpdatedAt, Expr::value(now))
            .filter(contract::Column::Id.eq(c.id.clone()))
            .filter(contract::Column::Version.eq(c.version))
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            let mut changes = serde_json::Map::new();
            changes.insert("status".into(), json!(["active", "expired"]));
            audit::record(
                &txn,
                now,
                &actor,
                "contract",
                Some(&c.id),
                "expire",
                changes,
            )
            .await?;
            out.expired += 1;
        }
    }
    // Reminders before the end.
    let horizon = today + time::Duration::days(i64::from(settings.expiry_reminder_days));
    let soon: Vec<contract::Model> = contract::Entity::find()
        .filter(contract::Column::Status.eq("active"))
        .filter(contract::Column::EndDate.gte(today))
        .filter(contract::Column::EndDate.lte(horizon))
        .filter(contract::Column::ExpiryRemindedAt.is_null())
        .limit(1000)
        .all(&txn)
        .await?;
    let mut notes = Vec::new();
    for c in &soon {
        contract::Entity::update_many()
            .col_expr(contract::Column::ExpiryRemindedAt, Expr::value(now))
            .filter(contract::Column::Id.eq(c.id.clone()))
            .exec(&txn)
            .await?;
        if let Some(owner) = &c.owner_id {
            notes.push((
                owner.clone(),
                json!({
                    "customer_name": format!("{} {}", c.number, c.title),
                    "message": c.end_date.map(|d| d.to_string()).unwrap_or_default(),
                }),
                format!("/contracts/{}", c.id),
            ));
        }
        out.expiry_reminders += 1;
    }
    crate::notifications::store::notify_many(&txn, now, "contract_expiring", notes).await?;
    // Overdue installments.
    let mut owing = Query::select()
        .column(contract::Column::Id)
        .from(contract::Entity)
        .to_owned();
    owing
        .and_where(Expr::col(contract::Column::Status).is_in(OWING.iter().copied()))
        .and_where(Expr::col(contract::Column::ActivatedAt).is_not_null());
    let due: Vec<installment::Model> = installment::Entity::find()
        .filter(installment::Column::DueDate.lt(today))
        .filter(installment::Column::OverdueNotifiedAt.is_null())
        .filter(installment::Column::ContractId.in_subquery(owing))
        .order_by_asc(installment::Column::DueDate)
        .limit(1000)
        .all(&txn)
        .await?;
    let ids: Vec<String> = due.iter().map(|i| i.id.clone()).collect();
    let paid = allocated(&txn, &ids).await?;
    let mut notes = Vec::new();
    for i in &due {
        installment::Entity::update_many()
            .col_expr(installment::Column::OverdueNotifiedAt, Expr::value(now))
            .filter(installment::Column::Id.eq(i.id.clone()))
            .exec(&txn)
            .await?;
        let p = paid.get(&i.id).map(|x| x.0).unwrap_or(0);
        if i.amount - p <= 0 {
            continue;
        }
        let Some(c) = contract::Entity::find_by_id(i.contract_id.clone())
            .one(&txn)
            .await?
        else {
            continue;
        };
        let Some(owner) = c.owner_id.clone() else {
            continue;
        };
        let text = format!(
            "{} #{} {}",
            c.number,
            i.number,
            money::display(i.amount - p, &c.currency)
        );
        crate::tasks::store::insert_auto(
            &txn,
            now,
            &actor,
            crate::tasks::store::AutoTask {
                assignee_id: owner.clone(),
                title: format!("催收 Collect: {text}"),
                due: Some(now),
                customer_id: Some(c.customer_id.clone()),
                kind: "follow_up",
                notes: Some(format!("/contracts/{}", c.id)),
                ..Default::default()
            },
        )
        .await?;
        notes.push((
            owner,
            json!({ "customer_name": text, "message": i.due_date.to_string() }),
            format!("/contracts/{}", c.id),
        ));
        out.overdue_reminders += 1;
    }
    crate::notifications::store::notify_many(&txn, now, "installment_overdue", notes).await?;
    txn.commit().await?;
    Ok(out)
}
