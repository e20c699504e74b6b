//! Files attached to contracts (the signed scan, annexes): up to 10 MB each,
//! 20 per contract, of the kinds `platform::files` accepts. Seen and added by
//! whoever sees the contract; once it is signed, removed only by a manager,
//! finance or an administrator; a terminated contract's files stay as they are.

use crate::entities::contract_file;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::files::{self, MAX_BYTES, kind_of, read_file};
use crate::platform::list::Page;
use crate::platform::state::AppState;
use crate::platform::web::{ApiUser, Signed, redirect_with_flash};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Map, json};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Files per contract.
pub const MAX_PER_CONTRACT: u64 = 20;

/// A contract's file, without its bytes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractFileView {
    pub id: String,
    pub contract_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

type Row = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    OffsetDateTime,
);

/// The files of a contract (the caller must see it), oldest first.
pub async fn of_contract<C: ConnectionTrait>(
    db: &C,
    contract_id: &str,
) -> AppResult<Vec<ContractFileView>> {
    let rows: Vec<Row> = contract_file::Entity::find()
        .select_only()
        .columns([
            contract_file::Column::Id,
            contract_file::Column::ContractId,
            contract_file::Column::FileName,
            contract_file::Column::ContentType,
            contract_file::Column::Size,
            contract_file::Column::CreatedBy,
            contract_file::Column::CreatedAt,
        ])
        .filter(contract_file::Column::ContractId.eq(contract_id))
        .order_by_asc(contract_file::Column::CreatedAt)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ContractFileView {
            id: r.0,
            contract_id: r.1,
            file_name: r.2,
            content_type: r.3,
            size: r.4,
            created_by: r.5,
            created_at: r.6,
        })
        .collect())
}

/// Stores a file on a contract the caller sees.
pub async fn add(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    contract_id: &str,
    file_name: &str,
    data: Vec<u8>,
) -> AppResult<ContractFileView> {
    let Some(name) = files::clean_name(file_name).filter(|_| !data.is_empty()) else {
        return Err(AppError::field("file", "required", "choose a file"));
    };
    if data.len() > MAX_BYTES {
        return Err(AppError::field(
            "file",
            "too_large",
            "a file may be at most 10 MB",
        ));
    }
    let content_type = kind_of(&name)?;
    let txn = write_txn(db).await?;
    let c = super::store::get_locked(&txn, user, contract_id).await?;
    if c.status == "terminated" {
        return Err(AppError::refused(
            "contract_closed",
            "a terminated contract's files do not change",
        ));
    }
    let n = contract_file::Entity::find()
        .filter(contract_file::Column::ContractId.eq(contract_id))
        .count(&txn)
        .await?;
    if n >= MAX_PER_CONTRACT {
        return Err(AppError::field(
            "file",
            "too_many",
            "at most 20 files per contract",
        ));
    }
    let m = contract_file::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        contract_id: Set(contract_id.to_owned()),
        file_name: Set(name),
        content_type: Set(content_type.to_owned()),
        size: Set(i64::try_from(data.len()).unwrap_or(i64::MAX)),
        data: Set(data),
        created_by: Set(Some(user.id.clone())),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut changes = Map::new();
    changes.insert("file_name".into(), json!([null, m.file_name]));
    changes.insert("contract_id".into(), json!([null, m.contract_id]));
    audit::record(
        &txn,
        now,
        actor,
        "contract_file",
        Some(&m.id),
        "create",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(ContractFileView {
        id: m.id,
        contract_id: m.contract_id,
        file_name: m.file_name,
        content_type: m.content_type,
        size: m.size,
        created_by: m.created_by,
        created_at: m.created_at,
    })
}

/// A file whose contract the caller sees; 404 otherwise.
async fn get<C: ConnectionTrait>(
    db: &C,
    user: &CurrentUser,
    id: &str,
) -> AppResult<contract_file::Model> {
    let f = contract_file::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    super::store::get(db, user, &f.contract_id).await?;
    Ok(f)
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_files, upload_file))
        .routes(routes!(download_file, delete_file))
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

/// The files of a contract.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/attachments", tag = "contracts",
    responses((status = 200, body = Page<ContractFileView>), (status = 404, body = Problem)))]
async fn list_files(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Page<ContractFileView>>> {
    super::store::get(&state.db, &me.user, &id).await?;
    Ok(Json(Page::whole(of_contract(&state.db, &id).await?)))
}

/// Attach a file to a contract (multipart field `file`, at most 10 MB; documents,
/// spreadsheets, slides, PDF, images, text, csv, zip).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/attachments", tag = "contracts",
    request_body(content_type = "multipart/form-data", description = "a `file` field"),
    responses((status = 201, body = ContractFileView), (status = 404, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
async fn upload_file(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
    form: Multipart,
) -> AppResult<Response> {
    let (name, data) = read_file(form).await?;
    let v = add(
        &state.db,
        state.clock.now(),
        &me.actor(),
        &me.user,
        &id,
        &name,
        data,
    )
    .await?;
    Ok(crate::platform::api::created(
        format!("/api/v1/contract-attachments/{}", v.id),
        v,
    ))
}

/// Download a contract's file (always as an attachment).
#[utoipa::path(get, path = "/api/v1/contract-attachments/{id}", tag = "contracts",
    responses((status = 200, description = "the file"), (status = 404, body = Problem)))]
async fn download_file(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let f = get(&state.db, &me.user, &id).await?;
    Ok(files::download(&f.file_name, &f.content_type, f.data))
}

/// Remove a contract's file.
#[utoipa::path(delete, path = "/api/v1/contract-attachments/{id}", tag = "contracts",
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_file(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    remove(&state.db, state.clock.now(), &me.actor(), &me.user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    id: &str,
) -> AppResult<String> {
    let txn = write_txn(db).await?;
    let f = get(&txn, user, id).await?;
    let c = super::store::get_locked(&txn, user, &f.contract_id).await?;
    if c.status == "terminated" {
        return Err(AppError::refused(
            "contract_closed",
            "a terminated contract's files do not change",
        ));
    }
    // A signed contract's files are removed by a manager, finance or an administrator.
    if c.activated_at.is_some()
        && !user.has_role(&[
            crate::platform::auth::Role::Manager,
            crate::platform::auth::Role::Finance,
        ])
    {
        return Err(AppError::Forbidden);
    }
    contract_file::Entity::delete_by_id(f.id.clone())
        .exec(&txn)
        .await?;
    let mut changes = Map::new();
    changes.insert("file_name".into(), json!([f.file_name, null]));
    audit::record(
        &txn,
        now,
        actor,
        "contract_file",
        Some(&f.id),
        "delete",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(f.contract_id)
}

/// The page forms: `POST /contracts/{id}/attachments` (multipart; the CSRF
/// token rides in the query string, see `web::identify`) and
/// `POST /contract-attachments/{id}/delete`, back to the contract.
pub fn page_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/contracts/{id}/attachments",
            axum::routing::post(upload_from_page),
        )
        .route(
            "/contract-attachments/{id}/delete",
            axum::routing::post(delete_from_page),
        )
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

async fn upload_from_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    form: Multipart,
) -> crate::platform::error::PageResult<Response> {
    super::store::get(&state.db, &s.user, &id).await?;
    let back = format!("/contracts/{id}");
    let result = match read_file(form).await {
        Ok((name, data)) => {
            add(
                &state.db,
                state.clock.now(),
                &s.actor(),
                &s.user,
                &id,
                &name,
                data,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "attachment_added")),
        Err(AppError::Refused { .. }) => Ok(redirect_with_flash(&state, &back, "contract_refused")),
        Err(AppError::Validation(errs)) => {
            let key = match errs.first().map(|e| e.code.as_str()) {
                Some("too_large") => "attachment_too_large",
                Some("forbidden_type") => "attachment_forbidden_type",
                Some("too_many") => "contract_files_too_many",
                _ => "attachment_required",
            };
            Ok(redirect_with_flash(&state, &back, key))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_from_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
) -> crate::platform::error::PageResult<Response> {
    let f = get(&state.db, &s.user, &id).await?;
    let back = format!("/contracts/{}", f.contract_id);
    match remove(&state.db, state.clock.now(), &s.actor(), &s.user, &id).await {
        Ok(_) => Ok(redirect_with_flash(&state, &back, "attachment_deleted")),
        Err(AppError::Refused { .. }) | Err(AppError::Forbidden) => {
            Ok(redirect_with_flash(&state, &back, "contract_refused"))
        }
        Err(e) => Err(e.into()),
    }
}
