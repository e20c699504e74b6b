use sea_orm::entity::prelude::*;

/// A webhook subscription: where to send which events, signed with `secret`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub url: String,
    /// JSON array of event names (`["*"]` for all).
    #[sea_orm(column_type = "Text")]
    pub events: String,
    pub description: Option<String>,
    pub active: bool,
    /// `whsec_` + base64 of 32 random bytes.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<TimeDateTimeWithTimeZone>,
    /// Since when every delivery has failed (reset by a success).
    pub failing_since: Option<TimeDateTimeWithTimeZone>,
    /// Why it was turned off by the server (`failing`), if it was.
    pub disabled_reason: Option<String>,
    pub created_by: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
