//! `/`: the start page of a signed-in user.

use crate::entities::{audit_log, team, user};
use crate::platform::error::PageResult;
use crate::platform::state::AppState;
use crate::platform::web::{NavItem, PageCtx, Signed, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    team: String,
    scope_label: &'static str,
    users: u64,
    teams: u64,
    modules: Vec<NavItem>,
    recent: Vec<(String, String, String)>,
}

async fn home(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let db = &state.db;
    let team = match &s.user.team_id {
        Some(id) => team::Entity::find_by_id(id.clone())
            .one(db)
            .await?
            .map(|t| t.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let users = user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .count(db)
        .await?;
    let teams = team::Entity::find().count(db).await?;
    let recent = audit_log::Entity::find()
        .filter(audit_log::Column::ActorId.eq(s.user.id.clone()))
        .filter(audit_log::Column::EntityType.eq("auth"))
        .order_by_desc(audit_log::Column::At)
        .limit(5)
        .all(db)
        .await?
        .into_iter()
        .map(|a| {
            let key = format!("audit.action.{}", a.action);
            (
                s.ctx.time(&a.at),
                s.ctx.t(&key).to_owned(),
                a.ip.unwrap_or_default(),
            )
        })
        .collect();
    let scope_label = s.ctx.t(s.user.scope.label_key());
    let modules = s.ctx.nav().into_iter().filter(|n| n.href != "/").collect();
    Ok(render(&HomePage {
        ctx: s.ctx,
        team,
        scope_label,
        users,
        teams,
        modules,
        recent,
    })?)
}
