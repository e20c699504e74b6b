use sea_orm::entity::prelude::*;

/// A task: a follow-up, a care visit, a revisit or anything else, due at a
/// time, with an optional reminder.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub due_at: TimeDateTimeWithTimeZone,
    pub remind_at: Option<TimeDateTimeWithTimeZone>,
    /// When the reminder went out (so it goes out once).
    pub reminded_at: Option<TimeDateTimeWithTimeZone>,
    pub assignee_id: String,
    pub customer_id: Option<String>,
    pub lead_id: Option<String>,
    /// The activity whose `next_follow_up_at` made it.
    pub activity_id: Option<String>,
    /// The deal an automation rule made it for.
    pub opportunity_id: Option<String>,
    pub priority: String,
    pub status: String,
    pub kind: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub done_at: Option<TimeDateTimeWithTimeZone>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
