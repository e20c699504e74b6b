//! Imports run in the background: one row per upload, with its progress and
//! its outcome (rows created, skipped and failed, the failed rows for the
//! error file), written in the same transaction as each batch of rows.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("imports")
                .col(id("id"))
                .col(text("kind"))
                .col(ColumnDef::new("user_id").string_len(36).not_null())
                .col(text("file_name"))
                .col(flag("dry_run", false))
                .col(text("status"))
                .col(
                    ColumnDef::new("rows_total")
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new("rows_done")
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new("report").text().not_null().default("{}"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("finished_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_imports_user",
            "imports",
            &["user_id", "created_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("imports").to_owned())
            .await
    }
}
