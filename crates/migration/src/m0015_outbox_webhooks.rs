//! Domain events leave through an outbox: one row per event, written in the
//! transaction of the change, fanned out to webhook subscriptions by a
//! background job, which keeps one delivery row per (subscription, event).

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("outbox")
                .col(id("id"))
                .col(text("event"))
                .col(text("entity_type"))
                .col(ref_id("entity_id"))
                .col(ref_id("actor_id"))
                .col(ts("occurred_at"))
                .col(ColumnDef::new("data").text().not_null().default("{}"))
                .col(ColumnDef::new("changes").text().not_null().default("{}"))
                .col(ts_null("dispatched_at"))
                .to_owned(),
        )
        .await?;
        // The job reads what is not yet fanned out, oldest first.
        m.create_index(index(
            "ix_outbox_pending",
            "outbox",
            &["dispatched_at", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("webhooks")
                .col(id("id"))
                .col(text("url"))
                .col(ColumnDef::new("events").text().not_null().default("[]"))
                .col(text_null("description"))
                .col(flag("active", true))
                .col(text("secret"))
                .col(text_null("previous_secret"))
                .col(ts_null("previous_secret_until"))
                .col(ts_null("failing_since"))
                .col(text_null("disabled_reason"))
                .col(ref_id("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("deleted_at"))
                .col(version())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(id("id"))
                .col(ColumnDef::new("webhook_id").string_len(36).not_null())
                .col(ColumnDef::new("event_id").string_len(36).not_null())
                .col(text("event"))
                .col(text("status"))
                .col(ColumnDef::new("attempts").integer().not_null().default(0))
                .col(ts_null("next_attempt_at"))
                .col(ts_null("last_attempt_at"))
                .col(ColumnDef::new("response_code").integer().null())
                .col(ColumnDef::new("duration_ms").big_integer().null())
                .col(long_text_null("response_body"))
                .col(text_null("error"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_webhook_deliveries_due",
            "webhook_deliveries",
            &["status", "next_attempt_at"],
        ))
        .await?;
        m.create_index(index(
            "ix_webhook_deliveries_webhook",
            "webhook_deliveries",
            &["webhook_id", "id"],
        ))
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO job_leases (name, holder, until) VALUES ('webhooks', NULL, '2000-01-01T00:00:00Z')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["webhook_deliveries", "webhooks", "outbox"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        m.get_connection()
            .execute_unprepared("DELETE FROM job_leases WHERE name = 'webhooks'")
            .await?;
        Ok(())
    }
}
