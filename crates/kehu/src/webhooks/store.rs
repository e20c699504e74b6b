//! Webhook subscriptions (administrators only), their settings, and reading
//! and redelivering their deliveries. Sending is `delivery.rs`.

use super::model::{
    NewWebhook, WebhookPatch, WebhookSettings, WebhookView, WebhookWithSecret, check_events,
    check_url,
};
use crate::entities::{webhook, webhook_delivery};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use base64::Engine;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde_json::json;
use time::OffsetDateTime;

/// The settings row's key.
const SETTINGS_KEY: &str = "webhooks";
/// How long the previous secret still signs after a rotation.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

pub static LIST: ListSpec<webhook::Column> = ListSpec {
    filters: &[
        Field::new("active", webhook::Column::Active, Kind::Bool),
        Field::new("updated_at", webhook::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("created_at", webhook::Column::CreatedAt, Kind::Time),
        Field::new("url", webhook::Column::Url, Kind::Text),
    ],
    default_sort: "-created_at",
    id: webhook::Column::Id,
    search: &[webhook::Column::Url, webhook::Column::Description],
    fulltext: None,
    custom: false,
};

pub static DELIVERIES: ListSpec<webhook_delivery::Column> = ListSpec {
    filters: &[
        Field::new("status", webhook_delivery::Column::Status, Kind::Text),
        Field::new("event", webhook_delivery::Column::Event, Kind::Text),
        Field::new(
            "created_at",
            webhook_delivery::Column::CreatedAt,
            Kind::Time,
        ),
    ],
    sorts: &[Field::new(
        "created_at",
        webhook_delivery::Column::CreatedAt,
        Kind::Time,
    )],
    default_sort: "-created_at",
    id: webhook_delivery::Column::Id,
    search: &[webhook_delivery::Column::Event],
    fulltext: None,
    custom: false,
};

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

pub async fn settings<C: ConnectionTrait>(db: &C) -> AppResult<WebhookSettings> {
    Ok(
        match crate::settings::store::json_setting(db, SETTINGS_KEY).await? {
            Some((v, version)) => {
                let mut s: WebhookSettings = serde_json::from_value(v).unwrap_or_default();
                s.version = version;
                s
            }
            None => WebhookSettings::default(),
        },
    )
}

/// Changes the settings (send the version read; 0 before the first change).
pub async fn set_settings(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: WebhookSettings,
) -> AppResult<WebhookSettings> {
    let txn = write_txn(db).await?;
    let old = settings(&txn).await?;
    let version = crate::settings::store::put_versioned(
        &txn,
        now,
        actor,
        SETTINGS_KEY,
        "allow_private_targets",
        (
            json!({"allow_private_targets": old.allow_private_targets}),
            json!({"allow_private_targets": input.allow_private_targets}),
        ),
        old.version,
        Some(input.version),
    )
    .await?;
    txn.commit().await?;
    Ok(WebhookSettings {
        allow_private_targets: input.allow_private_targets,
        version,
    })
}

pub async fn list(
    db: &DatabaseConnection,
    req: &ListRequest<webhook::Column>,
) -> AppResult<Page<WebhookView>> {
    let base = webhook::Entity::find().filter(webhook::Column::DeletedAt.is_null());
    let (rows, total) = req.fetch(db, base, sea_orm::Condition::all()).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "url" => json!(m.url),
                _ => time_key(&m.created_at),
            };
            (v, m.id.clone())
        },
        WebhookView::from,
    ))
}

/// A subscription not deleted; 404 otherwise.
pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<webhook::Model> {
    webhook::Entity::find_by_id(id.to_owned())
        .filter(webhook::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn audit_json(m: &webhook::Model) -> serde_json::Value {
    let mut v = serde_json::to_value(WebhookView::from(m.clone())).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "created_at", "updated_at"] {
            o.remove(k);
        }
    }
    v
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: NewWebhook,
) -> AppResult<WebhookWithSecret> {
    let txn = write_txn(db).await?;
    let allow = settings(&txn).await?.allow_private_targets;
    let mut errors = Vec::new();
    let url = check_url(&input.url, allow)
        .map_err(|e| errors.push(e))
        .ok();
    let events = check_events(&input.events).map_err(|e| errors.push(e)).ok();
    let description = input
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if let Some(e) = description
        .as_deref()
        .and_then(|d| crate::platform::validate::max_len("description", d, 500))
    {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let secret = new_secret();
    let m = webhook::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        url: Set(url.map(|u| u.to_string()).unwrap_or_default()),
        events: Set(json!(events.unwrap_or_default()).to_string()),
        description: Set(description),
        active: Set(input.active.unwrap_or(true)),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        failing_since: Set(None),
        disabled_reason: Set(None),
        created_by: Set(actor.user_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "webhook",
        Some(&m.id),
        "create",
        audit::created(&audit_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(WebhookWithSecret {
        webhook: m.into(),
        secret,
    })
}

pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
    patch: WebhookPatch,
    expected: i64,
) -> AppResult<webhook::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let allow = settings(&txn).await?.allow_private_targets;
    let mut errors = Vec::new();
    let mut am = old.clone().into_active_model();
    if let Some(u) = &patch.url {
        match check_url(u, allow) {
            Ok(u) => am.url = Set(u.to_string()),
            Err(e) => errors.push(e),
        }
    }
    if let Some(ev) = &patch.events {
        match check_events(ev) {
            Ok(ev) => am.events = Set(json!(ev).to_string()),
            Err(e) => errors.push(e),
        }
    }
    if let Some(d) = &patch.description {
        if let Some(e) = crate::platform::validate::max_len("description", d.trim(), 500) {
            errors.push(e);
        }
        am.description = Set(Some(d.trim().to_owned()).filter(|d| !d.is_empty()));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
        if a && !old.active {
            am.failing_since = Set(None);
            am.disabled_reason = Set(None);
        }
    }
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let m = webhook::Entity::update(am)
        .validate()?
        .filter(webhook::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            sea_orm::DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    audit::record(
        &txn,
        now,
        actor,
        "webhook",
        Some(id),
        "update",
        audit::diff(&audit_json(&old), &audit_json(&m)),
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}

/// Deletes a subscription: nothing more is sent to it.
pub async fn delete(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    webhook::Entity::update_many()
        .col_expr(webhook::Column::DeletedAt, Expr::value(now))
        .col_expr(webhook::Column::Active, Expr::value(false))
        .col_expr(webhook::Column::Version, Expr::value(old.version + 1))
        .filter(webhook::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value("failed"))
        .col_expr(
            webhook_delivery::Column::Error,
            Expr::value("the subscription was deleted"),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        now,
        actor,
        "webhook",
        Some(id),
        "delete",
        serde_json::Map::new(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A new secret; the old one also signs for `ROTATION_OVERLAP`.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
) -> AppResult<WebhookWithSecret> {
    let txn = write_txn(db).await?;
    let old = get(&txn, id).await?;
    let secret = new_secret();
    let mut am = old.clone().into_active_model();
    am.previous_secret = Set(Some(old.secret.clone()));
    am.previous_secret_until = Set(Some(now + ROTATION_OVERLAP));
    am.secret = Set(secret.clone());
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let m = am.update(&txn).await?;
    let mut changes = serde_json::Map::new();
    changes.insert("secret".into(), json!(["***", "***"]));
    audit::record(
        &txn,
        now,
        actor,
        "webhook",
        Some(id),
        "rotate_secret",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(WebhookWithSecret {
        webhook: m.into(),
        secret,
    })
}

/// A subscription's deliveries, newest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    webhook_id: &str,
    req: &ListRequest<webhook_delivery::Column>,
) -> AppResult<Page<super::model::DeliveryView>> {
    get(db, webhook_id).await?;
    let base = webhook_delivery::Entity::find();
    let (rows, total) = req
        .fetch(
            db,
            base,
            sea_orm::Condition::all().add(webhook_delivery::Column::WebhookId.eq(webhook_id)),
        )
        .await?;
    Ok(req.page(
        rows,
        total,
        |m| (time_key(&m.created_at), m.id.clone()),
        super::model::DeliveryView::from,
    ))
}

/// Sends a delivery again, now (same event id, so a receiver that saw it
/// can tell); the attempts start over.
pub async fn redeliver(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    webhook_id: &str,
    delivery_id: &str,
) -> AppResult<webhook_delivery::Model> {
    let txn = write_txn(db).await?;
    let w = get(&txn, webhook_id).await?;
    let d = webhook_delivery::Entity::find_by_id(delivery_id.to_owned())
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    if !w.active {
        return Err(AppError::refused(
            "inactive",
            "the subscription is off: turn it on first",
        ));
    }
    let kept = crate::entities::outbox::Entity::find_by_id(d.event_id.clone())
        .one(&txn)
        .await?
        .is_some();
    if !kept {
        return Err(AppError::refused(
            "event_gone",
            "the event is no longer kept (events are kept 7 days)",
        ));
    }
    let mut am = d.clone().into_active_model();
    am.status = Set("pending".into());
    am.attempts = Set(0);
    am.next_attempt_at = Set(Some(now));
    am.created_at = Set(now);
    am.updated_at = Set(now);
    let m = am.update(&txn).await?;
    let mut changes = serde_json::Map::new();
    changes.insert("delivery_id".into(), json!([null, delivery_id]));
    audit::record(
        &txn,
        now,
        actor,
        "webhook",
        Some(webhook_id),
        "redeliver",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(m)
}
