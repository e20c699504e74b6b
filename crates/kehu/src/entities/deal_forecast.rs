use sea_orm::entity::prelude::*;

/// Forecast rollup: open deals by expected close date (kept by
/// `opportunities::rollups`); `weighted_*` sum amount × probability (percent).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_forecasts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pipeline_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: TimeDate,
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: String,
    pub deals: i64,
    pub amount_high: i64,
    pub amount_low: i64,
    pub weighted_high: i64,
    pub weighted_low: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
