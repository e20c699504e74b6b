use sea_orm::entity::prelude::*;

/// Funnel rollup: deals by the day they were created, where they are and how far
/// they got (kept by `opportunities::rollups`). Amounts are sums split in two
/// parts (`amount / 10⁸`, `amount % 10⁸`) so they never overflow.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_cohorts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pipeline_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: TimeDate,
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub furthest_position: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub stage_id: String,
    pub deals: i64,
    pub amount_high: i64,
    pub amount_low: i64,
    pub weighted_high: i64,
    pub weighted_low: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
