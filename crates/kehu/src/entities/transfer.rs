use sea_orm::entity::prelude::*;

/// A request to move customers to another user. `customer_ids` is a JSON
/// list and `owners_at_request` a JSON object (customer id → owner id then).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub requester_id: String,
    pub to_user_id: String,
    #[sea_orm(column_type = "Text")]
    pub customer_ids: String,
    #[sea_orm(column_type = "Text")]
    pub owners_at_request: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub include_opportunities: bool,
    pub include_contracts: bool,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<TimeDateTimeWithTimeZone>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_comment: Option<String>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
