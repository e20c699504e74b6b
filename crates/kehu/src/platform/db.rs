//! Connecting to SQLite or PostgreSQL and running migrations.

use anyhow::Context;
use kehu_migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// SQLite: write transactions of one database file start one at a time. A task
/// waits here, in order, while the one ahead of it waits for SQLite's write
/// lock; without this every waiter polls SQLite's lock with growing pauses and
/// a busy writer could wait seconds behind luckier ones.
static BEGIN_TURNS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn begin_turn(db: &DatabaseConnection) -> Option<Arc<tokio::sync::Mutex<()>>> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut turns = BEGIN_TURNS.lock().ok()?;
    Some(turns.entry(file).or_default().clone())
}

/// The default database: a SQLite file under `./kehu-data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kehu-data/kehu.db?mode=rwc";

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Opens a pool. SQLite gets WAL, foreign keys, a busy timeout and several connections.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, false).await
}

/// `connect`; with `background_checkpoints`, SQLite connections do not copy the
/// WAL back into the database when they commit (an fsync in the middle of a
/// request): the server calls `checkpoint` every second instead.
pub async fn connect_with(
    url: &str,
    background_checkpoints: bool,
) -> anyhow::Result<DatabaseConnection> {
    if is_sqlite(url) {
        ensure_sqlite_dir(url)?;
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    // Every statement is logged at debug level with its time, for a look at
    // what a request runs (`KEHU_LOG=sqlx=debug`). (Not slow ones as warnings:
    // sqlx logs a statement whole, and an import's batch is megabytes.)
    opts.sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Off, Duration::from_secs(1))
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if is_sqlite(url) {
        opts.max_connections(4)
            .min_connections(1)
            // A pooled SQLite connection is a thread of this process: a ping
            // before each use would only add a round trip to that thread (two
            // thread switches) to every query.
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(WRITE_WAIT)
                    // 16 MB of page cache per connection (the default is 2 MB).
                    .pragma("cache_size", "-16000")
                    .pragma(
                        "wal_autocheckpoint",
                        if background_checkpoints { "0" } else { "1000" },
                    )
                    .create_if_missing(true)
            });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    let db = Database::connect(opts)
        .await
        .with_context(|| format!("cannot open database {}", redact(url)))?;
    Ok(db)
}

/// Copies what the WAL holds back into the SQLite database without blocking
/// readers or writers (a passive checkpoint). Nothing to do on PostgreSQL.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await?;
    }
    Ok(())
}

/// Brings the query planner's statistics up to date on the tables that have
/// changed much since they were last measured (SQLite's `PRAGMA optimize`,
/// which analyzes only those, on a sample of each index). A database that grew
/// by use has none until then, and its planner guesses. PostgreSQL's
/// autovacuum keeps its statistics by itself.
pub async fn refresh_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        // 0x10000: every table, not only those this connection has queried.
        db.execute_unprepared("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// Starts a transaction that will write. On SQLite it takes the write lock at
/// once (`BEGIN IMMEDIATE`), so a read-then-write transaction waits for other
/// writers instead of failing with "database is locked" when it upgrades.
/// On SQLite, transactions of one file begin in turn (see `BEGIN_TURNS`).
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    match begin_turn(db) {
        Some(turn) => {
            // A writer that cannot have its turn in time gives up (`503 busy`)
            // rather than queueing without end behind a long writer.
            let _turn = tokio::time::timeout(WRITE_WAIT, turn.lock())
                .await
                .map_err(|_| DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout))?;
            db.begin_with_options(options).await
        }
        None => db.begin_with_options(options).await,
    }
}

/// How long a SQLite write waits for its turn, and then for the write lock
/// (`busy_timeout`), before it answers `503 busy`. The longest write
/// transaction is one batch of an import (`imports::store::BATCH` rows, tens
/// of milliseconds), so a writer normally waits a fraction of this.
pub const WRITE_WAIT: Duration = Duration::from_secs(5);

/// Between two transactions of a long bulk write (an import's batches): waits,
/// at most `LET_IN_MAX`, until no other pooled connection is in use. A write
/// made outside `write_txn` (an autocommit insert) waits for SQLite's lock in
/// SQLite's busy handler, which polls it at most 100 ms apart while holding a
/// connection; without this pause the bulk writer would take the lock again
/// before such a writer ever saw it free. Readers hold a connection for
/// milliseconds, so the pause is short unless a writer is waiting.
pub async fn let_other_writers_in(db: &DatabaseConnection) {
    tokio::task::yield_now().await;
    if db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    let pool = db.get_sqlite_connection_pool();
    let deadline = std::time::Instant::now() + LET_IN_MAX;
    while (pool.size() as usize) > pool.num_idle() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The longest pause of `let_other_writers_in`: more than SQLite's busy
/// handler's longest sleep (100 ms).
pub const LET_IN_MAX: Duration = Duration::from_millis(150);

/// A select that, on PostgreSQL, locks the rows it reads until the
/// transaction ends (`FOR UPDATE`), so two concurrent state changes of one
/// record take turns and the second sees the first one's result. On SQLite
/// `write_txn` already holds the database's write lock.
pub fn for_update<E: sea_orm::EntityTrait, C: ConnectionTrait>(
    q: sea_orm::Select<E>,
    db: &C,
) -> sea_orm::Select<E> {
    use sea_orm::QuerySelect;
    if db.get_database_backend() == DbBackend::Postgres {
        q.lock(sea_orm::sea_query::LockType::Update)
    } else {
        q
    }
}

/// The rows of `base` that match any of `keys` (each an equality on an
/// indexed column), up to `limit`, looked up one key at a time and merged
/// (without repeats, by `id_of`). SQLite plans `a = ? OR b = ? OR c = ?`
/// beside another indexed condition (`deleted_at IS NULL`) as a walk of that
/// other index, which reads every live row: a duplicate check per imported
/// row then grew with the table.
pub async fn find_by_any<E, C, F>(
    db: &C,
    base: sea_orm::Select<E>,
    keys: Vec<sea_orm::sea_query::SimpleExpr>,
    limit: u64,
    id_of: F,
) -> Result<Vec<E::Model>, DbErr>
where
    E: sea_orm::EntityTrait,
    C: ConnectionTrait,
    F: Fn(&E::Model) -> String,
{
    use sea_orm::{QueryFilter, QuerySelect};
    let mut out: Vec<E::Model> = Vec::new();
    for key in keys {
        if out.len() as u64 >= limit {
            break;
        }
        for m in base.clone().filter(key).limit(limit).all(db).await? {
            let id = id_of(&m);
            if (out.len() as u64) < limit && !out.iter().any(|o| id_of(o) == id) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Checks what Kehu needs of the database (`check_postgres`), then brings its
/// schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    check_postgres(db).await?;
    Migrator::up(db, None)
        .await
        .context("database migration failed")?;
    Ok(())
}

/// What Kehu needs of a PostgreSQL server, checked before it migrates or
/// serves, with what to do when one is missing: PostgreSQL 13 or later, a
/// UTF8 database, standard-conforming strings (the default), and the pg_trgm
/// extension (PostgreSQL's contrib package) for search. Nothing on SQLite.
pub async fn check_postgres(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('server_version_num')::int AS version, \
                    pg_encoding_to_char(encoding) AS encoding, \
                    current_setting('standard_conforming_strings') AS strings, \
                    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS trgm \
             FROM pg_database WHERE datname = current_database()",
        ))
        .await
        .context("cannot read the PostgreSQL server's settings")?
        .context("the database is not in pg_database")?;
    let version: i32 = row.try_get("", "version")?;
    let encoding: String = row.try_get("", "encoding")?;
    let strings: String = row.try_get("", "strings")?;
    let trgm: bool = row.try_get("", "trgm")?;
    let mut problems = Vec::new();
    if version < 130_000 {
        problems.push(format!(
            "PostgreSQL 13 or later is needed (this server is {})",
            version / 10_000
        ));
    }
    if encoding != "UTF8" {
        problems.push(format!(
            "the database must be UTF8 (it is {encoding}): create it with `CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0`"
        ));
    }
    if strings != "on" {
        problems.push(
            "standard_conforming_strings must be on (the default): `ALTER DATABASE … SET standard_conforming_strings = on`".to_owned(),
        );
    }
    if !trgm {
        problems.push(
            "the pg_trgm extension, which search needs, is not installed on the server: install PostgreSQL's contrib package (Debian and Ubuntu: postgresql-contrib; it comes with the server packages of most distributions)".to_owned(),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "this PostgreSQL database cannot serve Kehu: {}",
            problems.join("; ")
        )
    }
}

/// Hides a password in a URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    Ok(())
}

/// The SQLite file behind a URL, if it is one.
pub fn sqlite_path(url: &str) -> Option<String> {
    if !is_sqlite(url) {
        return None;
    }
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn finds_sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc").as_deref(),
            Some("/tmp/a.db")
        );
        assert_eq!(
            sqlite_path("sqlite://kehu-data/kehu.db?mode=rwc").as_deref(),
            Some("kehu-data/kehu.db")
        );
        assert_eq!(sqlite_path("postgres://x"), None);
    }

    /// The bundled SQLite is built as `.cargo/config.toml` says (a
    /// `LIBSQLITE3_FLAGS` set in the environment would replace those flags).
    #[tokio::test]
    async fn sqlite_is_built_with_the_workspace_flags() {
        let db = connect("sqlite::memory:")
            .await
            .expect("in-memory database");
        let options: Vec<String> = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .expect("compile options")
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).expect("option"))
            .collect();
        for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
            assert!(
                options.iter().any(|o| o == wanted),
                "{wanted} in {options:?}"
            );
        }
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
    }
}
