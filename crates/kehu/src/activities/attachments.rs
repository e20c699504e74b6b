//! Files attached to activities: up to 10 MB each, of the kinds a CRM sees
//! (documents, spreadsheets, slides, PDFs, images, text, zip). They are
//! always downloaded (never shown inline) with the type their extension
//! names, so a file cannot run as a page of the app. Visible to whoever sees
//! the activity.

use crate::entities::attachment;
use crate::platform::audit::{self, Actor};
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, Problem};
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

pub use crate::platform::files::MAX_BYTES;
use crate::platform::files::{self, kind_of, read_file};
/// Files per activity.
pub const MAX_PER_ACTIVITY: u64 = 20;

/// An attachment as the API shows it (without its bytes).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: String,
    pub activity_id: String,
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

fn view(r: Row) -> AttachmentView {
    AttachmentView {
        id: r.0,
        activity_id: r.1,
        file_name: r.2,
        content_type: r.3,
        size: r.4,
        created_by: r.5,
        created_at: r.6,
    }
}

/// The attachments of some activities (visibility checked by the caller), oldest first.
pub async fn of_activities<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> AppResult<Vec<AttachmentView>> {
    Ok(attachment::Entity::find()
        .filter(attachment::Column::ActivityId.is_in(ids))
        .order_by_asc(attachment::Column::CreatedAt)
        .order_by_asc(attachment::Column::Id)
        .select_only()
        .columns([
            attachment::Column::Id,
            attachment::Column::ActivityId,
            attachment::Column::FileName,
            attachment::Column::ContentType,
            attachment::Column::Size,
            attachment::Column::CreatedBy,
            attachment::Column::CreatedAt,
        ])
        .into_tuple::<Row>()
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Stores a file on an activity the caller sees.
pub async fn add(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    activity_id: &str,
    file_name: &str,
    data: Vec<u8>,
) -> AppResult<AttachmentView> {
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
    super::store::get(&txn, user, activity_id).await?;
    let n = attachment::Entity::find()
        .filter(attachment::Column::ActivityId.eq(activity_id))
        .count(&txn)
        .await?;
    if n >= MAX_PER_ACTIVITY {
        return Err(AppError::field(
            "file",
            "too_many",
            "at most 20 files per activity",
        ));
    }
    let size = data.len() as i64;
    let m = attachment::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        activity_id: Set(activity_id.to_owned()),
        file_name: Set(name),
        content_type: Set(content_type.to_owned()),
        size: Set(size),
        data: Set(data),
        created_by: Set(Some(user.id.clone())),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut changes = Map::new();
    changes.insert("file_name".into(), json!([null, m.file_name]));
    changes.insert("size".into(), json!([null, size]));
    audit::record(
        &txn,
        now,
        actor,
        "attachment",
        Some(&m.id),
        "create",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(AttachmentView {
        id: m.id,
        activity_id: m.activity_id,
        file_name: m.file_name,
        content_type: m.content_type,
        size: m.size,
        created_by: m.created_by,
        created_at: m.created_at,
    })
}

/// An attachment whose activity the caller sees; 404 otherwise.
async fn get(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: &str,
) -> AppResult<attachment::Model> {
    let a = attachment::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    super::store::get(db, user, &a.activity_id).await?;
    Ok(a)
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_attachments, upload_attachment))
        .routes(routes!(download_attachment, delete_attachment))
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

/// The files of an activity.
#[utoipa::path(get, path = "/api/v1/activities/{id}/attachments", tag = "activities",
    responses((status = 200, body = Page<AttachmentView>), (status = 404, body = Problem)))]
async fn list_attachments(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<Page<AttachmentView>>> {
    super::store::get(&state.db, &me.user, &id).await?;
    Ok(Json(Page::whole(of_activities(&state.db, vec![id]).await?)))
}

/// Attach a file (multipart field `file`, at most 10 MB; documents, spreadsheets, slides,
/// PDF, images, text, csv, zip).
#[utoipa::path(post, path = "/api/v1/activities/{id}/attachments", tag = "activities",
    request_body(content_type = "multipart/form-data", description = "a `file` field"),
    responses((status = 201, body = AttachmentView), (status = 404, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
async fn upload_attachment(
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
        format!("/api/v1/attachments/{}", v.id),
        v,
    ))
}

/// Download a file (always as an attachment).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "activities",
    responses((status = 200, description = "the file"), (status = 404, body = Problem)))]
async fn download_attachment(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let a = get(&state.db, &me.user, &id).await?;
    Ok(files::download(&a.file_name, &a.content_type, a.data))
}

/// Remove a file.
#[utoipa::path(delete, path = "/api/v1/attachments/{id}", tag = "activities",
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_attachment(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let a = get(&state.db, &me.user, &id).await?;
    let now = state.clock.now();
    let txn = write_txn(&state.db).await?;
    attachment::Entity::delete_by_id(a.id.clone())
        .exec(&txn)
        .await?;
    let mut changes = Map::new();
    changes.insert("file_name".into(), json!([a.file_name, null]));
    audit::record(
        &txn,
        now,
        &me.actor(),
        "attachment",
        Some(&a.id),
        "delete",
        changes,
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The page form: `POST /activities/{id}/attachments` (multipart; the CSRF token
/// rides in the query string, see `web::identify`), back to the activity's record.
pub fn page_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/activities/{id}/attachments",
            axum::routing::post(upload_from_page),
        )
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

async fn upload_from_page(
    State(state): State<AppState>,
    s: Signed,
    Path(id): Path<String>,
    form: Multipart,
) -> crate::platform::error::PageResult<Response> {
    let a = super::store::get(&state.db, &s.user, &id).await?;
    let back = match (&a.customer_id, &a.lead_id) {
        (Some(c), _) => format!("/customers/{c}"),
        (None, Some(l)) => format!("/leads/{l}"),
        _ => "/".to_owned(),
    };
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
        Err(AppError::Validation(errs)) => {
            let key = match errs.first().map(|e| e.code.as_str()) {
                Some("too_large") => "attachment_too_large",
                Some("forbidden_type") => "attachment_forbidden_type",
                Some("too_many") => "attachment_too_many",
                _ => "attachment_required",
            };
            Ok(redirect_with_flash(&state, &back, key))
        }
        Err(e) => Err(e.into()),
    }
}
