//! Credentials, sessions and API tokens: the only place that writes
//! `sessions`, `api_tokens` and `login_attempts`.

use crate::app::AppState;
use crate::entities::{api_token, login_attempt, session, user};
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{CurrentUser, random_secret, sha256_hex, verify_password_async};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::scope::DataScope;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Map, json};
use std::sync::OnceLock;
use time::OffsetDateTime;

/// A hash to verify against when the email is unknown, so both cases take as long.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        crate::platform::auth::hash_password("not a real password").unwrap_or_default()
    })
}

fn locked(until: OffsetDateTime, now: OffsetDateTime) -> AppError {
    let secs = (until - now).whole_seconds().max(1) as u64;
    let minutes = secs.div_ceil(60);
    AppError::TooManyRequests {
        retry_after_secs: secs,
        detail: format!("too many failed sign-ins; try again in {minutes} minute(s)"),
    }
}

/// Checks an email and password, with throttling per account and per IP.
///
/// The attempt is recorded (as a failure) *before* the password is checked and
/// the counts include it, so parallel guesses cannot all slip under the limit.
/// Every attempt is audited; the audit entry of a failed sign-in has no actor.
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    ip: &str,
) -> AppResult<user::Model> {
    let db = &state.db;
    let s = &state.settings;
    let now = state.clock.now();
    let email = crate::platform::validate::normalize_email(email);
    if email.is_empty()
        || password.is_empty()
        || email.chars().count() > 254
        || password.chars().count() > 200
    {
        return Err(AppError::Unauthorized);
    }
    let attempt = login_attempt::ActiveModel {
        email: Set(email.clone()),
        ip: Set(ip.to_owned()),
        succeeded: Set(false),
        at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let window_start = now - s.lock_window;
    let last_success = login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email.clone()))
        .filter(login_attempt::Column::Succeeded.eq(true))
        .filter(login_attempt::Column::At.gt(window_start))
        .order_by_desc(login_attempt::Column::At)
        .one(db)
        .await?
        .map(|a| a.at)
        .unwrap_or(window_start);
    let earlier_failures = login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email.clone()))
        .filter(login_attempt::Column::Succeeded.eq(false))
        .filter(login_attempt::Column::At.gt(last_success))
        .filter(login_attempt::Column::Id.lt(attempt.id))
        .order_by_asc(login_attempt::Column::At)
        .all(db)
        .await?;
    let ip_failures = login_attempt::Entity::find()
        .filter(login_attempt::Column::Ip.eq(ip))
        .filter(login_attempt::Column::Succeeded.eq(false))
        .filter(login_attempt::Column::At.gt(window_start))
        .filter(login_attempt::Column::Id.lt(attempt.id))
        .count(db)
        .await?;
    let locked_until = if earlier_failures.len() as u32 >= s.lock_after_failures {
        // The lock ends when enough of the counted failures have left the window.
        let idx = earlier_failures.len() - s.lock_after_failures as usize;
        earlier_failures.get(idx).map(|a| a.at + s.lock_window)
    } else if ip_failures as u32 >= s.ip_lock_after_failures {
        Some(now + s.lock_window)
    } else {
        None
    };
    if let Some(until) = locked_until {
        // A refused attempt does not count as another failure.
        login_attempt::Entity::delete_by_id(attempt.id)
            .exec(db)
            .await?;
        return Err(locked(until, now));
    }
    if !earlier_failures.is_empty() {
        let step = s.login_delay_step.as_millis() as u64;
        let delay = (step * earlier_failures.len() as u64).min(3000);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let found = crate::users::store::find_by_email(db, &email).await?;
    let hash = found
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    let ok = verify_password_async(password.to_owned(), hash).await
        && found.as_ref().is_some_and(|u| u.active);
    let txn = write_txn(db).await?;
    let result = match found {
        Some(u) if ok => {
            login_attempt::Entity::update_many()
                .col_expr(login_attempt::Column::Succeeded, Expr::value(true))
                .filter(login_attempt::Column::Id.eq(attempt.id))
                .exec(&txn)
                .await?;
            let actor = Actor {
                user_id: Some(u.id.clone()),
                ip: Some(ip.to_owned()),
            };
            let mut changes = Map::new();
            changes.insert("email".into(), json!([null, email]));
            audit::record(&txn, now, &actor, "auth", Some(&u.id), "login", changes).await?;
            let mut am = u.into_active_model();
            am.last_login_at = Set(Some(now));
            Ok(am.update(&txn).await?)
        }
        found => {
            // Only a known account's id is kept; what was typed as the email is not logged.
            let actor = Actor {
                user_id: None,
                ip: Some(ip.to_owned()),
            };
            let id = found.as_ref().map(|u| u.id.as_str());
            audit::record(&txn, now, &actor, "auth", id, "login_failed", Map::new()).await?;
            Err(AppError::Unauthorized)
        }
    };
    txn.commit().await?;
    result
}

/// Starts a session and returns the cookie value (only its hash is stored).
pub async fn create_session(
    state: &AppState,
    user_id: &str,
    ip: &str,
    user_agent: Option<&str>,
) -> AppResult<String> {
    let now = state.clock.now();
    let raw = random_secret();
    session::ActiveModel {
        id: Set(sha256_hex(&raw)),
        user_id: Set(user_id.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + state.settings.session_idle),
        last_seen_at: Set(now),
        ip: Set(Some(ip.to_owned())),
        user_agent: Set(user_agent.map(|u| u.chars().take(300).collect())),
    }
    .insert(&state.db)
    .await?;
    Ok(raw)
}

/// Ends the session behind a cookie value, if there is one.
pub async fn end_session_by_cookie(state: &AppState, raw: &str) -> AppResult<()> {
    session::Entity::delete_by_id(sha256_hex(raw))
        .exec(&state.db)
        .await?;
    Ok(())
}

pub async fn end_session(state: &AppState, user: &CurrentUser, ip: &str) -> AppResult<()> {
    let txn = write_txn(&state.db).await?;
    if let Some(sid) = &user.session_id {
        session::Entity::delete_by_id(sid.clone())
            .exec(&txn)
            .await?;
    }
    let actor = Actor {
        user_id: Some(user.id.clone()),
        ip: Some(ip.to_owned()),
    };
    audit::record(
        &txn,
        state.clock.now(),
        &actor,
        "auth",
        Some(&user.id),
        "logout",
        Map::new(),
    )
    .await?;
    Ok(txn.commit().await?)
}

/// The name of a token made without one.
pub const DEFAULT_TOKEN_NAME: &str = "API token";

/// A new API token for `user_id`; the secret is returned once and never again.
pub async fn create_token(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
    name: &str,
) -> AppResult<(api_token::Model, String)> {
    let now = state.clock.now();
    let secret = format!("kehu_{}", random_secret());
    let name = name.trim();
    let name = if name.is_empty() {
        DEFAULT_TOKEN_NAME.to_owned()
    } else {
        name.chars().take(100).collect()
    };
    let txn = write_txn(&state.db).await?;
    let m = api_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id.to_owned()),
        name: Set(name.clone()),
        token_hash: Set(sha256_hex(&secret)),
        prefix: Set(secret.chars().take(12).collect()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let mut changes = Map::new();
    changes.insert("name".into(), json!([null, name]));
    changes.insert("user_id".into(), json!([null, user_id]));
    audit::record(
        &txn,
        now,
        actor,
        "api_token",
        Some(&m.id),
        "create",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok((m, secret))
}

/// The tokens `user` may see: their own, or per their data scope.
pub async fn list_tokens(state: &AppState, user: &CurrentUser) -> AppResult<Vec<api_token::Model>> {
    let scope = DataScope::for_user(&state.db, user).await?;
    Ok(scope
        .filter(api_token::Entity::find(), api_token::Column::UserId)
        .filter(api_token::Column::RevokedAt.is_null())
        .order_by_desc(api_token::Column::CreatedAt)
        .all(&state.db)
        .await?)
}

/// Revokes a token the caller may see; 404 for anything else. Only the owner or an
/// administrator may revoke.
pub async fn revoke_token(
    state: &AppState,
    user: &CurrentUser,
    actor: &Actor,
    id: &str,
) -> AppResult<()> {
    let scope = DataScope::for_user(&state.db, user).await?;
    let tok = scope
        .filter(
            api_token::Entity::find_by_id(id.to_owned()),
            api_token::Column::UserId,
        )
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if tok.user_id != user.id && !user.is_admin() {
        return Err(AppError::Forbidden);
    }
    if tok.revoked_at.is_some() {
        return Err(AppError::Conflict("this token is already revoked".into()));
    }
    let now = state.clock.now();
    let txn = write_txn(&state.db).await?;
    let done = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(tok.id.clone()))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict("this token is already revoked".into()));
    }
    let mut changes = Map::new();
    changes.insert(
        "revoked_at".into(),
        json!([null, crate::platform::list::time_key(&now)]),
    );
    audit::record(
        &txn,
        now,
        actor,
        "api_token",
        Some(&tok.id),
        "revoke",
        changes,
    )
    .await?;
    Ok(txn.commit().await?)
}
