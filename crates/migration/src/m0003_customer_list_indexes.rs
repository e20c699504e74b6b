//! Wider indexes for customer lists: the usual filters (status, region, level,
//! kind) ride along in the index, so a filtered page or a capped count reads
//! index entries and fetches only the rows it returns.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_customers_updated", "ix_customers_owner"] {
            m.drop_index(Index::drop().name(name).table("customers").to_owned())
                .await?;
        }
        m.create_index(index(
            "ix_customers_updated",
            "customers",
            &[
                "deleted_at",
                "updated_at",
                "status",
                "region",
                "level",
                "kind",
                "owner_id",
            ],
        ))
        .await?;
        m.create_index(index(
            "ix_customers_owner",
            "customers",
            &[
                "owner_id",
                "deleted_at",
                "updated_at",
                "status",
                "region",
                "level",
                "kind",
            ],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_customers_updated", "ix_customers_owner"] {
            m.drop_index(Index::drop().name(name).table("customers").to_owned())
                .await?;
        }
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
        Ok(())
    }
}
