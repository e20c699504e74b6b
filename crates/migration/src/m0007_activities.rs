//! Activities (跟进记录) and tasks (follow-ups, care, reminders).

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("activities")
                .col(id("id"))
                .col(text("kind"))
                .col(ts("occurred_at"))
                .col(ColumnDef::new("duration_minutes").integer().null())
                .col(text_null("location"))
                .col(text_null("subject"))
                .col(long_text_null("content"))
                .col(text_null("result"))
                .col(long_text_null("next_step"))
                .col(ts_null("next_follow_up_at"))
                .col(ref_id("customer_id"))
                .col(ref_id("contact_id"))
                .col(ref_id("lead_id"))
                .col(
                    ColumnDef::new("participants")
                        .text()
                        .not_null()
                        .default("{}"),
                )
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .col(ts_null("deleted_at"))
                .col(ref_id("deleted_by"))
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_activities_customer",
                &["customer_id", "occurred_at"][..],
            ),
            ("ix_activities_lead", &["lead_id", "occurred_at"][..]),
            ("ix_activities_creator", &["created_by", "occurred_at"][..]),
            (
                "ix_activities_list",
                &["deleted_at", "occurred_at", "id"][..],
            ),
        ] {
            m.create_index(index(name, "activities", cols)).await?;
        }
        m.create_table(
            Table::create()
                .table("tasks")
                .col(id("id"))
                .col(text("title"))
                .col(ts("due_at"))
                .col(ts_null("remind_at"))
                .col(ts_null("reminded_at"))
                .col(ColumnDef::new("assignee_id").string_len(36).not_null())
                .col(ref_id("customer_id"))
                .col(ref_id("lead_id"))
                .col(ref_id("activity_id"))
                .col(text("priority"))
                .col(text("status"))
                .col(text("kind"))
                .col(long_text_null("notes"))
                .col(ts_null("done_at"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .foreign_key(
                    ForeignKey::create()
                        .from("tasks", "assignee_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Each user's private calendar feed address (`/calendar/{token}.ics`).
        m.create_table(
            Table::create()
                .table("calendar_feeds")
                .col(
                    ColumnDef::new("user_id")
                        .string_len(36)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new("token")
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("calendar_feeds", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_tasks_assignee",
                &["assignee_id", "status", "due_at"][..],
            ),
            (
                "ix_tasks_remind",
                &["status", "reminded_at", "remind_at"][..],
            ),
            ("ix_tasks_customer", &["customer_id", "due_at"][..]),
        ] {
            m.create_index(index(name, "tasks", cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["calendar_feeds", "tasks", "activities"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
