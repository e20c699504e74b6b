use sea_orm::entity::prelude::*;

/// A stage (销售阶段) of a pipeline. `kind` is `open`, `won` or `lost`;
/// `required_fields` (JSON list) names what a deal needs before entering it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pipeline_stages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub pipeline_id: String,
    pub position: i32,
    pub name: String,
    pub name_en: String,
    pub probability: i32,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub required_fields: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
