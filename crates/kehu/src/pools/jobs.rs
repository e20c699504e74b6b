//! The automatic return: customers whose owner let the pool's time pass
//! without an activity (or without a won deal) go back to their pool, and
//! owners are warned `warn_days_before_return` days before.
//!
//! Runs inside the job runner's lease (`platform::jobs`), and is safe to run
//! again: a returned customer is no longer due and a warned one carries
//! `return_warned_at`. The work is a few set-based queries per pool and level
//! rule, so a million customers take seconds, not minutes.

use super::model::{Draft, PoolView};
use crate::entities::{customer, pool};
use crate::platform::db::write_txn;
use crate::platform::error::AppResult;
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReturnReport {
    pub returned: u64,
    pub warned: u64,
}

/// The customers of `level_cond` in pool `p` whose return time (by either rule)
/// is at or before `at`.
fn due_condition(p: &Draft, level: Option<&str>, at: OffsetDateTime) -> Option<Condition> {
    let (act, deal) = p.days_for(level);
    let mut any = Condition::any();
    let mut some = false;
    if let Some(d) = act {
        let cut = at - Duration::days(i64::from(d));
        any = any.add(
            Condition::all()
                .add(customer::Column::OwnedSince.lte(cut))
                .add(
                    Condition::any()
                        .add(customer::Column::LastActivityAt.is_null())
                        .add(customer::Column::LastActivityAt.lte(cut)),
                ),
        );
        some = true;
    }
    if let Some(d) = deal {
        let cut = at - Duration::days(i64::from(d));
        any = any.add(
            Condition::all()
                .add(customer::Column::OwnedSince.lte(cut))
                .add(
                    Condition::any()
                        .add(customer::Column::LastWonAt.is_null())
                        .add(customer::Column::LastWonAt.lte(cut)),
                ),
        );
        some = true;
    }
    some.then_some(any)
}

/// The owned, unlocked customers of pool `p` whose level falls under `level`
/// (a level with its own override, or every level without one).
fn candidates(pool_id: &str, d: &Draft, level: Option<&str>) -> Condition {
    let mut c = Condition::all()
        .add(customer::Column::PoolId.eq(pool_id))
        .add(customer::Column::OwnerId.is_not_null())
        .add(customer::Column::DeletedAt.is_null())
        .add(customer::Column::Locked.eq(false));
    if d.won_deal_exempt {
        c = c.add(customer::Column::LastWonAt.is_null());
    }
    match level {
        Some(l) => c.add(customer::Column::Level.eq(l)),
        None => {
            let overridden: Vec<String> = d.level_overrides.keys().cloned().collect();
            if overridden.is_empty() {
                c
            } else {
                c.add(
                    Condition::any()
                        .add(customer::Column::Level.is_null())
                        .add(customer::Column::Level.is_not_in(overridden)),
                )
            }
        }
    }
}

/// Returns what is due and warns the owners of what is about to be.
pub async fn auto_return(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<ReturnReport> {
    let mut report = ReturnReport::default();
    let pools = pool::Entity::find().all(db).await?;
    for p in pools {
        let d = Draft::from_view(PoolView::from(p.clone()));
        let mut groups: Vec<Option<String>> = vec![None];
        groups.extend(d.level_overrides.keys().cloned().map(Some));
        for level in groups {
            let base = candidates(&p.id, &d, level.as_deref());
            if let Some(due) = due_condition(&d, level.as_deref(), now) {
                report.returned += return_due(db, now, &p.id, base.clone().add(due)).await?;
            }
            if let Some(w) = d.warn_days_before_return
                && let Some(soon) =
                    due_condition(&d, level.as_deref(), now + Duration::days(i64::from(w)))
            {
                let cond = base
                    .add(soon)
                    .add(customer::Column::ReturnWarnedAt.is_null());
                report.warned += warn(db, now, cond).await?;
            }
        }
    }
    Ok(report)
}

/// Rows are changed in batches of this many, each batch one transaction.
const BATCH: usize = 2_000;

/// The ids of what `cond` selects now (one pass over the table).
async fn due_ids(db: &DatabaseConnection, cond: Condition) -> AppResult<Vec<String>> {
    Ok(customer::Entity::find()
        .filter(cond)
        .select_only()
        .column(customer::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// `(id, owner, name)` of the customers of `ids` that `cond` still selects,
/// locked on PostgreSQL until the transaction ends.
async fn still_due<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
    cond: Condition,
) -> AppResult<Vec<(String, String, String)>> {
    let mut q = customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids.to_vec()))
        .filter(cond)
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::OwnerId)
        .column(customer::Column::Name)
        .order_by_asc(customer::Column::Id);
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock(LockType::Update);
    }
    Ok(q.into_tuple().all(db).await?)
}

async fn return_due(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    pool_id: &str,
    cond: Condition,
) -> AppResult<u64> {
    let mut total = 0;
    for chunk in due_ids(db, cond.clone()).await?.chunks(BATCH) {
        let txn = write_txn(db).await?;
        let rows = still_due(&txn, chunk, cond.clone()).await?;
        if rows.is_empty() {
            txn.commit().await?;
            continue;
        }
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        customer::Entity::update_many()
            .col_expr(
                customer::Column::FormerOwnerId,
                Expr::col(customer::Column::OwnerId),
            )
            .col_expr(
                customer::Column::OwnerId,
                Expr::value(Option::<String>::None),
            )
            .col_expr(customer::Column::ReturnedAt, Expr::value(now))
            .col_expr(
                customer::Column::ReturnReason,
                Expr::value("auto_return".to_owned()),
            )
            .col_expr(
                customer::Column::OwnedSince,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .col_expr(
                customer::Column::Version,
                Expr::col(customer::Column::Version).add(1),
            )
            .col_expr(customer::Column::UpdatedAt, Expr::value(now))
            .filter(customer::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        let mut history = Vec::with_capacity(rows.len());
        let mut notes = Vec::with_capacity(rows.len());
        for (id, owner, name) in &rows {
            history.push(crate::entities::ownership::ActiveModel {
                id: sea_orm::Set(uuid::Uuid::now_v7().to_string()),
                customer_id: sea_orm::Set(id.clone()),
                at: sea_orm::Set(now),
                action: sea_orm::Set("auto_return".into()),
                from_user_id: sea_orm::Set(Some(owner.clone())),
                to_user_id: sea_orm::Set(None),
                pool_id: sea_orm::Set(Some(pool_id.to_owned())),
                actor_id: sea_orm::Set(None),
                reason: sea_orm::Set(Some("auto_return".into())),
            });
            notes.push((
                owner.clone(),
                json!({"customer_id": id, "customer_name": name}),
                format!("/customers/{id}"),
            ));
        }
        insert_chunks(&txn, history).await?;
        crate::notifications::store::notify_many(&txn, now, "pool_returned", notes).await?;
        // The audit log and the events of each return (no user: the job did it).
        let actor = crate::platform::audit::Actor::default();
        crate::platform::audit::record_many(
            &txn,
            now,
            &actor,
            "customer",
            "auto_return",
            rows.iter()
                .map(|(id, owner, _)| {
                    let mut changes = serde_json::Map::new();
                    changes.insert("owner_id".into(), json!([owner, null]));
                    (id.clone(), changes)
                })
                .collect(),
        )
        .await?;
        let ctx = crate::platform::events::Ctx::new(now, &actor, None);
        for (id, owner, _) in &rows {
            crate::platform::events::emit(
                &txn,
                &ctx,
                crate::platform::events::Event::CustomerOwnerChanged {
                    customer_id: id.clone(),
                    from_owner_id: Some(owner.clone()),
                    to_owner_id: None,
                    action: "auto_return".into(),
                },
            )
            .await?;
        }
        txn.commit().await?;
        total += rows.len() as u64;
    }
    Ok(total)
}

async fn warn(db: &DatabaseConnection, now: OffsetDateTime, cond: Condition) -> AppResult<u64> {
    let mut total = 0;
    for chunk in due_ids(db, cond.clone()).await?.chunks(BATCH) {
        let txn = write_txn(db).await?;
        let rows = still_due(&txn, chunk, cond.clone()).await?;
        if rows.is_empty() {
            txn.commit().await?;
            continue;
        }
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        customer::Entity::update_many()
            .col_expr(customer::Column::ReturnWarnedAt, Expr::value(now))
            .filter(customer::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
        let notes = rows
            .iter()
            .map(|(id, owner, name)| {
                (
                    owner.clone(),
                    json!({"customer_id": id, "customer_name": name}),
                    format!("/customers/{id}"),
                )
            })
            .collect();
        crate::notifications::store::notify_many(&txn, now, "pool_return_warning", notes).await?;
        txn.commit().await?;
        total += rows.len() as u64;
    }
    Ok(total)
}

/// Inserts rows in statements of a few hundred (SQLite limits bound values per statement).
async fn insert_chunks<C: ConnectionTrait>(
    db: &C,
    rows: Vec<crate::entities::ownership::ActiveModel>,
) -> AppResult<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(300).collect();
        crate::entities::ownership::Entity::insert_many(chunk)
            .exec(db)
            .await?;
    }
    Ok(())
}
