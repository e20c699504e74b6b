//! `GET /api/v1/imports/{id}` (progress and outcome) and its error file.

use super::store::{self, ImportView};
use crate::platform::error::{AppResult, Problem};
use crate::platform::state::AppState;
use crate::platform::web::ApiUser;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_import))
        .routes(routes!(import_errors))
}

/// An import's progress and outcome (yours; administrators see all). Poll it
/// until `status` is no longer `running`.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports",
    responses((status = 200, body = ImportView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_import(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Json<ImportView>> {
    let m = store::get(&state.db, &me.user, &id).await?;
    Ok(Json(store::view(&m, state.clock.now())))
}

/// The rows of an import that failed, as CSV: the file's columns and an
/// `error` column saying why (fix them and import this file again).
#[utoipa::path(get, path = "/api/v1/imports/{id}/errors.csv", tag = "imports",
    responses((status = 200, description = "CSV (UTF-8)", content_type = "text/csv"),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn import_errors(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let m = store::get(&state.db, &me.user, &id).await?;
    let data = store::error_file(&m)?;
    let name = format!(
        "{}-errors.csv",
        m.file_name
            .rsplit_once('.')
            .map(|(stem, _)| stem)
            .unwrap_or(&m.file_name)
    );
    Ok(crate::platform::files::download(
        &name,
        "text/csv; charset=utf-8",
        data,
    ))
}
