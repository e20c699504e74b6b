//! A customer's timeline: everything that happened to it, newest first.
//!
//! Each source returns `TimelineItem`s; today the audit log of the customer and
//! of its contacts, leads and deals (stage moves are audited), its activities and
//! ownership history. Tickets add a source function here (and a call in
//! `for_customer`) when their module lands.

use crate::entities::{audit_log, user};
use crate::platform::error::AppResult;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// At most this many items are shown.
pub const LIMIT: u64 = 200;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineItem {
    /// The id of the source entry (time-ordered).
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Where the item comes from: `audit`, `ownership`, `activity` (more as modules land: `activity`, `deal`, …).
    pub source: String,
    /// The record it is about: `customer`, `contact`, …
    pub entity_type: String,
    pub entity_id: Option<String>,
    /// `create`, `update`, `delete`, `restore`, …
    pub action: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// `{"field": [old, new]}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    /// Files attached (activities).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::activities::attachments::AttachmentView>,
}

/// The timeline of a customer the caller may see (checked by the caller); of its
/// deals only those the viewer sees.
pub async fn for_customer<C: ConnectionTrait>(
    db: &C,
    viewer: &crate::platform::auth::CurrentUser,
    customer_id: &str,
) -> AppResult<Vec<TimelineItem>> {
    let mut items = audit_items(db, viewer, customer_id).await?;
    // Owner changes come from the ownership history, which says from whom, to whom and why.
    items.retain(|i| {
        !(i.entity_type == "customer" && OWNERSHIP_ACTIONS.contains(&i.action.as_str()))
    });
    items.extend(ownership_items(db, customer_id).await?);
    items.extend(activity_items(db, customer_id).await?);
    items.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
    items.truncate(LIMIT as usize);
    Ok(items)
}

async fn activity_items<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
) -> AppResult<Vec<TimelineItem>> {
    let rows = crate::activities::store::of_customer(db, customer_id, LIMIT).await?;
    let ids: Vec<String> = rows.iter().filter_map(|a| a.created_by.clone()).collect();
    let names = crate::users::store::names(db, ids).await?;
    let files = crate::activities::attachments::of_activities(
        db,
        rows.iter().map(|a| a.id.clone()).collect(),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|a| TimelineItem {
            changes: crate::activities::model::timeline_changes(&a),
            attachments: files
                .iter()
                .filter(|f| f.activity_id == a.id)
                .cloned()
                .collect(),
            actor_name: a.created_by.as_ref().and_then(|u| names.get(u).cloned()),
            id: a.id.clone(),
            at: a.occurred_at,
            source: "activity".into(),
            entity_type: "activity".into(),
            entity_id: Some(a.id),
            action: a.kind,
            actor_id: a.created_by,
        })
        .collect())
}

const OWNERSHIP_ACTIONS: &[&str] = &["claim", "assign", "return", "auto_return", "transfer"];

async fn ownership_items<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
) -> AppResult<Vec<TimelineItem>> {
    Ok(crate::ownership::store::history(db, customer_id)
        .await?
        .into_iter()
        .filter(|h| h.action != "create")
        .map(|h| TimelineItem {
            changes: match h.reason.as_ref().filter(|_| h.action != "auto_return") {
                Some(r) => serde_json::json!({
                    "owner": [h.from_user_name, h.to_user_name],
                    "reason": [null, r],
                }),
                None => serde_json::json!({"owner": [h.from_user_name, h.to_user_name]}),
            },
            attachments: Vec::new(),
            id: h.id,
            at: h.at,
            source: "ownership".into(),
            entity_type: "customer".into(),
            entity_id: Some(customer_id.to_owned()),
            action: h.action,
            actor_id: h.actor_id,
            actor_name: h.actor_name,
        })
        .collect())
}

async fn audit_items<C: ConnectionTrait>(
    db: &C,
    viewer: &crate::platform::auth::CurrentUser,
    customer_id: &str,
) -> AppResult<Vec<TimelineItem>> {
    let contact_ids = crate::contacts::store::ids_of_customer(db, customer_id).await?;
    // The history of the leads it was converted from moves along with them.
    let lead_ids = crate::leads::store::converted_into(db, customer_id).await?;
    let deal_ids = crate::opportunities::store::ids_of_customer(db, viewer, customer_id).await?;
    let rows = audit_log::Entity::find()
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(audit_log::Column::EntityType.eq("customer"))
                        .add(audit_log::Column::EntityId.eq(customer_id)),
                )
                .add(
                    Condition::all()
                        .add(audit_log::Column::EntityType.eq("contact"))
                        .add(audit_log::Column::EntityId.is_in(contact_ids)),
                )
                .add(
                    Condition::all()
                        .add(audit_log::Column::EntityType.eq("lead"))
                        .add(audit_log::Column::EntityId.is_in(lead_ids)),
                )
                .add(
                    Condition::all()
                        .add(audit_log::Column::EntityType.eq("opportunity"))
                        .add(audit_log::Column::EntityId.is_in(deal_ids)),
                ),
        )
        .order_by_desc(audit_log::Column::At)
        .order_by_desc(audit_log::Column::Id)
        .limit(LIMIT)
        .all(db)
        .await?;
    let actor_ids: Vec<String> = rows.iter().filter_map(|r| r.actor_id.clone()).collect();
    let actors = user::Entity::find()
        .filter(user::Column::Id.is_in(actor_ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TimelineItem {
            actor_name: r
                .actor_id
                .as_ref()
                .and_then(|a| actors.iter().find(|u| &u.id == a))
                .map(|u| u.name.clone()),
            changes: serde_json::from_str(&r.changes).unwrap_or(Value::Null),
            attachments: Vec::new(),
            id: r.id,
            at: r.at,
            source: "audit".into(),
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            action: r.action,
            actor_id: r.actor_id,
        })
        .collect())
}
