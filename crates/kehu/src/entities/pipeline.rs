use sea_orm::entity::prelude::*;

/// A sales pipeline (销售流程): ordered stages a deal moves through.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pipelines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The Chinese name; `name_en` the English one.
    pub name: String,
    pub name_en: String,
    pub position: i32,
    pub is_default: bool,
    /// Bumped by every change of the pipeline or its stages.
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
