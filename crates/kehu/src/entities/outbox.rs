use sea_orm::entity::prelude::*;

/// One domain event on its way out (webhooks), written in the change's
/// transaction; `dispatched_at` is set once it is fanned out to subscriptions.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `customer.created`, `opportunity.won`, …
    pub event: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    pub occurred_at: TimeDateTimeWithTimeZone,
    #[sea_orm(column_type = "Text")]
    pub data: String,
    #[sea_orm(column_type = "Text")]
    pub changes: String,
    pub dispatched_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
