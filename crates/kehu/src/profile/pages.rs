//! The customer's page (`GET /customers/{id}`): its profile, contacts, owner
//! history, timeline, and what the higher modules hold about it — deals,
//! quotes and orders, contracts (and, as they land, tickets, surveys, points).
//! It sits above every module it shows, so none of them imports another to
//! draw it. Also the recycle bin of customers and contacts (`/recycle-bin`).

use super::timeline::{self, TimelineItem};
use crate::contacts::model::ContactView;
use crate::customers::model::CustomerView;
use crate::entities::user;
use crate::platform::error::PageResult;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use sea_orm::EntityTrait;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}", get(detail))
        .route("/recycle-bin", get(recycle_bin))
}

/// A timeline entry ready for display.
struct Event {
    at: String,
    actor: String,
    what: String,
    changes: Vec<(String, String, String)>,
    /// The activity it shows, for its files and the upload form.
    activity_id: Option<String>,
    /// (id, file name, size in KB) of its files.
    files: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "customers/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    c: CustomerView,
    owner: String,
    facts: Vec<(String, String)>,
    custom: Vec<(String, String)>,
    contacts: Vec<ContactView>,
    events: Vec<Event>,
    /// (when, change) of the owner, newest first.
    ownership: Vec<(String, crate::ownership::model::OwnershipView)>,
    is_owner: bool,
    pool_name: String,
    /// The activity results to choose from in the quick-log form.
    results: Vec<String>,
    deals: Vec<crate::opportunities::pages::Row>,
    contracts: Vec<crate::contracts::pages::Row>,
    orders: Vec<crate::quotes::pages::DocRow>,
    purchases: crate::quotes::model::PurchaseSummary,
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join("、"),
        other => other.to_string(),
    }
}

fn events(ctx: &PageCtx, items: Vec<TimelineItem>) -> Vec<Event> {
    items
        .into_iter()
        .map(|i| Event {
            activity_id: (i.source == "activity")
                .then(|| i.entity_id.clone())
                .flatten(),
            files: i
                .attachments
                .iter()
                .map(|f| {
                    (
                        f.id.clone(),
                        f.file_name.clone(),
                        format!("{}", (f.size + 1023) / 1024),
                    )
                })
                .collect(),
            at: ctx.time(&i.at),
            actor: i
                .actor_name
                .clone()
                .unwrap_or_else(|| ctx.t("audit.system").to_owned()),
            what: if i.source == "activity" {
                ctx.label("activities.kinds", &i.action)
            } else {
                format!(
                    "{} · {}",
                    ctx.label("audit.action", &i.action),
                    ctx.label("timeline.entity", &i.entity_type)
                )
            },
            changes: i
                .changes
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                ctx.label("customers.field", k),
                                v.get(0).map(show).unwrap_or_default(),
                                match (k.as_str(), v.get(1).and_then(Value::as_str)) {
                                    ("result", Some(r)) => ctx.label("activities.results", r),
                                    _ => v.get(1).map(show).unwrap_or_default(),
                                },
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

async fn detail(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = CustomerView::from(crate::customers::store::get(&state.db, &s.user, &id).await?);
    let users = user::Entity::find().all(&state.db).await?;
    let defs = crate::custom_fields::store::defs(&state.db, "customer").await?;
    let ctx = &s.ctx;
    let owner = crate::customers::pages::owner_name(&users, &c.owner_id, ctx);
    let facts = [
        "kind", "status", "level", "industry", "size", "region", "source", "phone", "email",
        "website", "address", "birthday", "tags",
    ]
    .iter()
    .map(|k| {
        let v = crate::customers::pages::cell(ctx, &c, k, &users, &defs);
        (
            ctx.t(&format!("customers.field.{k}")).to_owned(),
            if v.is_empty() { "—".to_owned() } else { v },
        )
    })
    .collect();
    let custom = defs
        .iter()
        .map(|d| {
            (
                d.label(ctx.lang).to_owned(),
                c.custom
                    .get(&d.key)
                    .map(|v| d.display(v))
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "—".into()),
            )
        })
        .collect();
    let contacts = crate::contacts::store::of_customer(&state.db, &id)
        .await?
        .into_iter()
        .map(ContactView::from)
        .collect();
    let events = events(ctx, timeline::for_customer(&state.db, &s.user, &id).await?);
    let ownership = crate::ownership::store::history(&state.db, &id)
        .await?
        .into_iter()
        .map(|h| (ctx.time(&h.at), h))
        .collect();
    let is_owner = c.owner_id.as_deref() == Some(s.user.id.as_str());
    let pool_name = match &c.pool_id {
        Some(p) => crate::entities::pool::Entity::find_by_id(p.clone())
            .one(&state.db)
            .await?
            .map(|p| p.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let (results, _) = crate::settings::store::activity_results(&state.db).await?;
    let deals = crate::opportunities::pages::customer_rows(&state, &s.ctx, &s.user, &c.id).await?;
    let contracts = crate::contracts::pages::customer_rows(&state, &s.user, &c.id).await?;
    let orders = crate::quotes::pages::customer_orders(&state, &s, &c.id).await?;
    let purchases = crate::quotes::store::purchases(&state.db, &s.user, &c.id).await?;
    Ok(render(&DetailPage {
        deals,
        contracts,
        orders,
        purchases,
        results,
        ownership,
        is_owner,
        pool_name,
        ctx: s.ctx,
        c,
        owner,
        facts,
        custom,
        contacts,
        events,
    })?)
}

#[derive(Template)]
#[template(path = "customers/recycle_bin.html")]
struct BinPage {
    ctx: PageCtx,
    customers: crate::platform::list::Page<CustomerView>,
    contacts: crate::platform::list::Page<ContactView>,
}

impl BinPage {
    fn when(&self, t: &Option<time::OffsetDateTime>) -> String {
        t.as_ref().map(|t| self.ctx.time(t)).unwrap_or_default()
    }
}

async fn recycle_bin(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let creq = crate::customers::store::LIST.parse(&[
        ("sort".into(), "-updated_at".into()),
        ("limit".into(), "200".into()),
    ])?;
    let customers = crate::customers::store::list(
        &state.db,
        &state.caches,
        &s.user,
        &creq,
        true,
        false,
        state.clock.now(),
    )
    .await?;
    let kreq = crate::contacts::store::LIST.parse(&[
        ("sort".into(), "-updated_at".into()),
        ("limit".into(), "200".into()),
    ])?;
    let contacts = crate::contacts::store::list(&state.db, &s.user, &kreq, true).await?;
    Ok(render(&BinPage {
        ctx: s.ctx,
        customers,
        contacts,
    })?)
}
