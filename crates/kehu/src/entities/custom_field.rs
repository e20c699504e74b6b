use sea_orm::entity::prelude::*;

/// An administrator-defined field of an entity; values live in the entity's `custom` JSON.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub entity: String,
    pub key: String,
    pub label_en: String,
    pub label_zh: String,
    pub kind: String,
    pub required: bool,
    /// JSON array of option strings (select, multi-select).
    #[sea_orm(column_type = "Text")]
    pub options: String,
    pub position: i64,
    pub active: bool,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
