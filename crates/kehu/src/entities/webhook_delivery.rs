use sea_orm::entity::prelude::*;

/// One event for one subscription, with its latest attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub webhook_id: String,
    /// The outbox event (also the `webhook-id` header: the same on every attempt).
    pub event_id: String,
    pub event: String,
    /// `pending`, `succeeded` or `failed` (gave up).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<TimeDateTimeWithTimeZone>,
    pub last_attempt_at: Option<TimeDateTimeWithTimeZone>,
    pub response_code: Option<i32>,
    pub duration_ms: Option<i64>,
    /// The first 1 KB of the last response.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
