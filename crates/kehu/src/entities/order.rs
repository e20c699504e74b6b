use sea_orm::entity::prelude::*;

/// An order (订单): a confirmed purchase, the customer's purchase history.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub number: String,
    pub customer_id: String,
    pub quote_id: Option<String>,
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
    pub order_date: TimeDate,
    /// `confirmed`, `fulfilled`, `cancelled`.
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
