//! Files attached to contracts (the signed scan, annexes), kept in the database
//! like activity attachments.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("contract_files")
                .col(id("id"))
                .col(ColumnDef::new("contract_id").string_len(36).not_null())
                .col(text("file_name"))
                .col(text("content_type"))
                .col(ColumnDef::new("size").big_integer().not_null())
                .col(ColumnDef::new("data").blob().not_null())
                .col(ref_id("created_by"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("contract_files", "contract_id")
                        .to("contracts", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_contract_files_contract",
            "contract_files",
            &["contract_id", "created_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("contract_files").to_owned())
            .await
    }
}
