//! Contact queries: the only place that reads or writes `contacts`.
//! A contact is in scope when its customer is (and not in the recycle bin).

use super::model::{ContactPatch, ContactView, Draft, NewContact};
use crate::entities::{contact, customer};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::custom;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::scope::DataScope;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Select, Set,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

pub static LIST: ListSpec<contact::Column> = ListSpec {
    filters: &[
        Field::new("customer_id", contact::Column::CustomerId, Kind::Text),
        Field::one_of("role", contact::Column::Role, super::model::ROLES),
        Field::new("is_primary", contact::Column::IsPrimary, Kind::Bool),
        Field::new("email", contact::Column::Email, Kind::Text),
        Field::new("department", contact::Column::Department, Kind::Text),
        Field::new("name", contact::Column::Name, Kind::Text),
        Field::new("title", contact::Column::Title, Kind::Text),
        Field::new("phone", contact::Column::Phone, Kind::Text),
        Field::new("mobile", contact::Column::Mobile, Kind::Text),
        Field::new("wechat", contact::Column::Wechat, Kind::Text),
        Field::new("birthday", contact::Column::Birthday, Kind::Date),
        Field::new("created_at", contact::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", contact::Column::UpdatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("name", contact::Column::Name, Kind::Text),
        Field::new("updated_at", contact::Column::UpdatedAt, Kind::Time),
        Field::new("created_at", contact::Column::CreatedAt, Kind::Time),
    ],
    default_sort: "name",
    id: contact::Column::Id,
    search: &[
        contact::Column::Name,
        contact::Column::Phone,
        contact::Column::Mobile,
        contact::Column::Email,
        contact::Column::Wechat,
    ],
    fulltext: None,
    custom: true,
};

/// Contacts whose customer `scope` covers and is not in the recycle bin.
fn scoped(scope: &DataScope, deleted: bool) -> Select<contact::Entity> {
    let customers = Query::select()
        .column(customer::Column::Id)
        .from(customer::Entity)
        .cond_where(scope.condition(customer::Column::OwnerId))
        .and_where(Expr::col(customer::Column::DeletedAt).is_null())
        .to_owned();
    let q = contact::Entity::find().filter(contact::Column::CustomerId.in_subquery(customers));
    if deleted {
        q.filter(contact::Column::DeletedAt.is_not_null())
    } else {
        q.filter(contact::Column::DeletedAt.is_null())
    }
}

pub async fn list(
    db: &DatabaseConnection,
    user: &CurrentUser,
    req: &ListRequest<contact::Column>,
    deleted: bool,
) -> AppResult<Page<ContactView>> {
    let defs = crate::custom_fields::store::defs(db, "contact").await?;
    let extra = custom::conditions(db.get_database_backend(), "contacts.custom", &defs, req)?;
    let scope = DataScope::for_user(db, user).await?;
    let (rows, total) = req.fetch(db, scoped(&scope, deleted), extra).await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        total,
        |m| {
            let v = match sort {
                "custom" => req.custom_sort_value(&m.custom),
                "updated_at" => time_key(&m.updated_at),
                "created_at" => time_key(&m.created_at),
                _ => json!(m.name),
            };
            (v, m.id.clone())
        },
        ContactView::from,
    ))
}

/// The contacts of one customer (already checked to be visible), primary first.
pub async fn of_customer<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
) -> AppResult<Vec<contact::Model>> {
    Ok(contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(customer_id))
        .filter(contact::Column::DeletedAt.is_null())
        .order_by_desc(contact::Column::IsPrimary)
        .order_by_asc(contact::Column::Name)
        .all(db)
        .await?)
}

/// Every contact id of a customer, deleted ones included (for its timeline).
pub async fn ids_of_customer<C: ConnectionTrait>(
    db: &C,
    customer_id: &str,
) -> AppResult<Vec<String>> {
    use sea_orm::QuerySelect;
    Ok(contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(customer_id))
        .select_only()
        .column(contact::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<contact::Model> {
    let scope = DataScope::for_user(db, user).await?;
    scoped(&scope, false)
        .filter(contact::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn view_json(m: &contact::Model) -> Value {
    let mut v = serde_json::to_value(ContactView::from(m.clone())).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in ["id", "version", "created_at", "updated_at", "deleted_at"] {
            o.remove(k);
        }
    }
    v
}

fn apply(am: &mut contact::ActiveModel, d: &Draft, custom: &Map<String, Value>) {
    am.name = Set(d.name.clone());
    am.title = Set(d.title.clone());
    am.department = Set(d.department.clone());
    am.phone = Set(d.phone.clone());
    am.mobile = Set(d.mobile.clone());
    am.email = Set(d.email.clone());
    am.wechat = Set(d.wechat.clone());
    am.birthday = Set(d
        .birthday
        .as_deref()
        .and_then(|b| crate::platform::validate::any_date("birthday", b).ok()));
    am.role = Set(d.role.clone());
    am.is_primary = Set(d.is_primary);
    am.notes = Set(d.notes.clone());
    am.custom = Set(Value::Object(custom.clone()).to_string());
}

async fn check<C: ConnectionTrait>(
    db: &C,
    draft: &Draft,
    customer_id: &str,
    except: Option<&str>,
    old_custom: &Map<String, Value>,
    custom_input: Option<&Value>,
    creating: bool,
) -> AppResult<Map<String, Value>> {
    let mut errors = draft.check().0;
    let defs = crate::custom_fields::store::defs(db, "contact").await?;
    let custom = match custom::validate(
        &defs,
        old_custom,
        custom_input.unwrap_or(&Value::Object(Map::new())),
        creating,
    ) {
        Ok(c) => c,
        Err(e) => {
            errors.extend(e);
            Map::new()
        }
    };
    if draft.is_primary {
        let mut q = contact::Entity::find()
            .filter(contact::Column::CustomerId.eq(customer_id))
            .filter(contact::Column::IsPrimary.eq(true))
            .filter(contact::Column::DeletedAt.is_null());
        if let Some(id) = except {
            q = q.filter(contact::Column::Id.ne(id));
        }
        if let Some(other) = q.one(db).await? {
            errors.push(FieldError::new(
                "is_primary",
                "primary_taken",
                format!("{} is already the primary contact", other.name),
            ));
        }
    }
    if errors.is_empty() {
        Ok(custom)
    } else {
        Err(AppError::Validation(errors))
    }
}

fn map_primary(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::field(
            "is_primary",
            "primary_taken",
            "this customer already has a primary contact",
        ),
        _ => e.into(),
    }
}

/// Creates a contact for a customer the caller may see (else a field error on `customer_id`).
pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewContact,
) -> AppResult<contact::Model> {
    let txn = write_txn(db).await?;
    let m = create_in(&txn, now, actor, user, input).await?;
    txn.commit().await?;
    Ok(m)
}

/// `create` inside the caller's transaction.
pub async fn create_in<C: ConnectionTrait>(
    txn: &C,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    input: NewContact,
) -> AppResult<contact::Model> {
    let customer_id = input.customer_id.clone().unwrap_or_default();
    if customer_id.is_empty() {
        return Err(AppError::field("customer_id", "required", "is required"));
    }
    if crate::customers::store::get(txn, user, &customer_id)
        .await
        .is_err()
    {
        return Err(AppError::field(
            "customer_id",
            "not_found",
            "no such customer",
        ));
    }
    let draft = Draft::from_new(&input);
    let custom = check(
        txn,
        &draft,
        &customer_id,
        None,
        &Map::new(),
        input.custom.as_ref(),
        true,
    )
    .await?;
    let mut am = contact::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        customer_id: Set(customer_id.clone()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(Some(user.id.clone())),
        deleted_at: Set(None),
        deleted_by: Set(None),
        ..Default::default()
    };
    apply(&mut am, &draft, &custom);
    let m = am.insert(txn).await.map_err(map_primary)?;
    crate::customers::store::refresh_search(txn, &customer_id).await?;
    audit::record(
        txn,
        now,
        actor,
        "contact",
        Some(&m.id),
        "create",
        audit::created(&view_json(&m)),
    )
    .await?;
    Ok(m)
}

pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
    patch: ContactPatch,
    expected: Option<i64>,
) -> AppResult<contact::Model> {
    let txn = write_txn(db).await?;
    let old = get(&txn, user, id).await?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let draft = Draft::from_model(&old).patch(&patch);
    let old_custom: Map<String, Value> = serde_json::from_str(&old.custom).unwrap_or_default();
    let custom = check(
        &txn,
        &draft,
        &old.customer_id,
        Some(id),
        &old_custom,
        patch.custom.as_ref(),
        false,
    )
    .await?;
    let mut am = old.clone().into_active_model();
    apply(&mut am, &draft, &custom);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = contact::Entity::update(am)
        .validate()?
        .filter(contact::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => map_primary(other),
        })?;
    crate::customers::store::refresh_search(&txn, &old.customer_id).await?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "contact", Some(id), "update", changes).await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// Moves a contact to the recycle bin.
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
    let mut am = old.clone().into_active_model();
    am.deleted_at = Set(Some(now));
    am.deleted_by = Set(Some(user.id.clone()));
    // A deleted contact is no longer the primary one.
    am.is_primary = Set(false);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    contact::Entity::update(am)
        .validate()?
        .filter(contact::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => other.into(),
        })?;
    crate::customers::store::refresh_search(&txn, &old.customer_id).await?;
    let mut changes = Map::new();
    changes.insert("deleted_at".into(), json!([null, time_key(&now)]));
    audit::record(&txn, now, actor, "contact", Some(id), "delete", changes).await?;
    txn.commit().await?;
    Ok(())
}

/// Brings a contact back: whoever may see its customer.
pub async fn restore(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<contact::Model> {
    let txn = write_txn(db).await?;
    let scope = DataScope::for_user(&txn, user).await?;
    // Locked: of concurrent restores one wins, the others find nothing in the bin.
    let old = crate::platform::db::for_update(
        scoped(&scope, true).filter(contact::Column::Id.eq(id)),
        &txn,
    )
    .one(&txn)
    .await?
    .ok_or(AppError::NotFound)?;
    let mut am = old.clone().into_active_model();
    am.deleted_at = Set(None);
    am.deleted_by = Set(None);
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = am.update(&txn).await?;
    crate::customers::store::refresh_search(&txn, &old.customer_id).await?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".into(),
        json!([old.deleted_at.map(|t| time_key(&t)), null]),
    );
    audit::record(&txn, now, actor, "contact", Some(id), "restore", changes).await?;
    txn.commit().await?;
    Ok(new)
}
