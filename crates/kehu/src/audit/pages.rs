//! The audit page: the log, newest first, filtered by entity, actor, action and time.

use super::store::{self, AuditEntry};
use crate::entities::user;
use crate::platform::error::PageResult;
use crate::platform::list::{Page, pairs};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, render};
use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use sea_orm::EntityTrait;

pub fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// One entry with its changes flattened for display.
struct Row {
    entry: AuditEntry,
    at: String,
    actor: String,
    changes: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    entity_types: Vec<String>,
    users: Vec<user::Model>,
    entity_type: String,
    actor_id: String,
    action: String,
    at_from: String,
    at_to: String,
    next_href: Option<String>,
}

impl ListPage {
    /// The translated name of an action (`audit.action.<action>`), or the action itself.
    fn action_label(&self, action: &str) -> String {
        let key = format!("audit.action.{action}");
        let t = self.ctx.t(&key);
        if t == key {
            action.to_owned()
        } else {
            t.to_owned()
        }
    }
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.is_empty());
    let get = |k: &str| {
        p.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (entity_type, actor_id, action, at_from, at_to) = (
        get("entity_type"),
        get("actor_id"),
        get("action"),
        get("at_from"),
        get("at_to"),
    );
    let req = store::LIST.parse(&p)?;
    let page: Page<AuditEntry> = store::list(&state.db, &req).await?;
    let users = user::Entity::find().all(&state.db).await?;
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut params: Vec<(String, String)> =
            p.iter().filter(|(k, _)| k != "cursor").cloned().collect();
        params.push(("cursor".into(), c.clone()));
        format!(
            "/audit?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    });
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let rows = page
        .data
        .into_iter()
        .map(|entry| {
            let actor = entry
                .actor_id
                .as_ref()
                .and_then(|id| users.iter().find(|u| &u.id == id))
                .map(|u| u.name.clone())
                .unwrap_or_default();
            let changes = entry
                .changes
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let old = v.get(0).map(show).unwrap_or_default();
                            let new = v.get(1).map(show).unwrap_or_default();
                            (k.clone(), old, new)
                        })
                        .collect()
                })
                .unwrap_or_default();
            Row {
                at: crate::platform::tz::local(entry.at, s.ctx.tz())
                    .format(&fmt)
                    .unwrap_or_default(),
                actor,
                changes,
                entry,
            }
        })
        .collect();
    let entity_types = store::entity_types(&state.db).await?;
    Ok(render(&ListPage {
        ctx: s.ctx,
        rows,
        entity_types,
        users,
        entity_type,
        actor_id,
        action,
        at_from,
        at_to,
        next_href,
    })?)
}
