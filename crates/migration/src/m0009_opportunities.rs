//! Opportunities (商机): pipelines with ordered stages, deals, their stage
//! history, automation rules on stage changes, and the won deals waiting for a
//! contract draft. Ships the default pipeline and its won-stage rule.

use crate::common::*;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

pub const DEFAULT_PIPELINE_ID: &str = "00000000-0000-7000-8000-000000000101";
/// The default pipeline's won stage (its rule makes contract drafts).
pub const DEFAULT_WON_STAGE_ID: &str = "00000000-0000-7000-8000-000000000115";

/// The default pipeline's stages: (id suffix, 中文, English, probability, kind).
const STAGES: &[(&str, &str, &str, i32, &str)] = &[
    ("111", "初步接触", "Initial contact", 10, "open"),
    ("112", "需求确认", "Needs confirmed", 30, "open"),
    ("113", "方案制定", "Proposal", 60, "open"),
    ("114", "合同签署", "Contract signing", 80, "open"),
    ("115", "赢单", "Won", 100, "won"),
    ("116", "输单", "Lost", 0, "lost"),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

fn money(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("pipelines")
                .col(id("id"))
                .col(text("name"))
                .col(text("name_en"))
                .col(ColumnDef::new("position").integer().not_null().default(0))
                .col(flag("is_default", false))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("pipeline_stages")
                .col(id("id"))
                .col(ColumnDef::new("pipeline_id").string_len(36).not_null())
                .col(ColumnDef::new("position").integer().not_null())
                .col(text("name"))
                .col(text("name_en"))
                .col(ColumnDef::new("probability").integer().not_null())
                .col(text("kind"))
                .col(
                    ColumnDef::new("required_fields")
                        .text()
                        .not_null()
                        .default("[]"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("pipeline_stages", "pipeline_id")
                        .to("pipelines", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_pipeline_stages_pipeline",
            "pipeline_stages",
            &["pipeline_id", "position"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("opportunities")
                .col(id("id"))
                .col(text("name"))
                .col(ColumnDef::new("customer_id").string_len(36).not_null())
                .col(ref_id("contact_id"))
                .col(ColumnDef::new("pipeline_id").string_len(36).not_null())
                .col(ColumnDef::new("stage_id").string_len(36).not_null())
                // The stage's kind (`open`, `won`, `lost`), kept with the deal for filters and reports.
                .col(text("status"))
                // The furthest open or won stage (by position) the deal has reached: the funnel.
                .col(
                    ColumnDef::new("furthest_position")
                        .integer()
                        .not_null()
                        .default(0),
                )
                // Money in ten-thousandths of the currency unit (scale 4), exact on both databases.
                .col(money("amount"))
                .col(ColumnDef::new("currency").string_len(3).not_null())
                .col(ColumnDef::new("probability").integer().not_null())
                .col(date_null("expected_close_date"))
                .col(text_null("source"))
                .col(text_null("grade"))
                .col(text("priority"))
                .col(ref_id("owner_id"))
                .col(ref_id("campaign_id"))
                .col(ref_id("partner_id"))
                .col(long_text_null("lost_reason"))
                .col(ts_null("won_at"))
                .col(ts_null("closed_at"))
                .col(ts("stage_entered_at"))
                .col(ColumnDef::new("products").text().not_null().default("[]"))
                .col(ColumnDef::new("custom").text().not_null().default("{}"))
                .col(long_text_null("notes"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .col(ts_null("deleted_at"))
                .col(ref_id("deleted_by"))
                .foreign_key(
                    ForeignKey::create()
                        .from("opportunities", "customer_id")
                        .to("customers", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("opportunities", "pipeline_id")
                        .to("pipelines", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("opportunities", "stage_id")
                        .to("pipeline_stages", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("opportunities", "owner_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_opportunities_owner_list",
                &["owner_id", "deleted_at", "updated_at", "id"][..],
            ),
            (
                "ix_opportunities_list",
                &["deleted_at", "updated_at", "id"][..],
            ),
            ("ix_opportunities_customer", &["customer_id"][..]),
            // The board reads its counts and totals from this index alone.
            (
                "ix_opportunities_board",
                &[
                    "pipeline_id",
                    "deleted_at",
                    "stage_id",
                    "owner_id",
                    "currency",
                    "amount",
                ][..],
            ),
        ] {
            m.create_index(index(name, "opportunities", cols)).await?;
        }
        m.create_table(
            Table::create()
                .table("opportunity_stage_changes")
                .col(id("id"))
                .col(ColumnDef::new("opportunity_id").string_len(36).not_null())
                .col(ColumnDef::new("pipeline_id").string_len(36).not_null())
                .col(ref_id("from_stage_id"))
                .col(ColumnDef::new("to_stage_id").string_len(36).not_null())
                // Seconds the deal spent in `from_stage_id` before this change.
                .col(ColumnDef::new("seconds_in_from").big_integer().null())
                .col(ref_id("owner_id"))
                .col(ref_id("changed_by"))
                .col(ts("changed_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("opportunity_stage_changes", "opportunity_id")
                        .to("opportunities", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_stage_changes_opportunity",
                &["opportunity_id", "changed_at"][..],
            ),
            (
                "ix_stage_changes_report",
                &[
                    "pipeline_id",
                    "from_stage_id",
                    "changed_at",
                    "owner_id",
                    "seconds_in_from",
                ][..],
            ),
        ] {
            m.create_index(index(name, "opportunity_stage_changes", cols))
                .await?;
        }
        m.create_table(
            Table::create()
                .table("automation_rules")
                .col(id("id"))
                .col(ColumnDef::new("pipeline_id").string_len(36).not_null())
                .col(ColumnDef::new("stage_id").string_len(36).not_null())
                .col(text("name"))
                .col(ColumnDef::new("condition").text().null())
                .col(text("action"))
                .col(ColumnDef::new("params").text().not_null().default("{}"))
                .col(flag("active", true))
                .col(ColumnDef::new("position").integer().not_null().default(0))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("automation_rules", "pipeline_id")
                        .to("pipelines", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("automation_rules", "stage_id")
                        .to("pipeline_stages", "id"),
                )
                .to_owned(),
        )
        .await?;
        // Report rollups, kept by `opportunities::rollups` with every change of a deal:
        // deals by day created (the funnel), by day closed (won and lost), and open
        // deals by expected close date (the forecast). `owner_id` and `lost_reason`
        // are '' rather than NULL so the unique keys hold.
        for (table, day, extra) in [
            (
                "deal_cohorts",
                "day",
                &["furthest_position", "status", "stage_id"][..],
            ),
            ("deal_closings", "day", &["stage_id", "lost_reason"][..]),
            ("deal_forecasts", "day", &[][..]),
        ] {
            let mut t = Table::create();
            t.table(table)
                .col(ColumnDef::new("pipeline_id").string_len(36).not_null())
                .col(ColumnDef::new(day).date().not_null())
                .col(ColumnDef::new("owner_id").string_len(36).not_null())
                .col(ColumnDef::new("currency").string_len(3).not_null());
            for c in extra {
                match *c {
                    "furthest_position" => t.col(ColumnDef::new(*c).integer().not_null()),
                    "lost_reason" => t.col(ColumnDef::new(*c).text().not_null()),
                    _ => t.col(ColumnDef::new(*c).string_len(36).not_null()),
                };
            }
            for c in [
                "deals",
                "amount_high",
                "amount_low",
                "weighted_high",
                "weighted_low",
            ] {
                t.col(money(c));
            }
            m.create_table(t.to_owned()).await?;
            let mut key = vec!["pipeline_id", day, "owner_id", "currency"];
            key.extend(extra.iter().copied());
            let mut i = Index::create()
                .name(format!("ux_{table}"))
                .table(table)
                .unique()
                .to_owned();
            for c in &key {
                i.col(*c);
            }
            m.create_index(i).await?;
            m.create_index(index(
                &format!("ix_{table}_owner"),
                table,
                &["owner_id", "pipeline_id", day],
            ))
            .await?;
        }
        // Won deals waiting for their contract draft (the contracts module takes them).
        m.create_table(
            Table::create()
                .table("contract_requests")
                .col(id("id"))
                .col(
                    ColumnDef::new("opportunity_id")
                        .string_len(36)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new("customer_id").string_len(36).not_null())
                .col(ref_id("rule_id"))
                .col(money("amount"))
                .col(ColumnDef::new("currency").string_len(3).not_null())
                .col(ColumnDef::new("products").text().not_null().default("[]"))
                .col(ref_id("owner_id"))
                .col(ref_id("contract_id"))
                .col(ts("created_at"))
                .col(ts_null("done_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("contract_requests", "opportunity_id")
                        .to("opportunities", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("tasks")
                .add_column(ref_id("opportunity_id"))
                .to_owned(),
        )
        .await?;
        // The default pipeline, its stages and the won-stage rule (same SQL on both).
        let db = m.get_connection();
        let now = "'2026-01-01T00:00:00Z'";
        db.execute_unprepared(&format!(
            "INSERT INTO pipelines (id, name, name_en, position, is_default, version, created_at, updated_at) \
             VALUES ('{DEFAULT_PIPELINE_ID}', '默认销售流程', 'Sales pipeline', 0, TRUE, 1, {now}, {now})"
        ))
        .await?;
        for (i, (suffix, zh, en, p, kind)) in STAGES.iter().enumerate() {
            db.execute_unprepared(&format!(
                "INSERT INTO pipeline_stages (id, pipeline_id, position, name, name_en, probability, kind, required_fields) \
                 VALUES ('{}', '{DEFAULT_PIPELINE_ID}', {i}, '{zh}', '{en}', {p}, '{kind}', '[]')",
                stage_id(suffix)
            ))
            .await?;
        }
        db.execute_unprepared(&format!(
            "INSERT INTO automation_rules (id, pipeline_id, stage_id, name, condition, action, params, active, position, version, created_at, updated_at) \
             VALUES ('00000000-0000-7000-8000-000000000121', '{DEFAULT_PIPELINE_ID}', '{}', '赢单后生成合同草稿 Contract draft on won', NULL, 'contract_draft', '{{}}', TRUE, 0, 1, {now}, {now})",
            stage_id("115")
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tasks")
                .drop_column("opportunity_id")
                .to_owned(),
        )
        .await?;
        for t in [
            "deal_cohorts",
            "deal_closings",
            "deal_forecasts",
            "contract_requests",
            "automation_rules",
            "opportunity_stage_changes",
            "opportunities",
            "pipeline_stages",
            "pipelines",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// The id of a default stage.
pub fn stage_id(suffix: &str) -> String {
    format!("00000000-0000-7000-8000-000000000{suffix}")
}
