use sea_orm::entity::prelude::*;

/// An installment of a contract's payment plan (回款计划).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_installments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub contract_id: String,
    pub number: i32,
    pub due_date: TimeDate,
    pub amount: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// When its owner was told it is overdue (once).
    pub overdue_notified_at: Option<TimeDateTimeWithTimeZone>,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
