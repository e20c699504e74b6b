//! Credentials, sessions and API tokens: the only place that writes
//! `sessions`, `api_tokens` and `login_attempts`.

use crate::entities::{api_token, login_attempt, session, user};
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{CurrentUser, random_secret, sha256_hex, verify_password_async};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult};
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
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

/// Checks an email and password, with throttling that an attacker cannot turn
/// against the account's user (OWASP's guidance):
/// - one client's failures for one account delay that client's next attempts
///   (growing, up to 3 s) and, at `lock_after_failures`, lock that client out
///   of that account until they leave the window — another client, the real
///   user's, still signs in with the right password;
/// - one client's failures across accounts lock that client out at
///   `ip_lock_after_failures`;
/// - failures never lock an account for everyone; at `lock_after_failures`
///   failures of the account (any clients) its user is notified.
///
/// The client is the peer's address, or `X-Forwarded-For` from a trusted proxy
/// (`web::client_ip`). The attempt is recorded (as a failure) *before* the
/// password is checked and the counts include it, so parallel guesses cannot
/// all slip under the limit. Every attempt is audited; the audit entry of a
/// failed sign-in has no actor. An administrator sees and clears locks
/// (`locks`, `clear_locks`).
pub async fn check_credentials(
    state: &AppState,
    email: &str,
    password: &str,
    ip: &str,
) -> AppResult<user::Model> {
    let db = &state.db;
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
    let result = judge(state, &email, password, ip, attempt.id, now).await;
    if let Err(e) = &result
        && !matches!(e, AppError::Unauthorized | AppError::TooManyRequests { .. })
    {
        // Not judged (the database was busy, …): no failure to count.
        let _ = login_attempt::Entity::delete_by_id(attempt.id)
            .exec(db)
            .await;
    }
    result
}

/// The rest of `check_credentials` once the attempt is recorded.
async fn judge(
    state: &AppState,
    email: &str,
    password: &str,
    ip: &str,
    attempt_id: i64,
    now: OffsetDateTime,
) -> AppResult<user::Model> {
    let db = &state.db;
    let s = &state.settings;
    let window_start = now - s.lock_window;
    // This client's failures for this account since its last success here.
    let last_success = login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email))
        .filter(login_attempt::Column::Ip.eq(ip))
        .filter(login_attempt::Column::Succeeded.eq(true))
        .filter(login_attempt::Column::At.gt(window_start))
        .order_by_desc(login_attempt::Column::At)
        .one(db)
        .await?
        .map(|a| a.at)
        .unwrap_or(window_start);
    let pair_failures: Vec<OffsetDateTime> = login_attempt::Entity::find()
        .select_only()
        .column(login_attempt::Column::At)
        .filter(login_attempt::Column::Email.eq(email))
        .filter(login_attempt::Column::Ip.eq(ip))
        .filter(login_attempt::Column::Succeeded.eq(false))
        .filter(login_attempt::Column::At.gt(last_success))
        .filter(login_attempt::Column::Id.lt(attempt_id))
        .order_by_asc(login_attempt::Column::At)
        .into_tuple()
        .all(db)
        .await?;
    // This client's failures across accounts.
    let client_failures: Vec<OffsetDateTime> = login_attempt::Entity::find()
        .select_only()
        .column(login_attempt::Column::At)
        .filter(login_attempt::Column::Ip.eq(ip))
        .filter(login_attempt::Column::Succeeded.eq(false))
        .filter(login_attempt::Column::At.gt(window_start))
        .filter(login_attempt::Column::Id.lt(attempt_id))
        .order_by_desc(login_attempt::Column::At)
        .limit(u64::from(s.ip_lock_after_failures.max(1)))
        .into_tuple()
        .all(db)
        .await?;
    // A lock ends when enough of the failures that caused it have left the window.
    let until = |failures: &[OffsetDateTime], limit: u32| {
        let limit = limit.max(1) as usize;
        (failures.len() >= limit).then(|| failures[failures.len() - limit] + s.lock_window)
    };
    let mut client_oldest_first = client_failures;
    client_oldest_first.reverse();
    let locked_until = until(&pair_failures, s.lock_after_failures)
        .into_iter()
        .chain(until(&client_oldest_first, s.ip_lock_after_failures))
        .max();
    if let Some(until) = locked_until {
        // A refused attempt does not count as another failure.
        login_attempt::Entity::delete_by_id(attempt_id)
            .exec(db)
            .await?;
        return Err(locked(until, now));
    }
    if !pair_failures.is_empty() {
        let step = s.login_delay_step.as_millis() as u64;
        let delay = (step * pair_failures.len() as u64).min(3000);
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let found = crate::users::store::find_by_email(db, email).await?;
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
                .filter(login_attempt::Column::Id.eq(attempt_id))
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
            if let Some(u) = &found {
                warn_of_failures(&txn, state, u, email, now).await?;
            }
            Err(AppError::Unauthorized)
        }
    };
    txn.commit().await?;
    result
}

/// Tells a user, once per window, that their account had `lock_after_failures`
/// failed sign-ins (from any clients) since its last success.
async fn warn_of_failures<C: sea_orm::ConnectionTrait>(
    txn: &C,
    state: &AppState,
    u: &user::Model,
    email: &str,
    now: OffsetDateTime,
) -> AppResult<()> {
    let s = &state.settings;
    let since = login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email))
        .filter(login_attempt::Column::Succeeded.eq(true))
        .filter(login_attempt::Column::At.gt(now - s.lock_window))
        .order_by_desc(login_attempt::Column::At)
        .one(txn)
        .await?
        .map(|a| a.at)
        .unwrap_or(now - s.lock_window);
    let failures = login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email))
        .filter(login_attempt::Column::Succeeded.eq(false))
        .filter(login_attempt::Column::At.gt(since))
        .count(txn)
        .await?;
    if failures == u64::from(s.lock_after_failures.max(1)) {
        crate::notifications::store::notify(
            txn,
            now,
            &u.id,
            "sign_in_failures",
            json!({"count": failures, "customer_name": ""}),
            Some("/account"),
        )
        .await?;
    }
    Ok(())
}

/// A client locked out of an account (`email` set) or of every account.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SignInLock {
    /// The account, or none for a client locked out of every account.
    pub email: Option<String>,
    /// The client's address.
    pub ip: String,
    /// Failed sign-ins counted in the window.
    pub failures: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub locked_until: OffsetDateTime,
}

/// The sign-in locks in force now (for administrators).
pub async fn locks(state: &AppState) -> AppResult<Vec<SignInLock>> {
    let s = &state.settings;
    let now = state.clock.now();
    let window_start = now - s.lock_window;
    let failures: Vec<(String, String, OffsetDateTime)> = login_attempt::Entity::find()
        .select_only()
        .column(login_attempt::Column::Email)
        .column(login_attempt::Column::Ip)
        .column(login_attempt::Column::At)
        .filter(login_attempt::Column::Succeeded.eq(false))
        .filter(login_attempt::Column::At.gt(window_start))
        .order_by_asc(login_attempt::Column::At)
        .limit(100_000)
        .into_tuple()
        .all(&state.db)
        .await?;
    let successes: Vec<(String, String, OffsetDateTime)> = login_attempt::Entity::find()
        .select_only()
        .column(login_attempt::Column::Email)
        .column(login_attempt::Column::Ip)
        .column(login_attempt::Column::At)
        .filter(login_attempt::Column::Succeeded.eq(true))
        .filter(login_attempt::Column::At.gt(window_start))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut pairs: std::collections::BTreeMap<(String, String), Vec<OffsetDateTime>> =
        Default::default();
    let mut clients: std::collections::BTreeMap<String, Vec<OffsetDateTime>> = Default::default();
    for (email, ip, at) in failures {
        let cleared = successes
            .iter()
            .any(|(e, i, s_at)| *e == email && *i == ip && *s_at > at);
        if !cleared {
            pairs.entry((email, ip.clone())).or_default().push(at);
        }
        clients.entry(ip).or_default().push(at);
    }
    let mut out = Vec::new();
    let lock = |list: &[OffsetDateTime], limit: u32| {
        let limit = limit.max(1) as usize;
        (list.len() >= limit)
            .then(|| list[list.len() - limit] + s.lock_window)
            .filter(|u| *u > now)
    };
    for ((email, ip), list) in pairs {
        if let Some(until) = lock(&list, s.lock_after_failures) {
            out.push(SignInLock {
                email: Some(email),
                ip,
                failures: list.len() as u64,
                locked_until: until,
            });
        }
    }
    for (ip, list) in clients {
        if let Some(until) = lock(&list, s.ip_lock_after_failures) {
            out.push(SignInLock {
                email: None,
                ip,
                failures: list.len() as u64,
                locked_until: until,
            });
        }
    }
    Ok(out)
}

/// Forgets the failed sign-ins of a client (`ip`), of an account (`email`),
/// or of one client for one account, so their locks end now; audited.
pub async fn clear_locks(
    state: &AppState,
    actor: &Actor,
    email: Option<&str>,
    ip: Option<&str>,
) -> AppResult<u64> {
    if email.is_none() && ip.is_none() {
        return Err(AppError::field(
            "email",
            "required",
            "name the account (email), the client (ip) or both",
        ));
    }
    let now = state.clock.now();
    let txn = write_txn(&state.db).await?;
    let mut q =
        login_attempt::Entity::delete_many().filter(login_attempt::Column::Succeeded.eq(false));
    if let Some(e) = email {
        q = q
            .filter(login_attempt::Column::Email.eq(crate::platform::validate::normalize_email(e)));
    }
    if let Some(i) = ip {
        q = q.filter(login_attempt::Column::Ip.eq(i.trim()));
    }
    let cleared = q.exec(&txn).await?.rows_affected;
    let mut changes = Map::new();
    changes.insert("email".into(), json!([email, null]));
    changes.insert("ip".into(), json!([ip, null]));
    changes.insert("failures".into(), json!([cleared, 0]));
    audit::record(&txn, now, actor, "auth", None, "clear_lock", changes).await?;
    txn.commit().await?;
    Ok(cleared)
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
