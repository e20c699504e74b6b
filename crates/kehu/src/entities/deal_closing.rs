use sea_orm::entity::prelude::*;

/// Won and lost rollup: deals by the day they closed, the stage and the lost
/// reason (kept by `opportunities::rollups`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_closings")]
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
    pub stage_id: String,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub lost_reason: String,
    pub deals: i64,
    pub amount_high: i64,
    pub amount_low: i64,
    pub weighted_high: i64,
    pub weighted_low: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
