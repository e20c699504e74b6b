//! Who owns a customer: the pools a user may use (`visible`, `get`), the
//! caps that bound owning (`check_cap`, with `lock_users` serialising them on
//! PostgreSQL) and the ownership history (`record`, `history`). Below both
//! `customers` (a customer created with an owner) and `pools` (claims,
//! assignments, returns), which share it.

use super::model::OwnershipView;
use crate::entities::{customer, ownership, pool, team, user};
use crate::platform::auth::{CurrentUser, Role, Scope};
use crate::platform::error::{AppError, AppResult};
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;
use time::OffsetDateTime;

pub use kehu_migration::DEFAULT_POOL_ID;

/// Pools in creation order, the default first.
pub async fn all_pools<C: ConnectionTrait>(db: &C) -> AppResult<Vec<pool::Model>> {
    Ok(pool::Entity::find()
        .order_by_desc(pool::Column::IsDefault)
        .order_by_asc(pool::Column::CreatedAt)
        .order_by_asc(pool::Column::Id)
        .all(db)
        .await?)
}

/// A team and every team above it.
pub async fn team_chain<C: ConnectionTrait>(
    db: &C,
    team_id: Option<&str>,
) -> AppResult<Vec<String>> {
    let Some(start) = team_id else {
        return Ok(Vec::new());
    };
    let edges: HashMap<String, Option<String>> = team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .column(team::Column::ParentId)
        .into_tuple::<(String, Option<String>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut chain = vec![start.to_owned()];
    let mut at = start.to_owned();
    while let Some(Some(parent)) = edges.get(&at) {
        if chain.contains(parent) {
            break;
        }
        chain.push(parent.clone());
        at = parent.clone();
    }
    Ok(chain)
}

/// Whether members of `chain` (a team and the teams above it) may use `p`.
pub fn pool_allows(p: &pool::Model, chain: &[String]) -> bool {
    let teams: Vec<String> = serde_json::from_str(&p.team_ids).unwrap_or_default();
    teams.is_empty() || teams.iter().any(|t| chain.contains(t))
}

/// Whether the user `user_id` (active or not) may use pool `p`.
pub async fn user_may_use<C: ConnectionTrait>(
    db: &C,
    p: &pool::Model,
    user_id: &str,
) -> AppResult<bool> {
    let Some(u) = user::Entity::find_by_id(user_id.to_owned()).one(db).await? else {
        return Ok(false);
    };
    if u.role == Role::Admin.as_str() {
        return Ok(true);
    }
    Ok(pool_allows(p, &team_chain(db, u.team_id.as_deref()).await?))
}

/// The pools `user` may use: all for administrators and users who see all
/// records, else those open to everyone or to a team the user belongs to.
pub async fn visible<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
) -> AppResult<Vec<pool::Model>> {
    let pools = all_pools(db).await?;
    if user.is_admin() || user.scope == Scope::All {
        return Ok(pools);
    }
    let chain = team_chain(db, user.team_id.as_deref()).await?;
    Ok(pools
        .into_iter()
        .filter(|p| pool_allows(p, &chain))
        .collect())
}

/// A pool `user` may use; 404 otherwise.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<pool::Model> {
    visible(db, user)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)
}

/// Writes one row of the ownership history.
#[allow(clippy::too_many_arguments)]
pub async fn record<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    customer_id: &str,
    action: &str,
    from: Option<&str>,
    to: Option<&str>,
    pool_id: Option<&str>,
    actor: Option<&str>,
    reason: Option<&str>,
) -> AppResult<()> {
    ownership::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        customer_id: Set(customer_id.to_owned()),
        at: Set(now),
        action: Set(action.to_owned()),
        from_user_id: Set(from.map(str::to_owned)),
        to_user_id: Set(to.map(str::to_owned)),
        pool_id: Set(pool_id.map(str::to_owned)),
        actor_id: Set(actor.map(str::to_owned)),
        reason: Set(reason.map(str::to_owned)),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The `create` rows of the ownership history of many new customers
/// (`(customer, owner, pool)`), many rows a statement.
pub async fn record_creates<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    actor: Option<&str>,
    created: Vec<(String, Option<String>, Option<String>)>,
) -> AppResult<()> {
    let mut rows = created
        .into_iter()
        .map(|(customer_id, owner, pool)| ownership::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            customer_id: Set(customer_id),
            at: Set(now),
            action: Set("create".to_owned()),
            from_user_id: Set(None),
            to_user_id: Set(owner),
            pool_id: Set(pool),
            actor_id: Set(actor.map(str::to_owned)),
            reason: Set(None),
        })
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(300).collect();
        ownership::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The ownership history of a customer (visibility checked by the caller), newest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
) -> AppResult<Vec<OwnershipView>> {
    let rows = ownership::Entity::find()
        .filter(ownership::Column::CustomerId.eq(customer_id))
        .order_by_desc(ownership::Column::At)
        .order_by_desc(ownership::Column::Id)
        .limit(500)
        .all(db)
        .await?;
    let ids: Vec<String> = rows
        .iter()
        .flat_map(|r| [&r.from_user_id, &r.to_user_id, &r.actor_id])
        .filter_map(|x| x.clone())
        .collect();
    let names = crate::users::store::names(db, ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| OwnershipView::new(r, |id| id.as_ref().and_then(|i| names.get(i).cloned())))
        .collect())
}

/// On PostgreSQL, locks the rows of the users who are about to gain customers
/// (in id order, so two transactions never wait on each other in a circle).
pub async fn lock_users<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<()> {
    if db.get_database_backend() != DbBackend::Postgres || ids.is_empty() {
        return Ok(());
    }
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .order_by_asc(user::Column::Id)
        .lock(LockType::Update)
        .all(db)
        .await?;
    Ok(())
}

/// Customers of pool `p` that `user_id` owns and that count toward the cap.
pub async fn owned_count<C: ConnectionTrait>(
    db: &C,
    p: &pool::Model,
    user_id: &str,
) -> AppResult<u64> {
    let mut q = customer::Entity::find()
        .filter(customer::Column::OwnerId.eq(user_id))
        .filter(customer::Column::PoolId.eq(p.id.clone()))
        .filter(customer::Column::DeletedAt.is_null());
    if p.won_deal_exempt {
        q = q.filter(customer::Column::LastWonAt.is_null());
    }
    Ok(q.count(db).await?)
}

/// Checks the pool's cap for `user_id` gaining `n` more customers.
pub async fn check_cap<C: ConnectionTrait>(
    db: &C,
    p: &pool::Model,
    user_id: &str,
    n: u64,
) -> AppResult<()> {
    if let Some(cap) = p.max_customers_per_rep {
        let owned = owned_count(db, p, user_id).await?;
        if owned + n > cap as u64 {
            return Err(AppError::refused(
                "cap",
                format!("owns {owned} customers of this pool; the cap is {cap}"),
            ));
        }
    }
    Ok(())
}
