use sea_orm::entity::prelude::*;

/// A logged interaction (跟进记录) with a customer, contact or lead.
/// `participants` is JSON text: `{"users": [...], "contacts": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub occurred_at: TimeDateTimeWithTimeZone,
    pub duration_minutes: Option<i32>,
    pub location: Option<String>,
    pub subject: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub content: Option<String>,
    pub result: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub next_step: Option<String>,
    pub next_follow_up_at: Option<TimeDateTimeWithTimeZone>,
    pub customer_id: Option<String>,
    pub contact_id: Option<String>,
    pub lead_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub participants: String,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
    pub deleted_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
