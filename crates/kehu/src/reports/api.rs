//! `/api/v1/reports/activities`, `/api/v1/reports/forecast`, `/api/v1/reports/funnel`,
//! `/api/v1/reports/payments`.

use super::store::{self, ActivityReport, Params};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::pairs;
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{RawQuery, State};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activity_report))
        .routes(routes!(forecast_report))
        .routes(routes!(funnel_report))
        .routes(routes!(payments_report))
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

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SalesReportParams {
    /// First day (`YYYY-MM-DD`). Forecast: expected close dates from (default: the
    /// first of this month); funnel: deals created, moved and closed from (default: 89
    /// days before `to`).
    from: Option<String>,
    /// Last day, inclusive (forecast default: the end of the sixth month; funnel: today).
    /// At most 1,100 days after `from`.
    to: Option<String>,
    /// Default: the default pipeline.
    pipeline_id: Option<String>,
    /// Only this team's members (with its sub-teams).
    team_id: Option<String>,
    /// Only this rep.
    owner_id: Option<String>,
    /// Amounts of deals in this currency (default CNY).
    currency: Option<String>,
}

/// The weighted forecast of the deals you see: open deals by expected close month, by rep
/// and by team; amount and amount × probability.
#[utoipa::path(get, path = "/api/v1/reports/forecast", tag = "reports", params(SalesReportParams),
    responses((status = 200, body = super::sales::Forecast), (status = 422, body = Problem)))]
async fn forecast_report(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<super::sales::Forecast>> {
    let today = state.clock.now().date();
    let p = super::sales::SalesParams::parse(
        &pairs(q.as_deref())?,
        super::sales::next_six_months(today),
    )?;
    Ok(Json(super::sales::forecast(&state.db, &me.user, &p).await?))
}

/// The funnel of the deals you see: open deals per stage now, how far the deals created in
/// the period got with stage-to-stage conversion, median days in each stage, and the deals
/// won and lost in the period by reason.
#[utoipa::path(get, path = "/api/v1/reports/funnel", tag = "reports", params(SalesReportParams),
    responses((status = 200, body = super::sales::Funnel), (status = 422, body = Problem)))]
async fn funnel_report(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<super::sales::Funnel>> {
    let today = state.clock.now().date();
    let p =
        super::sales::SalesParams::parse(&pairs(q.as_deref())?, super::sales::last_90_days(today))?;
    Ok(Json(super::sales::funnel(&state.db, &me.user, &p).await?))
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PaymentReportParams {
    /// First day received (`YYYY-MM-DD`); default: the first of the month eleven months ago.
    from: Option<String>,
    /// Last day, inclusive (default today); at most 1,100 days after `from`.
    to: Option<String>,
    /// Only this team's members' contracts (with its sub-teams).
    team_id: Option<String>,
    /// Only this rep's contracts.
    owner_id: Option<String>,
    /// Payments in this currency (default CNY).
    currency: Option<String>,
    /// `month` (default), `owner` or `customer`.
    group_by: Option<String>,
}

/// Confirmed payments received on the contracts you see, by month, rep or customer,
/// summed exactly.
#[utoipa::path(get, path = "/api/v1/reports/payments", tag = "reports", params(PaymentReportParams),
    responses((status = 200, body = super::payments::PaymentReport), (status = 422, body = Problem)))]
async fn payments_report(
    State(state): State<AppState>,
    me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<super::payments::PaymentReport>> {
    let today = state.clock.now().date();
    let (p, group) = super::payments::parse(&pairs(q.as_deref())?, today)?;
    Ok(Json(
        super::payments::payments(&state.db, &me.user, &p, group).await?,
    ))
}

/// The values of report rows, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(&["FunnelStage.kind"], crate::pipelines::model::STAGE_KINDS);
    c.one_of(&["Outcome.status"], &["won", "lost"]);
}
