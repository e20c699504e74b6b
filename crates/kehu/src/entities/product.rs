use sea_orm::entity::prelude::*;

/// A product or service of the catalogue. `price` and `cost` are in
/// ten-thousandths of `currency`; `tax_rate` is a percent in ten-thousandths.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub price: i64,
    pub currency: String,
    pub cost: Option<i64>,
    pub tax_rate: i64,
    pub active: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
