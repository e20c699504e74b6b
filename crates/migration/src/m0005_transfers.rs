//! Customer transfers (客户转移) that a manager approves.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("transfers")
                .col(id("id"))
                .col(ColumnDef::new("requester_id").string_len(36).not_null())
                .col(ColumnDef::new("to_user_id").string_len(36).not_null())
                .col(ColumnDef::new("customer_ids").text().not_null())
                .col(ColumnDef::new("owners_at_request").text().not_null())
                .col(long_text_null("reason"))
                .col(flag("include_opportunities", false))
                .col(flag("include_contracts", false))
                .col(text("status"))
                .col(ref_id("decided_by"))
                .col(ts_null("decided_at"))
                .col(long_text_null("decision_comment"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("transfers", "requester_id")
                        .to("users", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("transfers", "to_user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_transfers_status",
            "transfers",
            &["status", "created_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_transfers_requester",
            "transfers",
            &["requester_id", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("transfers").to_owned())
            .await
    }
}
