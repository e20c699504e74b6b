use sea_orm::entity::prelude::*;

/// A contract (合同). `amount` is in ten-thousandths of `currency`;
/// `pending_amount` is a changed amount waiting for approval.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub number: String,
    pub title: String,
    pub customer_id: String,
    pub opportunity_id: Option<String>,
    pub order_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub pending_amount: Option<i64>,
    pub sign_date: Option<TimeDate>,
    pub start_date: Option<TimeDate>,
    pub end_date: Option<TimeDate>,
    pub owner_id: Option<String>,
    /// `draft`, `pending_approval`, `active`, `expired`, `terminated`.
    pub status: String,
    /// Who is asked to approve (while `pending_approval`).
    pub approver_id: Option<String>,
    /// When it first became active (payments may be recorded from then on).
    pub activated_at: Option<TimeDateTimeWithTimeZone>,
    #[sea_orm(column_type = "Text", nullable)]
    pub terminated_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub products: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub expiry_reminded_at: Option<TimeDateTimeWithTimeZone>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
