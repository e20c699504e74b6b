use sea_orm::entity::prelude::*;

/// One import of a file: its progress and outcome (`report`, JSON).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "imports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    pub user_id: String,
    pub file_name: String,
    pub dry_run: bool,
    /// `running`, `done` or `failed` (an unexpected error stopped it).
    pub status: String,
    pub rows_total: i64,
    pub rows_done: i64,
    #[sea_orm(column_type = "Text")]
    pub report: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub finished_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
