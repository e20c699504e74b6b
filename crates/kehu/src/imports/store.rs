//! Running an import: the rows go in batches of `BATCH`, each batch one write
//! transaction (the kind's `RowImporter` writes the batch's good rows, a
//! failed or skipped row leaves nothing behind) that also writes the
//! import's progress. Between batches
//! other writers take their turn, so an import never holds the database for
//! long; a server killed mid-import leaves whole batches only, and the import
//! says how many rows were done.

use crate::entities::import;
use crate::platform::auth::CurrentUser;
use crate::platform::clock::Clock;
use crate::platform::db::write_txn;
use crate::platform::error::{AppError, AppResult, FieldError};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Rows per transaction: another writer waits behind one batch at most
/// (tens of milliseconds; `platform::db::WRITE_WAIT` bounds the wait).
pub const BATCH: usize = 500;
/// Rows per file.
pub const MAX_ROWS: usize = 1_000_000;
/// Bytes per file.
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;
/// Skipped rows and row errors listed in the report (all are counted).
const LISTED: usize = 1_000;
/// Failed rows kept for the error file.
const FAILED_ROWS_KEPT: usize = 10_000;
/// A running import whose progress has not moved for this long was stopped
/// (its server ended mid-import).
const STALLED_AFTER: time::Duration = time::Duration::minutes(2);

/// What became of one row.
pub enum RowOutcome {
    Created,
    /// A look-alike of an existing record: `name` and the records it looks like.
    Skipped {
        name: String,
        matches: Vec<Value>,
    },
    /// Its field errors; it wrote nothing.
    Failed(Vec<FieldError>),
}

/// What an import of one kind does with a batch of rows (each its cells in
/// the file's column order).
pub trait RowImporter: Send + Sync + 'static {
    /// Writes the rows in `txn` and says what became of each, in order. A
    /// skipped or failed row writes nothing; an error stops the import (the
    /// batch is rolled back).
    fn import_rows<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        now: OffsetDateTime,
        rows: &'a [Vec<String>],
    ) -> impl Future<Output = AppResult<Vec<RowOutcome>>> + Send + 'a;
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SkippedRow {
    /// The row number in the file (the header is row 1).
    pub row: usize,
    pub name: String,
    #[schema(value_type = Vec<Object>)]
    pub matches: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub code: String,
    pub message: String,
}

/// A failed row as it was in the file, for the error file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FailedRow {
    row: usize,
    cells: Vec<String>,
    reason: String,
}

/// The outcome so far, kept as JSON in `imports.report` (fields added later
/// read as their defaults).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct Outcome {
    header: Vec<String>,
    created: usize,
    skipped_total: usize,
    failed: usize,
    skipped: Vec<SkippedRow>,
    errors: Vec<RowError>,
    failed_rows: Vec<FailedRow>,
    /// Why the import stopped, when an unexpected error stopped it.
    stopped: Option<String>,
    /// The text encoding a CSV file was read in.
    encoding: Option<String>,
}

/// An import as the API and the page show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportView {
    pub id: String,
    /// `customers`.
    pub kind: String,
    pub file_name: String,
    pub dry_run: bool,
    /// `running`, `done`, `failed` (an unexpected error stopped it) or
    /// `interrupted` (its server stopped mid-import: the rows done are in,
    /// the others are not).
    pub status: String,
    /// Rows in the file, without the header.
    pub rows: usize,
    /// Rows handled so far (created, skipped or failed); in a dry run nothing is written.
    pub rows_done: usize,
    /// Rows created (in a dry run: that would be created).
    pub created: usize,
    /// Rows left out as look-alikes of existing records or of earlier rows.
    pub skipped_total: usize,
    /// Rows with a field error, not imported.
    pub failed: usize,
    /// The first skipped rows (all are counted in `skipped_total`).
    pub skipped: Vec<SkippedRow>,
    /// The first row errors (all failed rows are counted in `failed`).
    pub errors: Vec<RowError>,
    /// The failed rows as a CSV file with the reason in a last column, when any failed.
    pub error_file: Option<String>,
    /// Why an unexpected error stopped the import.
    pub detail: Option<String>,
    /// The text encoding a CSV file was read in: `UTF-8`, `UTF-16LE` or
    /// `UTF-16BE` (by its byte-order mark) or `GB18030` (GBK's superset, what
    /// Excel saves a CSV in on Chinese Windows); none for an Excel file.
    pub encoding: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

impl ImportView {
    pub fn running(&self) -> bool {
        self.status == "running"
    }

    /// Percent of the rows done, for the progress bar.
    pub fn percent(&self) -> usize {
        (self.rows_done * 100).checked_div(self.rows).unwrap_or(100)
    }
}

fn outcome_of(m: &import::Model) -> Outcome {
    serde_json::from_str(&m.report).unwrap_or_default()
}

pub fn view(m: &import::Model, now: OffsetDateTime) -> ImportView {
    let o = outcome_of(m);
    let status = if m.status == "running" && now - m.updated_at > STALLED_AFTER {
        "interrupted".to_owned()
    } else {
        m.status.clone()
    };
    ImportView {
        id: m.id.clone(),
        kind: m.kind.clone(),
        file_name: m.file_name.clone(),
        dry_run: m.dry_run,
        status,
        rows: usize::try_from(m.rows_total).unwrap_or(0),
        rows_done: usize::try_from(m.rows_done).unwrap_or(0),
        created: o.created,
        skipped_total: o.skipped_total,
        failed: o.failed,
        skipped: o.skipped,
        errors: o.errors,
        error_file: (o.failed > 0).then(|| format!("/api/v1/imports/{}/errors.csv", m.id)),
        detail: o.stopped,
        encoding: o.encoding,
        created_at: m.created_at,
        finished_at: m.finished_at,
    }
}

/// An import its user (or an administrator) may see; 404 otherwise.
pub async fn get(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: &str,
) -> AppResult<import::Model> {
    let m = import::Entity::find_by_id(id.to_owned())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if m.user_id != user.id && !user.is_admin() {
        return Err(AppError::NotFound);
    }
    Ok(m)
}

/// The caller's latest imports of a kind, newest first.
pub async fn recent(
    db: &DatabaseConnection,
    user: &CurrentUser,
    kind: &str,
) -> AppResult<Vec<import::Model>> {
    Ok(import::Entity::find()
        .filter(import::Column::UserId.eq(user.id.clone()))
        .filter(import::Column::Kind.eq(kind))
        .order_by_desc(import::Column::CreatedAt)
        .order_by_desc(import::Column::Id)
        .limit(10)
        .all(db)
        .await?)
}

/// The failed rows of an import as CSV: the file's header and an `error`
/// column, UTF-8 with a BOM so Excel reads Chinese.
pub fn error_file(m: &import::Model) -> AppResult<Vec<u8>> {
    let o = outcome_of(m);
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header = o.header.clone();
    header.push("error".into());
    let bad = |e: csv::Error| AppError::Unexpected(e.into());
    w.write_record(&header).map_err(bad)?;
    for r in &o.failed_rows {
        let mut cells = r.cells.clone();
        cells.resize(o.header.len(), String::new());
        cells.push(r.reason.clone());
        w.write_record(&cells).map_err(bad)?;
    }
    w.into_inner()
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("{e}")))
}

/// Records an import and starts it in the background; its progress is read
/// with `get`. `rows` are the data rows (without the header), numbered from 2.
#[allow(clippy::too_many_arguments)]
pub async fn start<I: RowImporter>(
    db: &DatabaseConnection,
    clock: &Clock,
    user: &CurrentUser,
    kind: &str,
    file_name: &str,
    dry_run: bool,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    encoding: Option<&str>,
    importer: I,
) -> AppResult<import::Model> {
    let now = clock.now();
    let outcome = Outcome {
        header,
        encoding: encoding.map(str::to_owned),
        ..Default::default()
    };
    let m = import::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        kind: Set(kind.to_owned()),
        user_id: Set(user.id.clone()),
        file_name: Set(file_name.chars().take(200).collect()),
        dry_run: Set(dry_run),
        status: Set("running".into()),
        rows_total: Set(i64::try_from(rows.len()).unwrap_or(i64::MAX)),
        rows_done: Set(0),
        report: Set(serde_json::to_string(&outcome).unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    };
    let txn = write_txn(db).await?;
    let m = m.insert(&txn).await?;
    txn.commit().await?;
    let (db, clock, id) = (db.clone(), clock.clone(), m.id.clone());
    tokio::spawn(async move {
        if let Err(e) = run(&db, &clock, &id, dry_run, outcome, rows, importer).await {
            tracing::error!(error = %e, import = %id, "import stopped");
            let _ = finish(&db, &clock, &id, "failed", Some(e.to_string())).await;
        }
    });
    Ok(m)
}

async fn run<I: RowImporter>(
    db: &DatabaseConnection,
    clock: &Clock,
    id: &str,
    dry_run: bool,
    mut outcome: Outcome,
    rows: Vec<Vec<String>>,
    importer: I,
) -> AppResult<()> {
    let mut done = 0usize;
    for batch in rows.chunks(BATCH) {
        // A batch that finds the database busy (a long write of another
        // instance) is tried again, a little later each time.
        let mut tries = 0u64;
        loop {
            let mut next = outcome.clone();
            match run_batch(db, clock, id, dry_run, &importer, batch, done, &mut next).await {
                Ok(()) => {
                    outcome = next;
                    done += batch.len();
                    break;
                }
                Err(AppError::Busy) if tries < BUSY_RETRIES => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(tries)).await;
                }
                Err(e) => return Err(e),
            }
        }
        // Writers that queued behind this batch go first.
        crate::platform::db::let_other_writers_in(db).await;
    }
    finish(db, clock, id, "done", None).await
}

/// Times a batch is tried again after `503 busy` before the import stops.
const BUSY_RETRIES: u64 = 5;

/// One batch in one transaction, with the import's progress: both or neither.
#[allow(clippy::too_many_arguments)]
async fn run_batch<I: RowImporter>(
    db: &DatabaseConnection,
    clock: &Clock,
    id: &str,
    dry_run: bool,
    importer: &I,
    batch: &[Vec<String>],
    done_before: usize,
    outcome: &mut Outcome,
) -> AppResult<()> {
    let now = clock.now();
    let txn = write_txn(db).await?;
    let results = importer.import_rows(&txn, now, batch).await?;
    if results.len() != batch.len() {
        return Err(AppError::Unexpected(anyhow::anyhow!(
            "{} outcomes for {} rows",
            results.len(),
            batch.len()
        )));
    }
    for (i, (cells, result)) in batch.iter().zip(results).enumerate() {
        // The header is row 1.
        let number = done_before + i + 2;
        match result {
            RowOutcome::Created => outcome.created += 1,
            RowOutcome::Skipped { name, matches } => {
                outcome.skipped_total += 1;
                if outcome.skipped.len() < LISTED {
                    outcome.skipped.push(SkippedRow {
                        row: number,
                        name,
                        matches,
                    });
                }
            }
            RowOutcome::Failed(errs) => {
                outcome.failed += 1;
                fail_row(outcome, number, cells, errs);
            }
        }
    }
    let progress = import::ActiveModel {
        id: Set(id.to_owned()),
        rows_done: Set(i64::try_from(done_before + batch.len()).unwrap_or(i64::MAX)),
        report: Set(serde_json::to_string(&*outcome).unwrap_or_default()),
        updated_at: Set(now),
        ..Default::default()
    };
    if dry_run {
        txn.rollback().await?;
        let txn = write_txn(db).await?;
        progress.update(&txn).await?;
        txn.commit().await?;
    } else {
        progress.update(&txn).await?;
        txn.commit().await?;
    }
    Ok(())
}

fn fail_row(outcome: &mut Outcome, number: usize, cells: &[String], errs: Vec<FieldError>) {
    let reason = errs
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    for e in errs {
        if outcome.errors.len() < LISTED {
            outcome.errors.push(RowError {
                row: number,
                field: e.field,
                code: e.code,
                message: e.message,
            });
        }
    }
    if outcome.failed_rows.len() < FAILED_ROWS_KEPT {
        outcome.failed_rows.push(FailedRow {
            row: number,
            cells: cells.to_vec(),
            reason,
        });
    }
}

async fn finish(
    db: &DatabaseConnection,
    clock: &Clock,
    id: &str,
    status: &str,
    stopped: Option<String>,
) -> AppResult<()> {
    let now = clock.now();
    let txn = write_txn(db).await?;
    let m = import::Entity::find_by_id(id.to_owned())
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut o = outcome_of(&m);
    if stopped.is_some() {
        o.stopped = stopped;
    }
    import::ActiveModel {
        id: Set(id.to_owned()),
        status: Set(status.to_owned()),
        report: Set(serde_json::to_string(&o).unwrap_or_default()),
        updated_at: Set(now),
        finished_at: Set(Some(now)),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}
