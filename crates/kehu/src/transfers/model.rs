//! Transfer types (no SQL, no HTTP).

use crate::entities::transfer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const STATUSES: &[&str] = &["pending", "approved", "rejected"];

/// A transfer request as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferView {
    pub id: String,
    pub requester_id: String,
    pub to_user_id: String,
    pub customer_ids: Vec<String>,
    /// The owner of each customer when the request was made (customer id → user id).
    #[schema(value_type = Object)]
    pub owners_at_request: Map<String, Value>,
    pub reason: Option<String>,
    /// Move the customers' open opportunities along.
    pub include_opportunities: bool,
    /// Move the customers' contracts (all but terminated ones) along.
    pub include_contracts: bool,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    pub decision_comment: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<transfer::Model> for TransferView {
    fn from(m: transfer::Model) -> Self {
        TransferView {
            customer_ids: serde_json::from_str(&m.customer_ids).unwrap_or_default(),
            owners_at_request: serde_json::from_str(&m.owners_at_request).unwrap_or_default(),
            id: m.id,
            requester_id: m.requester_id,
            to_user_id: m.to_user_id,
            reason: m.reason,
            include_opportunities: m.include_opportunities,
            include_contracts: m.include_contracts,
            status: m.status,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
            decision_comment: m.decision_comment,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `POST /api/v1/transfers`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    pub customer_ids: Vec<String>,
    pub to_user_id: String,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    #[serde(default)]
    pub include_opportunities: bool,
    #[serde(default)]
    pub include_contracts: bool,
}

/// `POST /api/v1/transfers/{id}/approve` and `/reject`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub comment: Option<String>,
}
