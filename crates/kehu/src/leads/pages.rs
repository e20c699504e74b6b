//! Lead pages: the list with filters, search and bulk actions; the form (with
//! the duplicate warning); the lead page with its conversion and history.

use super::model::{BulkInput, ConvertInput, LeadPatch, LeadView, NewLead, STATUSES};
use super::store;
use crate::entities::{audit_log, customer, user};
use crate::platform::auth::Scope;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{
    FormErrors, FormField, HtmlForm, Pairs, custom_inputs, custom_values, opt_value, value, values,
};
use crate::platform::list::pairs;
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render, urlencode};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/leads", get(list).post(create))
        .route("/leads/new", get(new_form))
        .route("/leads/bulk", post(bulk))
        .route("/leads/{id}", get(detail).post(update))
        .route("/leads/{id}/edit", get(edit_form))
        .route("/leads/{id}/delete", post(delete))
        .route("/leads/{id}/convert", post(convert))
}

fn options(ctx: &PageCtx, prefix: &str, codes: &[String]) -> Vec<(String, String)> {
    codes
        .iter()
        .map(|c| (c.clone(), ctx.label(prefix, c)))
        .collect()
}

/// Active users this user may give leads to.
async fn owners(state: &AppState, s: &Signed) -> PageResult<Vec<user::Model>> {
    let scope = DataScope::for_user(&state.db, &s.user).await?;
    Ok(scope
        .filter(user::Entity::find(), user::Column::Id)
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?)
}

struct Row {
    l: LeadView,
    owner: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "leads/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    total: u64,
    total_is_estimate: bool,
    q: String,
    filters: Vec<FormField>,
    next_href: Option<String>,
    can_assign: bool,
    owners: Vec<user::Model>,
    statuses: Vec<(String, String)>,
    back: String,
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let req = store::LIST.parse(&p)?;
    let page = store::list(&state.db, &s.user, &req, false).await?;
    let ctx = &s.ctx;
    let (sources, _) = crate::settings::store::lead_sources(&state.db).await?;
    let owners = owners(&state, &s).await?;
    let everyone = user::Entity::find().all(&state.db).await?;
    let v = |k: &str| {
        p.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let statuses: Vec<String> = STATUSES.iter().map(|s| s.to_string()).collect();
    let mut filters = vec![
        FormField::new(
            "status",
            ctx.t("leads.field.status"),
            "select",
            &v("status"),
        )
        .options(options(ctx, "leads.status", &statuses)),
        FormField::new(
            "source",
            ctx.t("leads.field.source"),
            "select",
            &v("source"),
        )
        .options(options(ctx, "leads.source", &sources)),
    ];
    if s.user.scope != Scope::Own {
        filters.push(
            FormField::new(
                "owner_id",
                ctx.t("leads.field.owner_id"),
                "select",
                &v("owner_id"),
            )
            .options(
                owners
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect(),
            ),
        );
    }
    let base: Vec<(String, String)> = p.iter().filter(|(k, _)| k != "cursor").cloned().collect();
    let query = |extra: Option<(&str, &str)>| {
        let mut q = base.clone();
        if let Some((k, v)) = extra {
            q.push((k.to_owned(), v.to_owned()));
        }
        q.iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let next_href = page
        .next_cursor
        .as_ref()
        .map(|c| format!("/leads?{}", query(Some(("cursor", c)))));
    let rows = page
        .data
        .into_iter()
        .map(|l| Row {
            owner: match &l.owner_id {
                Some(o) => everyone
                    .iter()
                    .find(|u| &u.id == o)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                None => ctx.t("leads.unassigned").to_owned(),
            },
            updated: ctx.day(&l.updated_at),
            l,
        })
        .collect();
    let can_assign = s.user.is_admin() || s.user.scope != Scope::Own;
    Ok(render(&ListPage {
        total: page.total.unwrap_or(0),
        total_is_estimate: page.total_is_estimate,
        q: v("q"),
        back: format!("/leads?{}", query(None)),
        statuses: options(ctx, "leads.status", &statuses[..4]),
        ctx: s.ctx,
        rows,
        filters,
        next_href,
        can_assign,
        owners,
    })?)
}

async fn bulk(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let back = {
        let b = value(&form, "back");
        if b.starts_with("/leads") {
            crate::platform::web::safe_next(Some(&b))
        } else {
            "/leads".to_owned()
        }
    };
    let ids = values(&form, "ids");
    if ids.is_empty() {
        return Ok(redirect_with_flash(&state, &back, "bulk_none"));
    }
    let input = BulkInput {
        ids,
        status: Some(value(&form, "status")).filter(|v| !v.is_empty()),
        disqualify_reason: Some(value(&form, "disqualify_reason")).filter(|v| !v.is_empty()),
        owner_id: Some(value(&form, "owner_id")).filter(|v| !v.is_empty()),
    };
    match store::bulk(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "saved")),
        Err(AppError::Validation(errs)) => {
            let key = match errs.first().map(|e| e.field.as_str()) {
                Some("disqualify_reason") => "disqualify_reason_required",
                _ => "bulk_invalid",
            };
            Ok(redirect_with_flash(&state, &back, key))
        }
        Err(AppError::Refused { reason, .. }) => Ok(redirect_with_flash(
            &state,
            &back,
            &format!("refused_{reason}"),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "leads/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<String>,
    version: Option<i64>,
    fields: Vec<FormField>,
    custom: Vec<FormField>,
    errors: FormErrors,
    duplicates: Vec<Value>,
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    s: Signed,
    id: Option<String>,
    version: Option<i64>,
    form: &Pairs,
    stored_custom: &Value,
    errors: FormErrors,
    duplicates: Vec<Value>,
) -> PageResult<Response> {
    let ctx = &s.ctx;
    let (sources, _) = crate::settings::store::lead_sources(&state.db).await?;
    let owners = owners(state, &s).await?;
    let defs = crate::custom_fields::store::defs(&state.db, "lead").await?;
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("leads.field.{k}"));
    let may_unassign = s.user.scope != Scope::Own;
    let statuses: Vec<String> = STATUSES[..4].iter().map(|s| s.to_string()).collect();
    let fields = vec![
        FormField::new("name", t("name"), "text", &v("name"))
            .required()
            .max(100),
        FormField::new("company", t("company"), "text", &v("company")).max(200),
        FormField::new("title", t("title"), "text", &v("title")).max(100),
        FormField::new("phone", t("phone"), "tel", &v("phone"))
            .max(40)
            .hint(ctx.t("leads.reach_hint")),
        FormField::new("email", t("email"), "email", &v("email")).max(254),
        FormField::new("wechat", t("wechat"), "text", &v("wechat")).max(100),
        FormField::new("source", t("source"), "select", &v("source")).options(options(
            ctx,
            "leads.source",
            &sources,
        )),
        FormField::new("status", t("status"), "select", &v("status"))
            .options(options(ctx, "leads.status", &statuses))
            .required(),
        FormField::new("score", t("score"), "number", &v("score")).hint(ctx.t("leads.score_hint")),
        FormField {
            required: !may_unassign,
            empty_label: may_unassign.then(|| ctx.t("leads.unassigned").to_owned()),
            ..FormField::new("owner_id", t("owner_id"), "select", &v("owner_id")).options(
                owners
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect(),
            )
        },
        FormField::new("tags", t("tags"), "text", &v("tags"))
            .max(700)
            .hint(ctx.t("customers.tags_hint")),
        FormField::new(
            "disqualify_reason",
            t("disqualify_reason"),
            "text",
            &v("disqualify_reason"),
        )
        .max(500),
        FormField::new("notes", t("notes"), "textarea", &v("notes"))
            .max(10_000)
            .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    let custom = custom_inputs(&defs, ctx.lang, stored_custom, &errors);
    Ok(render(&FormPage {
        ctx: s.ctx,
        id,
        version,
        fields,
        custom,
        errors,
        duplicates,
    })?)
}

/// The score field: empty is 0; anything but a whole number is a field error.
fn score(form: &Pairs) -> Result<i32, AppError> {
    let v = value(form, "score");
    if v.is_empty() {
        return Ok(0);
    }
    v.parse::<i32>()
        .map_err(|_| AppError::field("score", "invalid_number", "must be a whole number"))
}

async fn new_form(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let form: Pairs = vec![
        ("status".into(), "new".into()),
        ("owner_id".into(), s.user.id.clone()),
    ];
    let errors = FormErrors::new(s.ctx.lang);
    form_page(
        &state,
        s,
        None,
        None,
        &form,
        &Value::Null,
        errors,
        Vec::new(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn form_error(
    state: &AppState,
    s: Signed,
    id: Option<String>,
    version: Option<i64>,
    form: Pairs,
    custom: Value,
    e: AppError,
) -> PageResult<Response> {
    let (errors, duplicates) = match e {
        AppError::Duplicate(m) => (FormErrors::new(s.ctx.lang), m),
        other => (FormErrors::from_error(s.ctx.lang, other)?, Vec::new()),
    };
    form_page(state, s, id, version, &form, &custom, errors, duplicates).await
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let defs = crate::custom_fields::store::defs(&state.db, "lead").await?;
    let custom = custom_values(&form, &defs);
    let force = !value(&form, "force").is_empty();
    let result = match score(&form) {
        Ok(sc) => {
            let input = NewLead {
                name: value(&form, "name"),
                company: opt_value(&form, "company"),
                title: opt_value(&form, "title"),
                phone: opt_value(&form, "phone"),
                email: opt_value(&form, "email"),
                wechat: opt_value(&form, "wechat"),
                source: opt_value(&form, "source"),
                status: opt_value(&form, "status"),
                score: Some(sc),
                tags: Some(crate::platform::form::split_tags(&value(&form, "tags"))),
                owner_id: form
                    .iter()
                    .any(|(k, _)| k == "owner_id")
                    .then(|| opt_value(&form, "owner_id")),
                disqualify_reason: opt_value(&form, "disqualify_reason"),
                notes: opt_value(&form, "notes"),
                custom: Some(custom.clone()),
                ..Default::default()
            };
            store::create(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                input,
                force,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(l) => Ok(redirect_with_flash(
            &state,
            &format!("/leads/{}", l.id),
            "lead_created",
        )),
        Err(e) => form_error(&state, s, None, None, form, custom, e).await,
    }
}

fn as_form(l: &LeadView) -> Pairs {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name".into(), l.name.clone()),
        ("company".into(), o(&l.company)),
        ("title".into(), o(&l.title)),
        ("phone".into(), o(&l.phone)),
        ("email".into(), o(&l.email)),
        ("wechat".into(), o(&l.wechat)),
        ("source".into(), o(&l.source)),
        ("status".into(), l.status.clone()),
        ("score".into(), l.score.to_string()),
        ("owner_id".into(), o(&l.owner_id)),
        ("tags".into(), l.tags.join(", ")),
        ("disqualify_reason".into(), o(&l.disqualify_reason)),
        ("notes".into(), o(&l.notes)),
    ]
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let l = LeadView::from(store::get(&state.db, &s.user, &id).await?);
    let errors = FormErrors::new(s.ctx.lang);
    let form = as_form(&l);
    form_page(
        &state,
        s,
        Some(id),
        Some(l.version),
        &form,
        &l.custom,
        errors,
        Vec::new(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let defs = crate::custom_fields::store::defs(&state.db, "lead").await?;
    let custom = custom_values(&form, &defs);
    let version = value(&form, "version").parse::<i64>().ok();
    let force = !value(&form, "force").is_empty();
    let result = match (score(&form), version) {
        (Ok(sc), Some(v)) => {
            let patch = LeadPatch {
                name: Some(value(&form, "name")),
                company: Some(opt_value(&form, "company")),
                title: Some(opt_value(&form, "title")),
                phone: Some(opt_value(&form, "phone")),
                email: Some(opt_value(&form, "email")),
                wechat: Some(opt_value(&form, "wechat")),
                source: Some(opt_value(&form, "source")),
                status: opt_value(&form, "status"),
                score: Some(sc),
                tags: Some(crate::platform::form::split_tags(&value(&form, "tags"))),
                owner_id: form
                    .iter()
                    .any(|(k, _)| k == "owner_id")
                    .then(|| opt_value(&form, "owner_id")),
                disqualify_reason: Some(opt_value(&form, "disqualify_reason")),
                notes: Some(opt_value(&form, "notes")),
                custom: Some(custom.clone()),
                version,
            };
            store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                patch,
                v,
                force,
            )
            .await
        }
        (Err(e), _) => Err(e),
        (_, None) => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(l) => Ok(redirect_with_flash(
            &state,
            &format!("/leads/{}", l.id),
            "saved",
        )),
        Err(e) => form_error(&state, s, Some(id), version, form, custom, e).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().ok();
    store::set_deleted(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        true,
        version,
    )
    .await?;
    Ok(redirect_with_flash(&state, "/leads", "lead_deleted"))
}

struct HistoryRow {
    at: String,
    actor: String,
    action: String,
}

#[derive(Template)]
#[template(path = "leads/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    l: LeadView,
    facts: Vec<(String, String)>,
    customers: Vec<customer::Model>,
    converted_to: Option<String>,
    history: Vec<HistoryRow>,
    duplicates: Vec<Value>,
}

async fn detail_page(
    state: &AppState,
    s: Signed,
    id: &str,
    duplicates: Vec<Value>,
) -> PageResult<Response> {
    let l = LeadView::from(store::get(&state.db, &s.user, id).await?);
    let ctx = &s.ctx;
    let users = user::Entity::find().all(&state.db).await?;
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|i| users.iter().find(|u| &u.id == i))
            .map(|u| u.name.clone())
    };
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let facts = vec![
        (ctx.t("leads.field.company").to_owned(), o(&l.company)),
        (ctx.t("leads.field.title").to_owned(), o(&l.title)),
        (ctx.t("leads.field.phone").to_owned(), o(&l.phone)),
        (ctx.t("leads.field.email").to_owned(), o(&l.email)),
        (ctx.t("leads.field.wechat").to_owned(), o(&l.wechat)),
        (
            ctx.t("leads.field.source").to_owned(),
            l.source
                .as_deref()
                .map(|s| ctx.label("leads.source", s))
                .unwrap_or_else(|| "—".into()),
        ),
        (ctx.t("leads.field.score").to_owned(), l.score.to_string()),
        (
            ctx.t("leads.field.owner_id").to_owned(),
            name_of(&l.owner_id).unwrap_or_else(|| ctx.t("leads.unassigned").to_owned()),
        ),
        (
            ctx.t("leads.field.tags").to_owned(),
            if l.tags.is_empty() {
                "—".into()
            } else {
                l.tags.join("、")
            },
        ),
        (
            ctx.t("leads.field.disqualify_reason").to_owned(),
            o(&l.disqualify_reason),
        ),
    ];
    // Customers to attach the lead to (the most recently changed the user sees).
    let customers = if l.converted_customer_id.is_none() {
        let scope = DataScope::for_user(&state.db, &s.user).await?;
        scope
            .filter(
                customer::Entity::find().filter(customer::Column::DeletedAt.is_null()),
                customer::Column::OwnerId,
            )
            .order_by_desc(customer::Column::UpdatedAt)
            .limit(200)
            .all(&state.db)
            .await?
    } else {
        Vec::new()
    };
    let converted_to = match &l.converted_customer_id {
        Some(c) => customer::Entity::find_by_id(c.clone())
            .one(&state.db)
            .await?
            .map(|c| c.name),
        None => None,
    };
    let activities = crate::entities::activity::Entity::find()
        .filter(crate::entities::activity::Column::LeadId.eq(id))
        .filter(crate::entities::activity::Column::DeletedAt.is_null())
        .order_by_desc(crate::entities::activity::Column::OccurredAt)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut history: Vec<(time::OffsetDateTime, HistoryRow)> = activities
        .into_iter()
        .map(|a| {
            (
                a.occurred_at,
                HistoryRow {
                    at: ctx.time(&a.occurred_at),
                    actor: name_of(&a.created_by).unwrap_or_default(),
                    action: format!(
                        "{}：{}",
                        ctx.label("activities.kinds", &a.kind),
                        a.subject.or(a.content).unwrap_or_default()
                    ),
                },
            )
        })
        .collect();
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::EntityType.eq("lead"))
        .filter(audit_log::Column::EntityId.eq(id))
        .order_by_desc(audit_log::Column::At)
        .order_by_desc(audit_log::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| {
            (
                a.at,
                HistoryRow {
                    at: ctx.time(&a.at),
                    actor: name_of(&a.actor_id)
                        .unwrap_or_else(|| ctx.t("leads.web_form").to_owned()),
                    action: ctx.label("audit.action", &a.action),
                },
            )
        })
        .collect::<Vec<_>>();
    history.extend(audit);
    history.sort_by_key(|h| std::cmp::Reverse(h.0));
    let history = history.into_iter().map(|(_, h)| h).collect();
    Ok(render(&DetailPage {
        ctx: s.ctx,
        l,
        facts,
        customers,
        converted_to,
        history,
        duplicates,
    })?)
}

async fn detail(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    detail_page(&state, s, &id, Vec::new()).await
}

async fn convert(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let input = ConvertInput {
        customer_id: opt_value(&form, "customer_id"),
        force: !value(&form, "force").is_empty(),
        create_opportunity: !value(&form, "create_opportunity").is_empty(),
    };
    match store::convert(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        input,
    )
    .await
    {
        Ok(c) => Ok(redirect_with_flash(
            &state,
            &format!("/customers/{}", c.customer_id),
            "lead_converted",
        )),
        Err(AppError::Duplicate(m)) => detail_page(&state, s, &id, m).await,
        Err(AppError::Refused { reason, .. }) => Ok(redirect_with_flash(
            &state,
            &format!("/leads/{id}"),
            &format!("refused_{reason}"),
        )),
        Err(AppError::Validation(_)) => Ok(redirect_with_flash(
            &state,
            &format!("/leads/{id}"),
            "convert_invalid",
        )),
        Err(e) => Err(e.into()),
    }
}

// ---- Lead settings (administrators): sources and web-to-lead forms ----

pub fn settings_router() -> Router<AppState> {
    Router::new()
        .route("/settings/leads", get(settings))
        .route("/settings/lead-sources", post(save_sources))
        .route("/settings/lead-forms", post(create_web_form))
        .route("/settings/lead-forms/{id}/toggle", post(toggle_web_form))
}

struct FormRow {
    f: super::model::LeadFormView,
    owner: String,
}

#[derive(Template)]
#[template(path = "leads/settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    sources: String,
    sources_version: i64,
    source_errors: FormErrors,
    forms: Vec<FormRow>,
    new_form: Vec<FormField>,
    form_errors: FormErrors,
    base_url: String,
}

async fn settings_page(
    state: &AppState,
    s: Signed,
    sources_form: Option<(String, FormErrors)>,
    web_form: Option<(Pairs, FormErrors)>,
    base_url: String,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let ctx = &s.ctx;
    let (sources, sources_version) = crate::settings::store::lead_sources(&state.db).await?;
    let (sources_text, source_errors) =
        sources_form.unwrap_or_else(|| (sources.join("\n"), FormErrors::new(ctx.lang)));
    let (form, form_errors) = web_form.unwrap_or_else(|| (Vec::new(), FormErrors::new(ctx.lang)));
    let users = user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?;
    let new_form = vec![
        FormField::new(
            "name",
            ctx.t("leads.form_field.name"),
            "text",
            &value(&form, "name"),
        )
        .required()
        .max(100),
        FormField::new(
            "source",
            ctx.t("leads.field.source"),
            "select",
            &value(&form, "source"),
        )
        .options(options(ctx, "leads.source", &sources)),
        FormField {
            empty_label: Some(ctx.t("leads.unassigned").to_owned()),
            ..FormField::new(
                "owner_id",
                ctx.t("leads.form_field.owner_id"),
                "select",
                &value(&form, "owner_id"),
            )
            .options(
                users
                    .iter()
                    .map(|u| (u.id.clone(), u.name.clone()))
                    .collect(),
            )
        },
        FormField::new(
            "thank_you",
            ctx.t("leads.form_field.thank_you"),
            "text",
            &value(&form, "thank_you"),
        )
        .max(1000)
        .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(&form_errors))
    .collect();
    let forms = store::forms(&state.db)
        .await?
        .into_iter()
        .map(|f| FormRow {
            owner: f
                .owner_id
                .as_ref()
                .and_then(|o| users.iter().find(|u| &u.id == o))
                .map(|u| u.name.clone())
                .unwrap_or_else(|| ctx.t("leads.unassigned").to_owned()),
            f: f.into(),
        })
        .collect();
    Ok(render(&SettingsPage {
        ctx: s.ctx,
        sources: sources_text,
        sources_version,
        source_errors,
        forms,
        new_form,
        form_errors,
        base_url,
    })?)
}

async fn settings(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
) -> PageResult<Response> {
    settings_page(
        &state,
        s,
        None,
        None,
        crate::platform::web::base_url(&state, &headers),
    )
    .await
}

async fn save_sources(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    s.user.require_admin()?;
    let version = value(&form, "version").parse::<i64>().ok();
    let text = value(&form, "sources");
    let list: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    match crate::settings::store::set_lead_sources(
        &state.db,
        state.clock.now(),
        &s.actor(),
        list,
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/leads", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            settings_page(
                &state,
                s,
                Some((text, errors)),
                None,
                crate::platform::web::base_url(&state, &headers),
            )
            .await
        }
    }
}

async fn create_web_form(
    State(state): State<AppState>,
    s: Signed,
    headers: axum::http::HeaderMap,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let input = super::model::NewLeadForm {
        name: value(&form, "name"),
        source: opt_value(&form, "source"),
        owner_id: opt_value(&form, "owner_id"),
        thank_you: opt_value(&form, "thank_you"),
    };
    match store::create_form(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/leads", "saved")),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            settings_page(
                &state,
                s,
                None,
                Some((form, errors)),
                crate::platform::web::base_url(&state, &headers),
            )
            .await
        }
    }
}

async fn toggle_web_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let active = value(&form, "active") == "true";
    let patch = super::model::LeadFormPatch {
        active: Some(active),
        version: Some(version),
        ..Default::default()
    };
    match store::update_form(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        patch,
        version,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash(&state, "/settings/leads", "saved")),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, "/settings/leads", "stale")),
        Err(e) => Err(e.into()),
    }
}
