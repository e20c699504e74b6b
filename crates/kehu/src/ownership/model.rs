//! The ownership history as it is shown.

use crate::entities::ownership;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// One change of owner, as `GET /api/v1/customers/{id}/ownership` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnershipView {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `create`, `claim`, `assign`, `return`, `auto_return` or `transfer`.
    pub action: String,
    pub from_user_id: Option<String>,
    pub from_user_name: Option<String>,
    pub to_user_id: Option<String>,
    pub to_user_name: Option<String>,
    pub pool_id: Option<String>,
    /// Who did it; null for the automatic return.
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub reason: Option<String>,
}

impl OwnershipView {
    pub fn new(m: ownership::Model, name: impl Fn(&Option<String>) -> Option<String>) -> Self {
        OwnershipView {
            from_user_name: name(&m.from_user_id),
            to_user_name: name(&m.to_user_id),
            actor_name: name(&m.actor_id),
            id: m.id,
            at: m.at,
            action: m.action,
            from_user_id: m.from_user_id,
            to_user_id: m.to_user_id,
            pool_id: m.pool_id,
            actor_id: m.actor_id,
            reason: m.reason,
        }
    }
}
