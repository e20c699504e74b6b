use sea_orm::entity::prelude::*;

/// A quote (报价): priced lines, a discount and tax; money in ten-thousandths,
/// percents in ten-thousandths too.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quotes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub number: String,
    pub title: String,
    pub customer_id: String,
    pub opportunity_id: Option<String>,
    pub owner_id: Option<String>,
    pub currency: String,
    #[sea_orm(column_type = "Text")]
    pub items: String,
    pub discount_percent: i64,
    pub tax_rate: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    pub valid_until: Option<TimeDate>,
    /// `draft`, `sent`, `accepted`, `rejected`, `expired`.
    pub status: String,
    /// The order its acceptance made.
    pub order_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub reject_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub sent_at: Option<TimeDateTimeWithTimeZone>,
    pub decided_at: Option<TimeDateTimeWithTimeZone>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
