//! PostgreSQL: an index of the Chinese character pairs of the customers'
//! search text, so a Chinese search uses an index on every cluster.
//!
//! pg_trgm cannot serve a two-character term (it has no trigram), and what it
//! extracts from Chinese text depends on the cluster's locale (under `C` it
//! extracts nothing). `search_bigrams` holds the pairs (`normalize::cjk_bigrams`)
//! whatever the locale; a search for a term with Chinese in it asks this index
//! for rows carrying all of the term's pairs, and `ILIKE` checks the term.
//! SQLite has its FTS5 pair table (`customers_bigrams`) already.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "CREATE INDEX IF NOT EXISTS ix_customers_bigrams ON customers \
                     USING gin (string_to_array(search_bigrams, ' '))",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared("DROP INDEX IF EXISTS ix_customers_bigrams")
                .await?;
        }
        Ok(())
    }
}
