//! The teams pages: the tree, create and edit (edit for administrators).

use super::model::{NewTeam, TeamPatch};
use super::store;
use crate::entities::{team, user};
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, HtmlForm, opt};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list).post(create))
        .route("/teams/new", get(new_form))
        .route("/teams/{id}", get(edit_form).post(update))
}

/// A team with its depth in the tree, for an indented list.
struct Row {
    team: team::Model,
    depth: usize,
    manager: String,
    members: i64,
}

#[derive(Template)]
#[template(path = "teams/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
}

fn tree_order(teams: &[team::Model]) -> Vec<(team::Model, usize)> {
    fn walk(
        teams: &[team::Model],
        parent: Option<&str>,
        depth: usize,
        out: &mut Vec<(team::Model, usize)>,
    ) {
        for t in teams.iter().filter(|t| t.parent_id.as_deref() == parent) {
            if out.iter().any(|(o, _)| o.id == t.id) {
                continue;
            }
            out.push((t.clone(), depth));
            walk(teams, Some(&t.id), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(teams, None, 0, &mut out);
    for t in teams {
        if !out.iter().any(|(o, _)| o.id == t.id) {
            out.push((t.clone(), 0));
        }
    }
    out
}

async fn list(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let teams = store::all(&state.db).await?;
    let users = store::people(&state.db).await?;
    let counts = store::member_counts(&state.db).await?;
    let rows = tree_order(&teams)
        .into_iter()
        .map(|(team, depth)| Row {
            manager: manager_name(&users, &team.manager_id),
            members: counts
                .iter()
                .find(|(t, _)| t.as_deref() == Some(team.id.as_str()))
                .map(|(_, n)| *n)
                .unwrap_or(0),
            team,
            depth,
        })
        .collect();
    Ok(render(&ListPage { ctx: s.ctx, rows })?)
}

fn manager_name(users: &[user::Model], id: &Option<String>) -> String {
    id.as_ref()
        .and_then(|id| users.iter().find(|u| &u.id == id))
        .map(|u| u.name.clone())
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    manager_id: String,
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Template)]
#[template(path = "teams/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<String>,
    form: TeamForm,
    errors: FormErrors,
    teams: Vec<(team::Model, usize)>,
    users: Vec<user::Model>,
}

impl FormPage {
    fn indent(&self, depth: &usize) -> String {
        "\u{3000}".repeat(*depth)
    }
}

async fn form_page(
    state: &AppState,
    ctx: PageCtx,
    id: Option<String>,
    form: TeamForm,
    errors: FormErrors,
) -> PageResult<Response> {
    let teams = tree_order(&store::all(&state.db).await?);
    let mut users = store::people(&state.db).await?;
    // A deactivated manager stays selectable, so saving the form does not drop them.
    if !form.manager_id.is_empty()
        && !users.iter().any(|u| u.id == form.manager_id)
        && let Ok(m) = store::person(&state.db, &form.manager_id).await
    {
        users.push(m);
    }
    Ok(render(&FormPage {
        ctx,
        id,
        form,
        errors,
        teams,
        users,
    })?)
}

async fn new_form(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    s.user.require_admin()?;
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s.ctx, None, TeamForm::default(), errors).await
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<TeamForm>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let input = NewTeam {
        name: form.name.clone(),
        parent_id: opt(&form.parent_id),
        manager_id: opt(&form.manager_id),
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), input).await {
        Ok(_) => Ok(redirect_with_flash(&state, "/teams", "team_created")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s.ctx, None, form, errors).await
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    if !s.user.is_admin() {
        return Err(AppError::Forbidden.into());
    }
    let t = store::get(&state.db, &id).await?;
    let form = TeamForm {
        name: t.name,
        parent_id: t.parent_id.unwrap_or_default(),
        manager_id: t.manager_id.unwrap_or_default(),
        version: Some(t.version),
    };
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s.ctx, Some(id), form, errors).await
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<TeamForm>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let patch = TeamPatch {
        name: Some(form.name.clone()),
        parent_id: Some(opt(&form.parent_id)),
        manager_id: Some(opt(&form.manager_id)),
        version: form.version,
    };
    let result = match form.version {
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
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, "/teams", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s.ctx, Some(id), form, errors).await
        }
    }
}
