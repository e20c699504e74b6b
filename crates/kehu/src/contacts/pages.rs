//! Contact pages: the list, and the form to add, change or delete a contact.

use super::model::{ContactPatch, ContactView, NewContact, ROLES};
use super::store;
use crate::entities::customer;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{
    FormErrors, FormField, HtmlForm, Pairs, custom_inputs, custom_values, opt_value, value,
};
use crate::platform::list::pairs;
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/views", post(save_view))
        .route("/contacts/views/{id}/delete", post(delete_view))
        .route("/contacts/new", get(new_form))
        .route("/contacts/{id}", post(update))
        .route("/contacts/{id}/edit", get(edit_form))
        .route("/contacts/{id}/delete", post(delete))
        .route("/contacts/{id}/restore", post(restore))
}

struct Row {
    c: ContactView,
    customer: String,
    cells: Vec<String>,
}

/// A selectable column: key, label, chosen.
struct Column {
    key: String,
    label: String,
    chosen: bool,
}

/// Columns a user can choose (besides the name).
const COLUMNS: &[&str] = &[
    "customer",
    "title",
    "department",
    "role",
    "mobile",
    "phone",
    "email",
    "wechat",
    "birthday",
    "is_primary",
    "updated_at",
];
const DEFAULT_COLUMNS: &[&str] = &["customer", "title", "mobile", "email"];

#[derive(Template)]
#[template(path = "contacts/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    columns: Vec<Column>,
    filters: Vec<FormField>,
    q: String,
    total: u64,
    next_href: Option<String>,
    views: Vec<crate::entities::saved_view::Model>,
    query: String,
}

impl ListPage {
    fn chosen(&self) -> Vec<&Column> {
        self.columns.iter().filter(|c| c.chosen).collect()
    }
}

fn cell(
    ctx: &PageCtx,
    c: &ContactView,
    customer: &str,
    col: &str,
    defs: &[crate::platform::custom::Def],
) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match col {
        "customer" => customer.to_owned(),
        "title" => o(&c.title),
        "department" => o(&c.department),
        "role" => ctx.label("contacts.role", &c.role),
        "mobile" => o(&c.mobile),
        "phone" => o(&c.phone),
        "email" => o(&c.email),
        "wechat" => o(&c.wechat),
        "birthday" => o(&c.birthday),
        "is_primary" => {
            if c.is_primary {
                ctx.t("contacts.primary").to_owned()
            } else {
                String::new()
            }
        }
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

async fn save_view(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    crate::views::pages::save(&state, &s, "contact", "/contacts", &form).await
}

async fn delete_view(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    crate::views::pages::delete(&state, &s, "/contacts", &id).await
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
    let req = store::LIST.parse(&p)?;
    let page = store::list(&state.db, &s.user, &req, false).await?;
    let defs = crate::custom_fields::store::defs(&state.db, "contact").await?;
    let chosen: Vec<String> = if chosen.is_empty() {
        DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()
    } else {
        chosen
    };
    let ids: Vec<String> = page.data.iter().map(|c| c.customer_id.clone()).collect();
    let customers = customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids))
        .all(&state.db)
        .await?;
    let next_href = page.next_cursor.as_ref().map(|c| {
        let mut q = query_without_cursor.clone();
        q.push(("cursor".into(), c.clone()));
        format!(
            "/contacts?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    });
    let total = page.total.unwrap_or(0);
    let ctx = &s.ctx;
    let mut columns: Vec<Column> = COLUMNS
        .iter()
        .map(|c| Column {
            key: c.to_string(),
            label: if *c == "customer" {
                ctx.t("contacts.customer").to_owned()
            } else {
                ctx.label("contacts.field", c)
            },
            chosen: chosen.iter().any(|x| x == c),
        })
        .collect();
    columns.extend(defs.iter().map(|d| Column {
        key: format!("custom.{}", d.key),
        label: d.label(ctx.lang).to_owned(),
        chosen: chosen.iter().any(|x| x == &format!("custom.{}", d.key)),
    }));
    let rows = page
        .data
        .into_iter()
        .map(|c| {
            let customer = customers
                .iter()
                .find(|x| x.id == c.customer_id)
                .map(|x| x.name.clone())
                .unwrap_or_default();
            Row {
                cells: columns
                    .iter()
                    .filter(|col| col.chosen)
                    .map(|col| cell(ctx, &c, &customer, &col.key, &defs))
                    .collect(),
                customer,
                c,
            }
        })
        .collect();
    let views = crate::views::store::list(&state.db, &s.user.id, "contact").await?;
    let query = serde_urlencoded::to_string(&query_without_cursor).unwrap_or_default();
    let roles = ROLES
        .iter()
        .map(|r| (r.to_string(), ctx.label("contacts.role", r)))
        .collect();
    let yes_no = vec![
        ("true".to_owned(), ctx.t("contacts.primary").to_owned()),
        ("false".to_owned(), ctx.t("contacts.not_primary").to_owned()),
    ];
    let filters = vec![
        FormField::new(
            "role",
            ctx.t("contacts.field.role"),
            "select",
            &value(&p, "role"),
        )
        .options(roles),
        FormField::new(
            "is_primary",
            ctx.t("contacts.field.is_primary"),
            "select",
            &value(&p, "is_primary"),
        )
        .options(yes_no),
        FormField::new(
            "department",
            ctx.t("contacts.field.department"),
            "text",
            &value(&p, "department"),
        ),
    ];
    Ok(render(&ListPage {
        q: value(&p, "q"),
        ctx: s.ctx,
        rows,
        columns,
        filters,
        total,
        next_href,
        views,
        query,
    })?)
}

#[derive(Template)]
#[template(path = "contacts/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<String>,
    version: Option<i64>,
    customer_id: String,
    customer_name: String,
    fields: Vec<FormField>,
    custom: Vec<FormField>,
    errors: FormErrors,
}

fn fields(ctx: &PageCtx, form: &Pairs, errors: &FormErrors) -> Vec<FormField> {
    let v = |k: &str| value(form, k);
    let t = |k: &str| ctx.t(&format!("contacts.field.{k}"));
    let roles = ROLES
        .iter()
        .map(|r| (r.to_string(), ctx.label("contacts.role", r)))
        .collect();
    vec![
        FormField::new("name", t("name"), "text", &v("name"))
            .required()
            .max(100),
        FormField::new("title", t("title"), "text", &v("title")).max(100),
        FormField::new("department", t("department"), "text", &v("department")).max(100),
        FormField::new("role", t("role"), "select", &v("role"))
            .options(roles)
            .required(),
        FormField::new("mobile", t("mobile"), "tel", &v("mobile")).max(40),
        FormField::new("phone", t("phone"), "tel", &v("phone")).max(40),
        FormField::new("email", t("email"), "email", &v("email")).max(254),
        FormField::new("wechat", t("wechat"), "text", &v("wechat")).max(100),
        FormField::new("birthday", t("birthday"), "date", &v("birthday")),
        FormField::new("is_primary", t("is_primary"), "checkbox", &v("is_primary")),
        FormField::new("notes", t("notes"), "textarea", &v("notes"))
            .max(10_000)
            .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(errors))
    .collect()
}

fn as_form(c: &ContactView) -> Pairs {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        ("name".into(), c.name.clone()),
        ("title".into(), o(&c.title)),
        ("department".into(), o(&c.department)),
        ("role".into(), c.role.clone()),
        ("mobile".into(), o(&c.mobile)),
        ("phone".into(), o(&c.phone)),
        ("email".into(), o(&c.email)),
        ("wechat".into(), o(&c.wechat)),
        ("birthday".into(), o(&c.birthday)),
        (
            "is_primary".into(),
            if c.is_primary {
                "on".into()
            } else {
                String::new()
            },
        ),
        ("notes".into(), o(&c.notes)),
    ]
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    s: Signed,
    id: Option<String>,
    version: Option<i64>,
    customer_id: String,
    form: &Pairs,
    stored_custom: &Value,
    errors: FormErrors,
) -> PageResult<Response> {
    let customer = crate::customers::store::get(&state.db, &s.user, &customer_id).await?;
    let defs = crate::custom_fields::store::defs(&state.db, "contact").await?;
    let fields = fields(&s.ctx, form, &errors);
    let custom = custom_inputs(&defs, s.ctx.lang, stored_custom, &errors);
    Ok(render(&FormPage {
        ctx: s.ctx,
        id,
        version,
        customer_id,
        customer_name: customer.name,
        fields,
        custom,
        errors,
    })?)
}

#[derive(Deserialize)]
struct NewQuery {
    customer_id: String,
}

async fn new_form(
    State(state): State<AppState>,
    s: Signed,
    Query(q): Query<NewQuery>,
) -> PageResult<Response> {
    let form: Pairs = vec![("role".into(), "other".into())];
    let errors = FormErrors::new(s.ctx.lang);
    form_page(
        &state,
        s,
        None,
        None,
        q.customer_id,
        &form,
        &Value::Null,
        errors,
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let defs = crate::custom_fields::store::defs(&state.db, "contact").await?;
    let custom = custom_values(&form, &defs);
    let customer_id = value(&form, "customer_id");
    let input = NewContact {
        customer_id: Some(customer_id.clone()),
        name: value(&form, "name"),
        title: opt_value(&form, "title"),
        department: opt_value(&form, "department"),
        phone: opt_value(&form, "phone"),
        mobile: opt_value(&form, "mobile"),
        email: opt_value(&form, "email"),
        wechat: opt_value(&form, "wechat"),
        birthday: opt_value(&form, "birthday"),
        role: opt_value(&form, "role"),
        is_primary: !value(&form, "is_primary").is_empty(),
        notes: opt_value(&form, "notes"),
        custom: Some(custom.clone()),
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/customers/{customer_id}"),
            "contact_saved",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(&state, s, None, None, customer_id, &form, &custom, errors).await
        }
    }
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = ContactView::from(store::get(&state.db, &s.user, &id).await?);
    let errors = FormErrors::new(s.ctx.lang);
    let form = as_form(&c);
    form_page(
        &state,
        s,
        Some(id),
        Some(c.version),
        c.customer_id.clone(),
        &form,
        &c.custom,
        errors,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let old = store::get(&state.db, &s.user, &id).await?;
    let defs = crate::custom_fields::store::defs(&state.db, "contact").await?;
    let custom = custom_values(&form, &defs);
    let version = value(&form, "version").parse::<i64>().ok();
    let patch = ContactPatch {
        name: Some(value(&form, "name")),
        role: Some(value(&form, "role")),
        is_primary: Some(!value(&form, "is_primary").is_empty()),
        title: Some(opt_value(&form, "title")),
        department: Some(opt_value(&form, "department")),
        phone: Some(opt_value(&form, "phone")),
        mobile: Some(opt_value(&form, "mobile")),
        email: Some(opt_value(&form, "email")),
        wechat: Some(opt_value(&form, "wechat")),
        birthday: Some(opt_value(&form, "birthday")),
        notes: Some(opt_value(&form, "notes")),
        custom: Some(custom.clone()),
        version,
    };
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
            )
            .await
        }
        None => Err(AppError::PreconditionRequired),
    };
    match result {
        Ok(c) => Ok(redirect_with_flash(
            &state,
            &format!("/customers/{}", c.customer_id),
            "contact_saved",
        )),
        Err(e) => {
            let errors = FormErrors::from_error(s.ctx.lang, e)?;
            form_page(
                &state,
                s,
                Some(id),
                version,
                old.customer_id,
                &form,
                &custom,
                errors,
            )
            .await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let old = store::get(&state.db, &s.user, &id).await?;
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
        &format!("/customers/{}", old.customer_id),
        "contact_deleted",
    ))
}

async fn restore(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let c = store::restore(&state.db, state.clock.now(), &s.actor(), &s.user, &id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/customers/{}", c.customer_id),
        "restored",
    ))
}
