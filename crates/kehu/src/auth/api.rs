//! `/api/v1/auth/tokens`: make, list and revoke API tokens.

use super::store;
use crate::entities::api_token;
use crate::platform::api::{ApiJson, created};
use crate::platform::audit::Actor;
use crate::platform::error::{AppResult, Problem};
use crate::platform::list::Page;
use crate::platform::state::AppState;
use crate::platform::web::{ApiUser, RequestInfo};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(list_locks, clear_locks))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub email: String,
    pub password: String,
    /// A label to recognise the token by.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<api_token::Model> for TokenView {
    fn from(m: api_token::Model) -> Self {
        TokenView {
            id: m.id,
            user_id: m.user_id,
            name: m.name,
            prefix: m.prefix,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    /// The secret: send it as `Authorization: Bearer <token>`. Shown only once.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

/// Exchange an email and password for an API token.
#[utoipa::path(post, path = "/api/v1/auth/tokens", tag = "auth", request_body = TokenRequest, security(()),
    responses((status = 201, body = NewToken), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> AppResult<Response> {
    let user = store::check_credentials(&state, &req.email, &req.password, &info.ip).await?;
    let actor = Actor {
        user_id: Some(user.id.clone()),
        ip: Some(info.ip.clone()),
    };
    let (m, token) = store::create_token(
        &state,
        &actor,
        &user.id,
        req.name.as_deref().unwrap_or(store::DEFAULT_TOKEN_NAME),
    )
    .await?;
    Ok(created(
        format!("/api/v1/auth/tokens/{}", m.id),
        NewToken {
            token,
            info: m.into(),
        },
    ))
}

/// The API tokens you may see (your own; more with a wider data scope).
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth", responses((status = 200, body = Page<TokenView>)))]
async fn list_tokens(
    State(state): State<AppState>,
    me: ApiUser,
) -> AppResult<Json<Page<TokenView>>> {
    let rows = store::list_tokens(&state, &me.user).await?;
    let total = rows.len() as u64;
    Ok(Json(Page {
        data: rows.into_iter().map(TokenView::from).collect(),
        next_cursor: None,
        total: Some(total),
        total_is_estimate: false,
    }))
}

/// Revoke a token. A token outside your data scope is not found (404); one inside it
/// but not yours is forbidden (403) unless you are an administrator.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    store::revoke_token(&state, &me.user, &me.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign-in locks in force (administrators): a client locked out of one account
/// (`email` set) after repeated failures, or out of every account.
#[utoipa::path(get, path = "/api/v1/auth/locks", tag = "auth",
    responses((status = 200, body = Page<store::SignInLock>), (status = 403, body = Problem)))]
async fn list_locks(
    State(state): State<AppState>,
    me: ApiUser,
) -> AppResult<Json<Page<store::SignInLock>>> {
    me.user.require_admin()?;
    let rows = store::locks(&state).await?;
    let total = rows.len() as u64;
    Ok(Json(Page {
        data: rows,
        next_cursor: None,
        total: Some(total),
        total_is_estimate: false,
    }))
}

/// Which locks to clear: an account, a client, or one client for one account.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LockFilter {
    /// The account's email.
    pub email: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
}

/// Clear sign-in locks (administrators): forgets the failed sign-ins of an
/// account (`email`), a client (`ip`) or both together; audited.
#[utoipa::path(delete, path = "/api/v1/auth/locks", tag = "auth", params(LockFilter),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn clear_locks(
    State(state): State<AppState>,
    me: ApiUser,
    axum::extract::Query(f): axum::extract::Query<LockFilter>,
) -> AppResult<StatusCode> {
    me.user.require_admin()?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    store::clear_locks(
        &state,
        &me.actor(),
        clean(f.email).as_deref(),
        clean(f.ip).as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
