//! Wider indexes for customer lists: the usual filters (status, region, level,
//! kind) ride along in the index, so a filtered page or a capped count reads
//! index entries and fetches only the rows it returns; `id` follows `updated_at`
//! so the list order (`updated_at`, then `id`) needs no sort even when many rows
//! share a time (an import, say). They replace the
//! narrower `ix_customers_updated` and `ix_customers_owner`.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_customers_list",
            "customers",
            &[
                "deleted_at",
                "updated_at",
                "id",
                "status",
                "region",
                "level",
                "kind",
                "owner_id",
            ],
        ))
        .await?;
        m.create_index(index(
            "ix_customers_owner_list",
            "customers",
            &[
                "owner_id",
                "deleted_at",
                "updated_at",
                "id",
                "status",
                "region",
                "level",
                "kind",
            ],
        ))
        .await?;
        for name in ["ix_customers_updated", "ix_customers_owner"] {
            m.drop_index(Index::drop().name(name).table("customers").to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_customers_updated",
            "customers",
            &["deleted_at", "updated_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_customers_owner",
            "customers",
            &["owner_id", "deleted_at", "updated_at"],
        ))
        .await?;
        for name in ["ix_customers_list", "ix_customers_owner_list"] {
            m.drop_index(Index::drop().name(name).table("customers").to_owned())
                .await?;
        }
        Ok(())
    }
}
