use sea_orm::entity::prelude::*;

/// A lead (线索): a prospect not yet a customer. `tags` and `custom` are JSON
/// text; `company_norm` and `phone_digits` serve the duplicate check.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub company: Option<String>,
    pub company_norm: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub phone_digits: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub source: Option<String>,
    pub campaign_id: Option<String>,
    pub partner_id: Option<String>,
    /// The web-to-lead form it came through, and from which address.
    pub form_id: Option<String>,
    pub source_ip: Option<String>,
    pub status: String,
    pub score: i32,
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    pub owner_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub disqualify_reason: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub custom: String,
    pub converted_customer_id: Option<String>,
    pub converted_contact_id: Option<String>,
    pub converted_at: Option<TimeDateTimeWithTimeZone>,
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
