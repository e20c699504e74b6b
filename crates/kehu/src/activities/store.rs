//! Activity queries: the only place that reads or writes `activities`.
//! An activity is visible to whoever sees its customer or lead, and to its author.

use super::model::{ActivityPatch, ActivityView, Body, NewActivity};
use crate::entities::{activity, contact, customer, lead, task, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::events::{self, Event};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::scope::DataScope;
use crate::platform::validate;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    Set,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub static LIST: ListSpec<activity::Column> = ListSpec {
    filters: &[
        Field::one_of("kind", activity::Column::Kind, super::model::KINDS),
        Field::new("customer_id", activity::Column::CustomerId, Kind::Text),
        Field::new("contact_id", activity::Column::ContactId, Kind::Text),
        Field::new("lead_id", activity::Column::LeadId, Kind::Text),
        Field::new("created_by", activity::Column::CreatedBy, Kind::Text),
        Field::new("result", activity::Column::Result, Kind::Text),
        Field::new("occurred_at", activity::Column::OccurredAt, Kind::Time),
    ],
    sorts: &[
        Field::new("occurred_at", activity::Column::OccurredAt, Kind::Time),
        Field::new("created_at", activity::Column::CreatedAt, Kind::Time),
    ],
    default_sort: "-occurred_at",
    id: activity::Column::Id,
    search: &[activity::Column::Subject, activity::Column::Content],
    fulltext: None,
    custom: false,
};

fn visible(scope: &DataScope, user: &CurrentUser) -> Condition {
    let customers = Query::select()
        .column(customer::Column::Id)
        .from(customer::Entity)
        .cond_where(scope.condition(customer::Column::OwnerId))
        .to_owned();
    let leads = Query::select()
        .column(lead::Column::Id)
        .from(lead::Entity)
        .cond_where(crate::leads::store::visible(scope))
        .to_owned();
    Condition::any()
        .add(activity::Column::CustomerId.in_subquery(customers))
        .add(activity::Column::LeadId.in_subquery(leads))
        .add(activity::Column::CreatedBy.eq(user.id.clone()))
}

fn scoped(scope: &DataScope, user: &CurrentUser) -> Select<activity::Entity> {
    activity::Entity::find()
        .filter(activity::Column::DeletedAt.is_null())
        .filter(visible(scope, user))
}

pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<activity::Column>,
) -> AppResult<Page<ActivityView>> {
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
                _ => time_key(&m.occurred_at),
            };
            (v, m.id.clone())
        },
        ActivityView::from,
    ))
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<activity::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope, user)
        .filter(activity::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The activities of a customer (visibility checked by the caller), newest first.
pub async fn of_customer<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
    limit: u64,
) -> AppResult<Vec<activity::Model>> {
    Ok(activity::Entity::find()
        .filter(activity::Column::CustomerId.eq(customer_id))
        .filter(activity::Column::DeletedAt.is_null())
        .order_by_desc(activity::Column::OccurredAt)
        .order_by_desc(activity::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

fn view_json(m: &activity::Model) -> Value {
    let mut v = serde_json::to_value(ActivityView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "created_at", "updated_at", "created_by"] {
            o.remove(k);
        }
    }
    v
}

/// Moves a customer's `last_activity_at` forward to `at` (never back) and
/// clears its pool return warning.
pub async fn touch_customer<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
    at: OffsetDateTime,
) -> AppResult<()> {
    customer::Entity::update_many()
        .col_expr(customer::Column::LastActivityAt, Expr::value(at))
        .col_expr(
            customer::Column::ReturnWarnedAt,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .filter(customer::Column::Id.eq(customer_id))
        .filter(
            Condition::any()
                .add(customer::Column::LastActivityAt.is_null())
                .add(customer::Column::LastActivityAt.lt(at)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Logs an activity, moves the customer's last activity, and makes the
/// follow-up task when `next_follow_up_at` is given. All in one transaction.
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewActivity,
) -> AppResult<(activity::Model, Option<task::Model>)> {
    let body = Body::from_new(&input);
    let txn = write_txn(db).await?;
    let (results, _) = crate::settings::store::activity_results(&txn).await?;
    let mut errors = body.check(&results).0;
    let occurred_at = match input
        .occurred_at
        .as_deref()
        .map(|t| validate::time("occurred_at", t))
    {
        None => now,
        Some(Ok(t)) if t > now + time::Duration::days(1) => {
            errors.push(FieldError::new(
                "occurred_at",
                "in_future",
                "cannot be more than a day ahead",
            ));
            now
        }
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            errors.push(e);
            now
        }
    };
    let follow_up = match input
        .next_follow_up_at
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        None => None,
        Some(t) => match validate::time("next_follow_up_at", t) {
            Ok(t) if t <= now => {
                errors.push(FieldError::new(
                    "next_follow_up_at",
                    "in_past",
                    "must be in the future",
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
    // The related record must be one the caller sees.
    let clean = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let (mut customer_id, contact_id, lead_id) = (
        clean(&input.customer_id),
        clean(&input.contact_id),
        clean(&input.lead_id),
    );
    if customer_id.is_none() && contact_id.is_none() && lead_id.is_none() {
        errors.push(FieldError::new(
            "customer_id",
            "required",
            "give a customer, a contact or a lead",
        ));
    }
    if let Some(cid) = &contact_id {
        match crate::contacts::store::get(&txn, user, cid).await {
            Ok(c) => match &customer_id {
                Some(cu) if cu != &c.customer_id => errors.push(FieldError::new(
                    "contact_id",
                    "mismatch",
                    "is a contact of another customer",
                )),
                _ => customer_id = Some(c.customer_id),
            },
            Err(_) => errors.push(FieldError::new(
                "contact_id",
                "not_found",
                "no such contact",
            )),
        }
    }
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
    let participants = input.participants.clone().unwrap_or_default();
    if participants.users.len() + participants.contacts.len() > 50 {
        errors.push(FieldError::new(
            "participants",
            "too_long",
            "at most 50 participants",
        ));
    } else {
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(participants.users.clone()))
            .count(&txn)
            .await?;
        let mut ids = participants.users.clone();
        ids.sort();
        ids.dedup();
        if users != ids.len() as u64 {
            errors.push(FieldError::new(
                "participants",
                "not_found",
                "names a user that does not exist",
            ));
        }
        if !participants.contacts.is_empty() {
            let ok = match &customer_id {
                Some(cu) => {
                    let mut cs = participants.contacts.clone();
                    cs.sort();
                    cs.dedup();
                    contact::Entity::find()
                        .filter(contact::Column::Id.is_in(cs.clone()))
                        .filter(contact::Column::CustomerId.eq(cu.clone()))
                        .count(&txn)
                        .await?
                        == cs.len() as u64
                }
                None => false,
            };
            if !ok {
                errors.push(FieldError::new(
                    "participants",
                    "not_found",
                    "names a contact not of this customer",
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let m = activity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        kind: Set(body.kind.clone()),
        occurred_at: Set(occurred_at),
        duration_minutes: Set(body.duration_minutes),
        location: Set(body.location.clone()),
        subject: Set(body.subject.clone()),
        content: Set(body.content.clone()),
        result: Set(body.result.clone()),
        next_step: Set(body.next_step.clone()),
        next_follow_up_at: Set(follow_up),
        customer_id: Set(customer_id.clone()),
        contact_id: Set(contact_id),
        lead_id: Set(lead_id.clone()),
        participants: Set(serde_json::to_string(&participants).unwrap_or_else(|_| "{}".into())),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
        deleted_at: Set(None),
        deleted_by: Set(None),
    }
    .insert(&txn)
    .await?;
    if let Some(cu) = &customer_id {
        touch_customer(&txn, cu, occurred_at).await?;
    }
    audit::record(
        &txn,
        now,
        actor,
        "activity",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    events::emit(
        &txn,
        &events::Ctx::new(now, actor, Some(user)),
        Event::ActivityLogged {
            activity_id: m.id.clone(),
            customer_id: m.customer_id.clone(),
            lead_id: m.lead_id.clone(),
            kind: m.kind.clone(),
        },
    )
    .await?;
    notify_mentions(&txn, now, user, &m).await?;
    let task = match follow_up {
        Some(due) => {
            let title = body
                .subject
                .clone()
                .or_else(|| body.next_step.clone())
                .or_else(|| body.content.clone().map(|c| c.chars().take(60).collect()))
                .unwrap_or_default();
            Some(
                crate::tasks::store::insert_follow_up(
                    &txn,
                    now,
                    actor,
                    user,
                    &m,
                    &title,
                    due,
                    customer_id,
                    lead_id,
                )
                .await?,
            )
        }
        None => None,
    };
    txn.commit().await?;
    Ok((m, task))
}

/// Changes an activity (its author or anyone who sees its record may).
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: ActivityPatch,
    expected: i64,
) -> AppResult<activity::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if old.version != expected {
        return Err(stale());
    }
    let body = Body::from_model(&old).patch(&patch);
    let (results, _) = crate::settings::store::activity_results(&txn).await?;
    let mut errors = body.check(&results).0;
    let occurred_at = match patch
        .occurred_at
        .as_deref()
        .map(|t| validate::time("occurred_at", t))
    {
        None => old.occurred_at,
        Some(Ok(t)) if t > now + time::Duration::days(1) => {
            errors.push(FieldError::new(
                "occurred_at",
                "in_future",
                "cannot be more than a day ahead",
            ));
            old.occurred_at
        }
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            errors.push(e);
            old.occurred_at
        }
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let mut am = old.clone().into_active_model();
    am.kind = Set(body.kind);
    am.occurred_at = Set(occurred_at);
    am.duration_minutes = Set(body.duration_minutes);
    am.location = Set(body.location);
    am.subject = Set(body.subject);
    am.content = Set(body.content);
    am.result = Set(body.result);
    am.next_step = Set(body.next_step);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = activity::Entity::update(am)
        .validate()?
        .filter(activity::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    // Only a customer the editor still sees is touched.
    if let Some(cu) = &new.customer_id
        && crate::customers::store::get(&txn, user, cu).await.is_ok()
    {
        touch_customer(&txn, cu, new.occurred_at).await?;
    }
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "activity", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Deletes an activity (soft).
pub async fn delete(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    expected: Option<i64>,
) -> AppResult<()> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let r = activity::Entity::update_many()
        .col_expr(activity::Column::DeletedAt, Expr::value(now))
        .col_expr(activity::Column::DeletedBy, Expr::value(user.id.clone()))
        .col_expr(activity::Column::Version, Expr::value(old.version + 1))
        .col_expr(activity::Column::UpdatedAt, Expr::value(now))
        .filter(activity::Column::Id.eq(id))
        .filter(activity::Column::Version.eq(old.version))
        .exec(&txn)
        .await?;
    if r.rows_affected == 0 {
        return Err(stale());
    }
    let mut changes = Map::new();
    changes.insert("deleted_at".into(), json!([null, time_key(&now)]));
    audit::record(&txn, now, actor, "activity", Some(id), "delete", changes).await?;
    txn.commit().await?;
    Ok(())
}

/// Tells the users an activity mentions (`@name` in its subject or content) and
/// the users who took part, except its author.
async fn notify_mentions<C: ConnectionTrait>(
    db: &C,
    now: OffsetDateTime,
    author: &CurrentUser,
    a: &activity::Model,
) -> AppResult<()> {
    let text = format!(
        "{} {}",
        a.subject.as_deref().unwrap_or(""),
        a.content.as_deref().unwrap_or("")
    );
    let participants: super::model::Participants =
        serde_json::from_str(&a.participants).unwrap_or_default();
    if !text.contains('@') && participants.users.is_empty() {
        return Ok(());
    }
    let users = user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Id.ne(author.id.clone()))
        .all(db)
        .await?;
    let told: Vec<String> = users
        .iter()
        .filter(|u| text.contains(&format!("@{}", u.name)) || participants.users.contains(&u.id))
        .map(|u| u.id.clone())
        .collect();
    if told.is_empty() {
        return Ok(());
    }
    let link = match (&a.customer_id, &a.lead_id) {
        (Some(c), _) => format!("/customers/{c}"),
        (None, Some(l)) => format!("/leads/{l}"),
        _ => "/".to_owned(),
    };
    let gist: String = a
        .subject
        .clone()
        .or(a.content.clone())
        .unwrap_or_default()
        .chars()
        .take(80)
        .collect();
    let data = json!({"activity_id": a.id, "by": author.name, "customer_name": gist});
    crate::notifications::store::notify_many(
        db,
        now,
        "mention",
        told.into_iter()
            .map(|u| (u, data.clone(), link.clone()))
            .collect(),
    )
    .await
}
