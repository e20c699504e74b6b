//! Audit queries: the only place that reads `audit_log`.

use crate::entities::audit_log;
use crate::platform::error::AppResult;
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub static LIST: ListSpec<audit_log::Column> = ListSpec {
    filters: &[
        Field::new("entity_type", audit_log::Column::EntityType, Kind::Text),
        Field::new("entity_id", audit_log::Column::EntityId, Kind::Text),
        Field::new("actor_id", audit_log::Column::ActorId, Kind::Text),
        Field::new("action", audit_log::Column::Action, Kind::Text),
        Field::new("ip", audit_log::Column::Ip, Kind::Text),
        Field::new("at", audit_log::Column::At, Kind::Time),
    ],
    sorts: &[Field::new("at", audit_log::Column::At, Kind::Time)],
    default_sort: "-at",
    id: audit_log::Column::Id,
    search: &[],
    fulltext: None,
    custom: false,
};

/// One audit entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    /// When it happened (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::OffsetDateTime,
    /// The user who did it; null for the system or an unknown sign-in.
    pub actor_id: Option<String>,
    pub entity_type: String,
    pub entity_id: Option<String>,
    /// `create`, `update`, `delete`, `login`, `login_failed`, `logout`, `token_create`, …
    pub action: String,
    /// `{"field": [old, new]}`; secrets appear as `"***"`.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub ip: Option<String>,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(m: audit_log::Model) -> Self {
        AuditEntry {
            changes: serde_json::from_str(&m.changes).unwrap_or(Value::Null),
            id: m.id,
            at: m.at,
            actor_id: m.actor_id,
            entity_type: m.entity_type,
            entity_id: m.entity_id,
            action: m.action,
            ip: m.ip,
        }
    }
}

/// A page of entries. No total: the log only grows, and counting it all would be slow.
pub async fn list(
    db: &DatabaseConnection,
    req: &ListRequest<audit_log::Column>,
) -> AppResult<Page<AuditEntry>> {
    let rows = req
        .apply(audit_log::Entity::find(), db.get_database_backend())
        .all(db)
        .await?;
    Ok(req.page(
        rows,
        None,
        |m| (time_key(&m.at), m.id.clone()),
        AuditEntry::from,
    ))
}

/// The distinct entity types seen so far (for the filter menu).
pub async fn entity_types(db: &DatabaseConnection) -> AppResult<Vec<String>> {
    let v: Vec<String> = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::EntityType)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(v)
}
