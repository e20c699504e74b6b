//! The request pipeline shared by pages and the API: identifying the user
//! (session cookie or bearer token), CSRF, language, flash messages, error
//! pages, and the page-context extractors handlers use.
//!
//! Architecture Invariant: authentication and CSRF are checked here, once,
//! before any handler runs; handlers only ever see a resolved `CurrentUser`.

use crate::entities::{api_token, session, user};
use crate::platform::auth::{CurrentUser, Role, Scope, sha256_hex};
use crate::platform::cache::Identity;
use crate::platform::error::{AppError, ErrorPageMarker};
use crate::platform::i18n::Lang;
use crate::platform::state::AppState;
use askama::Template;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "kehu_session";
pub const CSRF_COOKIE: &str = "kehu_csrf";
pub const LANG_COOKIE: &str = "kehu_lang";
pub const FLASH_COOKIE: &str = "kehu_flash";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";
/// Largest form body the CSRF check reads.
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// What the pipeline learned about a request; every handler can read it.
#[derive(Clone, Debug)]
pub struct RequestInfo {
    pub user: Option<CurrentUser>,
    pub ip: String,
    pub csrf: String,
    pub lang: Lang,
    pub flash: Option<String>,
    pub path: String,
    /// Unread notifications of the signed-in user (pages only).
    pub unread: u64,
}

/// The value of a request cookie.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn set_cookie(res: &mut Response, cookie: Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// A cookie with the flags every Kehu cookie has.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies)
        .build()
}

/// A new CSRF token cookie: set at sign-in and sign-out, so a token planted
/// before sign-in is worthless afterwards.
pub fn fresh_csrf_cookie(state: &AppState) -> Cookie<'static> {
    cookie(state, CSRF_COOKIE, crate::platform::auth::random_secret())
}

pub fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}

fn user_from_model(u: user::Model, session_id: Option<String>) -> Option<CurrentUser> {
    Some(CurrentUser {
        role: Role::parse(&u.role)?,
        scope: Scope::parse(&u.scope)?,
        id: u.id,
        name: u.name,
        email: u.email,
        team_id: u.team_id,
        locale: u.locale,
        timezone: u.timezone,
        session_id,
        teams: None,
    })
}

enum Auth {
    None,
    Session(CurrentUser),
    Bearer(CurrentUser),
    BadBearer,
}

/// The active user with this id, if any, with the teams their scope covers.
async fn active_user(
    state: &AppState,
    id: &str,
    session_id: Option<String>,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(u) = user::Entity::find_by_id(id.to_owned())
        .one(&state.db)
        .await?
        .filter(|u| u.active)
        .and_then(|u| user_from_model(u, session_id))
    else {
        return Ok(None);
    };
    let teams = crate::platform::scope::teams_in_scope(&state.db, &u).await?;
    Ok(Some(CurrentUser {
        teams: Some(std::sync::Arc::new(teams)),
        ..u
    }))
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Auth, AppError> {
    let now = state.clock.now();
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // Other schemes (e.g. Basic from a proxy in front of Kehu) are not ours: ignore them.
    if let Some(token) = authz.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim) {
        let hash = sha256_hex(token);
        let key = format!("token:{hash}");
        if let Some(hit) = state.caches.identity(&key) {
            return Ok(Auth::Bearer(hit.user));
        }
        let generation = state.caches.generation();
        let Some(tok) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(hash))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&state.db)
            .await?
        else {
            return Ok(Auth::BadBearer);
        };
        let Some(u) = active_user(state, &tok.user_id, None).await? else {
            return Ok(Auth::BadBearer);
        };
        if tok
            .last_used_at
            .is_none_or(|t| now - t > time::Duration::minutes(1))
        {
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
                .filter(api_token::Column::Id.eq(tok.id))
                .exec(&state.db)
                .await?;
        }
        let identity = Identity {
            user: u,
            expires_at: None,
            last_seen_at: None,
        };
        state
            .caches
            .keep_identity(key, identity.clone(), generation);
        return Ok(Auth::Bearer(identity.user));
    }
    let Some(raw) = cookie_value(headers, SESSION_COOKIE) else {
        return Ok(Auth::None);
    };
    let sid = sha256_hex(raw);
    let key = format!("session:{sid}");
    // A cached session serves until it ends or is due to be extended.
    if let Some(hit) = state.caches.identity(&key)
        && hit.expires_at.is_some_and(|t| t > now)
        && hit
            .last_seen_at
            .is_some_and(|t| now - t <= time::Duration::minutes(5))
    {
        return Ok(Auth::Session(hit.user));
    }
    let generation = state.caches.generation();
    let Some(sess) = session::Entity::find_by_id(sid.clone())
        .one(&state.db)
        .await?
    else {
        return Ok(Auth::None);
    };
    if sess.expires_at <= now {
        session::Entity::delete_by_id(sid).exec(&state.db).await?;
        return Ok(Auth::None);
    }
    let Some(u) = active_user(state, &sess.user_id, Some(sid.clone())).await? else {
        return Ok(Auth::None);
    };
    let (mut expires_at, mut last_seen_at) = (sess.expires_at, sess.last_seen_at);
    if now - sess.last_seen_at > time::Duration::minutes(5) {
        // Sliding expiry; a session ended meanwhile simply updates nothing.
        (expires_at, last_seen_at) = (now + state.settings.session_idle, now);
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(last_seen_at))
            .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
            .filter(session::Column::Id.eq(sid.clone()))
            .exec(&state.db)
            .await?;
    }
    let identity = Identity {
        user: u,
        expires_at: Some(expires_at),
        last_seen_at: Some(last_seen_at),
    };
    state
        .caches
        .keep_identity(key, identity.clone(), generation);
    Ok(Auth::Session(identity.user))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

fn pick_lang(user: Option<&CurrentUser>, headers: &HeaderMap) -> Lang {
    user.and_then(|u| u.locale.as_deref())
        .and_then(Lang::parse)
        .or_else(|| cookie_value(headers, LANG_COOKIE).and_then(Lang::parse))
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Lang::from_accept_language)
                .unwrap_or_default()
        })
}

/// Reads `_csrf` out of a urlencoded body and puts the body back.
async fn form_csrf(req: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => return Err(AppError::PayloadTooLarge.into_response()),
    };
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v)
        });
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// The middleware that identifies the user and checks CSRF; see the module docs.
pub async fn identify(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let api = is_api(&path);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, req.headers(), &state.settings.trusted_proxies)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let auth = match authenticate(&state, req.headers()).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let (user, by_cookie) = match auth {
        Auth::BadBearer => return AppError::Unauthorized.into_response(),
        Auth::None => (None, false),
        Auth::Session(u) => (Some(u), true),
        Auth::Bearer(u) => (Some(u), false),
    };
    let existing_csrf = cookie_value(req.headers(), CSRF_COOKIE)
        .filter(|v| v.len() >= 32)
        .map(str::to_owned);
    let csrf = existing_csrf
        .clone()
        .unwrap_or_else(crate::platform::auth::random_secret);
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut req = req;
    // The public web-to-lead form acts for nobody, so it needs no CSRF token
    // (and is posted from other sites' pages).
    let public_form = path.starts_with("/f/");
    if !safe && !public_form && (by_cookie || !api) {
        let header_token = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let is_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        // File uploads from pages carry the token in the query string (the
        // multipart body is not read here).
        let query_token = if is_multipart {
            req.uri().query().and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == CSRF_FIELD)
                    .map(|(_, v)| v.into_owned())
            })
        } else {
            None
        };
        let sent = match header_token.or(query_token) {
            Some(t) => Some(t),
            None if is_form => match form_csrf(req).await {
                Ok((r, t)) => {
                    req = r;
                    t
                }
                Err(res) => return res,
            },
            None => None,
        };
        let ok = matches!((&existing_csrf, &sent), (Some(a), Some(b)) if constant_eq(a, b));
        if !ok {
            tracing::info!(path, "CSRF check failed");
            if api {
                return AppError::Forbidden.into_response();
            }
            let mut res = StatusCode::FORBIDDEN.into_response();
            res.extensions_mut().insert(ErrorPageMarker {
                detail: Some("csrf".into()),
            });
            let info = RequestInfo {
                lang: pick_lang(user.as_ref(), req.headers()),
                user,
                ip,
                csrf: csrf.clone(),
                flash: None,
                path,
                unread: 0,
            };
            return finish(&state, info, existing_csrf.is_none(), false, res);
        }
    }
    let unread = match &user {
        Some(u) if safe && !api && !path.starts_with("/static/") => {
            unread_count(&state.db, &u.id).await.unwrap_or(0)
        }
        _ => 0,
    };
    let info = RequestInfo {
        unread,
        lang: pick_lang(user.as_ref(), req.headers()),
        flash: cookie_value(req.headers(), FLASH_COOKIE)
            .filter(|f| Lang::En.has(&format!("flash.{f}")))
            .map(str::to_owned),
        user,
        ip,
        csrf,
        path,
    };
    let had_flash = info.flash.is_some();
    // A NUL byte is no text any database keeps: refused here, once, for every
    // path segment and query value (bodies: `ApiJson`, `HtmlForm`).
    if has_nul(req.uri()) {
        let err = AppError::BadRequest("the address contains a NUL byte (%00)".into());
        let res = if api {
            err.into_response()
        } else {
            crate::platform::error::PageError(err).into_response()
        };
        return finish(&state, info, existing_csrf.is_none(), had_flash, res);
    }
    req.extensions_mut().insert(info.clone());
    // What a write request may have changed is read afresh (platform::cache).
    let clear = (!safe).then(|| crate::platform::cache::ClearOnDrop(state.caches.clone()));
    let res = next.run(req).await;
    drop(clear);
    let res = if api { as_problem(res).await } else { res };
    finish(&state, info, existing_csrf.is_none(), had_flash, res)
}

/// The client's address: the peer's, or, when the peer is a trusted proxy,
/// the last address of `X-Forwarded-For` that is not a trusted proxy itself
/// (what a client sends in the header is never taken on its own word).
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
    let peer = peer?.to_canonical();
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<std::net::IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if is_trusted(&ip) => client = ip,
            Ok(ip) => return Some(ip),
            Err(_) => break,
        }
    }
    Some(client)
}

/// Whether a percent-encoded NUL is in the path or the query (a raw NUL
/// cannot be in a URI at all).
fn has_nul(uri: &axum::http::Uri) -> bool {
    uri.path_and_query()
        .is_some_and(|pq| pq.as_str().contains("%00"))
}

/// An API answer of axum's own (an extractor's rejection of a path or a query
/// string, a wrong method), which comes as plain text, as problem details.
async fn as_problem(res: Response) -> Response {
    let status = res.status();
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() && plain) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let detail = (!text.is_empty()).then_some(text);
    let problem = crate::platform::error::Problem {
        kind: "https://kehu.dev/problems/bad-request".into(),
        title: status
            .canonical_reason()
            .unwrap_or("Bad request")
            .to_owned(),
        status: status.as_u16(),
        detail,
        errors: Vec::new(),
        request_id: None,
        reason: None,
        matches: Vec::new(),
    };
    let mut out = (status, axum::Json(problem)).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    out
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn finish(
    state: &AppState,
    info: RequestInfo,
    new_csrf: bool,
    had_flash: bool,
    mut res: Response,
) -> Response {
    let api = is_api(&info.path);
    let marker = res.extensions().get::<ErrorPageMarker>().cloned();
    let unrendered_404 = !api
        && res.status() == StatusCode::NOT_FOUND
        && res.headers().get(header::CONTENT_TYPE).is_none();
    if !api && (marker.is_some() || unrendered_404) {
        let status = res.status();
        let detail = marker.and_then(|m| m.detail);
        let mut page = render_error_page(&info, status, detail.as_deref());
        for v in res.headers().get_all(header::SET_COOKIE) {
            page.headers_mut().append(header::SET_COOKIE, v.clone());
        }
        res = page;
    }
    if new_csrf {
        set_cookie(&mut res, cookie(state, CSRF_COOKIE, info.csrf.clone()));
    }
    if had_flash && !res.status().is_redirection() {
        set_cookie(&mut res, removal(state, FLASH_COOKIE));
    }
    res
}

fn render_error_page(info: &RequestInfo, status: StatusCode, detail: Option<&str>) -> Response {
    let ctx = PageCtx::from_info(info.clone());
    let (title_key, text_key) = match (status.as_u16(), detail) {
        (403, Some("csrf")) => ("error.csrf_title", "error.csrf_text"),
        (403, _) => ("error.forbidden_title", "error.forbidden_text"),
        (404, _) => ("error.not_found_title", "error.not_found_text"),
        (409, _) => ("error.conflict_title", "error.conflict_text"),
        (429, _) => ("error.rate_limited_title", "error.rate_limited_text"),
        (503, _) => ("error.busy_title", "error.busy_text"),
        (400..=499, _) => ("error.bad_request_title", "error.bad_request_text"),
        _ => ("error.internal_title", "error.internal_text"),
    };
    let tpl = ErrorTemplate {
        ctx,
        status: status.as_u16(),
        title_key,
        text_key,
        detail: detail.filter(|d| *d != "csrf").map(str::to_owned),
    };
    match tpl.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(_) => (status, status.canonical_reason().unwrap_or("error")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    ctx: PageCtx,
    status: u16,
    title_key: &'static str,
    text_key: &'static str,
    detail: Option<String>,
}

/// A menu entry of the app shell.
pub struct NavItem {
    pub href: &'static str,
    pub label_key: &'static str,
    pub active: bool,
    /// Shown under "More" (people and administration).
    pub more: bool,
}

/// What every page template gets: language, user, CSRF token, flash message.
#[derive(Clone, Debug)]
pub struct PageCtx {
    pub lang: Lang,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    pub flash: Option<String>,
    pub path: String,
    pub unread: u64,
}

impl PageCtx {
    pub fn from_info(info: RequestInfo) -> Self {
        PageCtx {
            lang: info.lang,
            user: info.user,
            csrf: info.csrf,
            flash: info.flash,
            path: info.path,
            unread: info.unread,
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// A field error's text in the reader's language (`error.<code>`), or
    /// its own English message when the catalogue has no such code.
    pub fn error_message(&self, code: &str, message: &str) -> String {
        let key = format!("error.{code}");
        if self.lang.has(&key) {
            self.lang.t(&key).to_owned()
        } else {
            message.to_owned()
        }
    }

    /// The translation of `prefix.key` when the catalogue has it, else `key` itself
    /// (for codes such as statuses and field names).
    pub fn label(&self, prefix: &str, key: &str) -> String {
        let full = format!("{prefix}.{key}");
        if self.lang.has(&full) {
            self.lang.t(&full).to_owned()
        } else {
            key.to_owned()
        }
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.native_name(), *l == self.lang))
            .collect()
    }

    /// The reader's time zone (`platform::tz`; the default when signed out).
    pub fn tz(&self) -> &str {
        self.user
            .as_ref()
            .map_or(crate::platform::tz::DEFAULT, |u| u.timezone.as_str())
    }

    /// A point in time, to the minute, in the reader's time zone (`2026-12-03 10:00`).
    pub fn time(&self, t: &time::OffsetDateTime) -> String {
        crate::platform::tz::minute(*t, self.tz())
    }

    /// `time` of an optional point in time, `—` without one.
    pub fn time_or_dash(&self, t: &Option<time::OffsetDateTime>) -> String {
        t.as_ref().map_or_else(|| "—".to_owned(), |t| self.time(t))
    }

    /// The day a point in time falls on in the reader's time zone (`2026-12-03`).
    pub fn day(&self, t: &time::OffsetDateTime) -> String {
        crate::platform::tz::day(*t, self.tz())
    }

    /// Under forms and tables of times: which zone they are in.
    pub fn tz_note(&self) -> String {
        let now = time::OffsetDateTime::now_utc();
        self.t("common.times_in")
            .replace("{zone}", self.tz())
            .replace(
                "{offset}",
                &crate::platform::tz::offset_label(now, self.tz()),
            )
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map(|u| u.name.as_str()).unwrap_or("")
    }

    pub fn role_label(&self) -> &'static str {
        self.user
            .as_ref()
            .map(|u| self.t(u.role.label_key()))
            .unwrap_or("")
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin())
    }

    pub fn flash_text(&self) -> Option<&'static str> {
        self.flash.as_deref().map(|k| self.t(&format!("flash.{k}")))
    }

    /// The modules this user can open. Modules not built yet are not listed.
    pub fn nav(&self) -> Vec<NavItem> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        let mut items = vec![("/", "nav.home"), ("/my-day", "nav.my_day")];
        items.push(("/leads", "nav.leads"));
        items.push(("/customers", "nav.customers"));
        items.push(("/opportunities", "nav.opportunities"));
        items.push(("/contracts", "nav.contracts"));
        items.push(("/pool", "nav.pool"));
        items.push(("/transfers", "nav.transfers"));
        items.push(("/reports/activities", "nav.reports"));
        items.push(("/contacts", "nav.contacts"));
        items.push(("/products", "nav.products"));
        items.push(("/users", "nav.users"));
        items.push(("/teams", "nav.teams"));
        if user.is_admin() {
            items.push(("/audit", "nav.audit"));
            items.push(("/settings", "nav.settings"));
        }
        items
            .into_iter()
            .map(|(href, label_key)| NavItem {
                href,
                label_key,
                active: match href {
                    "/" => self.path == "/",
                    // The contract pages' tabs: quotes, orders, payments, receivables, their report.
                    "/contracts" => [
                        "/contracts",
                        "/quotes",
                        "/orders",
                        "/payments",
                        "/receivables",
                        "/reports/payments",
                    ]
                    .iter()
                    .any(|p| self.path.starts_with(p)),
                    _ => self.path.starts_with(href),
                },
                more: matches!(
                    href,
                    "/transfers" | "/products" | "/users" | "/teams" | "/audit" | "/settings"
                ),
            })
            .collect()
    }

    /// The menu entries shown in the bar.
    pub fn nav_main(&self) -> Vec<NavItem> {
        self.nav().into_iter().filter(|i| !i.more).collect()
    }

    /// The menu entries under "More".
    pub fn nav_more(&self) -> Vec<NavItem> {
        self.nav().into_iter().filter(|i| i.more).collect()
    }

    pub fn nav_more_active(&self) -> bool {
        self.nav_more().iter().any(|i| i.active)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<RequestInfo>() {
            Some(info) => Ok(PageCtx::from_info(info.clone())),
            None => Err(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        }
    }
}

/// A signed-in page request: the page context and the user. Without a session
/// it redirects to `/login?next=…`.
pub struct Signed {
    pub ctx: PageCtx,
    pub user: CurrentUser,
    pub ip: String,
}

impl Signed {
    pub fn actor(&self) -> crate::platform::audit::Actor {
        crate::platform::audit::Actor {
            user_id: Some(self.user.id.clone()),
            ip: Some(self.ip.clone()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(info) = parts.extensions.get::<RequestInfo>().cloned() else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        match info.user.clone() {
            Some(user) => {
                let ip = info.ip.clone();
                Ok(Signed {
                    ctx: PageCtx::from_info(info),
                    user,
                    ip,
                })
            }
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let to = format!("/login?next={}", urlencode(next));
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

/// The signed-in caller of an API request; 401 problem details without one.
pub struct ApiUser {
    pub user: CurrentUser,
    pub ip: String,
}

impl ApiUser {
    pub fn actor(&self) -> crate::platform::audit::Actor {
        crate::platform::audit::Actor {
            user_id: Some(self.user.id.clone()),
            ip: Some(self.ip.clone()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<RequestInfo>()
            .ok_or(AppError::Unauthorized)?;
        let user = info.user.clone().ok_or(AppError::Unauthorized)?;
        Ok(ApiUser {
            user,
            ip: info.ip.clone(),
        })
    }
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|v| v[2..].to_owned())
        .unwrap_or_default()
}

/// Renders a template as a full HTML page.
pub fn render<T: Template>(tpl: &T) -> Result<Response, AppError> {
    let body = tpl.render().map_err(|e| AppError::Unexpected(e.into()))?;
    Ok(Html(body).into_response())
}

/// Redirects after a successful form, with a flash message key (`flash.<key>` in the catalogue).
pub fn redirect_with_flash(state: &AppState, to: &str, flash_key: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    set_cookie(&mut res, cookie(state, FLASH_COOKIE, flash_key.to_owned()));
    res
}

/// Only same-site relative paths are followed after sign-in.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The address people reach this server at (from the `Host` header; `https`
/// when Kehu runs with secure cookies), for links that leave the app.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if state.settings.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// The unread notifications of a user (the menu shows the count on every page).
pub async fn unread_count<C: sea_orm::ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> crate::platform::error::AppResult<u64> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    Ok(crate::entities::notification::Entity::find()
        .filter(crate::entities::notification::Column::UserId.eq(user_id))
        .filter(crate::entities::notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_a_local_path() {
        assert_eq!(safe_next(Some("/users?x=1")), "/users?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/a\nb")), "/");
    }

    #[test]
    fn cookies_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kehu_lang=zh-CN; b=2"),
        );
        assert_eq!(cookie_value(&h, LANG_COOKIE), Some("zh-CN"));
        assert_eq!(cookie_value(&h, "c"), None);
    }
}
