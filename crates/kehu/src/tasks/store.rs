//! Task queries: the only place that reads or writes `tasks`. A task is
//! visible to the users whose scope covers its assignee, and to its author.

use super::model::{KINDS, NewTask, PRIORITIES, STATUSES, TaskPatch, TaskView};
use crate::entities::{activity, task};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{CurrentUser, Scope};
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::scope::DataScope;
use crate::platform::validate::{self, Checks, max_len, one_of, required_text};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub static LIST: ListSpec<task::Column> = ListSpec {
    filters: &[
        Field::one_of("status", task::Column::Status, STATUSES),
        Field::one_of("kind", task::Column::Kind, KINDS),
        Field::one_of("priority", task::Column::Priority, PRIORITIES),
        Field::new("assignee_id", task::Column::AssigneeId, Kind::Text),
        Field::new("customer_id", task::Column::CustomerId, Kind::Text),
        Field::new("lead_id", task::Column::LeadId, Kind::Text),
        Field::new("due_at", task::Column::DueAt, Kind::Time),
    ],
    sorts: &[
        Field::new("due_at", task::Column::DueAt, Kind::Time),
        Field::new("created_at", task::Column::CreatedAt, Kind::Time),
    ],
    default_sort: "due_at",
    id: task::Column::Id,
    search: &[task::Column::Title],
    fulltext: None,
    custom: false,
};

fn scoped(scope: &DataScope, user: &CurrentUser) -> Select<task::Entity> {
    task::Entity::find().filter(
        Condition::any()
            .add(scope.condition(task::Column::AssigneeId))
            .add(task::Column::CreatedBy.eq(user.id.clone())),
    )
}

pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<task::Column>,
    now: OffsetDateTime,
) -> AppResult<Page<TaskView>> {
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req
        .fetch(db, scoped(&scope, user), Condition::all())
        .await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "created_at" => time_key(&m.created_at),
                _ => time_key(&m.due_at),
            };
            (v, m.id.clone())
        },
        |m| TaskView::new(m, now),
    ))
}

/// A task `user` may change: its assignee must be someone the user's scope covers
/// (its author keeps reading it after handing it on, but not changing it).
async fn get_writable<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<task::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scope
        .filter(task::Entity::find(), task::Column::AssigneeId)
        .filter(task::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<task::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope, user)
        .filter(task::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn view_json(m: &task::Model) -> Value {
    json!({
        "title": m.title, "due_at": time_key(&m.due_at), "remind_at": m.remind_at.map(|t| time_key(&t)),
        "assignee_id": m.assignee_id, "customer_id": m.customer_id, "lead_id": m.lead_id, "opportunity_id": m.opportunity_id,
        "priority": m.priority, "status": m.status, "kind": m.kind, "notes": m.notes,
    })
}

/// A task another module makes on someone's behalf (a follow-up an activity
/// asks for, a task an automation rule sets).
#[derive(Debug, Clone, Default)]
pub struct AutoTask {
    pub assignee_id: String,
    pub title: String,
    pub due: Option<OffsetDateTime>,
    pub customer_id: Option<String>,
    pub lead_id: Option<String>,
    pub activity_id: Option<String>,
    pub opportunity_id: Option<String>,
    pub kind: &'static str,
    pub notes: Option<String>,
    pub created_by: Option<String>,
}

/// Stores an `AutoTask` (inside the caller's transaction); the reminder goes
/// out half an hour before it is due.
pub async fn insert_auto<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    actor: &Actor,
    t: AutoTask,
) -> AppResult<task::Model> {
    let title: String = if t.title.trim().is_empty() {
        "跟进 Follow up".to_owned()
    } else {
        t.title.trim().chars().take(200).collect()
    };
    let due = t.due.unwrap_or(now);
    let m = task::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        title: Set(title),
        due_at: Set(due),
        remind_at: Set(Some(due - time::Duration::minutes(30))
            .filter(|r| *r > now)
            .or(Some(due))),
        reminded_at: Set(None),
        assignee_id: Set(t.assignee_id),
        customer_id: Set(t.customer_id),
        lead_id: Set(t.lead_id),
        activity_id: Set(t.activity_id),
        opportunity_id: Set(t.opportunity_id),
        priority: Set("normal".into()),
        status: Set("open".into()),
        kind: Set(t.kind.to_owned()),
        notes: Set(t.notes),
        done_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(t.created_by),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        now,
        actor,
        "task",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    Ok(m)
}

/// The follow-up task an activity asks for, assigned to its author.
#[allow(clippy::too_many_arguments)]
pub async fn insert_follow_up<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    a: &activity::Model,
    title: &str,
    due: OffsetDateTime,
    customer_id: Option<String>,
    lead_id: Option<String>,
) -> AppResult<task::Model> {
    insert_auto(
        db,
        now,
        actor,
        AutoTask {
            assignee_id: user.id.clone(),
            title: title.to_owned(),
            due: Some(due),
            customer_id,
            lead_id,
            activity_id: Some(a.id.clone()),
            kind: "follow_up",
            notes: a.next_step.clone(),
            created_by: Some(user.id.clone()),
            ..Default::default()
        },
    )
    .await
}

/// Checks the parts of a task every write shares; returns (due, remind).
#[allow(clippy::too_many_arguments)]
async fn check<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    now: OffsetDateTime,
    title: &str,
    due: &str,
    remind: Option<&str>,
    assignee: &str,
    assignee_changed: bool,
    priority: &str,
    status: &str,
    kind: &str,
    notes: Option<&str>,
    creating: bool,
) -> AppResult<(OffsetDateTime, Option<OffsetDateTime>)> {
    let mut c = Checks::default();
    c.add(required_text("title", title, 200));
    if title.contains(['\n', '\r']) {
        c.push("title", "invalid_characters", "must be one line");
    }
    c.add(one_of("priority", priority, PRIORITIES));
    c.add(one_of("status", status, STATUSES));
    c.add(one_of("kind", kind, KINDS));
    if let Some(n) = notes {
        c.add(max_len("notes", n, 10_000));
    }
    let mut errors = c.0;
    let due_at = match validate::time("due_at", due) {
        Ok(t) if creating && t <= now => {
            errors.push(FieldError::new(
                "due_at",
                "in_past",
                "must be in the future",
            ));
            t
        }
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            now
        }
    };
    let remind_at = match remind.filter(|r| !r.trim().is_empty()) {
        None => None,
        Some(r) => match validate::time("remind_at", r) {
            Ok(t) if t > due_at => {
                errors.push(FieldError::new(
                    "remind_at",
                    "after_due",
                    "must not be after the due time",
                ));
                None
            }
            Ok(t) => Some(t),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    if assignee_changed {
        let scope = DataScope::for_user(db, user).await?;
        if !scope.includes_user(db, assignee).await? {
            errors.push(FieldError::new(
                "assignee_id",
                "not_found",
                "is not an active user you can give tasks to",
            ));
        }
    }
    if errors.is_empty() {
        Ok((due_at, remind_at))
    } else {
        Err(AppError::Validation(errors))
    }
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewTask,
) -> AppResult<task::Model> {
    let clean = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let assignee = clean(&input.assignee_id).unwrap_or_else(|| user.id.clone());
    let priority = clean(&input.priority).unwrap_or_else(|| "normal".into());
    let kind = clean(&input.kind).unwrap_or_else(|| "other".into());
    let notes = clean(&input.notes);
    let (customer_id, lead_id) = (clean(&input.customer_id), clean(&input.lead_id));
    let txn = write_txn(db).await?;
    let checked = check(
        &txn,
        user,
        now,
        &input.title,
        &input.due_at,
        input.remind_at.as_deref(),
        &assignee,
        true,
        &priority,
        "open",
        &kind,
        notes.as_deref(),
        true,
    )
    .await;
    let mut errors = match &checked {
        Err(AppError::Validation(e)) => e.clone(),
        _ => Vec::new(),
    };
    if let Some(cu) = &customer_id
        && crate::customers::store::get(&txn, user, cu).await.is_err()
    {
        errors.push(FieldError::new(
            "customer_id",
            "not_found",
            "no such customer",
        ));
    }
    if let Some(l) = &lead_id
        && crate::leads::store::get(&txn, user, l).await.is_err()
    {
        errors.push(FieldError::new("lead_id", "not_found", "no such lead"));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (due_at, remind_at) = checked?;
    let m = task::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        title: Set(input.title.trim().to_owned()),
        due_at: Set(due_at),
        remind_at: Set(remind_at),
        reminded_at: Set(None),
        assignee_id: Set(assignee.clone()),
        customer_id: Set(customer_id),
        lead_id: Set(lead_id),
        activity_id: Set(None),
        opportunity_id: Set(None),
        priority: Set(priority),
        status: Set("open".into()),
        kind: Set(kind),
        notes: Set(notes),
        done_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        now,
        actor,
        "task",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    if assignee != user.id {
        crate::notifications::store::notify(
            &txn,
            now,
            &assignee,
            "task_assigned",
            json!({"task_id": m.id, "customer_name": m.title, "by": user.name}),
            Some("/my-day"),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(m)
}

/// Changes a task; `status: done` records when.
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: TaskPatch,
    expected: i64,
) -> AppResult<task::Model> {
    let txn = write_txn(db).await?;
    let old = get_writable(&txn, user, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let title = patch.title.clone().unwrap_or(old.title.clone());
    let due = patch.due_at.clone().unwrap_or_else(|| {
        time_key(&old.due_at)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    // Moving the due time without a new reminder moves the reminder along.
    let shift = match patch.due_at.as_deref().map(|d| validate::time("due_at", d)) {
        Some(Ok(new_due)) if patch.remind_at.is_none() => new_due - old.due_at,
        _ => time::Duration::ZERO,
    };
    let remind = match &patch.remind_at {
        Some(r) => Some(r.clone()),
        None => old
            .remind_at
            .map(|t| t + shift)
            .map(|t| time_key(&t).as_str().unwrap_or_default().to_owned()),
    };
    let assignee = patch.assignee_id.clone().unwrap_or(old.assignee_id.clone());
    let priority = patch.priority.clone().unwrap_or(old.priority.clone());
    let status = patch.status.clone().unwrap_or(old.status.clone());
    let kind = patch.kind.clone().unwrap_or(old.kind.clone());
    let notes = match &patch.notes {
        Some(n) => Some(n.trim().to_owned()).filter(|n| !n.is_empty()),
        None => old.notes.clone(),
    };
    let (due_at, remind_at) = check(
        &txn,
        user,
        now,
        &title,
        &due,
        remind.as_deref(),
        &assignee,
        assignee != old.assignee_id,
        &priority,
        &status,
        &kind,
        notes.as_deref(),
        false,
    )
    .await?;
    let mut am = old.clone().into_active_model();
    am.title = Set(title.trim().to_owned());
    if remind_at != old.remind_at {
        am.reminded_at = Set(None);
    }
    am.due_at = Set(due_at);
    am.remind_at = Set(remind_at);
    am.assignee_id = Set(assignee);
    am.priority = Set(priority);
    am.done_at = Set(match (status.as_str(), old.status.as_str()) {
        ("done", "done") => old.done_at,
        ("done", _) => Some(now),
        _ => None,
    });
    am.status = Set(status);
    am.kind = Set(kind);
    am.notes = Set(notes);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = task::Entity::update(am)
        .validate()?
        .filter(task::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "task", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// What "My day" shows: the user's open tasks that are overdue or due within
/// the next 24 hours (a day wherever the user is), and for managers the open,
/// overdue follow-ups of the people they see.
pub async fn my_day<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    now: OffsetDateTime,
) -> AppResult<(Vec<task::Model>, Vec<task::Model>)> {
    let end_of_day = now + time::Duration::hours(24);
    let mine = task::Entity::find()
        .filter(task::Column::AssigneeId.eq(user.id.clone()))
        .filter(task::Column::Status.eq("open"))
        .filter(task::Column::DueAt.lt(end_of_day))
        .order_by_asc(task::Column::DueAt)
        .limit(200)
        .all(db)
        .await?;
    let team = if user.scope == Scope::Own {
        Vec::new()
    } else {
        let scope = DataScope::for_user(db, user).await?;
        scope
            .filter(task::Entity::find(), task::Column::AssigneeId)
            .filter(task::Column::AssigneeId.ne(user.id.clone()))
            .filter(task::Column::Status.eq("open"))
            .filter(task::Column::Kind.eq("follow_up"))
            .filter(task::Column::DueAt.lt(now))
            .order_by_asc(task::Column::DueAt)
            .limit(200)
            .all(db)
            .await?
    };
    Ok((mine, team))
}

/// Sends the reminders that are due (each once) as notifications; returns how many.
pub async fn remind_due(db: &DatabaseConnection, now: OffsetDateTime) -> AppResult<u64> {
    let txn = write_txn(db).await?;
    let due = task::Entity::find()
        .filter(task::Column::Status.eq("open"))
        .filter(task::Column::RemindedAt.is_null())
        .filter(task::Column::RemindAt.lte(now))
        .order_by_asc(task::Column::Id)
        .limit(5_000)
        .all(&txn)
        .await?;
    // Each row is claimed on its own, so a concurrent run on PostgreSQL that
    // selected the same rows sends none of them twice.
    let mut mine = Vec::new();
    for t in due {
        let r = task::Entity::update_many()
            .col_expr(task::Column::RemindedAt, Expr::value(now))
            .filter(task::Column::Id.eq(t.id.clone()))
            .filter(task::Column::RemindedAt.is_null())
            .exec(&txn)
            .await?;
        if r.rows_affected == 1 {
            mine.push(t);
        }
    }
    crate::notifications::store::notify_many(
        &txn,
        now,
        "task_reminder",
        mine.iter()
            .map(|t| {
                (
                    t.assignee_id.clone(),
                    json!({"task_id": t.id, "customer_name": t.title, "due_at": time_key(&t.due_at)}),
                    "/my-day".to_owned(),
                )
            })
            .collect(),
    )
    .await?;
    txn.commit().await?;
    Ok(mine.len() as u64)
}
