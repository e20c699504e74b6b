use sea_orm::entity::prelude::*;

/// A won deal waiting for its contract draft: written by the won-stage rule,
/// taken by the contracts module (`contract_id`, `done_at`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contract_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub opportunity_id: String,
    pub customer_id: String,
    pub rule_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    #[sea_orm(column_type = "Text")]
    pub products: String,
    pub owner_id: Option<String>,
    pub contract_id: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub done_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
