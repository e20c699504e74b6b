//! Leads (线索) and the public web-to-lead forms that capture them.

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("leads")
                .col(id("id"))
                .col(text("name"))
                .col(text_null("company"))
                .col(text_null("company_norm"))
                .col(text_null("title"))
                .col(text_null("phone"))
                .col(text_null("phone_digits"))
                .col(text_null("email"))
                .col(text_null("wechat"))
                .col(text_null("source"))
                .col(ref_id("campaign_id"))
                .col(ref_id("partner_id"))
                .col(ref_id("form_id"))
                .col(text_null("source_ip"))
                .col(text("status"))
                .col(ColumnDef::new("score").integer().not_null().default(0))
                .col(ColumnDef::new("tags").text().not_null().default("[]"))
                .col(ref_id("owner_id"))
                .col(long_text_null("disqualify_reason"))
                .col(long_text_null("notes"))
                .col(ColumnDef::new("custom").text().not_null().default("{}"))
                .col(ref_id("converted_customer_id"))
                .col(ref_id("converted_contact_id"))
                .col(ts_null("converted_at"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .col(ts_null("deleted_at"))
                .col(ref_id("deleted_by"))
                .foreign_key(
                    ForeignKey::create()
                        .from("leads", "owner_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_leads_owner_list",
                &["owner_id", "deleted_at", "updated_at", "id"][..],
            ),
            ("ix_leads_list", &["deleted_at", "updated_at", "id"][..]),
            ("ix_leads_status", &["status", "updated_at"][..]),
            ("ix_leads_phone_digits", &["phone_digits"][..]),
            ("ix_leads_email", &["email"][..]),
            ("ix_leads_company_norm", &["company_norm"][..]),
            ("ix_leads_converted", &["converted_customer_id"][..]),
            (
                "ix_leads_form_ip",
                &["form_id", "source_ip", "created_at"][..],
            ),
        ] {
            m.create_index(index(name, "leads", cols)).await?;
        }
        m.create_table(
            Table::create()
                .table("lead_forms")
                .col(id("id"))
                .col(
                    ColumnDef::new("form_key")
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(text("name"))
                .col(text_null("source"))
                .col(ref_id("owner_id"))
                .col(flag("active", true))
                .col(long_text_null("thank_you"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["lead_forms", "leads"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
