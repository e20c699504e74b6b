//! Custom field definition queries: the only place that reads or writes `custom_fields`.

use super::model::{CustomFieldPatch, NewCustomField};
use crate::entities::custom_field;
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::custom::{Def, FieldKind};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use time::OffsetDateTime;

fn view_json(m: &custom_field::Model) -> serde_json::Value {
    json!({"entity": m.entity, "key": m.key, "label_en": m.label_en, "label_zh": m.label_zh, "kind": m.kind,
           "required": m.required, "options": m.options, "position": m.position, "active": m.active})
}

/// Every definition, optionally of one entity, in display order.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    entity: Option<&str>,
) -> AppResult<Vec<custom_field::Model>> {
    let mut q = custom_field::Entity::find();
    if let Some(e) = entity {
        q = q.filter(custom_field::Column::Entity.eq(e));
    }
    Ok(q.order_by_asc(custom_field::Column::Entity)
        .order_by_asc(custom_field::Column::Position)
        .order_by_asc(custom_field::Column::Key)
        .all(db)
        .await?)
}

/// The active definitions of an entity, as validation and filters use them.
pub async fn defs<C: ConnectionTrait>(db: &C, entity: &str) -> AppResult<Vec<Def>> {
    Ok(list(db, Some(entity))
        .await?
        .iter()
        .filter(|m| m.active)
        .filter_map(Def::from_model)
        .collect())
}

/// `defs` for reads outside transactions, through the caches (`platform::cache`).
pub async fn defs_cached(
    caches: &crate::platform::cache::Caches,
    db: &sea_orm::DatabaseConnection,
    entity: &'static str,
) -> AppResult<Vec<Def>> {
    caches
        .value(&format!("custom_fields.{entity}"), defs(db, entity))
        .await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<custom_field::Model> {
    custom_field::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn clean_options(o: &[String]) -> String {
    serde_json::to_string(&o.iter().map(|s| s.trim().to_owned()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: NewCustomField,
) -> AppResult<custom_field::Model> {
    input.check().finish()?;
    let txn = write_txn(db).await?;
    let exists = custom_field::Entity::find()
        .filter(custom_field::Column::Entity.eq(input.entity.clone()))
        .filter(custom_field::Column::Key.eq(input.key.clone()))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(AppError::field(
            "key",
            "taken",
            "this entity already has a field with this key",
        ));
    }
    let m = custom_field::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        entity: Set(input.entity),
        key: Set(input.key),
        label_en: Set(input.label_en.trim().to_owned()),
        label_zh: Set(input.label_zh.trim().to_owned()),
        kind: Set(input.kind.as_str().to_owned()),
        required: Set(input.required),
        options: Set(clean_options(&input.options)),
        position: Set(input.position),
        active: Set(true),
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
        "custom_field",
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
    patch: CustomFieldPatch,
    expected: Option<i64>,
) -> AppResult<custom_field::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    let kind = FieldKind::parse(&old.kind).unwrap_or(FieldKind::Text);
    patch.check(kind).finish()?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let mut am = old.clone().into_active_model();
    if let Some(l) = &patch.label_en {
        am.label_en = Set(l.trim().to_owned());
    }
    if let Some(l) = &patch.label_zh {
        am.label_zh = Set(l.trim().to_owned());
    }
    if let Some(r) = patch.required {
        am.required = Set(r);
    }
    if let Some(o) = &patch.options {
        am.options = Set(clean_options(o));
    }
    if let Some(p) = patch.position {
        am.position = Set(p);
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
    }
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = custom_field::Entity::update(am)
        .validate()?
        .filter(custom_field::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            sea_orm::DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(
            &txn,
            now,
            actor,
            "custom_field",
            Some(&new.id),
            "update",
            changes,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(new)
}
