use sea_orm::entity::prelude::*;

/// A file attached to a contract; the bytes live in `data`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contract_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub contract_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    #[sea_orm(column_type = "Blob")]
    pub data: Vec<u8>,
    pub created_by: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
