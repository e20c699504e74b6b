use sea_orm::entity::prelude::*;

/// A public web-to-lead form, served at `/f/{form_key}` without sign-in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_forms")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub form_key: String,
    pub name: String,
    /// The source its leads get.
    pub source: Option<String>,
    /// Who its leads belong to (none: unassigned, for managers to assign).
    pub owner_id: Option<String>,
    pub active: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub thank_you: Option<String>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
