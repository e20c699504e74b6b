//! `/api/v1/reports/activities`.

use super::store::{self, ActivityReport, Params};
use crate::app::AppState;
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::pairs;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(activity_report))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ReportParams {
    /// `day` (default), `week` or `month`.
    period: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC); default 29 days before `to`.
    from: Option<String>,
    /// Last day, inclusive; default today. At most 366 days after `from`.
    to: Option<String>,
    /// Only this user (one you see).
    user_id: Option<String>,
    /// Only this team and its sub-teams.
    team_id: Option<String>,
}

/// Activity statistics of the people you see (reps: yourself; managers: the team):
/// activities by kind, customers touched, follow-ups on time and overdue, per person and
/// per period.
#[utoipa::path(get, path = "/api/v1/reports/activities", tag = "reports", params(ReportParams),
    responses((status = 200, body = ActivityReport), (status = 422, body = Problem)))]
async fn activity_report(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<ActivityReport>> {
    let now = state.clock.now();
    let p = Params::parse(&pairs(q.as_deref())?, now.date())?;
    Ok(Json(
        store::activity_report(&state.db, &me.user, &p, now).await?,
    ))
}
