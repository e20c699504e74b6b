//! `/api/v1/settings/…`: customer levels, lead sources, activity results,
//! email, follow-up intervals and the company's time zone.

use super::store;
use crate::platform::api::{ApiJson, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_levels, put_levels))
        .routes(routes!(get_sources, put_sources))
        .routes(routes!(get_results, put_results))
        .routes(routes!(get_email, put_email))
        .routes(routes!(get_follow_up, put_follow_up))
        .routes(routes!(get_timezone, put_timezone))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyTimezone {
    /// The company's IANA time zone (`Asia/Shanghai` out of the box): new
    /// users start with it; each user may pick their own (`PATCH /api/v1/me`).
    pub timezone: String,
    /// The version you read (0 before the first change).
    #[serde(default)]
    pub version: Option<i64>,
}

/// The company's time zone.
#[utoipa::path(get, path = "/api/v1/settings/timezone", tag = "settings", responses((status = 200, body = CompanyTimezone)))]
async fn get_timezone(
    State(state): State<AppState>,
    _me: ApiUser,
) -> AppResult<Json<CompanyTimezone>> {
    let (timezone, version) = store::company_timezone(&state.db).await?;
    Ok(Json(CompanyTimezone {
        timezone,
        version: Some(version),
    }))
}

/// Set the company's time zone (administrators only). Users keep theirs.
#[utoipa::path(put, path = "/api/v1/settings/timezone", tag = "settings", request_body = CompanyTimezone,
    responses((status = 200, body = CompanyTimezone), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_timezone(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CompanyTimezone>,
) -> AppResult<Json<CompanyTimezone>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, body.version)?;
    let (timezone, version) = store::set_company_timezone(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &body.timezone,
        Some(expected),
    )
    .await?;
    Ok(Json(CompanyTimezone {
        timezone,
        version: Some(version),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// The levels a customer can have, in order (e.g. `A`, `B`, `C`, `VIP`).
    pub levels: Vec<String>,
    /// The version you read (0 before the first change).
    #[serde(default)]
    pub version: Option<i64>,
}

/// The customer levels.
#[utoipa::path(get, path = "/api/v1/settings/customer-levels", tag = "settings", responses((status = 200, body = Levels)))]
async fn get_levels(State(state): State<AppState>, _me: ApiUser) -> AppResult<Json<Levels>> {
    let (levels, version) = store::customer_levels(&state.db).await?;
    Ok(Json(Levels {
        levels,
        version: Some(version),
    }))
}

/// Replace the customer levels (administrators only).
#[utoipa::path(put, path = "/api/v1/settings/customer-levels", tag = "settings", request_body = Levels,
    responses((status = 200, body = Levels), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_levels(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Levels>,
) -> AppResult<Json<Levels>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, body.version)?;
    let (levels, version) = store::set_customer_levels(
        &state.db,
        state.clock.now(),
        &me.actor(),
        body.levels,
        Some(expected),
    )
    .await?;
    Ok(Json(Levels {
        levels,
        version: Some(version),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    /// The sources a lead can come from (e.g. `website`, `exhibition`, `referral`).
    pub sources: Vec<String>,
    /// The version you read (0 before the first change).
    #[serde(default)]
    pub version: Option<i64>,
}

/// The lead sources.
#[utoipa::path(get, path = "/api/v1/settings/lead-sources", tag = "settings", responses((status = 200, body = Sources)))]
async fn get_sources(State(state): State<AppState>, _me: ApiUser) -> AppResult<Json<Sources>> {
    let (sources, version) = store::lead_sources(&state.db).await?;
    Ok(Json(Sources {
        sources,
        version: Some(version),
    }))
}

/// Replace the lead sources (administrators only).
#[utoipa::path(put, path = "/api/v1/settings/lead-sources", tag = "settings", request_body = Sources,
    responses((status = 200, body = Sources), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_sources(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Sources>,
) -> AppResult<Json<Sources>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, body.version)?;
    let (sources, version) = store::set_lead_sources(
        &state.db,
        state.clock.now(),
        &me.actor(),
        body.sources,
        Some(expected),
    )
    .await?;
    Ok(Json(Sources {
        sources,
        version: Some(version),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// The results an activity can have (e.g. `interested`, `no_answer`).
    pub results: Vec<String>,
    /// The version you read (0 before the first change).
    #[serde(default)]
    pub version: Option<i64>,
}

/// The activity results.
#[utoipa::path(get, path = "/api/v1/settings/activity-results", tag = "settings", responses((status = 200, body = Results)))]
async fn get_results(State(state): State<AppState>, _me: ApiUser) -> AppResult<Json<Results>> {
    let (results, version) = store::activity_results(&state.db).await?;
    Ok(Json(Results {
        results,
        version: Some(version),
    }))
}

/// Replace the activity results (administrators only).
#[utoipa::path(put, path = "/api/v1/settings/activity-results", tag = "settings", request_body = Results,
    responses((status = 200, body = Results), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_results(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Results>,
) -> AppResult<Json<Results>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, body.version)?;
    let (results, version) = store::set_activity_results(
        &state.db,
        state.clock.now(),
        &me.actor(),
        body.results,
        Some(expected),
    )
    .await?;
    Ok(Json(Results {
        results,
        version: Some(version),
    }))
}

/// How notifications go out by email (administrators).
#[utoipa::path(get, path = "/api/v1/settings/email", tag = "settings",
    responses((status = 200, body = crate::notifications::email::EmailSettings), (status = 403, body = Problem)))]
async fn get_email(
    State(state): State<AppState>,
    me: ApiUser,
) -> AppResult<Json<crate::notifications::email::EmailSettings>> {
    me.user.require_admin()?;
    Ok(Json(crate::notifications::email::get(&state.db).await?))
}

/// Turn email delivery of notifications on or off and set the SMTP server (administrators).
/// Notifications made from then on go out by email to their users.
#[utoipa::path(put, path = "/api/v1/settings/email", tag = "settings", request_body = crate::notifications::email::EmailInput,
    responses((status = 200, body = crate::notifications::email::EmailSettings), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_email(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<crate::notifications::email::EmailInput>,
) -> AppResult<Json<crate::notifications::email::EmailSettings>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, body.version)?;
    Ok(Json(
        crate::notifications::email::save(
            &state.db,
            state.clock.now(),
            &me.actor(),
            body,
            expected,
        )
        .await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpIntervals {
    /// Days without an activity after which a customer of the level needs a follow-up,
    /// e.g. `{"A": 7, "B": 14}`; levels left out are never flagged.
    pub days: std::collections::BTreeMap<String, i32>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// The follow-up interval of each customer level.
#[utoipa::path(get, path = "/api/v1/settings/follow-up-intervals", tag = "settings", responses((status = 200, body = FollowUpIntervals)))]
async fn get_follow_up(
    State(state): State<AppState>,
    _me: ApiUser,
) -> AppResult<Json<FollowUpIntervals>> {
    let (days, version) = store::follow_up_days(&state.db).await?;
    Ok(Json(FollowUpIntervals {
        days,
        version: Some(version),
    }))
}

/// Replace the follow-up intervals (administrators only).
#[utoipa::path(put, path = "/api/v1/settings/follow-up-intervals", tag = "settings", request_body = FollowUpIntervals,
    responses((status = 200, body = FollowUpIntervals), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_follow_up(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FollowUpIntervals>,
) -> AppResult<Json<FollowUpIntervals>> {
    me.user.require_admin()?;
    let expected = required_version(&headers, body.version)?;
    let (days, version) = store::set_follow_up_days(
        &state.db,
        state.clock.now(),
        &me.actor(),
        body.days,
        Some(expected),
    )
    .await?;
    Ok(Json(FollowUpIntervals {
        days,
        version: Some(version),
    }))
}

/// The values of settings, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.one_of(
        &["EmailInput.security", "EmailSettings.security"],
        crate::notifications::email::SECURITY,
    );
}
