//! Each user's time zone (an IANA name): pages show times there and read form
//! times there. Existing users get the company's default, `Asia/Shanghai`
//! until an administrator changes it (`company.timezone` in `settings`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(
                    ColumnDef::new("timezone")
                        .text()
                        .not_null()
                        .default("Asia/Shanghai"),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("users")
                .drop_column("timezone")
                .to_owned(),
        )
        .await
    }
}
