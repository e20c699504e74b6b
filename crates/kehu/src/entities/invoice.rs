use sea_orm::entity::prelude::*;

/// An invoice issued against a contract (开票): `issued` or `voided`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub contract_id: String,
    pub number: Option<String>,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub buyer_title: String,
    pub buyer_tax_no: Option<String>,
    pub issued_on: TimeDate,
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub void_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub created_by: Option<String>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
