use sea_orm::entity::prelude::*;

/// A customer (company or person). `tags` and `custom` are JSON text;
/// `name_norm`, `phone_digits` and `search_text` are derived for duplicate
/// checks and search. `deleted_at` set means it is in the recycle bin.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub name_norm: String,
    pub kind: String,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub region: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub phone_digits: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    pub birthday: Option<TimeDate>,
    pub owner_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub custom: String,
    #[sea_orm(column_type = "Text")]
    pub search_text: String,
    /// Overlapping pairs of the Chinese runs of `search_text` (SQLite two-character search).
    #[sea_orm(column_type = "Text")]
    pub search_bigrams: String,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
    pub deleted_by: Option<String>,
    /// The pool it sits in without an owner, and returns to.
    pub pool_id: Option<String>,
    /// When the current owner got it (the return clock starts here).
    pub owned_since: Option<TimeDateTimeWithTimeZone>,
    pub last_activity_at: Option<TimeDateTimeWithTimeZone>,
    pub last_won_at: Option<TimeDateTimeWithTimeZone>,
    /// Kept by its owner: never returned automatically.
    pub locked: bool,
    pub returned_at: Option<TimeDateTimeWithTimeZone>,
    pub former_owner_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub return_reason: Option<String>,
    pub return_warned_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
