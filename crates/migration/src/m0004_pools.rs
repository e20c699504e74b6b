//! The public pool (客户公海): pools and their rules, the pool fields of
//! customers, the ownership history, notifications and job leases.

use crate::common::*;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The pool every organisation starts with (a fixed id so that two instances
/// starting at once cannot create two).
pub const DEFAULT_POOL_ID: &str = "00000000-0000-7000-8000-000000000001";

fn int_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).integer().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("pools")
                .col(id("id"))
                .col(text("name"))
                .col(flag("is_default", false))
                .col(ColumnDef::new("team_ids").text().not_null().default("[]"))
                .col(int_null("return_after_days_without_activity"))
                .col(int_null("return_after_days_without_deal"))
                .col(int_null("max_customers_per_rep"))
                .col(int_null("reclaim_cooldown_days"))
                .col(int_null("max_claims_per_day"))
                .col(int_null("warn_days_before_return"))
                .col(flag("won_deal_exempt", true))
                .col(
                    ColumnDef::new("max_locks_per_rep")
                        .integer()
                        .not_null()
                        .default(3),
                )
                .col(
                    ColumnDef::new("level_overrides")
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(
                    ColumnDef::new("hidden_fields")
                        .text()
                        .not_null()
                        .default("[\"phone\",\"email\"]"),
                )
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO pools (id, name, is_default, team_ids, return_after_days_without_activity, \
                 reclaim_cooldown_days, warn_days_before_return, version, created_at, updated_at) \
                 VALUES ('{DEFAULT_POOL_ID}', '公海 Public pool', TRUE, '[]', NULL, 7, 3, 1, \
                 '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            ))
            .await?;

        // A pool in use cannot be deleted: the database refuses it (same SQL on both).
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE customers ADD COLUMN pool_id varchar(36) NULL REFERENCES pools (id)",
            )
            .await?;
        for col in [
            ts_null("owned_since"),
            ts_null("last_activity_at"),
            ts_null("last_won_at"),
            flag("locked", false),
            ts_null("returned_at"),
            ref_id("former_owner_id"),
            text_null("return_reason"),
            ts_null("return_warned_at"),
        ] {
            m.alter_table(Table::alter().table("customers").add_column(col).to_owned())
                .await?;
        }
        // Customers owned before pools existed start their return clock when
        // they were made; the ones without an owner sit in the default pool.
        m.get_connection()
            .execute_unprepared(
                "UPDATE customers SET owned_since = created_at WHERE owner_id IS NOT NULL",
            )
            .await?;
        m.get_connection()
            .execute_unprepared(&format!(
                "UPDATE customers SET pool_id = '{DEFAULT_POOL_ID}'"
            ))
            .await?;
        m.create_index(index(
            "ix_customers_pool_list",
            "customers",
            &["owner_id", "pool_id", "deleted_at", "updated_at", "id"],
        ))
        .await?;

        // The return job looks for owned customers of a pool by the return clock.
        m.create_index(index(
            "ix_customers_return_clock",
            "customers",
            &["pool_id", "owned_since"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("ownership_history")
                .col(id("id"))
                .col(ColumnDef::new("customer_id").string_len(36).not_null())
                .col(ts("at"))
                .col(text("action"))
                .col(ref_id("from_user_id"))
                .col(ref_id("to_user_id"))
                .col(ref_id("pool_id"))
                .col(ref_id("actor_id"))
                .col(long_text_null("reason"))
                .foreign_key(
                    ForeignKey::create()
                        .from("ownership_history", "customer_id")
                        .to("customers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_ownership_customer",
            "ownership_history",
            &["customer_id", "at"],
        ))
        .await?;
        m.create_index(index(
            "ix_ownership_to_user",
            "ownership_history",
            &["to_user_id", "action", "at"],
        ))
        .await?;
        m.create_index(index(
            "ix_ownership_from_user",
            "ownership_history",
            &["from_user_id", "customer_id", "at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("notifications")
                .col(id("id"))
                .col(ColumnDef::new("user_id").string_len(36).not_null())
                .col(text("kind"))
                .col(long_text_null("text"))
                .col(text_null("link"))
                .col(ColumnDef::new("data").text().not_null().default("{}"))
                .col(ts("created_at"))
                .col(ts_null("read_at"))
                .col(ts_null("emailed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("notifications", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_notifications_user",
            "notifications",
            &["user_id", "read_at", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("job_leases")
                .col(
                    ColumnDef::new("name")
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(text_null("holder"))
                .col(ts("until"))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO job_leases (name, holder, until) VALUES \
                 ('hourly', NULL, '2000-01-01T00:00:00Z'), ('minutely', NULL, '2000-01-01T00:00:00Z')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["job_leases", "notifications", "ownership_history"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        for name in ["ix_customers_pool_list", "ix_customers_return_clock"] {
            m.drop_index(Index::drop().name(name).table("customers").to_owned())
                .await?;
        }
        for col in [
            "pool_id",
            "owned_since",
            "last_activity_at",
            "last_won_at",
            "locked",
            "returned_at",
            "former_owner_id",
            "return_reason",
            "return_warned_at",
        ] {
            m.alter_table(
                Table::alter()
                    .table("customers")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table("pools").to_owned())
            .await?;
        Ok(())
    }
}
