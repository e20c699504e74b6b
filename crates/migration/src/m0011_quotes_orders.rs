//! Quotes (报价) and orders (订单): priced line items with a discount and tax,
//! numbered `Q-2026-000001` and `SO-2026-000001`; accepting a quote makes an
//! order.

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

/// The columns quotes and orders share: lines, discount, tax and totals.
fn priced(t: &mut TableCreateStatement) {
    t.col(ColumnDef::new("currency").string_len(3).not_null())
        .col(ColumnDef::new("items").text().not_null().default("[]"))
        // Percents in ten-thousandths, like money.
        .col(money("discount_percent"))
        .col(money("tax_rate"))
        .col(money("subtotal"))
        .col(money("discount"))
        .col(money("tax"))
        .col(money("total"));
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table("quotes")
            .col(id("id"))
            .col(text("number"))
            .col(text("title"))
            .col(ColumnDef::new("customer_id").string_len(36).not_null())
            .col(ref_id("opportunity_id"))
            .col(ref_id("owner_id"));
        priced(&mut t);
        t.col(date_null("valid_until"))
            // draft, sent, accepted, rejected, expired
            .col(text("status"))
            .col(ref_id("order_id"))
            .col(long_text_null("reject_reason"))
            .col(long_text_null("notes"))
            .col(ts_null("sent_at"))
            .col(ts_null("decided_at"))
            .col(version())
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .col(ref_id("created_by"))
            .foreign_key(
                ForeignKey::create()
                    .from("quotes", "customer_id")
                    .to("customers", "id"),
            );
        m.create_table(t.to_owned()).await?;
        let mut u = index("ux_quotes_number", "quotes", &["number"]);
        u.unique();
        m.create_index(u).await?;
        for (name, cols) in [
            ("ix_quotes_owner", &["owner_id", "status"][..]),
            ("ix_quotes_customer", &["customer_id"][..]),
            ("ix_quotes_opportunity", &["opportunity_id"][..]),
            ("ix_quotes_valid", &["status", "valid_until"][..]),
            ("ix_quotes_updated", &["updated_at", "id"][..]),
        ] {
            m.create_index(index(name, "quotes", cols)).await?;
        }

        let mut t = Table::create();
        t.table("orders")
            .col(id("id"))
            .col(text("number"))
            .col(ColumnDef::new("customer_id").string_len(36).not_null())
            .col(ref_id("quote_id"))
            .col(ref_id("opportunity_id"))
            .col(ref_id("owner_id"));
        priced(&mut t);
        t.col(ColumnDef::new("order_date").date().not_null())
            // confirmed, fulfilled, cancelled
            .col(text("status"))
            .col(long_text_null("notes"))
            .col(version())
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .col(ref_id("created_by"))
            .foreign_key(
                ForeignKey::create()
                    .from("orders", "customer_id")
                    .to("customers", "id"),
            );
        m.create_table(t.to_owned()).await?;
        let mut u = index("ux_orders_number", "orders", &["number"]);
        u.unique();
        m.create_index(u).await?;
        // One order per quote (NULLs, orders without a quote, do not collide).
        let mut u = index("ux_orders_quote", "orders", &["quote_id"]);
        u.unique();
        m.create_index(u).await?;
        for (name, cols) in [
            ("ix_orders_owner", &["owner_id", "status"][..]),
            ("ix_orders_customer", &["customer_id", "order_date"][..]),
            ("ix_orders_updated", &["updated_at", "id"][..]),
        ] {
            m.create_index(index(name, "orders", cols)).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["orders", "quotes"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
