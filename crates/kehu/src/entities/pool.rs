use sea_orm::entity::prelude::*;

/// A public pool (客户公海) and its rules. `team_ids`, `level_overrides` and
/// `hidden_fields` are JSON text; a null rule is "no limit".
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pools")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub is_default: bool,
    #[sea_orm(column_type = "Text")]
    pub team_ids: String,
    pub return_after_days_without_activity: Option<i32>,
    pub return_after_days_without_deal: Option<i32>,
    pub max_customers_per_rep: Option<i32>,
    pub reclaim_cooldown_days: Option<i32>,
    pub max_claims_per_day: Option<i32>,
    pub warn_days_before_return: Option<i32>,
    pub won_deal_exempt: bool,
    pub max_locks_per_rep: i32,
    #[sea_orm(column_type = "Text")]
    pub level_overrides: String,
    #[sea_orm(column_type = "Text")]
    pub hidden_fields: String,
    pub version: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
