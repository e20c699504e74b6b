//! Importing customers from a CSV or Excel file: the first row names the
//! columns (English field names or their Chinese labels), every other row is
//! a customer owned by the importer. All or nothing: a row with a field error
//! stops the import and every error is reported with its row number. Rows that
//! look like an existing customer (or an earlier row) are skipped unless asked
//! to create them anyway; a dry run reports without writing.

use super::model::NewCustomer;
use crate::platform::audit::Actor;
use crate::platform::auth::CurrentUser;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Rows per file.
pub const MAX_ROWS: usize = 5_000;

/// Column headers understood, by field.
const HEADERS: &[(&str, &[&str])] = &[
    ("name", &["name", "名称", "客户名称", "公司名称"]),
    ("kind", &["kind", "type", "类型"]),
    ("industry", &["industry", "行业"]),
    ("size", &["size", "规模"]),
    ("region", &["region", "区域", "地区"]),
    ("address", &["address", "地址"]),
    ("phone", &["phone", "电话"]),
    ("email", &["email", "邮箱"]),
    ("website", &["website", "网站"]),
    ("source", &["source", "来源"]),
    ("level", &["level", "级别"]),
    ("status", &["status", "状态"]),
    ("tags", &["tags", "标签"]),
    ("notes", &["notes", "备注"]),
];

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Rows read (without the header).
    pub rows: usize,
    pub created: usize,
    /// Rows left out as look-alikes of existing customers or earlier rows.
    pub skipped: Vec<SkippedRow>,
    /// Field errors by row; when there are any, nothing was imported.
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedRow {
    /// The row number in the file (the header is row 1).
    pub row: usize,
    pub name: String,
    #[schema(value_type = Vec<Object>)]
    pub matches: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The cells of a file: CSV (UTF-8, with or without BOM) or Excel (.xlsx/.xls), by name.
pub fn read_table(file_name: &str, data: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let lower = file_name.to_ascii_lowercase();
    let bad = |m: String| AppError::field("file", "unreadable", m);
    if lower.ends_with(".csv") {
        let text = std::str::from_utf8(data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data))
            .map_err(|_| bad("a CSV file must be UTF-8".into()))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut out = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| bad(format!("not a valid CSV file: {e}")))?;
            out.push(rec.iter().map(|c| c.trim().to_owned()).collect());
        }
        Ok(out)
    } else if lower.ends_with(".xlsx") || lower.ends_with(".xls") {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(data.to_vec()))
            .map_err(|e| bad(format!("not a readable Excel file: {e}")))?;
        let range = wb
            .worksheet_range_at(0)
            .ok_or_else(|| bad("the workbook has no sheet".into()))?
            .map_err(|e| bad(format!("not a readable Excel file: {e}")))?;
        Ok(range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string().trim().to_owned()).collect())
            .collect())
    } else {
        Err(AppError::field(
            "file",
            "forbidden_type",
            "use a .csv, .xlsx or .xls file",
        ))
    }
}

/// Imports customers from table rows (the first is the header).
pub async fn import(
    db: &DatabaseConnection,
    now: OffsetDateTime,
    actor: &Actor,
    user: &CurrentUser,
    table: Vec<Vec<String>>,
    create_duplicates: bool,
    dry_run: bool,
) -> AppResult<ImportReport> {
    let mut rows = table.into_iter();
    let header = rows.next().unwrap_or_default();
    let mut columns: Vec<Option<&'static str>> = Vec::new();
    let mut unknown = Vec::new();
    for h in &header {
        let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
        let field = HEADERS
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == h))
            .map(|(f, _)| *f);
        if field.is_none() && !h.is_empty() {
            unknown.push(h);
        }
        columns.push(field);
    }
    if !columns.contains(&Some("name")) {
        return Err(AppError::field(
            "file",
            "no_name_column",
            "the first row must name a 名称 / name column",
        ));
    }
    if !unknown.is_empty() {
        return Err(AppError::field(
            "file",
            "unknown_columns",
            format!("unknown columns: {}", unknown.join(", ")),
        ));
    }
    let rows: Vec<Vec<String>> = rows.filter(|r| r.iter().any(|c| !c.is_empty())).collect();
    if rows.len() > MAX_ROWS {
        return Err(AppError::field(
            "file",
            "too_long",
            format!("at most {MAX_ROWS} rows at once"),
        ));
    }
    let mut report = ImportReport {
        dry_run,
        rows: rows.len(),
        ..Default::default()
    };
    let txn = write_txn(db).await?;
    for (i, row) in rows.iter().enumerate() {
        let number = i + 2;
        let cell = |f: &str| {
            columns
                .iter()
                .position(|c| *c == Some(f))
                .and_then(|p| row.get(p))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let input = NewCustomer {
            name: cell("name").unwrap_or_default(),
            kind: cell("kind"),
            industry: cell("industry"),
            size: cell("size"),
            region: cell("region"),
            address: cell("address"),
            phone: cell("phone"),
            email: cell("email"),
            website: cell("website"),
            source: cell("source"),
            level: cell("level"),
            status: cell("status"),
            tags: cell("tags").map(|t| crate::platform::form::split_tags(&t)),
            notes: cell("notes"),
            ..Default::default()
        };
        let name = input.name.clone();
        // Each row in a savepoint, so a skipped look-alike leaves nothing behind.
        let sp = txn.begin().await?;
        match super::store::create_in(&sp, now, actor, user, input, create_duplicates).await {
            Ok(_) => {
                sp.commit().await?;
                report.created += 1;
            }
            Err(AppError::Duplicate(matches)) => {
                sp.rollback().await?;
                report.skipped.push(SkippedRow {
                    row: number,
                    name,
                    matches,
                });
            }
            Err(AppError::Validation(errs)) => {
                sp.rollback().await?;
                report
                    .errors
                    .extend(errs.into_iter().map(|e: FieldError| RowError {
                        row: number,
                        field: e.field,
                        code: e.code,
                        message: e.message,
                    }));
            }
            Err(e) => return Err(e),
        }
        if report.errors.len() > 200 {
            break;
        }
    }
    if dry_run || !report.errors.is_empty() {
        txn.rollback().await?;
        if !report.errors.is_empty() {
            report.created = 0;
        }
    } else {
        txn.commit().await?;
    }
    Ok(report)
}

/// The report's row errors as field errors (`rows[3].email`), for a 422.
pub fn as_error(report: &ImportReport) -> AppError {
    AppError::Validation(
        report
            .errors
            .iter()
            .map(|e| {
                FieldError::new(
                    &format!("rows[{}].{}", e.row, e.field),
                    &e.code,
                    e.message.clone(),
                )
            })
            .collect(),
    )
}

/// The file of a multipart body (field `file`) and the form's other fields.
pub async fn read_upload(
    mut form: axum::extract::Multipart,
) -> AppResult<(String, Vec<u8>, Vec<(String, String)>)> {
    let mut file = None;
    let mut fields = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("malformed upload: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::field("file", "too_large", "a file may be at most 10 MB"))?;
            file = Some((file_name, bytes.to_vec()));
        } else {
            let v = field.text().await.unwrap_or_default();
            fields.push((name, v));
        }
    }
    let (n, d) = file.ok_or_else(|| AppError::field("file", "required", "choose a file"))?;
    if d.is_empty() {
        return Err(AppError::field("file", "required", "choose a file"));
    }
    Ok((n, d, fields))
}

// ---- The import page ----

#[derive(askama::Template)]
#[template(path = "customers/import.html")]
struct ImportPage {
    ctx: crate::platform::web::PageCtx,
    report: Option<ImportReport>,
    error: Option<String>,
}

pub fn page_router() -> axum::Router<crate::app::AppState> {
    axum::Router::new()
        .route(
            "/customers/import",
            axum::routing::get(import_form).post(import_upload),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            10 * 1024 * 1024 + 64 * 1024,
        ))
}

async fn import_form(
    s: crate::platform::web::Signed,
) -> crate::platform::error::PageResult<axum::response::Response> {
    Ok(crate::platform::web::render(&ImportPage {
        ctx: s.ctx,
        report: None,
        error: None,
    })?)
}

async fn import_upload(
    axum::extract::State(state): axum::extract::State<crate::app::AppState>,
    s: crate::platform::web::Signed,
    form: axum::extract::Multipart,
) -> crate::platform::error::PageResult<axum::response::Response> {
    let result = async {
        let (name, data, fields) = read_upload(form).await?;
        let on = |k: &str| fields.iter().any(|(f, v)| f == k && !v.is_empty());
        let table = read_table(&name, &data)?;
        import(
            &state.db,
            state.clock.now(),
            &s.actor(),
            &s.user,
            table,
            on("create_duplicates"),
            on("dry_run"),
        )
        .await
    }
    .await;
    let (report, error) = match result {
        Ok(r) => (Some(r), None),
        Err(AppError::Validation(errs)) => (None, errs.first().map(|e| e.message.clone())),
        Err(AppError::BadRequest(m)) => (None, Some(m)),
        Err(e) => return Err(e.into()),
    };
    let failed = error.is_some() || report.as_ref().is_some_and(|r| !r.errors.is_empty());
    let mut res = crate::platform::web::render(&ImportPage {
        ctx: s.ctx,
        report,
        error,
    })?;
    if failed {
        // Nothing was imported: the page says why.
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}
