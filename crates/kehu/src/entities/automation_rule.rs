use sea_orm::entity::prelude::*;

/// "When a deal enters `stage_id` [and `condition`], do `action` with `params`."
/// `condition` and `params` are JSON text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "automation_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub pipeline_id: String,
    pub stage_id: String,
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub condition: Option<String>,
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub params: String,
    pub active: bool,
    pub position: i32,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
