//! Notification queries: the only place that reads or writes `notifications`.

use crate::entities::notification;
use crate::platform::error::{AppError, AppResult};
pub use crate::platform::web::unread_count;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A notification as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// `customer_assigned`, `pool_return_warning`, `pool_returned`,
    /// `transfer_requested`, `transfer_approved`, `transfer_rejected`.
    pub kind: String,
    /// The message in the reader's language.
    pub text: String,
    /// Where the message leads in the web UI.
    pub link: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

/// The message of a notification in `lang`: the catalogue's `notification.<kind>`
/// with `{name}` (and `{by}`) filled from its data.
pub fn text(lang: crate::platform::i18n::Lang, kind: &str, data: &Value) -> String {
    let key = format!("notification.{kind}");
    let template = if lang.has(&key) { lang.t(&key) } else { kind };
    let get = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    template
        .replace("{name}", &get("customer_name"))
        .replace("{by}", &get("by"))
        .replace(
            "{count}",
            &data.get("count").map(|c| c.to_string()).unwrap_or_default(),
        )
        .replace("{message}", &get("message"))
        .replace(
            "{stage}",
            &get(if lang == crate::platform::i18n::Lang::ZhCn {
                "stage"
            } else {
                "stage_en"
            }),
        )
}

pub fn view(lang: crate::platform::i18n::Lang, m: notification::Model) -> NotificationView {
    let data: Value = serde_json::from_str(&m.data).unwrap_or(Value::Null);
    NotificationView {
        text: m.text.clone().unwrap_or_else(|| text(lang, &m.kind, &data)),
        id: m.id,
        kind: m.kind,
        link: m.link,
        data,
        created_at: m.created_at,
        read_at: m.read_at,
    }
}

/// Leaves a message in `user_id`'s inbox (inside the caller's transaction).
pub async fn notify<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    user_id: &str,
    kind: &str,
    data: Value,
    link: Option<&str>,
) -> AppResult<()> {
    notify_many(
        db,
        now,
        kind,
        vec![(
            user_id.to_owned(),
            data,
            link.unwrap_or_default().to_owned(),
        )],
    )
    .await
}

/// Leaves many messages of one kind: `(user_id, data, link)`.
pub async fn notify_many<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    kind: &str,
    items: Vec<(String, Value, String)>,
) -> AppResult<()> {
    let mut rows = items
        .into_iter()
        .map(|(user_id, data, link)| notification::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            user_id: Set(user_id),
            kind: Set(kind.to_owned()),
            text: Set(None),
            link: Set((!link.is_empty()).then_some(link)),
            data: Set(data.to_string()),
            created_at: Set(now),
            read_at: Set(None),
            emailed_at: Set(None),
        })
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(300).collect();
        notification::Entity::insert_many(chunk).exec(db).await?;
    }
    Ok(())
}

/// The newest notifications of a user (unread only if asked).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    unread_only: bool,
    limit: u64,
) -> AppResult<Vec<notification::Model>> {
    let mut q = notification::Entity::find().filter(notification::Column::UserId.eq(user_id));
    if unread_only {
        q = q.filter(notification::Column::ReadAt.is_null());
    }
    Ok(q.order_by_desc(notification::Column::CreatedAt)
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many notifications the user has.
pub async fn count<C: ConnectionTrait>(db: &C, user_id: &str) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .count(db)
        .await?)
}

/// Marks one of the user's notifications read and returns it; 404 for anyone else's.
pub async fn mark_read<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    user_id: &str,
    id: &str,
) -> AppResult<notification::Model> {
    let found = notification::Entity::find_by_id(id.to_owned())
        .filter(notification::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if found.read_at.is_none() {
        notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(now))
            .filter(notification::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(found)
}

/// Marks every notification of the user read; returns how many were unread.
pub async fn mark_all_read<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    user_id: &str,
) -> AppResult<u64> {
    Ok(notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}
