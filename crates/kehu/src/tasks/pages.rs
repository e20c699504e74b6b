//! "My day": today's and overdue tasks, a quick form for a new one, and for
//! managers the team's overdue follow-ups.

use super::model::{NewTask, TaskPatch};
use super::store;
use crate::entities::{customer, task, user};
use crate::platform::auth::Scope;
use crate::platform::error::{AppError, PageResult};
use crate::platform::form::{HtmlForm, Pairs, value};
use crate::platform::state::AppState;
use crate::platform::web::{PageCtx, Signed, redirect_with_flash, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/my-day", get(my_day))
        .route("/tasks", post(create))
        .route("/tasks/{id}/done", post(done))
}

struct Row {
    t: task::Model,
    due: String,
    overdue: bool,
    customer: Option<(String, String)>,
    assignee: String,
}

#[derive(Template)]
#[template(path = "tasks/my_day.html")]
struct MyDayPage {
    ctx: PageCtx,
    mine: Vec<Row>,
    team: Vec<Row>,
    is_manager: bool,
    default_due: String,
    /// Customers (the user's, or the team's for managers) past their follow-up interval:
    /// (id, name, owner, last activity).
    due_customers: Vec<(String, String, String, String)>,
}

async fn my_day(State(state): State<AppState>, s: Signed) -> PageResult<Response> {
    let now = state.clock.now();
    let (mine, team) = store::my_day(&state.db, &s.user, now).await?;
    let ids: Vec<String> = mine
        .iter()
        .chain(team.iter())
        .filter_map(|t| t.customer_id.clone())
        .collect();
    // Names only of customers this user sees.
    let scope_for_names = crate::platform::scope::DataScope::for_user(&state.db, &s.user).await?;
    let customers = scope_for_names
        .filter(
            customer::Entity::find().filter(customer::Column::Id.is_in(ids)),
            customer::Column::OwnerId,
        )
        .all(&state.db)
        .await?;
    let users = user::Entity::find().all(&state.db).await?;
    let row = |t: task::Model| Row {
        due: s.ctx.time(&t.due_at),
        overdue: t.due_at < now,
        customer: t
            .customer_id
            .as_ref()
            .and_then(|c| customers.iter().find(|x| &x.id == c))
            .map(|c| (c.id.clone(), c.name.clone())),
        assignee: users
            .iter()
            .find(|u| u.id == t.assignee_id)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        t,
    };
    let (days, _) = crate::settings::store::follow_up_days(&state.db).await?;
    let scope = crate::platform::scope::DataScope::for_user(&state.db, &s.user).await?;
    let due_customers = scope
        .filter(
            customer::Entity::find()
                .filter(customer::Column::DeletedAt.is_null())
                .filter(crate::customers::store::follow_up_due_condition(&days, now)),
            customer::Column::OwnerId,
        )
        .order_by_asc(customer::Column::LastActivityAt)
        .limit(20)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|c| {
            (
                c.id,
                c.name,
                c.owner_id
                    .as_ref()
                    .and_then(|o| users.iter().find(|u| &u.id == o))
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                c.last_activity_at
                    .map(|t| s.ctx.day(&t))
                    .unwrap_or_else(|| "—".into()),
            )
        })
        .collect();
    let default_due = crate::platform::tz::form_value(now + time::Duration::hours(2), s.ctx.tz());
    Ok(render(&MyDayPage {
        due_customers,
        is_manager: s.user.scope != Scope::Own,
        mine: mine.into_iter().map(row).collect(),
        team: team.into_iter().map(row).collect(),
        ctx: s.ctx,
        default_due,
    })?)
}

async fn create(
    State(state): State<AppState>,
    s: Signed,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let input = NewTask {
        title: value(&form, "title"),
        due_at: crate::platform::form::local_time(&form, "due_at", s.ctx.tz()),
        kind: Some(value(&form, "kind")).filter(|v| !v.is_empty()),
        priority: Some(value(&form, "priority")).filter(|v| !v.is_empty()),
        ..Default::default()
    };
    match store::create(&state.db, state.clock.now(), &s.actor(), &s.user, input).await {
        Ok(_) => Ok(redirect_with_flash(&state, "/my-day", "task_created")),
        Err(AppError::Validation(errs)) => {
            let key = match errs.first().map(|e| (e.field.as_str(), e.code.as_str())) {
                Some(("due_at", "in_past")) => "task_due_in_past",
                Some(("title", _)) => "task_title_required",
                _ => "task_invalid",
            };
            Ok(redirect_with_flash(&state, "/my-day", key))
        }
        Err(e) => Err(e.into()),
    }
}

async fn done(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let patch = TaskPatch {
        status: Some("done".into()),
        version: Some(version),
        ..Default::default()
    };
    match store::update(
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
        Ok(_) => Ok(redirect_with_flash(&state, "/my-day", "task_done")),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, "/my-day", "stale")),
        Err(e) => Err(e.into()),
    }
}

// ---- Editing a task ----

pub fn edit_router() -> Router<AppState> {
    Router::new().route("/tasks/{id}/edit", get(edit_form).post(save))
}

#[derive(Template)]
#[template(path = "tasks/form.html")]
struct TaskForm {
    ctx: PageCtx,
    id: String,
    version: i64,
    fields: Vec<crate::platform::form::FormField>,
    errors: crate::platform::form::FormErrors,
}

async fn task_form(
    state: &AppState,
    s: Signed,
    t: &task::Model,
    form: &Pairs,
    errors: crate::platform::form::FormErrors,
) -> PageResult<Response> {
    use crate::platform::form::FormField;
    let ctx = &s.ctx;
    let scope = crate::platform::scope::DataScope::for_user(&state.db, &s.user).await?;
    let people = scope
        .filter(user::Entity::find(), user::Column::Id)
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?;
    let v = |k: &str| value(form, k);
    let opts = |prefix: &str, codes: &[&str]| -> Vec<(String, String)> {
        codes
            .iter()
            .map(|c| (c.to_string(), ctx.label(prefix, c)))
            .collect()
    };
    let fields = vec![
        FormField::new("title", ctx.t("tasks.title"), "text", &v("title"))
            .required()
            .max(200)
            .wide(),
        FormField::new(
            "due_at",
            ctx.t("tasks.due_at"),
            "datetime-local",
            &v("due_at"),
        )
        .required(),
        FormField::new(
            "remind_at",
            ctx.t("tasks.remind_at"),
            "datetime-local",
            &v("remind_at"),
        ),
        FormField::new(
            "assignee_id",
            ctx.t("tasks.assignee"),
            "select",
            &v("assignee_id"),
        )
        .options(
            people
                .iter()
                .map(|u| (u.id.clone(), u.name.clone()))
                .collect(),
        )
        .required(),
        FormField::new("status", ctx.t("tasks.status"), "select", &v("status"))
            .options(opts("tasks.status_kind", super::model::STATUSES))
            .required(),
        FormField::new("kind", ctx.t("tasks.kind_label"), "select", &v("kind"))
            .options(opts("tasks.kind", super::model::KINDS))
            .required(),
        FormField::new(
            "priority",
            ctx.t("tasks.priority"),
            "select",
            &v("priority"),
        )
        .options(opts("tasks.priority_level", super::model::PRIORITIES))
        .required(),
        FormField::new("notes", ctx.t("tasks.notes"), "textarea", &v("notes"))
            .max(10_000)
            .wide(),
    ]
    .into_iter()
    .map(|f| f.with_errors(&errors))
    .collect();
    Ok(render(&TaskForm {
        ctx: s.ctx,
        id: t.id.clone(),
        version: t.version,
        fields,
        errors,
    })?)
}

async fn edit_form(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let t = store::get(&state.db, &s.user, &id).await?;
    let form: Pairs = vec![
        ("title".into(), t.title.clone()),
        (
            "due_at".into(),
            crate::platform::tz::form_value(t.due_at, s.ctx.tz()),
        ),
        (
            "remind_at".into(),
            t.remind_at
                .map(|r| crate::platform::tz::form_value(r, s.ctx.tz()))
                .unwrap_or_default(),
        ),
        ("assignee_id".into(), t.assignee_id.clone()),
        ("status".into(), t.status.clone()),
        ("kind".into(), t.kind.clone()),
        ("priority".into(), t.priority.clone()),
        ("notes".into(), t.notes.clone().unwrap_or_default()),
    ];
    let errors = crate::platform::form::FormErrors::new(s.ctx.lang);
    task_form(&state, s, &t, &form, errors).await
}

async fn save(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    HtmlForm(form): HtmlForm<Pairs>,
) -> PageResult<Response> {
    let version = value(&form, "version").parse::<i64>().unwrap_or(0);
    let patch = TaskPatch {
        title: Some(value(&form, "title")),
        due_at: Some(crate::platform::form::local_time(
            &form,
            "due_at",
            s.ctx.tz(),
        )),
        remind_at: Some(crate::platform::form::local_time(
            &form,
            "remind_at",
            s.ctx.tz(),
        )),
        assignee_id: Some(value(&form, "assignee_id")),
        priority: Some(value(&form, "priority")),
        status: Some(value(&form, "status")),
        kind: Some(value(&form, "kind")),
        notes: Some(value(&form, "notes")),
        version: Some(version),
    };
    match store::update(
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
        Ok(_) => Ok(redirect_with_flash(&state, "/my-day", "saved")),
        Err(e) => {
            let t = store::get(&state.db, &s.user, &id).await?;
            let errors = crate::platform::form::FormErrors::from_error(s.ctx.lang, e)?;
            task_form(&state, s, &t, &form, errors).await
        }
    }
}
