//! Transfer queries: the only place that reads or writes `transfers`.

use super::model::{NewTransfer, TransferView};
use crate::entities::{customer, team, transfer, user};
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::scope::DataScope;
use crate::platform::validate::{Checks, max_len, required_text};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Who decides the requests of `requester`: the manager of the nearest team
/// above (or at) the requester's that has a manager other than the requester.
pub async fn approver<C: ConnectionTrait>(
    db: &C,
    requester: &user::Model,
) -> AppResult<Option<String>> {
    let chain = crate::ownership::store::team_chain(db, requester.team_id.as_deref()).await?;
    for t in chain {
        if let Some(team) = team::Entity::find_by_id(t).one(db).await?
            && let Some(m) = team.manager_id
            && m != requester.id
        {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Whether `user` may approve or reject `t`.
async fn may_decide<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    t: &transfer::Model,
) -> AppResult<bool> {
    if t.requester_id == user.id {
        return Ok(false);
    }
    if user.is_admin() {
        return Ok(true);
    }
    let requester = crate::users::store::get(db, &t.requester_id).await?;
    if approver(db, &requester).await?.as_deref() != Some(user.id.as_str()) {
        return Ok(false);
    }
    // The approver must see the customers' owners and the new owner: a manager
    // decides only moves inside what they could assign themselves.
    let owners: Map<String, Value> = serde_json::from_str(&t.owners_at_request).unwrap_or_default();
    let mut people: Vec<String> = owners
        .values()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    people.push(t.to_user_id.clone());
    people.sort();
    people.dedup();
    let scope = DataScope::for_user(db, user).await?;
    let seen: Vec<String> = scope
        .filter(
            user::Entity::find().filter(user::Column::Id.is_in(people.clone())),
            user::Column::Id,
        )
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let managed = user::Entity::find()
        .filter(user::Column::Id.is_in(people.clone()))
        .filter(user::Column::TeamId.is_in(managed_teams(db, user).await?))
        .select_only()
        .column(user::Column::Id)
        .into_tuple::<String>()
        .all(db)
        .await?;
    Ok(people
        .iter()
        .all(|p| seen.contains(p) || managed.contains(p)))
}

/// The teams `user` manages, with every team below them.
async fn managed_teams<C: ConnectionTrait>(db: &C, user: &CurrentUser) -> AppResult<Vec<String>> {
    let edges: Vec<(String, Option<String>)> = team::Entity::find()
        .select_only()
        .column(team::Column::Id)
        .column(team::Column::ParentId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(team::Entity::find()
        .filter(team::Column::ManagerId.eq(user.id.clone()))
        .all(db)
        .await?
        .iter()
        .flat_map(|t| crate::platform::scope::subtree(&edges, &t.id))
        .collect())
}

/// The requests `user` may see: their own, those moving customers to them,
/// those of users in their scope, and all for administrators.
async fn visible_condition<C: ConnectionTrait>(db: &C, user: &CurrentUser) -> AppResult<Condition> {
    if user.is_admin() {
        return Ok(Condition::all());
    }
    let scope = DataScope::for_user(db, user).await?;
    // Members of the teams this user manages (and of the teams below them).
    let managed = managed_teams(db, user).await?;
    let members = sea_orm::sea_query::Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(Expr::col(user::Column::TeamId).is_in(managed))
        .to_owned();
    Ok(Condition::any()
        .add(transfer::Column::RequesterId.eq(user.id.clone()))
        .add(transfer::Column::ToUserId.eq(user.id.clone()))
        .add(transfer::Column::RequesterId.in_subquery(members))
        .add(scope.condition(transfer::Column::RequesterId)))
}

pub async fn list<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    status: Option<&str>,
) -> AppResult<Vec<transfer::Model>> {
    let mut q = transfer::Entity::find().filter(visible_condition(db, user).await?);
    if let Some(s) = status {
        q = q.filter(transfer::Column::Status.eq(s));
    }
    Ok(q.order_by_desc(transfer::Column::CreatedAt)
        .order_by_desc(transfer::Column::Id)
        .limit(200)
        .all(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<transfer::Model> {
    transfer::Entity::find_by_id(id.to_owned())
        .filter(visible_condition(db, user).await?)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Whether `user` may decide `t` (for the pages' buttons).
pub async fn can_decide<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    t: &transfer::Model,
) -> AppResult<bool> {
    Ok(t.status == "pending" && may_decide(db, user, t).await?)
}

fn json_of(m: &transfer::Model) -> Value {
    let mut v = serde_json::to_value(TransferView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "created_at", "updated_at"] {
            o.remove(k);
        }
    }
    v
}

/// A request to move customers the caller sees (and that have an owner) to another active user.
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewTransfer,
) -> AppResult<transfer::Model> {
    let mut c = Checks::default();
    let mut ids = input.customer_ids.clone();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        c.push("customer_ids", "required", "name at least one customer");
    }
    if ids.len() > 500 {
        c.push("customer_ids", "too_long", "at most 500 customers at once");
    }
    c.add(required_text("reason", &input.reason, 500));
    c.finish()?;
    let txn = write_txn(db).await?;
    let scope = DataScope::for_user(&txn, user).await?;
    let found = scope
        .filter(
            customer::Entity::find()
                .filter(customer::Column::Id.is_in(ids.clone()))
                .filter(customer::Column::DeletedAt.is_null()),
            customer::Column::OwnerId,
        )
        .all(&txn)
        .await?;
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| !found.iter().any(|c| &&c.id == id && c.owner_id.is_some()))
        .collect();
    let mut c = Checks::default();
    if !missing.is_empty() {
        c.push(
            "customer_ids",
            "not_found",
            &format!(
                "not found or without an owner: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let target = user::Entity::find_by_id(input.to_user_id.clone())
        .filter(user::Column::Active.eq(true))
        .one(&txn)
        .await?;
    match &target {
        None => c.push("to_user_id", "not_found", "is not an active user"),
        Some(t)
            if found
                .iter()
                .all(|c| c.owner_id.as_deref() == Some(t.id.as_str()))
                && !found.is_empty() =>
        {
            c.push("to_user_id", "same_owner", "already owns these customers")
        }
        _ => {}
    }
    c.finish()?;
    let owners: Map<String, Value> = found
        .iter()
        .map(|c| (c.id.clone(), json!(c.owner_id)))
        .collect();
    let m = transfer::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        requester_id: Set(user.id.clone()),
        to_user_id: Set(input.to_user_id.clone()),
        customer_ids: Set(json!(ids).to_string()),
        owners_at_request: Set(Value::Object(owners).to_string()),
        reason: Set(Some(input.reason.trim().to_owned())),
        include_opportunities: Set(input.include_opportunities),
        include_contracts: Set(input.include_contracts),
        status: Set("pending".into()),
        decided_by: Set(None),
        decided_at: Set(None),
        decision_comment: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "transfer",
        Some(&m.id),
        "create",
        audit::created(&json_of(&m)),
    )
    .await?;
    // The approver's inbox (administrators' when the requester has no manager above).
    let me = crate::users::store::get(&txn, &user.id).await?;
    let deciders: Vec<String> = match approver(&txn, &me).await? {
        Some(a) => vec![a],
        None => {
            user::Entity::find()
                .filter(user::Column::Role.eq("admin"))
                .filter(user::Column::Active.eq(true))
                .filter(user::Column::Id.ne(user.id.clone()))
                .select_only()
                .column(user::Column::Id)
                .into_tuple()
                .all(&txn)
                .await?
        }
    };
    let data = json!({"transfer_id": m.id, "by": user.name, "count": ids.len()});
    crate::notifications::store::notify_many(
        &txn,
        now,
        "transfer_requested",
        deciders
            .into_iter()
            .map(|d| (d, data.clone(), "/transfers".to_owned()))
            .collect(),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Approves (moving every customer, or none) or rejects a pending request.
pub async fn decide(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    approve: bool,
    comment: Option<String>,
) -> AppResult<transfer::Model> {
    let comment = comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if let Some(c) = &comment
        && let Some(e) = max_len("comment", c, 1000)
    {
        return Err(AppError::Validation(vec![e]));
    }
    let txn = write_txn(db).await?;
    let t = get(&txn, user, id).await?;
    if t.requester_id == user.id {
        return Err(AppError::Forbidden);
    }
    if !may_decide(&txn, user, &t).await? {
        return Err(AppError::Forbidden);
    }
    if t.status != "pending" {
        return Err(AppError::refused(
            "decided",
            format!("this request was already {}", t.status),
        ));
    }
    let view = TransferView::from(t.clone());
    if approve {
        let target = user::Entity::find_by_id(t.to_user_id.clone())
            .filter(user::Column::Active.eq(true))
            .one(&txn)
            .await?;
        if target.is_none() {
            return Err(AppError::refused(
                "target_inactive",
                "the new owner is no longer active",
            ));
        }
        crate::ownership::store::lock_users(&txn, std::slice::from_ref(&t.to_user_id)).await?;
        let customers = customer::Entity::find()
            .filter(customer::Column::Id.is_in(view.customer_ids.clone()))
            .all(&txn)
            .await?;
        for cid in &view.customer_ids {
            let c = customers.iter().find(|c| &c.id == cid);
            let then = view.owners_at_request.get(cid).and_then(Value::as_str);
            match c {
                Some(c)
                    if c.deleted_at.is_none()
                        && c.owner_id.as_deref() == then
                        && then.is_some() => {}
                _ => {
                    return Err(AppError::refused(
                        "owner_changed",
                        format!("customer {cid} changed owner (or was deleted) since the request"),
                    ));
                }
            }
        }
        // The new owner must be allowed in each customer's pool and stay under its cap.
        let mut per_pool: std::collections::BTreeMap<String, u64> = Default::default();
        for c in customers
            .iter()
            .filter(|c| c.owner_id.as_deref() != Some(t.to_user_id.as_str()))
        {
            let pid = c
                .pool_id
                .clone()
                .unwrap_or_else(|| crate::ownership::store::DEFAULT_POOL_ID.to_owned());
            *per_pool.entry(pid).or_insert(0) += 1;
        }
        for (pid, n) in &per_pool {
            if let Some(p) = crate::entities::pool::Entity::find_by_id(pid.clone())
                .one(&txn)
                .await?
            {
                if !crate::ownership::store::user_may_use(&txn, &p, &t.to_user_id).await? {
                    return Err(AppError::refused(
                        "not_in_pool_teams",
                        format!("the new owner may not use pool {}", p.name),
                    ));
                }
                crate::ownership::store::check_cap(&txn, &p, &t.to_user_id, *n).await?;
            }
        }
        let mut customers = customers;
        customers.sort_by(|a, b| a.id.cmp(&b.id));
        let moves: Vec<(String, String)> = customers
            .iter()
            .filter_map(|c| {
                c.owner_id
                    .clone()
                    .filter(|o| o != &t.to_user_id)
                    .map(|o| (c.id.clone(), o))
            })
            .collect();
        if t.include_opportunities {
            crate::opportunities::store::move_open_deals(&txn, now, actor, &moves, &t.to_user_id)
                .await?;
        }
        if t.include_contracts {
            crate::contracts::store::move_contracts(&txn, now, actor, &moves, &t.to_user_id)
                .await?;
        }
        crate::quotes::store::move_with_customer(
            &txn,
            now,
            actor,
            &moves,
            &t.to_user_id,
            t.include_opportunities,
            t.include_contracts,
        )
        .await?;
        for c in &customers {
            if c.owner_id.as_deref() == Some(t.to_user_id.as_str()) {
                continue;
            }
            crate::pools::store::move_owner(
                &txn,
                now,
                actor,
                c,
                &t.to_user_id,
                "transfer",
                t.reason.as_deref(),
            )
            .await?;
        }
    }
    let status = if approve { "approved" } else { "rejected" };
    let r = transfer::Entity::update_many()
        .col_expr(transfer::Column::Status, Expr::value(status))
        .col_expr(transfer::Column::DecidedBy, Expr::value(user.id.clone()))
        .col_expr(transfer::Column::DecidedAt, Expr::value(now))
        .col_expr(
            transfer::Column::DecisionComment,
            Expr::value(comment.clone()),
        )
        .col_expr(transfer::Column::Version, Expr::value(t.version + 1))
        .col_expr(transfer::Column::UpdatedAt, Expr::value(now))
        .filter(transfer::Column::Id.eq(id))
        .filter(transfer::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::refused(
            "decided",
            "this request was decided meanwhile",
        ));
    }
    let mut changes = Map::new();
    changes.insert("status".into(), json!(["pending", status]));
    if let Some(c) = &comment {
        changes.insert("decision_comment".into(), json!([null, c]));
    }
    audit::record(
        &txn,
        now,
        actor,
        "transfer",
        Some(id),
        if approve { "approve" } else { "reject" },
        changes,
    )
    .await?;
    let data = json!({"transfer_id": id, "by": user.name, "count": view.customer_ids.len()});
    let kind = if approve {
        "transfer_approved"
    } else {
        "transfer_rejected"
    };
    crate::notifications::store::notify(
        &txn,
        now,
        &t.requester_id,
        kind,
        data.clone(),
        Some("/transfers"),
    )
    .await?;
    if approve && t.to_user_id != t.requester_id {
        crate::notifications::store::notify(
            &txn,
            now,
            &t.to_user_id,
            "transfer_received",
            data,
            Some("/customers"),
        )
        .await?;
    }
    let m = transfer::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    Ok(m)
}
