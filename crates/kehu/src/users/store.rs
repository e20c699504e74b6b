//! User queries: the only place that reads or writes the `users` table.

use super::model::{NewUser, UserPatch, UserView};
use crate::entities::{team, user};
use crate::platform::api::stale;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::{Role, hash_password_async};
use crate::platform::error::{AppError, AppResult, FieldError};
use crate::platform::list::{Field, Kind, ListRequest, ListSpec, Page, time_key};
use crate::platform::validate::normalize_email;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect, Set, SqlErr,
};
use serde_json::json;
use time::OffsetDateTime;

pub static LIST: ListSpec<user::Column> = ListSpec {
    filters: &[
        Field::one_of(
            "role",
            user::Column::Role,
            &[
                "admin",
                "manager",
                "sales",
                "service",
                "marketing",
                "finance",
            ],
        ),
        Field::one_of("scope", user::Column::Scope, &["own", "team", "all"]),
        Field::new("team_id", user::Column::TeamId, Kind::Text),
        Field::new("active", user::Column::Active, Kind::Bool),
        Field::new("email", user::Column::Email, Kind::Text),
        Field::new("created_at", user::Column::CreatedAt, Kind::Time),
    ],
    sorts: &[
        Field::new("name", user::Column::Name, Kind::Text),
        Field::new("email", user::Column::Email, Kind::Text),
        Field::new("created_at", user::Column::CreatedAt, Kind::Time),
        Field::new("updated_at", user::Column::UpdatedAt, Kind::Time),
    ],
    default_sort: "name",
    id: user::Column::Id,
    search: &[user::Column::Name, user::Column::Email],
    fulltext: None,
    custom: false,
};

pub async fn list(
    db: &DatabaseConnection,
    req: &ListRequest<user::Column>,
) -> AppResult<Page<UserView>> {
    let total = user::Entity::find()
        .filter(req.condition(db.get_database_backend()))
        .count(db)
        .await?;
    let rows = req
        .apply(user::Entity::find(), db.get_database_backend())
        .all(db)
        .await?;
    let sort = req.sort_name();
    Ok(req.page(
        rows,
        Some(total),
        |m| {
            let v = match sort {
                "email" => json!(m.email),
                "created_at" => time_key(&m.created_at),
                "updated_at" => time_key(&m.updated_at),
                _ => json!(m.name),
            };
            (v, m.id.clone())
        },
        UserView::from,
    ))
}

pub async fn get<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<user::Model> {
    user::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(normalize_email(email)))
        .one(db)
        .await?)
}

/// All active users, by name (for pickers).
pub async fn active_users(db: &DatabaseConnection) -> AppResult<Vec<user::Model>> {
    use sea_orm::QueryOrder;
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?)
}

fn view_json(m: &user::Model) -> serde_json::Value {
    serde_json::to_value(UserView::from(m.clone())).unwrap_or_default()
}

fn map_unique(e: DbErr) -> AppError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::field("email", "taken", "is already used by another user")
        }
        _ => e.into(),
    }
}

async fn check_team<C: ConnectionTrait>(db: &C, team_id: &Option<String>) -> AppResult<()> {
    if let Some(t) = team_id
        && team::Entity::find_by_id(t.clone()).one(db).await?.is_none()
    {
        return Err(AppError::field("team_id", "not_found", "no such team"));
    }
    Ok(())
}

pub async fn create(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    input: NewUser,
) -> AppResult<user::Model> {
    input.check().finish()?;
    let email = normalize_email(&input.email);
    if find_by_email(db, &email).await?.is_some() {
        return Err(AppError::field(
            "email",
            "taken",
            "is already used by another user",
        ));
    }
    let hash = hash_password_async(input.password.clone()).await?;
    let txn = crate::platform::db::write_txn(db).await?;
    check_team(&txn, &input.team_id).await?;
    let timezone = match &input.timezone {
        Some(z) => z.trim().to_owned(),
        None => crate::settings::store::company_timezone(&txn).await?.0,
    };
    let model = user::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        email: Set(email),
        name: Set(input.name.trim().to_owned()),
        password_hash: Set(hash),
        role: Set(input.role.as_str().to_owned()),
        scope: Set(input
            .scope
            .unwrap_or(input.role.default_scope())
            .as_str()
            .to_owned()),
        team_id: Set(input.team_id.clone()),
        active: Set(input.active),
        locale: Set(None),
        timezone: Set(timezone),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(map_unique)?;
    audit::record(
        &txn,
        now,
        actor,
        "user",
        Some(&model.id),
        "create",
        audit::created(&view_json(&model)),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Changes a user. `expected` is the version the caller read (None: no check).
pub async fn update(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
    patch: UserPatch,
    expected: Option<i64>,
) -> AppResult<user::Model> {
    patch.check().finish()?;
    let new_hash = match &patch.password {
        Some(p) => Some(hash_password_async(p.clone()).await?),
        None => None,
    };
    let txn = crate::platform::db::write_txn(db).await?;
    let old = get(&txn, id).await?;
    if expected.is_some_and(|v| v != old.version) {
        return Err(stale());
    }
    let mut am = old.clone().into_active_model();
    if let Some(n) = &patch.name {
        am.name = Set(n.trim().to_owned());
    }
    if let Some(e) = &patch.email {
        let e = normalize_email(e);
        if e != old.email {
            if find_by_email(&txn, &e).await?.is_some() {
                return Err(AppError::field(
                    "email",
                    "taken",
                    "is already used by another user",
                ));
            }
            am.email = Set(e);
        }
    }
    if let Some(h) = new_hash {
        am.password_hash = Set(h);
    }
    if let Some(r) = patch.role {
        am.role = Set(r.as_str().to_owned());
    }
    // A new role without an explicit scope takes the role's default scope, so a
    // demoted manager does not keep seeing the whole team.
    let scope = patch.scope.or_else(|| {
        patch
            .role
            .filter(|r| r.as_str() != old.role)
            .map(Role::default_scope)
    });
    if let Some(s) = scope {
        am.scope = Set(s.as_str().to_owned());
    }
    if let Some(t) = &patch.team_id {
        check_team(&txn, t).await?;
        am.team_id = Set(t.clone());
    }
    if let Some(a) = patch.active {
        am.active = Set(a);
    }
    if let Some(l) = &patch.locale {
        am.locale = Set(l
            .as_deref()
            .and_then(crate::platform::i18n::Lang::parse)
            .map(|l| l.code().to_owned()));
    }
    if let Some(z) = &patch.timezone {
        am.timezone = Set(z.trim().to_owned());
    }
    let was_admin = old.active && old.role == Role::Admin.as_str();
    let still_admin =
        patch.active.unwrap_or(old.active) && patch.role.map_or(was_admin, |r| r == Role::Admin);
    if was_admin && !still_admin {
        // Lock the other admins' rows (PostgreSQL; SQLite's write transaction is
        // already exclusive) so two admins cannot demote each other at once.
        let mut others = user::Entity::find()
            .filter(user::Column::Role.eq(Role::Admin.as_str()))
            .filter(user::Column::Active.eq(true))
            .filter(user::Column::Id.ne(old.id.clone()));
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            others = others.lock_exclusive();
        }
        if others.all(&txn).await?.is_empty() {
            let field = if patch.active == Some(false) {
                "active"
            } else {
                "role"
            };
            return Err(AppError::Validation(vec![FieldError::new(
                field,
                "last_admin",
                "the last active administrator cannot be removed",
            )]));
        }
    }
    am.version = Set(old.version + 1);
    am.updated_at = Set(now);
    let new = user::Entity::update(am)
        .validate()?
        .filter(user::Column::Version.eq(old.version))
        .exec(&txn)
        .await
        .map_err(|e| match e {
            DbErr::RecordNotUpdated => stale(),
            other => map_unique(other),
        })?;
    let changes = audit::diff(&view_json(&old), &view_json(&new));
    let mut changes = changes;
    if patch.password.is_some() {
        changes.insert("password".into(), json!(["***", "***"]));
    }
    if !changes.is_empty() {
        audit::record(&txn, now, actor, "user", Some(&new.id), "update", changes).await?;
    }
    if patch.active == Some(false) || patch.password.is_some() {
        // A deactivated user or a changed password ends every session and
        // revokes every API token of that user.
        use crate::entities::{api_token, session};
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(new.id.clone()))
            .exec(&txn)
            .await?;
        api_token::Entity::update_many()
            .col_expr(
                api_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_token::Column::UserId.eq(new.id.clone()))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(new)
}

/// A user changes their own password: the current one must be right (422
/// `wrong_password` on `current_password` otherwise). As every password
/// change, it ends every session and revokes every API token of the user.
pub async fn change_own_password(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    id: &str,
    current: &str,
    new: &str,
) -> AppResult<user::Model> {
    let mut c = crate::platform::validate::Checks::default();
    if current.is_empty() {
        c.push("current_password", "required", "is required");
    }
    c.add(crate::platform::auth::check_password("new_password", new));
    c.finish()?;
    let u = get(db, id).await?;
    if !crate::platform::auth::verify_password_async(current.to_owned(), u.password_hash.clone())
        .await
    {
        return Err(AppError::field(
            "current_password",
            "wrong_password",
            "is not your current password",
        ));
    }
    let patch = UserPatch {
        password: Some(new.to_owned()),
        ..Default::default()
    };
    update(db, now, actor, id, patch, Some(u.version)).await
}

/// Counts users (for the first-start message and the home page).
pub async fn count(db: &DatabaseConnection) -> AppResult<u64> {
    Ok(user::Entity::find().count(db).await?)
}

/// The names of users by id (any, active or not).
pub async fn names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> AppResult<std::collections::HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// `(id, name)` of the active users in the viewer's scope (owner choices and filters).
pub async fn owners(
    db: &DatabaseConnection,
    me: &crate::platform::auth::CurrentUser,
) -> AppResult<Vec<(String, String)>> {
    let scope = crate::platform::scope::DataScope::for_user(db, me).await?;
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(scope
        .filter(user::Entity::find(), user::Column::Id)
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

/// Owner choices for a form: `owners`, and the current owner even when
/// deactivated or out of the list (a required select would otherwise pick
/// someone else without anyone choosing).
pub async fn owner_choices(
    db: &DatabaseConnection,
    me: &crate::platform::auth::CurrentUser,
    current: &str,
) -> AppResult<Vec<(String, String)>> {
    let mut choices = owners(db, me).await?;
    if !current.is_empty() && !choices.iter().any(|o| o.0 == current) {
        let names = names(db, vec![current.to_owned()]).await?;
        choices.insert(
            0,
            (
                current.to_owned(),
                names.get(current).cloned().unwrap_or_default(),
            ),
        );
    }
    Ok(choices)
}
