//! Saved view queries: the only place that reads or writes `saved_views`.
//! A view belongs to its user alone.

use crate::entities::saved_view;
use crate::platform::error::{AppError, AppResult};
use crate::platform::validate::{Checks, one_of, required_text};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use time::OffsetDateTime;

/// The lists that can have saved views.
pub const ENTITIES: &[&str] = &["customer", "contact", "lead", "opportunity"];

pub async fn list(
    db: &DatabaseConnection,
    user_id: &str,
    entity: &str,
) -> AppResult<Vec<saved_view::Model>> {
    Ok(saved_view::Entity::find()
        .filter(saved_view::Column::UserId.eq(user_id))
        .filter(saved_view::Column::Entity.eq(entity))
        .order_by_asc(saved_view::Column::Name)
        .all(db)
        .await?)
}

/// Saves (or replaces, by name) a view. `query` is the list's query string.
pub async fn save(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    user_id: &str,
    entity: &str,
    name: &str,
    query: &str,
) -> AppResult<saved_view::Model> {
    let name = name.trim();
    let mut c = Checks::default();
    c.add(one_of("entity", entity, ENTITIES));
    c.add(required_text("name", name, 60));
    if query.len() > 4000 {
        c.push("query", "too_long", "must be at most 4000 characters");
    } else if serde_urlencoded::from_str::<Vec<(String, String)>>(query).is_err() {
        c.push(
            "query",
            "invalid",
            "must be a query string such as status=active&level=A",
        );
    }
    c.finish()?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| k != "cursor" && k != "view" && !v.is_empty())
        .collect();
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    let existing = saved_view::Entity::find()
        .filter(saved_view::Column::UserId.eq(user_id))
        .filter(saved_view::Column::Entity.eq(entity))
        .filter(saved_view::Column::Name.eq(name))
        .one(db)
        .await?;
    if let Some(v) = existing {
        let mut am: saved_view::ActiveModel = v.into();
        am.query = Set(query);
        return Ok(am.update(db).await?);
    }
    Ok(saved_view::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id.to_owned()),
        entity: Set(entity.to_owned()),
        name: Set(name.to_owned()),
        query: Set(query),
        created_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Deletes one of the user's views; another user's view is not found.
pub async fn delete(db: &DatabaseConnection, user_id: &str, id: &str) -> AppResult<()> {
    let r = saved_view::Entity::delete_many()
        .filter(saved_view::Column::Id.eq(id))
        .filter(saved_view::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
