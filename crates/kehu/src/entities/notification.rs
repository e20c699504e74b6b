use sea_orm::entity::prelude::*;

/// A message in a user's inbox. `data` is JSON text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub kind: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub text: Option<String>,
    pub link: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub read_at: Option<TimeDateTimeWithTimeZone>,
    /// When it went out by email (when email delivery is on).
    pub emailed_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
