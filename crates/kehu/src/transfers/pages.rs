//! Transfer pages: the request form (from a customer page), and the list with
//! the approval inbox for managers.

use super::model::{NewTransfer, TransferView};
use super::store;
use crate::entities::{customer, user};
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{FormErrors, FormField, HtmlForm, Pairs, value, values};
use crate::platform::list::pairs;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/transfers", get(list).post(create))
        .route("/transfers/new", get(new_form))
        .route("/transfers/{id}/approve", post(approve))
        .route("/transfers/{id}/reject", post(reject))
}

struct Row {
    t: TransferView,
    requester: String,
    to: String,
    customers: String,
    at: String,
    decided_by: String,
    can_decide: bool,
}

#[derive(Template)]
#[template(path = "transfers/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    pending_for_me: usize,
}

async fn list(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let items = store::list(&state.db, &s.user, None).await?;
    let users = user::Entity::find().all(&state.db).await?;
    let name = |id: &str| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let ids: Vec<String> = items
        .iter()
        .flat_map(|t| serde_json::from_str::<Vec<String>>(&t.customer_ids).unwrap_or_default())
        .collect();
    let customers = customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids))
        .all(&state.db)
        .await?;
    let mut rows = Vec::new();
    for t in items {
        let can_decide = store::can_decide(&state.db, &s.user, &t).await?;
        let v = TransferView::from(t);
        rows.push(Row {
            requester: name(&v.requester_id),
            to: name(&v.to_user_id),
            customers: v
                .customer_ids
                .iter()
                .filter_map(|id| {
                    customers
                        .iter()
                        .find(|c| &c.id == id)
                        .map(|c| c.name.clone())
                })
                .collect::<Vec<_>>()
                .join("、"),
            at: s.ctx.time(&v.created_at),
            decided_by: v.decided_by.as_deref().map(name).unwrap_or_default(),
            can_decide,
            t: v,
        });
    }
    // What waits for this user's decision comes first.
    rows.sort_by_key(|r| !r.can_decide);
    let pending_for_me = rows.iter().filter(|r| r.can_decide).count();
    Ok(render(&ListPage {
        ctx: s.ctx,
        rows,
        pending_for_me,
    })?)
}

#[derive(Template)]
#[template(path = "transfers/form.html")]
struct FormPage {
    ctx: PageCtx,
    customers: Vec<customer::Model>,
    fields: Vec<FormField>,
    errors: FormErrors,
}

async fn form_page(
    state: &AppState,
    s: Signed,
    ids: Vec<String>,
    form: &Pairs,
    errors: FormErrors,
) -> PageResult<Response> {
    let mut customers = Vec::new();
    for id in &ids {
        customers.push(crate::customers::store::get(&state.db, &s.user, id).await?);
    }
    let users = user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?;
    let ctx = &s.ctx;
    let t = |k: &str| ctx.t(&format!("transfers.field.{k}"));
    let fields = vec![
        FormField::new(
            "to_user_id",
            t("to_user_id"),
            "select",
            &value(form, "to_user_id"),
        )
        .options(
            users
                .iter()
                .map(|u| (u.id.clone(), u.name.clone()))
                .collect(),
        )
        .required(),
        FormField::new("reason", t("reason"), "textarea", &value(form, "reason"))
            .required()
            .max(500)
            .wide(),
        FormField::new(
            "include_opportunities",
            t("include_opportunities"),
            "checkbox",
            &value(form, "include_opportunities"),
        ),
        FormField::new(
            "include_contracts",
            t("include_contracts"),
            "checkbox",
            &value(form, "include_contracts"),
        ),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    Ok(render(&FormPage {
        ctx: s.ctx,
        customers,
        fields,
        errors,
    })?)
}

async fn new_form(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let p = pairs(raw.as_deref())?;
    let ids: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "customer_id")
        .map(|(_, v)| v.clone())
        .collect();
    if ids.is_empty() {
        return Err(AppError::NotFound.into());
    }
    let errors = FormErrors::new(s.ctx.lang);
    form_page(&state, s, ids, &Vec::new(), errors).await
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let ids = values(&form, "customer_ids");
    let input = NewTransfer {
        customer_ids: ids.clone(),
        to_user_id: value(&form, "to_user_id"),
        reason: value(&form, "reason"),
        include_opportunities: !value(&form, "include_opportunities").is_empty(),
        include_contracts: !value(&form, "include_contracts").is_empty(),
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/transfers",
            "transfer_requested",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, ids, &form, errors).await
        }
    }
}

async fn decide(
    state: AppState,
    s: Signed,
    id: String,
    form: Pairs,
    approve: bool,
) -> PageResult<Response> {
    let comment = Some(value(&form, "comment"));
    match store::decide(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        approve,
        comment,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            "/transfers",
            if approve {
                "transfer_approved"
            } else {
                "transfer_rejected"
            },
        )),
        Err(AppError::Refused { reason, .. }) => Ok(redirect_with_flash(
            &state,
            "/transfers",
            &format!("refused_{reason}"),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn approve(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    decide(state, s, id, form, true).await
}

async fn reject(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    decide(state, s, id, form, false).await
}
