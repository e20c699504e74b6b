//! An index for a rep's usual filtered list: their customers of one status
//! in one region, newest first. The owner, status and region are looked up
//! directly and the page and its capped count read only matching entries
//! (with `ix_customers_owner_list` they were checked entry by entry, which
//! for a rare combination meant reading tens of thousands).

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(
            "ix_customers_owner_status_region",
            "customers",
            &[
                "owner_id",
                "deleted_at",
                "status",
                "region",
                "updated_at",
                "id",
            ],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_customers_owner_status_region")
                .table("customers")
                .to_owned(),
        )
        .await
    }
}
