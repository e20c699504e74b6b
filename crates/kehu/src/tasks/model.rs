//! Task types (no SQL, no HTTP).

use crate::entities::task;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const KINDS: &[&str] = &["follow_up", "care", "revisit", "other"];
pub const STATUSES: &[&str] = &["open", "done", "cancelled"];
pub const PRIORITIES: &[&str] = &["low", "normal", "high"];

/// A task as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub remind_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reminded_at: Option<OffsetDateTime>,
    pub assignee_id: String,
    pub customer_id: Option<String>,
    pub lead_id: Option<String>,
    /// The activity that asked for this follow-up.
    pub activity_id: Option<String>,
    /// The deal an automation rule made it for.
    pub opportunity_id: Option<String>,
    /// `low`, `normal` or `high`.
    pub priority: String,
    /// `open`, `done` or `cancelled`.
    pub status: String,
    /// `follow_up`, `care`, `revisit` or `other`.
    pub kind: String,
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub done_at: Option<OffsetDateTime>,
    /// Open and past its due time.
    pub overdue: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Option<String>,
}

impl TaskView {
    pub fn new(m: task::Model, now: OffsetDateTime) -> Self {
        TaskView {
            overdue: m.status == "open" && m.due_at < now,
            id: m.id,
            title: m.title,
            due_at: m.due_at,
            remind_at: m.remind_at,
            reminded_at: m.reminded_at,
            assignee_id: m.assignee_id,
            customer_id: m.customer_id,
            lead_id: m.lead_id,
            activity_id: m.activity_id,
            opportunity_id: m.opportunity_id,
            priority: m.priority,
            status: m.status,
            kind: m.kind,
            notes: m.notes,
            done_at: m.done_at,
            version: m.version,
            created_at: m.created_at,
            created_by: m.created_by,
        }
    }
}

/// `POST /api/v1/tasks`. Times are RFC 3339; `assignee_id` defaults to you.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub due_at: String,
    pub remind_at: Option<String>,
    pub assignee_id: Option<String>,
    pub customer_id: Option<String>,
    pub lead_id: Option<String>,
    pub priority: Option<String>,
    pub kind: Option<String>,
    pub notes: Option<String>,
}

/// `PATCH /api/v1/tasks/{id}`: e.g. `{"status": "done"}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub due_at: Option<String>,
    pub remind_at: Option<String>,
    pub assignee_id: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub notes: Option<String>,
    pub version: Option<i64>,
}
