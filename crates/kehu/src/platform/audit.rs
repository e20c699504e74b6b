//! The audit writer: every module records its changes through `record`,
//! inside the same transaction as the change itself.

use crate::entities::audit_log;
use crate::platform::error::AppResult;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Who did it (`platform::auth::Actor`), as every store names it.
pub use crate::platform::auth::Actor;

/// Fields never written to the audit log (their change is recorded as "changed" only).
const SECRET_FIELDS: &[&str] = &[
    "password_hash",
    "password",
    "token_hash",
    "secret",
    "previous_secret",
];
/// Bookkeeping fields left out of diffs.
const NOISE_FIELDS: &[&str] = &["version", "updated_at", "created_at", "last_login_at"];

/// `{"field": [old, new]}` for every field that differs between two JSON objects.
pub fn diff(old: &Value, new: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if NOISE_FIELDS.contains(&k.as_str()) {
            continue;
        }
        let a = o.get(k).unwrap_or(&Value::Null);
        let b = n.get(k).unwrap_or(&Value::Null);
        if a != b {
            if SECRET_FIELDS.contains(&k.as_str()) {
                out.insert(
                    k.clone(),
                    Value::Array(vec![Value::from("***"), Value::from("***")]),
                );
            } else {
                out.insert(k.clone(), Value::Array(vec![a.clone(), b.clone()]));
            }
        }
    }
    out
}

/// Changes of a newly created record: every non-null field as `[null, value]`.
pub fn created(new: &Value) -> Map<String, Value> {
    diff(&Value::Object(Map::new()), new)
        .into_iter()
        .filter(|(_, v)| v.get(1).is_some_and(|x| !x.is_null()))
        .collect()
}

/// Writes one audit entry, and its outbox row (the change as a webhook event,
/// `platform::events`), in the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    at: OffsetDateTime,
    actor: &Actor,
    entity_type: &str,
    entity_id: Option<&str>,
    action: &str,
    changes: Map<String, Value>,
) -> AppResult<()> {
    crate::platform::events::outbox_audited(
        db,
        at,
        actor.user_id.as_deref(),
        entity_type,
        action,
        &[(entity_id, &changes)],
    )
    .await?;
    audit_log::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        at: Set(at),
        actor_id: Set(actor.user_id.clone()),
        entity_type: Set(entity_type.to_owned()),
        entity_id: Set(entity_id.map(str::to_owned)),
        action: Set(action.to_owned()),
        changes: Set(Value::Object(changes).to_string()),
        ip: Set(actor.ip.clone()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// `record` for many records of one type and action at once (an import's
/// batch), many rows a statement.
pub async fn record_many<C: ConnectionTrait>(
    db: &C,
    at: OffsetDateTime,
    actor: &Actor,
    entity_type: &str,
    action: &str,
    entries: Vec<(String, Map<String, Value>)>,
) -> AppResult<()> {
    let refs: Vec<(Option<&str>, &Map<String, Value>)> = entries
        .iter()
        .map(|(id, c)| (Some(id.as_str()), c))
        .collect();
    crate::platform::events::outbox_audited(
        db,
        at,
        actor.user_id.as_deref(),
        entity_type,
        action,
        &refs,
    )
    .await?;
    let mut rows = entries
        .into_iter()
        .map(|(id, changes)| audit_log::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            at: Set(at),
            actor_id: Set(actor.user_id.clone()),
            entity_type: Set(entity_type.to_owned()),
            entity_id: Set(Some(id)),
            action: Set(action.to_owned()),
            changes: Set(Value::Object(changes).to_string()),
            ip: Set(actor.ip.clone()),
        })
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        audit_log::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_and_hides_secrets() {
        let a = json!({"name": "A", "role": "sales", "password_hash": "x", "version": 1});
        let b = json!({"name": "B", "role": "sales", "password_hash": "y", "version": 2, "team_id": "t"});
        let d = diff(&a, &b);
        assert_eq!(d.get("name"), Some(&json!(["A", "B"])));
        assert_eq!(d.get("team_id"), Some(&json!([null, "t"])));
        assert_eq!(d.get("password_hash"), Some(&json!(["***", "***"])));
        assert!(!d.contains_key("role"));
        assert!(!d.contains_key("version"));
    }

    #[test]
    fn created_skips_nulls() {
        let d = created(&json!({"name": "A", "team_id": null}));
        assert_eq!(d.len(), 1);
        assert_eq!(d.get("name"), Some(&json!([null, "A"])));
    }
}
