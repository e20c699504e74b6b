//! `GET /api/v1/audit` (administrators only).

use super::store::{self, AuditEntry};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::{ListParams, Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Filters of the audit log.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuditFilters {
    entity_type: Option<String>,
    entity_id: Option<String>,
    actor_id: Option<String>,
    action: Option<String>,
    ip: Option<String>,
    /// From this time or date (inclusive).
    at_from: Option<String>,
    /// Up to this time or date (inclusive).
    at_to: Option<String>,
}

/// Browse the audit log, newest first (administrators only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(ListParams, AuditFilters),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<AuditEntry>>> {
    me.user.require_admin()?;
    let req = store::LIST.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::list(&state.db, &req).await?))
}

/// The list parameters of audit, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.list("/api/v1/audit", &store::LIST);
}
