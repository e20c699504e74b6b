//! Team queries: the only place that reads or writes the `teams` table.

use super::model::{NewTeam, TeamPatch, TeamView};
use crate::entities::{team, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::error::{AppError, AppResult};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::scope::subtree;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use serde_json::json;
use time::OffsetDateTime;

pub static LIST: ListSpec<team::Column> = ListSpec {
    filters: &[
        Field::new("parent_id", team::Column::ParentId, Kind::Text),
        Field::new("manager_id", team::Column::ManagerId, Kind::Text),
    ],
    sorts: &[
        Field::new("name", team::Column::Name, Kind::Text),
        Field::new("created_at", team::Column::CreatedAt, Kind::Time),
    ],
    default_sort: "name",
    id: team::Column::Id,
    search: &[team::Column::Name],
    fulltext: None,
    custom: false,
};

pub async fn list(
    db: &DatabaseConnection,
    req: &ListRequest<team::Column>,
) -> AppResult<Page<TeamView>> {
    let total = team::Entity::find()
        .filter(req.condition(db.get_database_backend()))
        .count(db)
        .await?;
    let rows = req
        .apply(team::Entity::find(), db.get_database_backend())
        .all(db)
        .await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        Some(total),
        |m| {
            (
                if sort == "created_at" {
                    time_key(&m.created_at)
                } else {
                    json!(m.name)
                },
                m.id.clone(),
            )
        },
        TeamView::from,
    ))
}

pub async fn all(db: &DatabaseConnection) -> AppResult<Vec<team::Model>> {
    Ok(team::Entity::find()
        .order_by_asc(team::Column::Name)
        .all(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<team::Model> {
    team::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn map_unique(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::field("name", "taken", "another team has this name")
        }
        _ => e.into(),
    }
}

async fn check_refs<C: ConnectionTrait>(
    db: &C,
    parent: Option<&String>,
    manager: Option<&String>,
) -> AppResult<()> {
    if let Some(p) = parent
        && team::Entity::find_by_id(p.clone()).one(db).await?.is_none()
    {
        return Err(AppError::field("parent_id", "not_found", "no such team"));
    }
    if let Some(m) = manager {
        match user::Entity::find_by_id(m.clone()).one(db).await? {
            Some(u) if u.active => {}
            Some(_) => {
                return Err(AppError::field(
                    "manager_id",
                    "inactive",
                    "this user is deactivated",
                ));
            }
            None => return Err(AppError::field("manager_id", "not_found", "no such user")),
        }
    }
    Ok(())
}

async fn check_name_free<C: ConnectionTrait>(
    db: &C,
    name: &str,
    except: Option<&str>,
) -> AppResult<()> {
    let mut q = team::Entity::find().filter(team::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(team::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(AppError::field(
            "name",
            "taken",
            "another team has this name",
        ));
    }
    Ok(())
}

fn view_json(m: &team::Model) -> serde_json::Value {
    serde_json::to_value(TeamView::from(m.clone())).unwrap_or_default()
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: NewTeam,
) -> AppResult<team::Model> {
    input.check().finish()?;
    let name = input.name.trim().to_owned();
    let txn = crate::platform::db::write_txn(db).await?;
    check_name_free(&txn, &name, None).await?;
    check_refs(&txn, input.parent_id.as_ref(), input.manager_id.as_ref()).await?;
    let m = team::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name),
        parent_id: Set(input.parent_id),
        manager_id: Set(input.manager_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(map_unique)?;
    audit::record(
        &txn,
        now,
        actor,
        "team",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
    patch: TeamPatch,
    expected: Option<i64>,
) -> AppResult<team::Model> {
    patch.check().finish()?;
    let txn = crate::platform::db::write_txn(db).await?;
    let old = get(&txn, id).await?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let mut am = old.clone().into_active_model();
    if let Some(n) = &patch.name {
        let n = n.trim().to_owned();
        check_name_free(&txn, &n, Some(id)).await?;
        am.name = Set(n);
    }
    check_refs(
        &txn,
        patch.parent_id.as_ref().and_then(|p| p.as_ref()),
        patch.manager_id.as_ref().and_then(|m| m.as_ref()),
    )
    .await?;
    if let Some(parent) = &patch.parent_id {
        if let Some(p) = parent {
            // A team may not sit below itself or any of its own sub-teams.
            let edges: Vec<(String, Option<String>)> = team::Entity::find()
                .all(&txn)
                .await?
                .into_iter()
                .map(|t| (t.id, t.parent_id))
                .collect();
            if subtree(&edges, id).iter().any(|t| t == p) {
                return Err(AppError::field(
                    "parent_id",
                    "cycle",
                    "a team cannot be placed under itself or its sub-teams",
                ));
            }
        }
        am.parent_id = Set(parent.clone());
    }
    if let Some(m) = &patch.manager_id {
        am.manager_id = Set(m.clone());
    }
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = team::Entity::update(am)
        .validate()?
        .filter(team::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => map_unique(other),
        })?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "team", Some(&new.id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Number of users in each team.
pub async fn member_counts(db: &DatabaseConnection) -> AppResult<Vec<(Option<String>, i64)>> {
    use sea_orm::QuerySelect;
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::TeamId)
        .column_as(user::Column::Id.count(), "n")
        .filter(user::Column::Active.eq(true))
        .group_by(user::Column::TeamId)
        .into_tuple()
        .all(db)
        .await?)
}

/// Active users by name: the choices of a team's manager (`users` is above
/// `teams`, so the user table is read here directly).
pub async fn people(db: &DatabaseConnection) -> AppResult<Vec<crate::entities::user::Model>> {
    use crate::entities::user;
    use sea_orm::QueryOrder;
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?)
}

/// One user, active or not (a deactivated manager stays selectable).
pub async fn person(db: &DatabaseConnection, id: &str) -> AppResult<crate::entities::user::Model> {
    crate::entities::user::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}
