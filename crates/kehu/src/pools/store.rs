//! Pool queries and every change of a customer's owner after it was made:
//! claim, assign, return, lock, and the ownership history they write.
//!
//! Races: on SQLite every write transaction holds the database's write lock
//! (`write_txn`), so the checks and the change of one claim cannot interleave
//! with another's. On PostgreSQL the row of each user who gains customers is
//! locked first (`lock_users`), which serialises the cap and daily-limit
//! checks per rep, and the owner itself changes through a conditional UPDATE
//! (`owner_id IS NULL` for a claim, the owner that was read for the rest), so
//! of two racing changes exactly one applies and the other answers 409.

use super::model::{
    AssignInput, Assignment, Draft, NewPool, PoolCustomerView, PoolPatch, PoolView,
};
use crate::entities::{customer, ownership, pool, setting, team, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{CurrentUser, Role, Scope};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::events::{self, Event};
use crate::platform::list::{ListRequest, Page, time_key};
use crate::platform::scope::DataScope;
use crate::platform::validate::{Checks, required_text};
use sea_orm::DatabaseTransaction;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;

pub use crate::ownership::store::{
    DEFAULT_POOL_ID, all_pools, check_cap, get, history, lock_users, owned_count, record,
    team_chain, user_may_use, visible,
};
use crate::users::store::names as user_names;

async fn check_draft<C: ConnectionTrait>(db: &C, draft: &mut Draft) -> AppResult<()> {
    let (levels, _) = crate::settings::store::customer_levels(db).await?;
    let mut c = draft.check(&levels);
    if !draft.team_ids.is_empty() {
        let found = team::Entity::find()
            .filter(team::Column::Id.is_in(draft.team_ids.clone()))
            .count(db)
            .await?;
        if found != draft.team_ids.len() as u64 {
            c.push("team_ids", "not_found", "names a team that does not exist");
        }
    }
    c.finish()
}

fn apply(am: &mut pool::ActiveModel, d: &Draft) {
    am.name = Set(d.name.clone());
    am.team_ids = Set(json!(d.team_ids).to_string());
    am.return_after_days_without_activity = Set(d.return_after_days_without_activity);
    am.return_after_days_without_deal = Set(d.return_after_days_without_deal);
    am.max_customers_per_rep = Set(d.max_customers_per_rep);
    am.reclaim_cooldown_days = Set(d.reclaim_cooldown_days);
    am.max_claims_per_day = Set(d.max_claims_per_day);
    am.warn_days_before_return = Set(d.warn_days_before_return);
    am.won_deal_exempt = Set(d.won_deal_exempt);
    am.max_locks_per_rep = Set(d.max_locks_per_rep);
    am.level_overrides = Set(json!(d.level_overrides).to_string());
    am.hidden_fields = Set(json!(d.hidden_fields).to_string());
}

fn pool_json(m: &pool::Model) -> Value {
    let mut v = serde_json::to_value(PoolView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "created_at", "updated_at"] {
            o.remove(k);
        }
    }
    v
}

/// Creates a pool (administrators).
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewPool,
) -> AppResult<pool::Model> {
    user.require_admin()?;
    let mut draft = Draft::from_new(input);
    let txn = write_txn(db).await?;
    check_draft(&txn, &mut draft).await?;
    let mut am = pool::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        is_default: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply(&mut am, &draft);
    let m = am.insert(&txn).await?;
    audit::record(
        &txn,
        now,
        actor,
        "pool",
        Some(&m.id),
        "create",
        audit::created(&pool_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Changes a pool's name, teams or rules (administrators).
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: PoolPatch,
    expected: i64,
) -> AppResult<pool::Model> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = pool::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if old.version != expected {
        return Err(stale());
    }
    let mut draft = Draft::from_view(PoolView::from(old.clone())).patch(patch);
    check_draft(&txn, &mut draft).await?;
    let mut am = old.clone().into_active_model();
    apply(&mut am, &draft);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let r = pool::Entity::update(am)
        .validate()?
        .filter(pool::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            sea_orm::DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    let changes = audit::diff(&pool_json(&old), &pool_json(&r));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "pool", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(r)
}

/// Deletes an empty pool that is not the default (administrators). A pool
/// that customers sit in or return to answers 409.
pub async fn delete(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<()> {
    user.require_admin()?;
    let txn = write_txn(db).await?;
    let old = pool::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if old.is_default {
        return Err(AppError::refused(
            "default_pool",
            "the default pool cannot be deleted",
        ));
    }
    let used = customer::Entity::find()
        .filter(customer::Column::PoolId.eq(id))
        .count(&txn)
        .await?;
    if used > 0 {
        return Err(AppError::refused(
            "pool_in_use",
            format!("{used} customers belong to this pool; move them first"),
        ));
    }
    pool::Entity::delete_by_id(id.to_owned())
        .exec(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            // A customer moved into it meanwhile (the foreign key holds).
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => AppError::refused(
                "pool_in_use",
                "customers belong to this pool; move them first",
            ),
            _ => e.into(),
        })?;
    audit::record(&txn, now, actor, "pool", Some(id), "delete", Map::new()).await?;
    txn.commit().await?;
    Ok(())
}

/// The customers waiting in a pool `user` may use, hidden fields blanked.
pub async fn customers(
    db: &DatabaseConnection,
    caches: &crate::platform::cache::Caches,
    user: &CurrentUser,
    pool_id: &str,
    req: &ListRequest<customer::Column>,
) -> AppResult<Page<PoolCustomerView>> {
    let p = get(db, user, pool_id).await?;
    let hidden: Vec<String> = serde_json::from_str(&p.hidden_fields).unwrap_or_default();
    let base = customer::Entity::find()
        .filter(customer::Column::OwnerId.is_null())
        .filter(customer::Column::PoolId.eq(pool_id))
        .filter(customer::Column::DeletedAt.is_null());
    let page = crate::customers::store::list_of(db, caches, base, req, |m| m).await?;
    let former: Vec<String> = page
        .data
        .iter()
        .filter_map(|m| m.former_owner_id.clone())
        .collect();
    let names = user_names(db, former).await?;
    let show = |field: &str, v: Option<String>| {
        if hidden.iter().any(|h| h == field) {
            None
        } else {
            v
        }
    };
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|m| PoolCustomerView {
                former_owner_name: m
                    .former_owner_id
                    .as_ref()
                    .and_then(|o| names.get(o).cloned()),
                tags: serde_json::from_str(&m.tags).unwrap_or_default(),
                phone: show("phone", m.phone),
                email: show("email", m.email),
                address: show("address", m.address),
                website: show("website", m.website),
                notes: show("notes", m.notes),
                id: m.id,
                name: m.name,
                kind: m.kind,
                industry: m.industry,
                region: m.region,
                level: m.level,
                status: m.status,
                source: m.source,
                pool_id: m.pool_id,
                last_activity_at: m.last_activity_at,
                returned_at: m.returned_at,
                former_owner_id: m.former_owner_id,
                return_reason: m.return_reason,
                version: m.version,
                updated_at: m.updated_at,
            })
            .collect(),
        next_cursor: page.next_cursor,
        total: page.total,
        total_is_estimate: page.total_is_estimate,
    })
}

/// One pool customer `user` may see (for its page before claiming); 404 otherwise.
pub async fn pool_customer<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<(customer::Model, pool::Model)> {
    let c = customer::Entity::find_by_id(id.to_owned())
        .filter(customer::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let pool_id = c
        .pool_id
        .clone()
        .unwrap_or_else(|| DEFAULT_POOL_ID.to_owned());
    let p = get(db, user, &pool_id).await?;
    Ok((c, p))
}

fn days(n: i32) -> time::Duration {
    time::Duration::days(i64::from(n))
}

/// Emits `CustomerOwnerChanged` (a job's change has no user).
async fn owner_changed(
    txn: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    customer_id: &str,
    from: Option<String>,
    to: Option<String>,
    action: &str,
) -> AppResult<()> {
    events::emit(
        txn,
        &events::Ctx::new(now, actor, None),
        Event::CustomerOwnerChanged {
            customer_id: customer_id.to_owned(),
            from_owner_id: from,
            to_owner_id: to,
            action: action.to_owned(),
        },
    )
    .await
}

/// Sets the owner of `c` from `from` to `to` if it is still `from`; 409 when
/// someone else changed it first.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_owner(
    db: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    c: &customer::Model,
    to: &str,
    action: &str,
    reason: Option<&str>,
) -> AppResult<customer::Model> {
    let mut q = customer::Entity::update_many()
        .col_expr(customer::Column::OwnerId, Expr::value(to.to_owned()))
        .col_expr(customer::Column::OwnedSince, Expr::value(now))
        .col_expr(
            customer::Column::ReturnWarnedAt,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .col_expr(customer::Column::Locked, Expr::value(false))
        .col_expr(
            customer::Column::Version,
            Expr::col(customer::Column::Version).add(1),
        )
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::Id.eq(c.id.clone()))
        .filter(customer::Column::DeletedAt.is_null());
    q = match &c.owner_id {
        None => q.filter(customer::Column::OwnerId.is_null()),
        Some(o) => q.filter(customer::Column::OwnerId.eq(o.clone())),
    };
    if q.exec(db).await?.rows_affected == 0 {
        return Err(match c.owner_id {
            None => AppError::refused("taken", "someone else claimed or got this customer first"),
            Some(_) => stale(),
        });
    }
    record(
        db,
        now,
        &c.id,
        action,
        c.owner_id.as_deref(),
        Some(to),
        c.pool_id.as_deref(),
        actor.user_id.as_deref(),
        reason,
    )
    .await?;
    let mut changes = Map::new();
    changes.insert("owner_id".into(), json!([c.owner_id, to]));
    audit::record(db, now, actor, "customer", Some(&c.id), action, changes).await?;
    owner_changed(
        db,
        now,
        actor,
        &c.id,
        c.owner_id.clone(),
        Some(to.to_owned()),
        action,
    )
    .await?;
    customer::Entity::find_by_id(c.id.clone())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// A rep takes a customer from a pool they may use.
pub async fn claim(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<customer::Model> {
    let txn = write_txn(db).await?;
    lock_users(&txn, std::slice::from_ref(&user.id)).await?;
    let (c, p) = pool_customer(&txn, user, id).await?;
    if let Some(owner) = &c.owner_id {
        // Another team's customer, which the caller may not see, is as
        // unknown as any other id; within one's own team it is "owned".
        if crate::customers::store::get(&txn, user, id).await.is_err() {
            let owner_team = user::Entity::find_by_id(owner.clone())
                .one(&txn)
                .await?
                .and_then(|u| u.team_id);
            if owner_team != user.team_id {
                return Err(AppError::NotFound);
            }
        }
        return Err(AppError::refused(
            "owned",
            "this customer already has an owner",
        ));
    }
    if let Some(cd) = p.reclaim_cooldown_days {
        let lost = ownership::Entity::find()
            .filter(ownership::Column::CustomerId.eq(id))
            .filter(ownership::Column::FromUserId.eq(user.id.clone()))
            .filter(ownership::Column::At.gt(now - days(cd)))
            .order_by_desc(ownership::Column::At)
            .one(&txn)
            .await?;
        if let Some(l) = lost {
            let until = l.at + days(cd);
            return Err(AppError::refused(
                "cooldown",
                format!(
                    "you gave this customer up recently; you may claim it again after {}",
                    time_key(&until).as_str().unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(max) = p.max_claims_per_day {
        let today = ownership::Entity::find()
            .filter(ownership::Column::ToUserId.eq(user.id.clone()))
            .filter(ownership::Column::Action.eq("claim"))
            .filter(ownership::Column::PoolId.eq(p.id.clone()))
            .filter(ownership::Column::At.gt(now - time::Duration::days(1)))
            .count(&txn)
            .await?;
        if today >= max as u64 {
            return Err(AppError::refused(
                "daily_limit",
                format!("at most {max} claims from this pool in 24 hours"),
            ));
        }
    }
    check_cap(&txn, &p, &user.id, 1).await?;
    let m = move_owner(&txn, now, actor, &c, &user.id, "claim", None).await?;
    txn.commit().await?;
    Ok(m)
}

/// The owner gives a customer back to its pool, saying why.
pub async fn give_back(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    reason: &str,
) -> AppResult<customer::Model> {
    let mut c = Checks::default();
    c.add(required_text("reason", reason, 500));
    c.finish()?;
    let txn = write_txn(db).await?;
    let cust = crate::customers::store::get(&txn, user, id).await?;
    if cust.owner_id.as_deref() != Some(user.id.as_str()) {
        return Err(AppError::refused(
            "not_owner",
            "only the owner can return a customer to the pool",
        ));
    }
    let pool_id = cust
        .pool_id
        .clone()
        .unwrap_or_else(|| DEFAULT_POOL_ID.to_owned());
    let m = to_pool(&txn, now, actor, &cust, &pool_id, "return", reason.trim()).await?;
    txn.commit().await?;
    Ok(m)
}

/// Moves an owned customer into `pool_id` (a return, by hand or by the job).
pub(super) async fn to_pool(
    db: &DatabaseTransaction,
    now: OffsetDateTime,
    actor: &Actor,
    c: &customer::Model,
    pool_id: &str,
    action: &str,
    reason: &str,
) -> AppResult<customer::Model> {
    let Some(owner) = c.owner_id.clone() else {
        return Err(AppError::refused(
            "in_pool",
            "this customer is already in the pool",
        ));
    };
    let r = customer::Entity::update_many()
        .col_expr(
            customer::Column::OwnerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(customer::Column::PoolId, Expr::value(pool_id.to_owned()))
        .col_expr(customer::Column::FormerOwnerId, Expr::value(owner.clone()))
        .col_expr(customer::Column::ReturnedAt, Expr::value(now))
        .col_expr(
            customer::Column::ReturnReason,
            Expr::value(reason.to_owned()),
        )
        .col_expr(
            customer::Column::OwnedSince,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .col_expr(customer::Column::Locked, Expr::value(false))
        .col_expr(
            customer::Column::Version,
            Expr::col(customer::Column::Version).add(1),
        )
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::Id.eq(c.id.clone()))
        .filter(customer::Column::OwnerId.eq(owner.clone()))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    record(
        db,
        now,
        &c.id,
        action,
        Some(&owner),
        None,
        Some(pool_id),
        actor.user_id.as_deref(),
        Some(reason),
    )
    .await?;
    let mut changes = Map::new();
    changes.insert("owner_id".into(), json!([owner, null]));
    changes.insert("return_reason".into(), json!([c.return_reason, reason]));
    audit::record(db, now, actor, "customer", Some(&c.id), action, changes).await?;
    owner_changed(db, now, actor, &c.id, Some(owner.clone()), None, action).await?;
    customer::Entity::find_by_id(c.id.clone())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The owner locks a customer against automatic return (up to the pool's
/// number per rep), or unlocks it.
pub async fn set_locked(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    locked: bool,
) -> AppResult<customer::Model> {
    let txn = write_txn(db).await?;
    lock_users(&txn, std::slice::from_ref(&user.id)).await?;
    let c = crate::customers::store::get(&txn, user, id).await?;
    if c.owner_id.as_deref() != Some(user.id.as_str()) {
        return Err(AppError::refused(
            "not_owner",
            "only the owner can lock or unlock a customer",
        ));
    }
    if c.locked == locked {
        txn.commit().await?;
        return Ok(c);
    }
    if locked {
        let pool_id = c
            .pool_id
            .clone()
            .unwrap_or_else(|| DEFAULT_POOL_ID.to_owned());
        let p = pool::Entity::find_by_id(pool_id.clone())
            .one(&txn)
            .await?
            .ok_or(AppError::NotFound)?;
        let n = customer::Entity::find()
            .filter(customer::Column::OwnerId.eq(user.id.clone()))
            .filter(customer::Column::PoolId.eq(pool_id))
            .filter(customer::Column::Locked.eq(true))
            .filter(customer::Column::DeletedAt.is_null())
            .count(&txn)
            .await?;
        if n >= p.max_locks_per_rep as u64 {
            return Err(AppError::refused(
                "lock_limit",
                format!(
                    "at most {} locked customers in this pool",
                    p.max_locks_per_rep
                ),
            ));
        }
    }
    let r = customer::Entity::update_many()
        .col_expr(customer::Column::Locked, Expr::value(locked))
        .col_expr(
            customer::Column::Version,
            Expr::col(customer::Column::Version).add(1),
        )
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::Id.eq(id))
        .filter(customer::Column::Version.eq(c.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let mut changes = Map::new();
    changes.insert("locked".into(), json!([c.locked, locked]));
    audit::record(
        &txn,
        now,
        actor,
        "customer",
        Some(id),
        if locked { "lock" } else { "unlock" },
        changes,
    )
    .await?;
    let m = customer::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(m)
}

/// The active sales reps of a team, in a fixed order.
async fn team_reps<C: ConnectionTrait>(db: &C, team_id: &str) -> AppResult<Vec<String>> {
    Ok(user::Entity::find()
        .filter(user::Column::TeamId.eq(team_id))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.eq(Role::Sales.as_str()))
        .order_by_asc(user::Column::Name)
        .order_by_asc(user::Column::Id)
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

pub const STRATEGIES: &[&str] = &["round_robin", "least_loaded"];

/// Managers and administrators give customers (from a pool, or owned by
/// someone they see) to a user they see, or share them across a team's active
/// reps. All or nothing: any refusal leaves every customer as it was.
pub async fn assign(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: AssignInput,
) -> AppResult<Vec<Assignment>> {
    if user.scope == Scope::Own && !user.is_admin() {
        return Err(AppError::Forbidden);
    }
    let mut c = Checks::default();
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = input
        .customer_ids
        .iter()
        .filter(|id| seen.insert((*id).clone()))
        .cloned()
        .collect();
    if ids.is_empty() {
        c.push("customer_ids", "required", "name at least one customer");
    }
    if ids.len() > 500 {
        c.push("customer_ids", "too_long", "at most 500 customers at once");
    }
    if let Some(r) = &input.reason {
        c.add(crate::platform::validate::max_len("reason", r, 500));
    }
    match (&input.owner_id, &input.strategy) {
        (Some(_), Some(_)) => c.push("strategy", "conflict", "give either owner_id or strategy"),
        (None, None) => c.push("owner_id", "required", "give owner_id or a strategy"),
        (None, Some(s)) => {
            if !STRATEGIES.contains(&s.as_str()) {
                c.push(
                    "strategy",
                    "not_an_option",
                    "must be round_robin or least_loaded",
                );
            }
            if input.team_id.is_none() {
                c.push(
                    "team_id",
                    "required",
                    "a strategy shares customers across a team",
                );
            }
        }
        _ => {}
    }
    c.finish()?;
    let txn = write_txn(db).await?;
    let scope = DataScope::for_user(&txn, user).await?;
    // The candidates: the chosen user, or the team's active reps the caller sees.
    let candidates: Vec<String> = match (&input.owner_id, &input.team_id) {
        (Some(o), _) => {
            if !scope.includes_user(&txn, o).await? {
                return Err(AppError::field(
                    "owner_id",
                    "not_found",
                    "is not an active user you can give customers to",
                ));
            }
            vec![o.clone()]
        }
        (None, Some(t)) => {
            let mut reps = Vec::new();
            for r in team_reps(&txn, t).await? {
                if scope.includes_user(&txn, &r).await? {
                    reps.push(r);
                }
            }
            if reps.is_empty() {
                return Err(AppError::field(
                    "team_id",
                    "no_reps",
                    "has no active sales reps you can give customers to",
                ));
            }
            reps
        }
        (None, None) => unreachable!("checked above"),
    };
    lock_users(&txn, &candidates).await?;
    // The customers: in a pool the caller may use, or owned inside the caller's scope.
    let found = customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids.clone()))
        .filter(customer::Column::DeletedAt.is_null())
        .all(&txn)
        .await?;
    let pools = visible(&txn, user).await?;
    let in_scope: Vec<String> = scope
        .filter(
            customer::Entity::find().filter(customer::Column::Id.is_in(ids.clone())),
            customer::Column::OwnerId,
        )
        .select_only()
        .column(customer::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    let mut customers = Vec::new();
    let mut missing = Vec::new();
    for id in &ids {
        let c = found.iter().find(|c| &c.id == id);
        let ok = c.is_some_and(|c| match &c.owner_id {
            None => pools.iter().any(|p| {
                Some(&p.id) == c.pool_id.as_ref() || (c.pool_id.is_none() && p.is_default)
            }),
            Some(_) => in_scope.contains(&c.id),
        });
        match c {
            Some(c) if ok => customers.push(c.clone()),
            _ => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(AppError::field(
            "customer_ids",
            "not_found",
            format!("not found: {}", missing.join(", ")),
        ));
    }
    // A fixed order (by id) so two overlapping assignments lock rows alike.
    customers.sort_by(|a, b| a.id.cmp(&b.id));
    let pool_of = |c: &customer::Model| {
        let id = c
            .pool_id
            .clone()
            .unwrap_or_else(|| DEFAULT_POOL_ID.to_owned());
        pools.iter().find(|p| p.id == id).cloned()
    };
    // Current loads per (pool, candidate), for caps and least-loaded.
    let mut load: HashMap<(String, String), u64> = HashMap::new();
    let mut may_use: HashMap<(String, String), bool> = HashMap::new();
    let all: Vec<pool::Model> = all_pools(&txn).await?;
    let mut rr_next = 0usize;
    let rr_key = input
        .team_id
        .as_ref()
        .map(|t| format!("assign.round_robin.{t}"));
    if input.strategy.as_deref() == Some("round_robin")
        && let Some(k) = &rr_key
        && let Some(row) = setting::Entity::find_by_id(k.clone()).one(&txn).await?
    {
        let last: String = serde_json::from_str(&row.value).unwrap_or_default();
        rr_next = candidates
            .iter()
            .position(|c| c == &last)
            .map(|i| i + 1)
            .unwrap_or(0);
    }
    let mut out = Vec::new();
    let mut last_given: Option<String> = None;
    for c in customers.iter() {
        let p = match pool_of(c) {
            Some(p) => p,
            None => all
                .iter()
                .find(|p| Some(&p.id) == c.pool_id.as_ref())
                .cloned()
                .ok_or(AppError::NotFound)?,
        };
        // Who may take it: candidates allowed in its pool and under the cap.
        let mut able = Vec::new();
        for cand in &candidates {
            // Asked once per pool and candidate, however many customers.
            let key = (p.id.clone(), cand.clone());
            let allowed = match may_use.get(&key) {
                Some(a) => *a,
                None => {
                    let a = user_may_use(&txn, &p, cand).await?;
                    may_use.insert(key, a);
                    a
                }
            };
            if !allowed {
                continue;
            }
            let key = (p.id.clone(), cand.clone());
            let l = match load.get(&key) {
                Some(l) => *l,
                None => owned_count(&txn, &p, cand).await?,
            };
            load.insert(key, l);
            if p.max_customers_per_rep.is_none_or(|cap| l < cap as u64) {
                able.push((cand.clone(), l));
            }
        }
        if able.is_empty() {
            return Err(if input.owner_id.is_some() {
                if user_may_use(&txn, &p, &candidates[0]).await? {
                    AppError::refused(
                        "cap",
                        format!(
                            "the new owner already has the most customers pool {} allows",
                            p.name
                        ),
                    )
                } else {
                    AppError::field(
                        "owner_id",
                        "not_in_pool_teams",
                        format!("may not use pool {}", p.name),
                    )
                }
            } else {
                AppError::refused(
                    "cap",
                    format!(
                        "no rep of the team can take more customers of pool {}",
                        p.name
                    ),
                )
            });
        }
        let to = match input.strategy.as_deref() {
            Some("least_loaded") => able
                .iter()
                .min_by_key(|(_, l)| *l)
                .map(|(u, _)| u.clone())
                .unwrap_or_default(),
            Some("round_robin") => {
                // The next candidate in turn that is able to take it.
                let mut pick = None;
                for k in 0..candidates.len() {
                    let i = (rr_next + k) % candidates.len();
                    if able.iter().any(|(u, _)| u == &candidates[i]) {
                        pick = Some(candidates[i].clone());
                        rr_next = i + 1;
                        break;
                    }
                }
                pick.unwrap_or_default()
            }
            _ => able[0].0.clone(),
        };
        if c.owner_id.as_deref() == Some(to.as_str()) {
            out.push(Assignment {
                customer_id: c.id.clone(),
                owner_id: to,
            });
            continue;
        }
        move_owner(&txn, now, actor, c, &to, "assign", input.reason.as_deref()).await?;
        *load.entry((p.id.clone(), to.clone())).or_insert(0) += 1;
        crate::notifications::store::notify(
            &txn,
            now,
            &to,
            "customer_assigned",
            json!({"customer_id": c.id, "customer_name": c.name, "by": user.name}),
            Some(&format!("/customers/{}", c.id)),
        )
        .await?;
        last_given = Some(to.clone());
        out.push(Assignment {
            customer_id: c.id.clone(),
            owner_id: to,
        });
    }
    if input.strategy.as_deref() == Some("round_robin")
        && let (Some(k), Some(last)) = (rr_key, last_given)
    {
        crate::settings::store::put_raw(&txn, now, &k, json!(last)).await?;
    }
    txn.commit().await?;
    Ok(out)
}

/// How many customers wait in a pool (capped like list totals).
pub async fn waiting<C: ConnectionTrait>(db: &C, pool_id: &str) -> AppResult<u64> {
    crate::platform::list::capped_count(
        db,
        customer::Entity::find()
            .filter(customer::Column::OwnerId.is_null())
            .filter(customer::Column::PoolId.eq(pool_id))
            .filter(customer::Column::DeletedAt.is_null()),
    )
    .await
}
