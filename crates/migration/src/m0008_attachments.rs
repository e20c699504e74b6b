//! Files attached to activities, kept in the database (one backup holds everything).

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("attachments")
                .col(id("id"))
                .col(ColumnDef::new("activity_id").string_len(36).not_null())
                .col(text("file_name"))
                .col(text("content_type"))
                .col(ColumnDef::new("size").big_integer().not_null())
                .col(ColumnDef::new("data").blob().not_null())
                .col(ref_id("created_by"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("attachments", "activity_id")
                        .to("activities", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_attachments_activity",
            "attachments",
            &["activity_id", "created_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("attachments").to_owned())
            .await
    }
}
