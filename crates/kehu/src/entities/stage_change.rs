use sea_orm::entity::prelude::*;

/// One stage change of an opportunity (its creation has no `from_stage_id`).
/// `seconds_in_from` is how long the deal sat in the stage it left.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunity_stage_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub opportunity_id: String,
    pub pipeline_id: String,
    pub from_stage_id: Option<String>,
    pub to_stage_id: String,
    pub seconds_in_from: Option<i64>,
    /// The deal's owner at the time (reports by rep and team read it).
    pub owner_id: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
