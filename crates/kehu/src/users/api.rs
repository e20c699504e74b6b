//! `/api/v1/users` and `/api/v1/me`.

use super::model::{NewUser, UserPatch, UserView};
use super::store;
use crate::platform::api::{ApiJson, created, required_version};
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::{ListParams, Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(reset_calendar))
}

/// Filters of the user list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct UserFilters {
    role: Option<String>,
    scope: Option<String>,
    team_id: Option<String>,
    active: Option<bool>,
    email: Option<String>,
    created_at_from: Option<String>,
    created_at_to: Option<String>,
}

/// List users (every signed-in user may read the directory).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListParams, UserFilters),
    responses((status = 200, body = Page<UserView>), (status = 422, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    _me: ApiUser,
    RawQuery(q): RawQuery,
) -> AppResult<Json<Page<UserView>>> {
    let req = store::LIST.parse(&pairs(q.as_deref())?)?;
    Ok(Json(store::list(&state.db, &req).await?))
}

/// Create a user (administrators only).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(input): ApiJson<NewUser>,
) -> AppResult<Response> {
    me.user.require_admin()?;
    let u = store::create(&state.db, state.clock.now(), &me.actor(), input).await?;
    Ok(created(
        format!("/api/v1/users/{}", u.id),
        UserView::from(u),
    ))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<UserView>> {
    Ok(Json(store::get(&state.db, &id).await?.into()))
}

/// Change a user (administrators only). Deactivating keeps their records and history.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<UserPatch>,
) -> AppResult<Json<UserView>> {
    me.user.require_admin()?;
    let expected = Some(required_version(&headers, patch.version)?);
    let u = store::update(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &id,
        patch,
        expected,
    )
    .await?;
    Ok(Json(u.into()))
}

/// The signed-in user, with the private address of their calendar feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    /// An iCalendar (.ics) feed of your open tasks and your meetings and visits, for
    /// Outlook, Apple or Google calendars. Keep it private; reset it if it leaks.
    pub calendar_url: String,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", responses((status = 200, body = MeView), (status = 401, body = Problem)))]
async fn get_me(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
) -> AppResult<Json<MeView>> {
    let token = crate::users::feed::token(&state.db, &me.user.id, state.clock.now()).await?;
    Ok(Json(MeView {
        user: store::get(&state.db, &me.user.id).await?.into(),
        calendar_url: crate::users::feed::url(
            &crate::platform::web::base_url(&state, &headers),
            &token,
        ),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarUrl {
    pub calendar_url: String,
}

/// Make a new calendar feed address (the old one stops working).
#[utoipa::path(post, path = "/api/v1/me/calendar-token", tag = "users", responses((status = 200, body = CalendarUrl)))]
async fn reset_calendar(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
) -> AppResult<Json<CalendarUrl>> {
    let token = crate::users::feed::reset(&state.db, &me.user.id, state.clock.now()).await?;
    Ok(Json(CalendarUrl {
        calendar_url: crate::users::feed::url(
            &crate::platform::web::base_url(&state, &headers),
            &token,
        ),
    }))
}

/// What a user may change about themselves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    /// `zh-CN`, `en`, or null to follow the browser.
    #[serde(default, deserialize_with = "crate::platform::api::double_option")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// IANA time zone pages show your times in (`Asia/Shanghai`, `Europe/Berlin`, `UTC`).
    pub timezone: Option<String>,
    pub version: Option<i64>,
}

/// Change your own name, language or time zone.
#[utoipa::path(patch, path = "/api/v1/me", tag = "users", request_body = MePatch,
    params(("If-Match" = Option<i64>, Header, description = "the version you read (a number)")),
    responses((status = 200, body = UserView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
async fn update_me(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    ApiJson(p): ApiJson<MePatch>,
) -> AppResult<Json<UserView>> {
    let version = required_version(&headers, p.version)?;
    let patch = UserPatch {
        locale: p.locale,
        name: p.name,
        timezone: p.timezone,
        ..Default::default()
    };
    let u = store::update(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user.id,
        patch,
        Some(version),
    )
    .await?;
    Ok(Json(u.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change your own password. Every session and API token of yours ends,
/// the one making this call included: sign in again with the new password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "users", request_body = PasswordChange,
    responses((status = 204), (status = 422, body = Problem)))]
async fn change_password(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(p): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    store::change_own_password(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user.id,
        &p.current_password,
        &p.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The list parameters of users, in the OpenAPI document (`platform::openapi`).
pub fn constrain(c: &mut crate::platform::openapi::Constraints) {
    c.list("/api/v1/users", &store::LIST);
}
