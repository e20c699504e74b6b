use sea_orm::entity::prelude::*;

/// One change of a customer's owner: `claim`, `assign`, `return`,
/// `auto_return`, `transfer` (and `create` when made with an owner).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ownership_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub customer_id: String,
    pub at: TimeDateTimeWithTimeZone,
    pub action: String,
    pub from_user_id: Option<String>,
    pub to_user_id: Option<String>,
    pub pool_id: Option<String>,
    pub actor_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
