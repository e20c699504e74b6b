//! Sign-in and sign-out pages, the language switch and the account page.

use super::store;
use crate::entities::api_token;
use crate::platform::audit::Actor;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, HtmlForm, Pairs, value};
use crate::platform::i18n::Lang;
use crate::platform::state::AppState;
use crate::platform::web::{
    LANG_COOKIE, PageCtx, RequestInfo, SESSION_COOKIE, Signed, cookie, cookie_value,
    fresh_csrf_cookie, redirect_with_flash, removal, render, safe_next, set_cookie,
};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/language", post(set_language))
        .route("/account", get(account))
        .route("/account/tokens", post(new_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/account/calendar", post(reset_calendar))
        .route("/account/preferences", post(save_preferences))
        .route("/account/password", post(change_password))
        .route("/users/locks", get(locks_page).post(clear_lock))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageCtx,
    email: String,
    next: String,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(ctx: PageCtx, Query(q): Query<NextQuery>) -> PageResult<Response> {
    let next = safe_next(q.next.as_deref());
    if ctx.user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    Ok(render(&LoginPage {
        ctx,
        email: String::new(),
        next,
        error: None,
    })?)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(info): Extension<RequestInfo>,
    headers: HeaderMap,
    HtmlForm(form): HtmlForm<LoginForm>,
) -> PageResult<Response> {
    let next = safe_next(form.next.as_deref());
    match store::check_credentials(&state, &form.email, &form.password, &info.ip).await {
        Ok(user) => {
            // Rotate: whatever session this browser had ends here.
            if let Some(old) = cookie_value(&headers, SESSION_COOKIE) {
                store::end_session_by_cookie(&state, old).await?;
            }
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            let raw = store::create_session(&state, &user.id, &info.ip, ua).await?;
            let mut res = Redirect::to(&next).into_response();
            set_cookie(&mut res, cookie(&state, SESSION_COOKIE, raw));
            set_cookie(&mut res, fresh_csrf_cookie(&state));
            Ok(res)
        }
        Err(e) => {
            let (status, key) = match &e {
                AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "login.failed"),
                AppError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "login.locked"),
                _ => return Err(e.into()),
            };
            let page = LoginPage {
                ctx,
                email: form.email,
                next,
                error: Some(key),
            };
            let mut res = render(&page)?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(info): Extension<RequestInfo>,
) -> PageResult<Response> {
    if let Some(user) = &ctx.user {
        store::end_session(&state, user, &info.ip).await?;
    }
    let mut res = Redirect::to("/login").into_response();
    set_cookie(&mut res, removal(&state, SESSION_COOKIE));
    set_cookie(&mut res, fresh_csrf_cookie(&state));
    Ok(res)
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    #[serde(default)]
    next: Option<String>,
}

/// Switches the language: remembered on the user when signed in, in a cookie otherwise.
async fn set_language(
    State(state): State<AppState>,
    ctx: PageCtx,
    Extension(info): Extension<RequestInfo>,
    HtmlForm(form): HtmlForm<LangForm>,
) -> PageResult<Response> {
    let lang =
        Lang::parse(&form.lang).ok_or_else(|| AppError::BadRequest("unknown language".into()))?;
    if let Some(user) = &ctx.user {
        let patch = crate::users::model::UserPatch {
            locale: Some(Some(lang.code().to_owned())),
            ..Default::default()
        };
        let actor = Actor {
            user_id: Some(user.id.clone()),
            ip: Some(info.ip.clone()),
        };
        crate::users::store::update(&state.db, state.clock.now(), &actor, &user.id, patch, None)
            .await?;
    }
    let mut res = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let mut c = cookie(&state, LANG_COOKIE, lang.code().to_owned());
    c.set_max_age(time::Duration::days(365));
    set_cookie(&mut res, c);
    Ok(res)
}

#[derive(Template)]
#[template(path = "auth/account.html")]
struct AccountPage {
    ctx: PageCtx,
    tokens: Vec<api_token::Model>,
    new_token: Option<String>,
    team: String,
    scope_label: &'static str,
    calendar_url: String,
    /// Language and time zone, and the version of the user they belong to.
    preferences: Vec<FormField>,
    version: i64,
    password: Vec<FormField>,
    errors: FormErrors,
}

/// What the account page's forms show: what was sent (after an error) or
/// what is stored.
#[derive(Default)]
struct AccountForms {
    sent: Pairs,
    errors: Option<FormErrors>,
}

async fn account_page(
    state: &AppState,
    s: Signed,
    headers: &axum::http::HeaderMap,
    new_token: Option<String>,
) -> PageResult<Response> {
    account_page_with(state, s, headers, new_token, AccountForms::default()).await
}

async fn account_page_with(
    state: &AppState,
    s: Signed,
    headers: &axum::http::HeaderMap,
    new_token: Option<String>,
    forms: AccountForms,
) -> PageResult<Response> {
    let me = crate::users::store::get(&state.db, &s.user.id).await?;
    let errors = forms.errors.unwrap_or_else(|| FormErrors::new(s.ctx.lang));
    let sent = |k: &str| {
        forms
            .sent
            .iter()
            .any(|(n, _)| n == k)
            .then(|| value(&forms.sent, k))
    };
    let t = |k: &str| s.ctx.t(k);
    let mut language = FormField::new(
        "locale",
        t("account.language"),
        "select",
        &sent("locale").unwrap_or_else(|| me.locale.clone().unwrap_or_default()),
    )
    .options(
        Lang::ALL
            .iter()
            .map(|l| (l.code().to_owned(), l.native_name().to_owned()))
            .collect(),
    )
    .with_errors(&errors);
    language.empty_label = Some(t("account.follow_browser").to_owned());
    let preferences = vec![
        language,
        FormField::new(
            "timezone",
            t("field.timezone"),
            "select",
            &sent("timezone").unwrap_or_else(|| me.timezone.clone()),
        )
        .required()
        .options(crate::platform::tz::choices(state.clock.now()))
        .with_errors(&errors),
    ];
    let password = vec![
        FormField::new(
            "current_password",
            t("account.current_password"),
            "password",
            "",
        )
        .required()
        .with_errors(&errors),
        FormField::new("new_password", t("account.new_password"), "password", "")
            .required()
            .hint(t("account.new_password_help"))
            .with_errors(&errors),
    ];
    let calendar = crate::users::feed::token(&state.db, &s.user.id, state.clock.now()).await?;
    let calendar_url =
        crate::users::feed::url(&crate::platform::web::base_url(state, headers), &calendar);
    let tokens = store::list_tokens(state, &s.user)
        .await?
        .into_iter()
        .filter(|t| t.user_id == s.user.id)
        .collect();
    let team = match &s.user.team_id {
        Some(t) => crate::teams::store::get(&state.db, t)
            .await
            .map(|t| t.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let scope_label = s.ctx.t(s.user.scope.label_key());
    Ok(render(&AccountPage {
        preferences,
        version: me.version,
        password,
        errors,
        calendar_url,
        ctx: s.ctx,
        tokens,
        new_token,
        team,
        scope_label,
    })?)
}

async fn account(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
) -> PageResult<Response> {
    account_page(&state, s, &headers, None).await
}

async fn reset_calendar(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    crate::users::feed::reset(&state.db, &s.user.id, state.clock.now()).await?;
    Ok(crate::platform::web::redirect_with_flash(
        &state,
        "/account",
        "calendar_reset",
    ))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn new_token(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
    HtmlForm(form): HtmlForm<TokenForm>,
) -> PageResult<Response> {
    let (_, secret) = store::create_token(&state, &s.actor(), &s.user.id, &form.name).await?;
    let mut res = account_page(&state, s, &headers, Some(secret)).await?;
    // The secret is shown once: never from a cache.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

async fn revoke_token(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    store::revoke_token(&state, &s.user, &s.actor(), &id).await?;
    Ok(redirect_with_flash(&state, "/account", "token_revoked"))
}

/// Language and time zone, from the account page.
async fn save_preferences(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let locale = value(&form, "locale");
    let patch = crate::users::model::UserPatch {
        locale: Some(Some(locale.clone()).filter(|l| !l.is_empty())),
        timezone: Some(value(&form, "timezone")),
        ..Default::default()
    };
    let result = match value(&form, "version").parse::<i64>() {
        Ok(v) => {
            crate::users::store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user.id,
                patch,
                Some(v),
            )
            .await
        }
        Err(_) => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(_) => {
            let mut res = redirect_with_flash(&state, "/account", "saved");
            // The language cookie follows, so the next page is in the new language.
            if let Some(l) = Lang::parse(&locale) {
                let mut c = cookie(&state, LANG_COOKIE, l.code().to_owned());
                c.set_max_age(time::Duration::days(365));
                set_cookie(&mut res, c);
            }
            Ok(res)
        }
        Err(e) => {
            let errors = Some(FormErrors::from_error(s.ctx.lang, e)?);
            account_page_with(
                &state,
                s,
                &headers,
                None,
                AccountForms { sent: form, errors },
            )
            .await
        }
    }
}

/// A new password, from the account page. Every session ends, this one
/// included: the next page is the sign-in.
async fn change_password(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    match crate::users::store::change_own_password(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user.id,
        &value(&form, "current_password"),
        &value(&form, "new_password"),
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/login", "password_changed")),
        Err(e) => {
            let errors = Some(FormErrors::from_error(s.ctx.lang, e)?);
            let sent = vec![];
            account_page_with(&state, s, &headers, None, AccountForms { sent, errors }).await
        }
    }
}

// ---- Sign-in locks (administrators) ----

#[derive(Template)]
#[template(path = "auth/locks.html")]
struct LocksPage {
    ctx: crate::platform::web::PageCtx,
    locks: Vec<store::SignInLock>,
}

impl LocksPage {
    fn until(&self, l: &store::SignInLock) -> String {
        crate::platform::tz::local(l.locked_until, self.ctx.tz())
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default()
    }
}

async fn locks_page(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let locks = store::locks(&state).await?;
    Ok(render(&LocksPage { ctx: s.ctx, locks })?)
}

#[derive(Deserialize)]
struct ClearLockForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    ip: String,
}

async fn clear_lock(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(f): HtmlForm<ClearLockForm>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let email = crate::platform::form::opt(&f.email);
    let ip = crate::platform::form::opt(&f.ip);
    store::clear_locks(&state, &s.actor(), email.as_deref(), ip.as_deref()).await?;
    Ok(crate::platform::web::redirect_with_flash(
        &state,
        "/users/locks",
        "lock_cleared",
    ))
}
