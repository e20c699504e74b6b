//! Importing customers from a CSV or Excel file: the first row names the
//! columns (English field names or their Chinese labels), every other row is
//! a customer owned by the importer. The file is checked as a whole first
//! (readable, a name column, no unknown column, at most
//! `imports::store::MAX_ROWS` rows), then its rows go in the background, in
//! batches (`imports::store`) through `store::create_many_in` (the checks of
//! `store::create_in`, a few statements a batch): a row with a field error
//! fails alone and goes to the error file; rows that look like an existing
//! customer (or an earlier row) are skipped unless asked to create them
//! anyway; a dry run reports without writing.

use super::model::NewCustomer;
use super::store::Made;
use crate::entities::import as import_entity;
use crate::imports::store::{self as imports, RowImporter, RowOutcome};
use crate::platform::audit::Actor;
use crate::platform::auth::CurrentUser;
use crate::platform::clock::Clock;
use crate::platform::error::{AppError, AppResult};
use axum::response::IntoResponse;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use time::OffsetDateTime;

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

/// A cell without surrounding blanks and NUL characters (no database keeps them).
fn clean_cell(c: &str) -> String {
    c.trim().replace('\0', "")
}

/// The cells of an uploaded file, and the text encoding it was read in (CSV).
pub struct Table {
    pub rows: Vec<Vec<String>>,
    pub encoding: Option<&'static str>,
}

/// A CSV file's text and the name of its encoding: the one its byte-order
/// mark names (UTF-8, UTF-16); without one UTF-8 when the bytes are valid
/// UTF-8, else GB18030 (GBK's superset: what Excel saves a CSV in on Chinese
/// Windows). `None` when the bytes are none of these.
pub fn decode_csv(data: &[u8]) -> Option<(String, &'static str)> {
    use encoding_rs::{GB18030, UTF_16BE, UTF_16LE};
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(data) {
        let text = encoding.decode_without_bom_handling_and_without_replacement(&data[bom..])?;
        let name = if encoding == UTF_16LE {
            "UTF-16LE"
        } else if encoding == UTF_16BE {
            "UTF-16BE"
        } else {
            "UTF-8"
        };
        return Some((text.into_owned(), name));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        return Some((text.to_owned(), "UTF-8"));
    }
    let text = GB18030.decode_without_bom_handling_and_without_replacement(data)?;
    Some((text.into_owned(), "GB18030"))
}

/// The cells of a file: CSV (`decode_csv`) or Excel (.xlsx/.xls), by name.
pub fn read_table(file_name: &str, data: &[u8]) -> AppResult<Table> {
    let lower = file_name.to_ascii_lowercase();
    let bad = |m: String| AppError::field("file", "unreadable", m);
    if lower.ends_with(".csv") {
        let (text, encoding) = decode_csv(data).ok_or_else(|| {
            bad("the file is neither UTF-8 nor GBK/GB18030 text: save it as CSV again".into())
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut out = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| bad(format!("not a valid CSV file: {e}")))?;
            out.push(rec.iter().map(clean_cell).collect());
        }
        Ok(Table {
            rows: out,
            encoding: Some(encoding),
        })
    } else if lower.ends_with(".xlsx") || lower.ends_with(".xls") {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(data.to_vec()))
            .map_err(|e| bad(format!("not a readable Excel file: {e}")))?;
        let range = wb
            .worksheet_range_at(0)
            .ok_or_else(|| bad("the workbook has no sheet".into()))?
            .map_err(|e| bad(format!("not a readable Excel file: {e}")))?;
        Ok(Table {
            rows: range
                .rows()
                .map(|r| r.iter().map(|c| clean_cell(&c.to_string())).collect())
                .collect(),
            encoding: None,
        })
    } else {
        Err(AppError::field(
            "file",
            "forbidden_type",
            "use a .csv, .xlsx or .xls file",
        ))
    }
}

/// Writes customer rows: the file's columns mapped to fields.
struct CustomerRows {
    columns: Vec<Option<&'static str>>,
    actor: Actor,
    user: CurrentUser,
    create_duplicates: bool,
    /// In a dry run: what earlier batches would have made.
    earlier: Option<tokio::sync::Mutex<super::store::Earlier>>,
}

impl CustomerRows {
    fn input(&self, row: &[String]) -> NewCustomer {
        let cell = |f: &str| {
            self.columns
                .iter()
                .position(|c| *c == Some(f))
                .and_then(|p| row.get(p))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        NewCustomer {
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
        }
    }
}

impl RowImporter for CustomerRows {
    async fn import_rows(
        &self,
        txn: &DatabaseTransaction,
        now: OffsetDateTime,
        rows: &[Vec<String>],
    ) -> AppResult<Vec<RowOutcome>> {
        let inputs: Vec<NewCustomer> = rows.iter().map(|r| self.input(r)).collect();
        let mut earlier = match &self.earlier {
            Some(e) => Some(e.lock().await),
            None => None,
        };
        let made = super::store::create_many_in(
            txn,
            now,
            &self.actor,
            &self.user,
            &inputs,
            self.create_duplicates,
            earlier.as_deref_mut(),
        )
        .await?;
        Ok(inputs
            .into_iter()
            .zip(made)
            .map(|(input, m)| match m {
                Made::Created => RowOutcome::Created,
                Made::Duplicate(matches) => RowOutcome::Skipped {
                    name: input.name,
                    matches,
                },
                Made::Invalid(errs) => RowOutcome::Failed(errs),
            })
            .collect())
    }
}

/// Checks a table's header and size and starts importing its rows (the first
/// is the header) in the background; the import's record tells its progress.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &Actor,
    user: &CurrentUser,
    file_name: &str,
    table: Table,
    create_duplicates: bool,
    dry_run: bool,
) -> AppResult<import_entity::Model> {
    let encoding = table.encoding;
    let mut rows = table.rows.into_iter();
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
    if rows.len() > imports::MAX_ROWS {
        return Err(AppError::field(
            "file",
            "too_long",
            format!("at most {} rows at once", imports::MAX_ROWS),
        ));
    }
    let importer = CustomerRows {
        columns,
        actor: actor.clone(),
        user: user.clone(),
        create_duplicates,
        earlier: dry_run.then(Default::default),
    };
    imports::start(
        db,
        clock,
        user,
        "customers",
        file_name,
        dry_run,
        header,
        rows,
        encoding,
        importer,
    )
    .await
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
            let bytes = field.bytes().await.map_err(|_| {
                AppError::field("file", "too_large", "a file may be at most 200 MB")
            })?;
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
    recent: Vec<imports::ImportView>,
    error: Option<String>,
}

pub fn page_router() -> axum::Router<crate::platform::state::AppState> {
    axum::Router::new()
        .route(
            "/customers/import",
            axum::routing::get(import_form).post(import_upload),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            imports::MAX_FILE_BYTES + 64 * 1024,
        ))
}

async fn form_page(
    state: &crate::platform::state::AppState,
    s: crate::platform::web::Signed,
    error: Option<String>,
) -> crate::platform::error::PageResult<axum::response::Response> {
    let now = state.clock.now();
    let recent = imports::recent(&state.db, &s.user, "customers")
        .await?
        .iter()
        .map(|m| imports::view(m, now))
        .collect();
    Ok(crate::platform::web::render(&ImportPage {
        ctx: s.ctx,
        recent,
        error,
    })?)
}

async fn import_form(
    axum::extract::State(state): axum::extract::State<crate::platform::state::AppState>,
    s: crate::platform::web::Signed,
) -> crate::platform::error::PageResult<axum::response::Response> {
    form_page(&state, s, None).await
}

async fn import_upload(
    axum::extract::State(state): axum::extract::State<crate::platform::state::AppState>,
    s: crate::platform::web::Signed,
    form: axum::extract::Multipart,
) -> crate::platform::error::PageResult<axum::response::Response> {
    let result = async {
        let (name, data, fields) = read_upload(form).await?;
        let on = |k: &str| fields.iter().any(|(f, v)| f == k && !v.is_empty());
        let table = read_table(&name, &data)?;
        start(
            &state.db,
            &state.clock,
            &s.actor(),
            &s.user,
            &name,
            table,
            on("create_duplicates"),
            on("dry_run"),
        )
        .await
    }
    .await;
    let error = match result {
        Ok(m) => {
            return Ok(axum::response::Redirect::to(&format!("/imports/{}", m.id)).into_response());
        }
        // In the reader's language; the unknown columns are named as the file names them.
        Err(AppError::Validation(errs)) => errs.first().map(|e| {
            let key = format!("import.error_{}", e.code);
            if !s.ctx.lang.has(&key) {
                return s.ctx.error_message(&e.code, &e.message);
            }
            let text = s.ctx.t(&key).to_owned();
            match (e.code.as_str(), e.message.split_once(": ")) {
                ("unknown_columns", Some((_, columns))) => format!("{text}{columns}"),
                _ => text,
            }
        }),
        Err(AppError::BadRequest(m)) => Some(m),
        Err(e) => return Err(e.into()),
    };
    let mut res = form_page(&state, s, error).await?;
    // Nothing was imported: the page says why.
    *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_text_is_read_by_its_mark_as_utf8_or_as_gb18030() {
        let text = "名称,电话\n腾飞科技,0571\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(decode_csv(&gbk), Some((text.to_owned(), "GB18030")));
        assert_eq!(
            decode_csv(text.as_bytes()),
            Some((text.to_owned(), "UTF-8"))
        );
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode_csv(&bom), Some((text.to_owned(), "UTF-8")));
        let mut le = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_csv(&le), Some((text.to_owned(), "UTF-16LE")));
        assert_eq!(decode_csv(&[0x81, 0x20, 0xFF]), None);
    }
}
