//! Customer pages: the list (filters, search, columns, saved views), the form (with duplicate warning).

use super::model::{CustomerPatch, CustomerView, KINDS, NewCustomer, STATUSES};
use super::store;
use crate::entities::{saved_view, user};
use crate::platform::auth::CurrentUser;
use crate::platform::custom::Def;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{
    FormErrors, FormField, HtmlForm, Pairs, custom_inputs, custom_values, opt_value, value,
};
use crate::platform::list::pairs;
use crate::platform::scope::DataScope;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers/new", get(new_form))
        .route("/customers/views", post(save_view))
        .route("/customers/views/{id}/delete", post(delete_view))
        .route("/customers/{id}", post(update))
        .route("/customers/{id}/edit", get(edit_form))
        .route("/customers/{id}/delete", post(delete))
        .route("/customers/{id}/restore", post(restore))
}

/// Columns a user can choose for the list (besides the name).
const COLUMNS: &[&str] = &[
    "kind",
    "status",
    "level",
    "industry",
    "size",
    "region",
    "source",
    "phone",
    "email",
    "website",
    "tags",
    "owner",
    "created_at",
    "updated_at",
];
const DEFAULT_COLUMNS: &[&str] = &["status", "level", "region", "phone", "owner", "updated_at"];

/// The users whose customers this user may see (owner filter and owner choices).
async fn users_in_scope(state: &AppState, me: &CurrentUser) -> PageResult<Vec<user::Model>> {
    let scope = DataScope::for_user(&state.db, me).await?;
    Ok(scope
        .filter(user::Entity::find(), user::Column::Id)
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?)
}

pub(crate) fn owner_name(users: &[user::Model], id: &Option<String>, ctx: &PageCtx) -> String {
    match id {
        None => ctx.t("customers.pool").to_owned(),
        Some(id) => users
            .iter()
            .find(|u| &u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
    }
}

pub(crate) fn cell(
    ctx: &PageCtx,
    c: &CustomerView,
    col: &str,
    users: &[user::Model],
    defs: &[Def],
) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match col {
        "kind" => ctx.label("customers.kind", &c.kind),
        "status" => ctx.label("customers.status", &c.status),
        "level" => o(&c.level),
        "industry" => o(&c.industry),
        "size" => o(&c.size),
        "region" => o(&c.region),
        "source" => o(&c.source),
        "phone" => o(&c.phone),
        "email" => o(&c.email),
        "website" => o(&c.website),
        "address" => o(&c.address),
        "birthday" => o(&c.birthday),
        "tags" => c.tags.join("、"),
        "owner" => owner_name(users, &c.owner_id, ctx),
        "created_at" => ctx.day(&c.created_at),
        "updated_at" => ctx.day(&c.updated_at),
        other => match other
            .strip_prefix("custom.")
            .and_then(|k| defs.iter().find(|d| d.key == k))
        {
            Some(d) => c
                .custom
                .get(&d.key)
                .map(|v| d.display(v))
                .unwrap_or_default(),
            None => String::new(),
        },
    }
}

struct Row {
    id: String,
    name: String,
    cells: Vec<String>,
    follow_up_due: bool,
}

/// A selectable column: key, label, chosen.
struct Column {
    key: String,
    label: String,
    chosen: bool,
    /// The list sorted by this column (reversed when it is already), if it sorts.
    sort_href: Option<String>,
    /// ▲ or ▼ when the list is sorted by this column.
    arrow: &'static str,
}

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    columns: Vec<Column>,
    total: u64,
    total_is_estimate: bool,
    filters: Vec<FormField>,
    q: String,
    views: Vec<saved_view::Model>,
    query: String,
    next_href: Option<String>,
    due_only: bool,
    /// The name column's sort link and arrow.
    name_sort: (String, &'static str),
}

impl ListPage {
    fn chosen(&self) -> Vec<&Column> {
        self.columns.iter().filter(|c| c.chosen).collect()
    }
}

fn options(ctx: &PageCtx, prefix: &str, codes: &[&str]) -> Vec<(String, String)> {
    codes
        .iter()
        .map(|c| (c.to_string(), ctx.label(prefix, c)))
        .collect()
}

async fn list(
    State(state): State<AppState>,
    s: Signed,
    RawQuery(raw): RawQuery,
) -> PageResult<Response> {
    let mut p = pairs(raw.as_deref())?;
    p.retain(|(_, v)| !v.trim().is_empty());
    let chosen: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "cols")
        .map(|(_, v)| v.clone())
        .collect();
    p.retain(|(k, _)| k != "cols");
    let query_without_cursor: Vec<(String, String)> = {
        let mut q = p.clone();
        q.retain(|(k, _)| k != "cursor");
        q.extend(chosen.iter().map(|c| ("cols".to_owned(), c.clone())));
        q
    };
    let mut parse = p.clone();
    let due_only = crate::platform::list::flag(
        crate::platform::list::take(&mut parse, "follow_up_due"),
        "follow_up_due",
    )?;
    let req = store::LIST.parse(&parse)?;
    let page = store::list(
        &state.db,
        &state.caches,
        &s.user,
        &req,
        false,
        due_only,
        state.clock.now(),
    )
    .await?;
    let defs =
        crate::custom_fields::store::defs_cached(&state.caches, &state.db, "customer").await?;
    let users = users_in_scope(&state, &s.user).await?;
    // Names for the owner column, deactivated owners included.
    let everyone = user::Entity::find().all(&state.db).await?;
    let (levels, _) = crate::settings::store::customer_levels(&state.db).await?;
    let ctx = &s.ctx;
    let chosen: Vec<String> = if chosen.is_empty() {
        DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()
    } else {
        chosen
    };
    let mut columns: Vec<Column> = COLUMNS
        .iter()
        .map(|c| Column {
            key: c.to_string(),
            label: ctx.t(&format!("customers.field.{c}")).to_owned(),
            chosen: false,
            sort_href: None,
            arrow: "",
        })
        .collect();
    columns.extend(defs.iter().map(|d| Column {
        key: format!("custom.{}", d.key),
        label: d.label(ctx.lang).to_owned(),
        chosen: false,
        sort_href: None,
        arrow: "",
    }));
    // Sortable: the list's sorts and custom fields other than multi-selects.
    let current_sort = value(&p, "sort");
    let sort_link = |key: &str| {
        let (next, arrow) = if current_sort == key {
            (format!("-{key}"), " ▲")
        } else if current_sort == format!("-{key}") {
            (key.to_owned(), " ▼")
        } else {
            (key.to_owned(), "")
        };
        let mut q = query_without_cursor.clone();
        q.retain(|(k, _)| k != "sort");
        q.push(("sort".into(), next));
        let href = format!(
            "/customers?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        );
        (href, arrow)
    };
    for c in &mut columns {
        c.chosen = chosen.contains(&c.key);
        let sortable = match c.key.strip_prefix("custom.") {
            Some(k) => defs
                .iter()
                .any(|d| d.key == k && d.kind != crate::platform::custom::FieldKind::MultiSelect),
            None => store::LIST.sorts.iter().any(|f| f.name == c.key),
        };
        if sortable {
            let (href, arrow) = sort_link(&c.key);
            c.sort_href = Some(href);
            c.arrow = arrow;
        }
    }
    let name_sort = sort_link("name");
    let rows = page
        .data
        .iter()
        .map(|c| Row {
            follow_up_due: c.follow_up_due,
            id: c.id.clone(),
            name: c.name.clone(),
            cells: columns
                .iter()
                .filter(|col| col.chosen)
                .map(|col| cell(ctx, c, &col.key, &everyone, &defs))
                .collect(),
        })
        .collect();
    let get = |k: &str| value(&p, k);
    let mut filters = vec![
        FormField::new(
            "status",
            ctx.t("customers.field.status"),
            "select",
            &get("status"),
        )
        .options(options(ctx, "customers.status", STATUSES)),
        FormField::new(
            "level",
            ctx.t("customers.field.level"),
            "select",
            &get("level"),
        )
        .options(levels.iter().map(|l| (l.clone(), l.clone())).collect()),
        FormField::new(
            "kind",
            ctx.t("customers.field.kind"),
            "select",
            &get("kind"),
        )
        .options(options(ctx, "customers.kind", KINDS)),
        FormField::new(
            "owner_id",
            ctx.t("customers.field.owner"),
            "select",
            &get("owner_id"),
        )
        .options(
            users
                .iter()
                .map(|u| (u.id.clone(), u.name.clone()))
                .collect(),
        ),
        FormField::new(
            "region",
            ctx.t("customers.field.region"),
            "text",
            &get("region"),
        ),
        FormField::new("tag", ctx.t("customers.field.tags"), "text", &get("tag")),
    ];
    for d in defs.iter().filter(|d| d.kind.has_options()) {
        let name = format!("custom.{}", d.key);
        filters.push(
            FormField::new(&name, d.label(ctx.lang), "select", &get(&name))
                .options(d.options.iter().map(|o| (o.clone(), o.clone())).collect()),
        );
    }
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut q = query_without_cursor.clone();
        q.push(("cursor".into(), c.clone()));
        format!(
            "/customers?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    });
    let views = crate::views::store::list(&state.db, &s.user.id, "customer").await?;
    let query = serde_urlencoded::to_string(&query_without_cursor).unwrap_or_default();
    let q = get("q");
    Ok(render(&ListPage {
        due_only,
        ctx: s.ctx,
        rows,
        columns,
        total: page.total.unwrap_or(0),
        total_is_estimate: page.total_is_estimate,
        filters,
        q,
        views,
        query,
        next_href,
        name_sort,
    })?)
}

async fn save_view(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    crate::views::pages::save(&state, &s, "customer", "/customers", &form).await
}

async fn delete_view(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    crate::views::pages::delete(&state, &s, "/customers", &id).await
}

#[derive(Template)]
#[template(path = "customers/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    id: Option<String>,
    version: Option<i64>,
    fields: Vec<FormField>,
    custom: Vec<FormField>,
    errors: FormErrors,
    duplicates: Vec<Value>,
}

/// The customer form's built-in fields, filled from `form` (a posted form or a stored record).
fn fields(
    ctx: &PageCtx,
    form: &Pairs,
    errors: &FormErrors,
    levels: &[String],
    owners: &[user::Model],
    pools: &[crate::entities::pool::Model],
) -> Vec<FormField> {
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("customers.field.{k}"));
    let owner_opts: Vec<(String, String)> = owners
        .iter()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    // Only users who see all records may put a customer in the pool (no owner).
    let may_pool = ctx
        .user
        .as_ref()
        .is_some_and(|u| u.scope == crate::platform::auth::Scope::All);
    let owner = FormField {
        required: !may_pool,
        empty_label: may_pool.then(|| ctx.t("customers.pool").to_owned()),
        ..FormField::new("owner_id", t("owner"), "select", &v("owner_id")).options(owner_opts)
    };
    let mut out = vec![
        FormField::new("name", t("name"), "text", &v("name")).required(),
        FormField::new("kind", t("kind"), "select", &v("kind"))
            .options(options(ctx, "customers.kind", KINDS))
            .required(),
        FormField::new("status", t("status"), "select", &v("status"))
            .options(options(ctx, "customers.status", STATUSES))
            .required(),
        FormField::new("level", t("level"), "select", &v("level"))
            .options(levels.iter().map(|l| (l.clone(), l.clone())).collect()),
        owner,
        FormField::new("industry", t("industry"), "text", &v("industry")).max(100),
        FormField::new("size", t("size"), "text", &v("size")).max(100),
        FormField::new("region", t("region"), "text", &v("region")).max(100),
        FormField::new("source", t("source"), "text", &v("source")).max(100),
        FormField::new("phone", t("phone"), "tel", &v("phone")).max(40),
        FormField::new("email", t("email"), "email", &v("email")).max(254),
        FormField::new("website", t("website"), "text", &v("website")).max(300),
        FormField::new("birthday", t("birthday"), "date", &v("birthday"))
            .hint(ctx.t("customers.birthday_hint")),
        FormField::new("tags", t("tags"), "text", &v("tags"))
            .max(700)
            .hint(ctx.t("customers.tags_hint")),
        FormField::new("address", t("address"), "text", &v("address"))
            .max(300)
            .wide(),
        FormField::new("notes", t("notes"), "textarea", &v("notes"))
            .max(10_000)
            .wide(),
    ];
    // The pool it returns to, when there is more than one to choose from.
    if pools.len() > 1 {
        let chosen = match v("pool_id") {
            p if p.is_empty() => crate::ownership::store::DEFAULT_POOL_ID.to_owned(),
            p => p,
        };
        out.insert(
            5,
            FormField::new("pool_id", t("pool"), "select", &chosen)
                .options(
                    pools
                        .iter()
                        .map(|p| (p.id.clone(), p.name.clone()))
                        .collect(),
                )
                .required(),
        );
    }
    out.into_iter().map(|f| f.with_errors(errors)).collect()
}

/// A stored customer as form pairs.
fn as_form(c: &CustomerView) -> Pairs {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name".into(), c.name.clone()),
        ("kind".into(), c.kind.clone()),
        ("status".into(), c.status.clone()),
        ("level".into(), o(&c.level)),
        ("owner_id".into(), o(&c.owner_id)),
        ("pool_id".into(), o(&c.pool_id)),
        ("industry".into(), o(&c.industry)),
        ("size".into(), o(&c.size)),
        ("region".into(), o(&c.region)),
        ("source".into(), o(&c.source)),
        ("phone".into(), o(&c.phone)),
        ("email".into(), o(&c.email)),
        ("website".into(), o(&c.website)),
        ("birthday".into(), o(&c.birthday)),
        ("tags".into(), c.tags.join(", ")),
        ("address".into(), o(&c.address)),
        ("notes".into(), o(&c.notes)),
    ]
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
    let (levels, _) = crate::settings::store::customer_levels(&state.db).await?;
    let owners = users_in_scope(state, &s.user).await?;
    let defs = crate::custom_fields::store::defs(&state.db, "customer").await?;
    let pools = crate::ownership::store::visible(&state.db, &s.user).await?;
    let fields = fields(&s.ctx, form, &errors, &levels, &owners, &pools);
    let custom = custom_inputs(&defs, s.ctx.lang, stored_custom, &errors);
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

async fn new_form(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let form: Pairs = vec![
        ("kind".into(), "company".into()),
        ("status".into(), "potential".into()),
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

/// Re-shows a posted form after an error: field errors, a stale version, or possible duplicates.
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
    let defs = crate::custom_fields::store::defs(&state.db, "customer").await?;
    let custom = custom_values(&form, &defs);
    let input = NewCustomer {
        name: value(&form, "name"),
        kind: opt_value(&form, "kind"),
        status: opt_value(&form, "status"),
        level: opt_value(&form, "level"),
        industry: opt_value(&form, "industry"),
        size: opt_value(&form, "size"),
        region: opt_value(&form, "region"),
        source: opt_value(&form, "source"),
        phone: opt_value(&form, "phone"),
        email: opt_value(&form, "email"),
        website: opt_value(&form, "website"),
        birthday: opt_value(&form, "birthday"),
        tags: Some(crate::platform::form::split_tags(&value(&form, "tags"))),
        address: opt_value(&form, "address"),
        notes: opt_value(&form, "notes"),
        // Without an owner field the creator owns it; an empty one means the pool.
        owner_id: form
            .iter()
            .any(|(k, _)| k == "owner_id")
            .then(|| opt_value(&form, "owner_id")),
        pool_id: opt_value(&form, "pool_id"),
        custom: Some(custom.clone()),
    };
    let force = !value(&form, "force").is_empty();
    match store::create(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        input,
        force,
    )
    .await
    {
        Ok(c) => Ok(redirect_with_flash(
            &state,
            &format!("/customers/{}", c.id),
            "customer_created",
        )),
        Err(e) => form_error(&state, s, None, None, form, custom, e).await,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = CustomerView::from(store::get(&state.db, &s.user, &id).await?);
    let errors = FormErrors::new(s.ctx.lang);
    let form = as_form(&c);
    form_page(
        &state,
        s,
        Some(id),
        Some(c.version),
        &form,
        &c.custom,
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
    let defs = crate::custom_fields::store::defs(&state.db, "customer").await?;
    let custom = custom_values(&form, &defs);
    let version = value(&form, "version").parse::<i64>().ok();
    let patch = CustomerPatch {
        name: Some(value(&form, "name")),
        kind: Some(value(&form, "kind")),
        status: Some(value(&form, "status")),
        level: Some(opt_value(&form, "level")),
        industry: Some(opt_value(&form, "industry")),
        size: Some(opt_value(&form, "size")),
        region: Some(opt_value(&form, "region")),
        source: Some(opt_value(&form, "source")),
        phone: Some(opt_value(&form, "phone")),
        email: Some(opt_value(&form, "email")),
        website: Some(opt_value(&form, "website")),
        birthday: Some(opt_value(&form, "birthday")),
        tags: Some(crate::platform::form::split_tags(&value(&form, "tags"))),
        address: Some(opt_value(&form, "address")),
        notes: Some(opt_value(&form, "notes")),
        owner_id: form
            .iter()
            .any(|(k, _)| k == "owner_id")
            .then(|| opt_value(&form, "owner_id")),
        pool_id: opt_value(&form, "pool_id"),
        custom: Some(custom.clone()),
        version,
    };
    let force = !value(&form, "force").is_empty();
    let result = match version {
        Some(v) => {
            store::update(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                patch,
                Some(v),
                force,
            )
            .await
        }
        None => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(c) => Ok(redirect_with_flash(
            &state,
            &format!("/customers/{}", c.id),
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
    store::delete(
        &state.db,
        state.clock.now(),
        &s.actor(),
        &s.user,
        &id,
        version,
    )
    .await?;
    Ok(redirect_with_flash(
        &state,
        "/customers",
        "customer_deleted",
    ))
}

async fn restore(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    store::restore(&state.db, state.clock.now(), &s.actor(), &s.user, &id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/customers/{id}"),
        "restored",
    ))
}
