use sea_orm::entity::prelude::*;

/// An opportunity (商机): a potential deal with a customer. `amount` is in
/// ten-thousandths of `currency` (see `platform::money`); `products` and
/// `custom` are JSON text.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub customer_id: String,
    pub contact_id: Option<String>,
    pub pipeline_id: String,
    pub stage_id: String,
    /// The stage's kind: `open`, `won` or `lost`.
    pub status: String,
    /// The furthest open or won stage position reached (the funnel reads it).
    pub furthest_position: i32,
    pub amount: i64,
    pub currency: String,
    pub probability: i32,
    pub expected_close_date: Option<TimeDate>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub priority: String,
    pub owner_id: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub lost_reason: Option<String>,
    pub won_at: Option<TimeDateTimeWithTimeZone>,
    /// When it entered a won or lost stage (null while open).
    pub closed_at: Option<TimeDateTimeWithTimeZone>,
    pub stage_entered_at: TimeDateTimeWithTimeZone,
    #[sea_orm(column_type = "Text")]
    pub products: String,
    #[sea_orm(column_type = "Text")]
    pub custom: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
    pub created_by: Option<String>,
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
    pub deleted_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
