//! Products, contracts and their approvals, payment plans (installments),
//! payments with their allocations to installments, invoices, and the
//! numbering sequences (`HT-2026-000001`).

use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn money(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .take()
}

fn date(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).date().not_null().take()
}

fn unique(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = index(name, table, cols);
    i.unique();
    i
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("products")
                .col(id("id"))
                .col(text("sku"))
                .col(text("name"))
                .col(text_null("category"))
                .col(text_null("unit"))
                .col(money("price"))
                .col(ColumnDef::new("currency").string_len(3).not_null())
                .col(ColumnDef::new("cost").big_integer().null())
                // Percent in ten-thousandths (13 % = 130000), like money.
                .col(money("tax_rate"))
                .col(flag("active", true))
                .col(long_text_null("description"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_products_sku", "products", &["sku"]))
            .await?;
        m.create_index(index("ix_products_name", "products", &["name"]))
            .await?;

        m.create_table(
            Table::create()
                .table("number_sequences")
                .col(
                    ColumnDef::new("name")
                        .string_len(40)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new("value").big_integer().not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("contracts")
                .col(id("id"))
                .col(text("number"))
                .col(text("title"))
                .col(ColumnDef::new("customer_id").string_len(36).not_null())
                .col(ref_id("opportunity_id"))
                .col(ref_id("order_id"))
                .col(money("amount"))
                .col(ColumnDef::new("currency").string_len(3).not_null())
                // A changed amount waiting for approval (the amount holds meanwhile).
                .col(ColumnDef::new("pending_amount").big_integer().null())
                .col(date_null("sign_date"))
                .col(date_null("start_date"))
                .col(date_null("end_date"))
                .col(ref_id("owner_id"))
                .col(text("status"))
                .col(ref_id("approver_id"))
                .col(ts_null("activated_at"))
                .col(long_text_null("terminated_reason"))
                .col(ColumnDef::new("products").text().not_null().default("[]"))
                .col(long_text_null("notes"))
                .col(ts_null("expiry_reminded_at"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ref_id("created_by"))
                .foreign_key(
                    ForeignKey::create()
                        .from("contracts", "customer_id")
                        .to("customers", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_contracts_number", "contracts", &["number"]))
            .await?;
        for (name, cols) in [
            ("ix_contracts_owner", &["owner_id", "status"][..]),
            ("ix_contracts_customer", &["customer_id"][..]),
            ("ix_contracts_opportunity", &["opportunity_id"][..]),
            ("ix_contracts_end", &["status", "end_date"][..]),
            ("ix_contracts_updated", &["updated_at", "id"][..]),
        ] {
            m.create_index(index(name, "contracts", cols)).await?;
        }

        m.create_table(
            Table::create()
                .table("contract_approvals")
                .col(id("id"))
                .col(ColumnDef::new("contract_id").string_len(36).not_null())
                // submitted, approved, rejected, auto_approved
                .col(text("action"))
                .col(money("amount"))
                .col(ref_id("actor_id"))
                .col(long_text_null("comment"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("contract_approvals", "contract_id")
                        .to("contracts", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_contract_approvals_contract",
            "contract_approvals",
            &["contract_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("payment_installments")
                .col(id("id"))
                .col(ColumnDef::new("contract_id").string_len(36).not_null())
                .col(ColumnDef::new("number").integer().not_null())
                .col(date("due_date"))
                .col(money("amount"))
                .col(long_text_null("notes"))
                .col(ts_null("overdue_notified_at"))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("payment_installments", "contract_id")
                        .to("contracts", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_installments_contract",
            "payment_installments",
            &["contract_id", "number"],
        ))
        .await?;
        m.create_index(index(
            "ix_installments_due",
            "payment_installments",
            &["due_date"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("payments")
                .col(id("id"))
                .col(ColumnDef::new("contract_id").string_len(36).not_null())
                .col(money("amount"))
                .col(ColumnDef::new("currency").string_len(3).not_null())
                .col(date("received_on"))
                .col(text("method"))
                .col(text_null("reference"))
                .col(long_text_null("notes"))
                // pending, confirmed, rejected
                .col(text("status"))
                .col(ref_id("recorded_by"))
                .col(ref_id("decided_by"))
                .col(ts_null("decided_at"))
                .col(long_text_null("reject_reason"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("payments", "contract_id")
                        .to("contracts", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_payments_contract", "payments", &["contract_id"]))
            .await?;
        m.create_index(index(
            "ix_payments_received",
            "payments",
            &["status", "received_on"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("payment_allocations")
                .col(ColumnDef::new("payment_id").string_len(36).not_null())
                .col(ColumnDef::new("installment_id").string_len(36).not_null())
                .col(money("amount"))
                .primary_key(Index::create().col("payment_id").col("installment_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("payment_allocations", "payment_id")
                        .to("payments", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("payment_allocations", "installment_id")
                        .to("payment_installments", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_allocations_installment",
            "payment_allocations",
            &["installment_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("invoices")
                .col(id("id"))
                .col(ColumnDef::new("contract_id").string_len(36).not_null())
                .col(text_null("number"))
                .col(text("kind"))
                .col(money("amount"))
                .col(ColumnDef::new("currency").string_len(3).not_null())
                .col(text("buyer_title"))
                .col(text_null("buyer_tax_no"))
                .col(date("issued_on"))
                // issued, voided
                .col(text("status"))
                .col(long_text_null("void_reason"))
                .col(long_text_null("notes"))
                .col(ref_id("created_by"))
                .col(version())
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("invoices", "contract_id")
                        .to("contracts", "id"),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(unique("ux_invoices_number", "invoices", &["number"]))
            .await?;
        m.create_index(index("ix_invoices_contract", "invoices", &["contract_id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "invoices",
            "payment_allocations",
            "payments",
            "payment_installments",
            "contract_approvals",
            "contracts",
            "number_sequences",
            "products",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
