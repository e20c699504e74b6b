//! Files kept in the database (activity attachments, contract files): the
//! kinds accepted, reading an upload, and serving a download. A file is always
//! downloaded (never shown inline) with the type its extension names, so it
//! cannot run as a page of the app.

use crate::platform::error::{AppError, AppResult};
use axum::extract::Multipart;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The largest file accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// Extensions accepted, and the type each file is served as.
const KINDS: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("zip", "application/zip"),
];

/// The type a file name is served as; a field error for anything else.
pub fn kind_of(file_name: &str) -> AppResult<&'static str> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    KINDS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            AppError::field(
                "file",
                "forbidden_type",
                format!(
                    "only these kinds of files: {}",
                    KINDS.iter().map(|(e, _)| *e).collect::<Vec<_>>().join(", ")
                ),
            )
        })
}

/// The first file of a multipart body (field `file`): its name and bytes.
pub async fn read_file(mut form: Multipart) -> AppResult<(String, Vec<u8>)> {
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("malformed upload: {e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                if e.to_string().contains("length limit") {
                    AppError::field("file", "too_large", "a file may be at most 10 MB")
                } else {
                    AppError::BadRequest(format!("malformed upload: {e}"))
                }
            })?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(AppError::field("file", "required", "choose a file"))
}

/// The name a file is kept under: the last part of the path sent, without
/// control characters, at most 200 characters; `None` when nothing is left.
pub fn clean_name(file_name: &str) -> Option<String> {
    let name: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

/// A stored file as a download.
pub fn download(file_name: &str, content_type: &str, data: Vec<u8>) -> Response {
    let mut res = data.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let encoded: String = url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
