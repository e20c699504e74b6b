//! The users pages: directory, create and edit (edit for administrators).

use super::model::{NewUser, UserPatch, UserView};
use super::store;
use crate::entities::team;
use crate::platform::auth::{Role, Scope};
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, HtmlForm, opt};
use crate::platform::list::{Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/new", get(new_form))
        .route("/users/{id}", get(edit_form).post(update))
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    ctx: PageCtx,
    page: Page<UserView>,
    teams: Vec<team::Model>,
    q: String,
    role: String,
    team_id: String,
    active: String,
    roles: Vec<(&'static str, &'static str)>,
    next_href: Option<String>,
}

impl ListPage {
    fn team_name(&self, id: &Option<String>) -> String {
        id.as_ref()
            .and_then(|id| self.teams.iter().find(|t| &t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }
}

fn role_options(ctx: &PageCtx) -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str(), ctx.t(r.label_key())))
        .collect()
}

fn scope_options(ctx: &PageCtx) -> Vec<(&'static str, &'static str)> {
    Scope::ALL
        .iter()
        .map(|s| (s.as_str(), ctx.t(s.label_key())))
        .collect()
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.is_empty());
    let get = |k: &str| {
        p.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (q, role, team_id, active) = (get("q"), get("role"), get("team_id"), get("active"));
    let req = store::LIST.parse(&p)?;
    let page = store::list(&state.db, &req).await?;
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut params: Vec<(String, String)> =
            p.iter().filter(|(k, _)| k != "cursor").cloned().collect();
        params.push(("cursor".into(), c.clone()));
        format!(
            "/users?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    });
    let teams = crate::teams::store::all(&state.db).await?;
    let roles = role_options(&s.ctx);
    Ok(render(&ListPage {
        ctx: s.ctx,
        page,
        teams,
        q,
        role,
        team_id,
        active,
        roles,
        next_href,
    })?)
}

/// The user form as the browser sends it.
#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Template)]
#[template(path = "users/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    id: Option<String>,
    form: UserForm,
    errors: FormErrors,
    teams: Vec<team::Model>,
    roles: Vec<(&'static str, &'static str)>,
    scopes: Vec<(&'static str, &'static str)>,
}

async fn form_page(
    state: &AppState,
    ctx: PageCtx,
    id: Option<String>,
    form: UserForm,
    errors: FormErrors,
) -> PageResult<Response> {
    let teams = crate::teams::store::all(&state.db).await?;
    let roles = role_options(&ctx);
    let scopes = scope_options(&ctx);
    Ok(render(&FormPage {
        ctx,
        id,
        form,
        errors,
        teams,
        roles,
        scopes,
    })?)
}

async fn new_form(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let form = UserForm {
        role: "sales".into(),
        active: Some("on".into()),
        ..Default::default()
    };
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s.ctx, None, form, errors).await
}

fn parse_role(
    form: &UserForm,
    errors: &mut Vec<crate::platform::error::FieldError>,
) -> Option<Role> {
    let r = Role::parse(&form.role);
    if r.is_none() {
        errors.push(crate::platform::error::FieldError::new(
            "role",
            "not_an_option",
            "unknown role",
        ));
    }
    r
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<UserForm>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let mut errs = Vec::new();
    let role = parse_role(&form, &mut errs);
    let result = match role {
        Some(role) if errs.is_empty() => {
            let input = NewUser {
                name: form.name.clone(),
                email: form.email.clone(),
                password: form.password.clone(),
                role,
                scope: Scope::parse(&form.scope),
                team_id: opt(&form.team_id),
                active: form.active.is_some(),
                timezone: None,
            };
            store::create(&state.db, state.clock.now(), &s.actor(), input).await
        }
        _ => Err(AppError::Validation(errs)),
    };
    match result {
        Ok(u) => Ok(redirect_with_flash(
            &state,
            &format!("/users/{}", u.id),
            "user_created",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(
                &state,
                s.ctx,
                None,
                UserForm {
                    password: String::new(),
                    ..form
                },
                errors,
            )
            .await
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    // Everyone may read the directory (as in the API); only administrators may change it.
    let u = store::get(&state.db, &id).await?;
    let form = UserForm {
        name: u.name,
        email: u.email,
        password: String::new(),
        role: u.role,
        scope: u.scope,
        team_id: u.team_id.unwrap_or_default(),
        active: u.active.then(|| "on".to_owned()),
        version: Some(u.version),
    };
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s.ctx, Some(id), form, errors).await
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<UserForm>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let mut errs = Vec::new();
    let role = parse_role(&form, &mut errs);
    let result = match role {
        Some(role) if errs.is_empty() => {
            let patch = UserPatch {
                name: Some(form.name.clone()),
                email: Some(form.email.clone()),
                password: opt(&form.password),
                role: Some(role),
                // "Default for the role" means exactly that, also when editing.
                scope: Some(Scope::parse(&form.scope).unwrap_or(role.default_scope())),
                team_id: Some(opt(&form.team_id)),
                active: Some(form.active.is_some()),
                locale: None,
                timezone: None,
                version: form.version,
            };
            match form.version {
                Some(v) => {
                    store::update(
                        &state.db,
                        state.clock.now(),
                        &s.actor(),
                        &id,
                        patch,
                        Some(v),
                    )
                    .await
                }
                None => Err(AppError::PreconditionRequired),
            }
        }
        _ => Err(AppError::Validation(errs)),
    };
    match result {
        Ok(u) => Ok(redirect_with_flash(
            &state,
            &format!("/users/{}", u.id),
            "saved",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(
                &state,
                s.ctx,
                Some(id),
                UserForm {
                    password: String::new(),
                    ..form
                },
                errors,
            )
            .await
        }
    }
}
